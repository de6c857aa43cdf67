// The raydog-operator binary's command line: parse_flags (unit) and the built binary (end to end).
#include <doctest/doctest.h>

#include <fstream>

#include "api/names.hpp"
#include "controller/options.hpp"
#include "test/support/process.hpp"

using raydog::cli::Command;
using raydog::cli::parse_flags;
using raydog::test::bin_path;
using raydog::test::run_command;
using raydog::test::source_path;

TEST_CASE("cli: parse_flags") {
  CHECK(parse_flags({"--help"})->command == Command::kHelp);
  CHECK(parse_flags({"-h"})->command == Command::kHelp);
  CHECK(parse_flags({"help"})->command == Command::kHelp);
  CHECK(parse_flags({"crd", "--help"})->command == Command::kHelp);
  CHECK(parse_flags({"--version"})->command == Command::kVersion);
  CHECK(parse_flags({"crd"})->command == Command::kCrd);
  CHECK(parse_flags({"crd"})->crd == "raydogclusters");  // `crd` alone: the RayDogCluster CRD, as always
  CHECK(parse_flags({"crd", "raydogclusters"})->crd == "raydogclusters");
  CHECK(parse_flags({"crd", "raydogjobs"})->crd == "raydogjobs");
  CHECK(parse_flags({"crd", "raydogjobs"})->command == Command::kCrd);
  CHECK(parse_flags({"crd", "raydogjobs", "--help"})->command == Command::kHelp);
  CHECK(parse_flags({"crd", "raydogjobs", "x"}).error().message == "crd: unexpected argument x");
  CHECK(parse_flags({"crd", "rdj"}).error().message == "crd: unknown resource rdj (raydogclusters or raydogjobs)");
  CHECK(parse_flags({"crd", "--bogus"}).error().message == "crd: unexpected argument --bogus");
  auto v = parse_flags({"validate", "a.yaml", "-"});
  REQUIRE(v.ok());
  CHECK(v->command == Command::kValidate);
  CHECK(v->files == std::vector<std::string>{"a.yaml", "-"});

  CHECK(parse_flags({})->command == Command::kRun);  // a container's bare entrypoint runs the operator
  auto run = parse_flags({"run", "--kubeconfig", "k"});
  REQUIRE(run.ok());
  CHECK(run->command == Command::kRun);
  CHECK(run->run_args == std::vector<std::string>{"--kubeconfig", "k"});
  auto flags_first = parse_flags({"--kubeconfig=x", "--leader-elect"});
  REQUIRE(flags_first.ok());
  CHECK(flags_first->command == Command::kRun);
  CHECK(flags_first->run_args == std::vector<std::string>{"--kubeconfig=x", "--leader-elect"});
  CHECK(parse_flags({"bogus"}).error().message == "unknown command bogus");
  CHECK(parse_flags({"crd", "extra"}).error().message ==
        "crd: unknown resource extra (raydogclusters or raydogjobs)");
  CHECK(parse_flags({"validate"}).error().message == "validate: at least one FILE is required");
  CHECK(parse_flags({"validate", "--strict", "a"}).error().message == "validate: unknown flag --strict");
}

TEST_CASE("cli: usage lists every command and flag") {
  std::string u = raydog::cli::usage();
  for (const char* s : {"crd", "raydogclusters", "raydogjobs", "validate", "--help", "--version"})
    CHECK_MESSAGE(u.find(s) != std::string::npos, s);
}

TEST_CASE("cli: raydog-operator crd prints the checked-in CRDs") {
  const std::string clusters = raydog::test::read_file(source_path("crds/raydog.io_raydogclusters.yaml"));
  auto r = run_command({bin_path("raydog-operator"), "crd"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == clusters);
  auto named = run_command({bin_path("raydog-operator"), "crd", "raydogclusters"});
  CHECK(named.exit_code == 0);
  CHECK(named.out == clusters);
  auto jobs = run_command({bin_path("raydog-operator"), "crd", "raydogjobs"});
  CHECK(jobs.exit_code == 0);
  CHECK(jobs.out == raydog::test::read_file(source_path("crds/raydog.io_raydogjobs.yaml")));
  auto bad = run_command({bin_path("raydog-operator"), "crd", "rayjobs"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.starts_with("raydog-operator: crd: unknown resource rayjobs (raydogclusters or raydogjobs)\n"));
  CHECK(bad.out.empty());
}

TEST_CASE("cli: --help, --version and a usage error") {
  auto help = run_command({bin_path("raydog-operator"), "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.starts_with(raydog::cli::usage()));
  for (const char* flag :
       {"--kubeconfig", "--leader-elect", "--metrics-bind-address", "--health-probe-bind-address"})
    CHECK_MESSAGE(help.out.find(flag) != std::string::npos, flag);
  auto version = run_command({bin_path("raydog-operator"), "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.starts_with("raydog-operator "));
  auto bad = run_command({bin_path("raydog-operator"), "--bogus=x"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.starts_with("raydog-operator: unknown flag --bogus (see --help)\n"));
  // A bare unknown flag is unknown, not "missing value" (the name is checked before its value).
  auto bare = run_command({bin_path("raydog-operator"), "--bogus"});
  CHECK(bare.exit_code == 2);
  CHECK(bare.err.starts_with("raydog-operator: unknown flag --bogus (see --help)\n"));
  auto bare_run = run_command({bin_path("raydog-operator"), "run", "--kubeconfig", "k", "--bogus"});
  CHECK(bare_run.exit_code == 2);
  CHECK(bare_run.err.starts_with("raydog-operator: unknown flag --bogus (see --help)\n"));
  auto bad_bool = run_command({bin_path("raydog-operator"), "--leader-elect=yes"});
  CHECK(bad_bool.exit_code == 2);
  CHECK(bad_bool.err.starts_with("raydog-operator: --leader-elect: must be true or false\n"));
  auto bad_value = run_command({bin_path("raydog-operator"), "run", "--requeue-steady", "soon"});
  CHECK(bad_value.exit_code == 2);
  CHECK(bad_value.err.starts_with("raydog-operator: --requeue-steady: not a duration: soon\n"));
  CHECK(bad.out.empty());
  auto bad_origin = run_command(
      {bin_path("raydog-operator"), "run", "--yellowdog-allowed-urls", "https://api.yellowdog.ai/v1"});
  CHECK(bad_origin.exit_code == 2);
  CHECK(bad_origin.err.starts_with(
      "raydog-operator: --yellowdog-allowed-urls: \"https://api.yellowdog.ai/v1\": "
      "an origin is scheme://host[:port], without a path\n"));
  auto bad_selector =
      run_command({bin_path("raydog-operator"), "run", "--shard-selector", "raydog.io/shard in (a"});
  CHECK(bad_selector.exit_code == 2);
  CHECK(bad_selector.err.starts_with("raydog-operator: --shard-selector: unable to parse requirement: "));
  auto bad_qps = run_command({bin_path("raydog-operator"), "--kube-api-qps=-5"});
  CHECK(bad_qps.exit_code == 2);
  CHECK(bad_qps.err.starts_with("raydog-operator: --kube-api-qps: must be >= 0 (0 turns pacing off)\n"));
}

TEST_CASE("cli: validate reports each file") {
  auto ok =
      run_command({bin_path("raydog-operator"), "validate", source_path("manifests/samples/minimal.yaml"),
                   source_path("manifests/samples/heterogeneous.yaml")});
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("minimal.yaml: valid") != std::string::npos);
  // A sample with the ConfigMaps it needs: each document on its own line.
  CHECK(ok.out.find("heterogeneous.yaml (document 3): valid") != std::string::npos);
  CHECK(ok.out.find("heterogeneous.yaml (document 1): skipped (v1 ConfigMap is not a RayDogCluster)") !=
        std::string::npos);
  // RayDogJobs are checked as jobs (their clusterSpec with the cluster's rules).
  auto jobs = run_command({bin_path("raydog-operator"), "validate", source_path("manifests/samples/job.yaml"),
                           source_path("manifests/samples/job-existing-cluster.yaml")});
  CHECK(jobs.exit_code == 0);
  CHECK(jobs.out.find("job.yaml: valid") != std::string::npos);
  CHECK(jobs.out.find("job-existing-cluster.yaml: valid") != std::string::npos);
  raydog::test::ProcessOptions job_stdin;
  job_stdin.stdin_data = "apiVersion: raydog.io/v1alpha1\nkind: RayDogJob\nmetadata: {name: j}\nspec: {entrypoint: x}\n";
  auto bad_job = run_command({bin_path("raydog-operator"), "validate", "-"}, job_stdin);
  CHECK(bad_job.exit_code == 1);
  CHECK(bad_job.err.find("clusterSpec") != std::string::npos);
  std::string bad_file = source_path("manifests/samples/invalid/negative-nodes.yaml");
  auto bad = run_command({bin_path("raydog-operator"), "validate", bad_file});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err == bad_file + ": spec.workerPools[0].nodes: must be >= 0\n");
  raydog::test::ProcessOptions stdin_opts;
  stdin_opts.stdin_data = "kind: RayDogCluster\nspec: {}\n";
  auto piped = run_command({bin_path("raydog-operator"), "validate", "-"}, stdin_opts);
  CHECK(piped.exit_code == 1);
  CHECK(piped.err.find("-: spec.yellowdog: required") != std::string::npos);
  // The credentials Secret template sits next to the samples: another group's document is skipped, while
  // a document claiming raydog.io is still checked strictly.
  std::string secret = source_path("manifests/samples/yellowdog-credentials-secret.yaml");
  auto skipped = run_command({bin_path("raydog-operator"), "validate", secret});
  CHECK(skipped.exit_code == 0);
  CHECK(skipped.out == secret + ": skipped (v1 Secret is not a RayDogCluster)\n");
  raydog::test::ProcessOptions wrong_version;
  wrong_version.stdin_data = "apiVersion: raydog.io/v1\nkind: RayDogCluster\nspec: {}\n";
  auto strict = run_command({bin_path("raydog-operator"), "validate", "-"}, wrong_version);
  CHECK(strict.exit_code == 1);
  CHECK(strict.err.find("-: apiVersion: must be raydog.io/v1alpha1") != std::string::npos);
  auto missing = run_command({bin_path("raydog-operator"), "validate", "/nonexistent/x.yaml"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "/nonexistent/x.yaml: cannot read\n");
}

TEST_CASE("cli: --yellowdog-allowed-urls defaults to the public API and takes a list") {
  auto defaults = raydog::cli::parse_controller_flags({});
  REQUIRE(defaults);
  CHECK(defaults->yellowdog_allowed_urls.to_string() == "https://api.yellowdog.ai");
  auto listed =
      raydog::cli::parse_controller_flags({"--yellowdog-allowed-urls=https://yd.example,http://127.0.0.1:*"});
  REQUIRE(listed);
  CHECK_FALSE(listed->yellowdog_allowed_urls.refusal("http://127.0.0.1:4000").has_value());
  CHECK(
      listed->yellowdog_allowed_urls.refusal("https://api.yellowdog.ai").has_value());  // replaced, not added
  auto bad = raydog::cli::parse_controller_flags({"--yellowdog-allowed-urls", ""});
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == "--yellowdog-allowed-urls: no origin given");
}

TEST_CASE("cli: --yellowdog-ca-file must name a readable PEM bundle") {
  raydog::test::TempDir dir;
  auto missing = raydog::cli::parse_controller_flags({"--yellowdog-ca-file", dir.file("absent.pem")});
  REQUIRE_FALSE(missing);
  CHECK(missing.error() ==
        "--yellowdog-ca-file: cannot read " + dir.file("absent.pem") + ": No such file or directory");
  { std::ofstream(dir.file("junk.pem")) << "not a certificate\n"; }
  auto junk = raydog::cli::parse_controller_flags({"--yellowdog-ca-file=" + dir.file("junk.pem")});
  REQUIRE_FALSE(junk);
  CHECK(junk.error() == "--yellowdog-ca-file: " + dir.file("junk.pem") + ": no PEM certificate in it");
  {
    std::ofstream(dir.file("broken.pem"))
        << "-----BEGIN CERTIFICATE-----\nbm90IGRlcg==\n-----END CERTIFICATE-----\n";
  }
  auto broken = raydog::cli::parse_controller_flags({"--yellowdog-ca-file", dir.file("broken.pem")});
  REQUIRE_FALSE(broken);
  CHECK(broken.error().find("not a readable PEM certificate bundle") != std::string::npos);
  auto none = raydog::cli::parse_controller_flags({});
  REQUIRE(none);
  CHECK(none->yellowdog_ca_pem.empty());  // the system store alone
}

TEST_CASE("cli: --kube-api-qps and --kube-api-burst pace the Kubernetes client - 0 turns pacing off") {
  auto defaults = raydog::cli::parse_controller_flags({});
  REQUIRE(defaults);
  CHECK(defaults->kube_api_qps == 500);
  CHECK(defaults->kube_api_burst == 1000);
  auto set = raydog::cli::parse_controller_flags({"--kube-api-qps", "12.5", "--kube-api-burst=20"});
  REQUIRE(set);
  CHECK(set->kube_api_qps == 12.5);
  CHECK(set->kube_api_burst == 20);
  auto off = raydog::cli::parse_controller_flags({"--kube-api-qps=0"});
  REQUIRE(off);
  CHECK(off->kube_api_qps == 0);
  auto error = [](std::vector<std::string> args) {
    auto r = raydog::cli::parse_controller_flags(args);
    REQUIRE_FALSE(r);
    return r.error();
  };
  CHECK(error({"--kube-api-qps", "-1"}) == "--kube-api-qps: must be >= 0 (0 turns pacing off)");
  CHECK(error({"--kube-api-qps", "fast"}) == "--kube-api-qps: not a number: fast");
  CHECK(error({"--kube-api-qps", "10x"}) == "--kube-api-qps: not a number: 10x");
  CHECK(error({"--kube-api-qps", "inf"}) == "--kube-api-qps: not a number: inf");
  CHECK(error({"--kube-api-burst", "0"}) == "--kube-api-burst: must be >= 1");
  CHECK(error({"--kube-api-burst", "many"}) == "--kube-api-burst: not a non-negative integer: many");
  CHECK(error({"--kube-api-qps"}) == "--kube-api-qps: missing value");
  CHECK(raydog::cli::controller_usage().find("--kube-api-qps") != std::string::npos);
}

TEST_CASE("cli: --shard-selector is checked, normalized, and names the shard's own Lease") {
  auto none = raydog::cli::parse_controller_flags({});
  REQUIRE(none);
  CHECK(none->shard_selector.empty());
  CHECK(none->leader_election_id == "raydog-operator-leader");
  auto a = raydog::cli::parse_controller_flags({"--shard-selector", "raydog.io/shard=a"});
  REQUIRE(a);
  CHECK(a->shard_selector == "raydog.io/shard=a");
  CHECK(a->leader_election_id == "raydog-operator-leader-" + raydog::api::names::hash8("raydog.io/shard=a"));
  // The same selector written differently is the same shard: the same Lease.
  auto a2 = raydog::cli::parse_controller_flags({"--shard-selector= raydog.io/shard == a "});
  REQUIRE(a2);
  CHECK(a2->shard_selector == "raydog.io/shard=a");
  CHECK(a2->leader_election_id == a->leader_election_id);
  auto b = raydog::cli::parse_controller_flags({"--shard-selector", "raydog.io/shard=b"});
  REQUIRE(b);
  CHECK(b->leader_election_id != a->leader_election_id);
  auto rest = raydog::cli::parse_controller_flags({"--shard-selector", "!raydog.io/shard"});
  REQUIRE(rest);
  CHECK(rest->shard_selector == "!raydog.io/shard");
  auto set = raydog::cli::parse_controller_flags({"--shard-selector", "raydog.io/shard in (b,a)"});
  REQUIRE(set);
  CHECK(set->shard_selector == "raydog.io/shard in (a,b)");
  // An explicit --leader-election-id wins, before or after the selector.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--leader-election-id", "mine", "--shard-selector", "raydog.io/shard=a"},
           {"--shard-selector", "raydog.io/shard=a", "--leader-election-id=mine"}}) {
    auto explicit_id = raydog::cli::parse_controller_flags(args);
    REQUIRE(explicit_id);
    CHECK(explicit_id->leader_election_id == "mine");
  }
  auto bad = raydog::cli::parse_controller_flags({"--shard-selector", "raydog.io/shard in (a"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error() ==
        "--shard-selector: unable to parse requirement: found 'end of string', expected: ',' or ')'");
  auto bad_key = raydog::cli::parse_controller_flags({"--shard-selector", "raydog.io/=a"});
  REQUIRE_FALSE(bad_key);
  CHECK(bad_key.error().rfind("--shard-selector: unable to parse requirement: invalid label key", 0) == 0);
}
