// RayDogJob end to end (issue 24 "Done when"): the operator against kube-emulator and yellowdog-sim --ray,
// whose fake heads serve the Ray Jobs API. What the heads received is read back from /_sim/ray/jobs, so
// "submitted exactly once" is counted where it happens.
#include <doctest/doctest.h>

#include <thread>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

// Indents every line of `text` by `n` spaces.
std::string indent(const std::string& text, int n) {
  std::string out, pad(static_cast<std::size_t>(n), ' ');
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nl = text.find('\n', start);
    const std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty()) out += pad + line;
    out += "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// The spec block of small_cluster (head + pool "cpu" of `nodes`), for spec.clusterSpec.
std::string cluster_spec(const Env& env, const std::string& ns, int nodes) {
  const std::string full = small_cluster(env, "x", ns, nodes);
  return full.substr(full.find("spec:\n") + 6);
}

std::string ephemeral_job(const Env& env, const std::string& name, const std::string& ns,
                          const std::string& extra_spec = "") {
  return "apiVersion: raydog.io/v1alpha1\nkind: RayDogJob\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
         "\n  labels:\n    team: ml\nspec:\n  entrypoint: python -c 'print(42)'\n" + extra_spec +
         "  clusterSpec:\n" + indent(cluster_spec(env, ns, 1), 2);
}

void install_job_crd(Env& env) {
  auto r = env.kubectl({"apply", "-f", source_path("crds/raydog.io_raydogjobs.yaml")});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  // The API server serves a new CRD a moment after it is applied.
  REQUIRE(env.eventually([&] { return env.kubectl({"get", "rdj", "-A"}).exit_code == 0; }, 30s));
}

std::optional<json> get_job(Env& env, const std::string& ns, const std::string& name) {
  auto r = env.kubectl({"get", "rdj", name, "-n", ns, "-o", "json"});
  if (r.exit_code != 0) return std::nullopt;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

bool job_gone(Env& env, const std::string& ns, const std::string& name) {
  auto r = env.kubectl({"get", "rdj", name, "-n", ns, "-o", "name"});
  return r.exit_code != 0 && r.err.find("NotFound") != std::string::npos;
}

std::string status_of(const std::optional<json>& job, const std::string& field) {
  if (!job) return "";
  const json st = job->value("status", json::object());
  return st.contains(field) && st[field].is_string() ? st[field].get<std::string>() : "";
}

// Every submission the fake heads received for job ids starting with `prefix` (the job's name).
std::vector<json> submissions(Env& env, const std::string& prefix) {
  std::vector<json> out;
  for (const auto& s : env.sim_get("ray/jobs"))
    if (s.value("submissionId", "").rfind(prefix + "-", 0) == 0) out.push_back(s);
  return out;
}

std::string deployment(Env& env, const std::string& ns, const std::string& name) {
  return status_of(get_job(env, ns, name), "jobDeploymentStatus");
}

std::string describe_job(Env& env, const std::string& ns, const std::string& name) {
  auto j = get_job(env, ns, name);
  return (j ? j->value("status", json::object()).dump(2) : std::string("(no job)")) + "\n" + env.operator_log();
}

void setup(Env& env, const std::string& ns) {
  install_job_crd(env);
  env.apply_prerequisites(ns);
  env.start_operator();
}

}  // namespace

TEST_CASE("job e2e: an ephemeral job goes cluster, Ready, one submission, SUCCEEDED, cluster deleted, job deleted after its TTL") {
  Env env;
  const std::string ns = "jobs-a";
  setup(env, ns);
  env.apply(ephemeral_job(env, "hello", ns, "  ttlSecondsAfterFinished: 5\n"));

  // kubectl wait understands the Complete condition.
  auto wait = env.kubectl({"wait", "--for=condition=Complete", "rdj/hello", "-n", ns, "--timeout=120s"});
  REQUIRE_MESSAGE(wait.exit_code == 0, wait.err << "\n" << describe_job(env, ns, "hello"));
  auto job = get_job(env, ns, "hello");
  REQUIRE(job);
  const json st = (*job)["status"];
  CHECK(st.value("jobStatus", "") == "SUCCEEDED");
  CHECK(st.value("jobDeploymentStatus", "") == "Complete");
  CHECK(st.value("succeeded", 0) == 1);
  CHECK(st.contains("startTime"));
  CHECK(st.contains("endTime"));
  CHECK(st.value("dashboardURL", "").find(":8265") != std::string::npos);
  const std::string cluster = st.value("clusterName", "");
  REQUIRE(cluster.rfind("hello-", 0) == 0);

  auto subs = submissions(env, "hello");
  REQUIRE(subs.size() == 1);
  CHECK(subs[0].value("submissionId", "") == st.value("jobId", ""));
  CHECK(subs[0].value("entrypoint", "") == "python -c 'print(42)'");
  CHECK_FALSE(env.events(ns, "hello", "Submitted").empty());
  CHECK_FALSE(env.events(ns, "hello", "ClusterCreated").empty());

  // The ephemeral cluster goes (shutdownAfterJobFinishes), and nothing of it stays on YellowDog.
  REQUIRE_MESSAGE(env.eventually([&] { return env.cluster_gone(ns, cluster); }, 60s), env.operator_log());
  auto v = view(env, ns, cluster);
  CHECK(v.live_work_requirements() == 0);
  CHECK(v.live_pools() == 0);
  // The job itself after ttlSecondsAfterFinished.
  REQUIRE_MESSAGE(env.eventually([&] { return job_gone(env, ns, "hello"); }, 30s), describe_job(env, ns, "hello"));
  CHECK(submissions(env, "hello").size() == 1);
}

TEST_CASE("job e2e: a failed job with backoffLimit 1 retries once with a new submission id and ends Failed with the log tail") {
  Env env(sim_flags({"--ray-job-duration", "600s"}));
  const std::string ns = "jobs-b";
  setup(env, ns);
  env.apply(ephemeral_job(env, "flaky", ns, "  backoffLimit: 1\n"));

  REQUIRE_MESSAGE(env.eventually([&] { return submissions(env, "flaky").size() == 1; }, 120s),
                  describe_job(env, ns, "flaky"));
  const std::string first = submissions(env, "flaky")[0].value("submissionId", "");
  env.sim_post("ray/jobs/" + first, json{{"status", "FAILED"}, {"logs", "loading\nRuntimeError: first attempt\n"}});

  REQUIRE_MESSAGE(env.eventually([&] { return submissions(env, "flaky").size() == 2; }, 120s),
                  describe_job(env, ns, "flaky"));
  std::string second;
  for (const auto& s : submissions(env, "flaky"))
    if (s.value("submissionId", "") != first) second = s.value("submissionId", "");
  REQUIRE(!second.empty());
  CHECK(second != first);
  env.sim_post("ray/jobs/" + second, json{{"status", "FAILED"}, {"logs", "step 1\nValueError: second attempt\n"}});

  REQUIRE_MESSAGE(env.eventually([&] { return deployment(env, ns, "flaky") == "Failed"; }, 60s),
                  describe_job(env, ns, "flaky"));
  auto job = get_job(env, ns, "flaky");
  const json st = (*job)["status"];
  CHECK(st.value("failed", 0) == 2);
  CHECK(st.value("jobStatus", "") == "FAILED");
  CHECK(st.value("jobId", "") == second);
  CHECK(st.value("message", "").find("ValueError: second attempt") != std::string::npos);
  auto failed = condition_of(*job, "Failed");
  REQUIRE(failed);
  CHECK((*failed)["status"] == "True");
  CHECK((*failed)["reason"] == "AppFailed");
  CHECK_FALSE(env.events(ns, "flaky", "Retrying").empty());
  CHECK(env.kubectl({"wait", "--for=condition=Failed", "rdj/flaky", "-n", ns, "--timeout=10s"}).exit_code == 0);
  // No third submission, and both attempts' clusters go.
  std::this_thread::sleep_for(2s);
  CHECK(submissions(env, "flaky").size() == 2);
  REQUIRE_MESSAGE(env.eventually([&] {
                    auto r = env.kubectl({"get", "rdc", "-n", ns, "-o", "name"});
                    return r.exit_code == 0 && r.out.empty();
                  }, 60s),
                  env.operator_log());
}

TEST_CASE("job e2e: activeDeadlineSeconds stops a running job on the head") {
  Env env(sim_flags({"--ray-job-duration", "600s"}));
  const std::string ns = "jobs-c";
  setup(env, ns);
  env.apply(ephemeral_job(env, "slow", ns, "  activeDeadlineSeconds: 30\n  backoffLimit: 2\n"));
  REQUIRE_MESSAGE(env.eventually([&] { return submissions(env, "slow").size() == 1; }, 60s),
                  describe_job(env, ns, "slow"));
  REQUIRE_MESSAGE(env.eventually([&] { return deployment(env, ns, "slow") == "Failed"; }, 60s),
                  describe_job(env, ns, "slow"));
  auto job = get_job(env, ns, "slow");
  auto failed = condition_of(*job, "Failed");
  REQUIRE(failed);
  CHECK((*failed)["reason"] == "DeadlineExceeded");
  // The stop reached the head, and the deadline is not retried.
  REQUIRE_MESSAGE(env.eventually([&] {
                    auto subs = submissions(env, "slow");
                    return !subs.empty() && subs[0].value("status", "") == "STOPPED";
                  }, 30s),
                  env.sim_get("ray/jobs").dump());
  CHECK(submissions(env, "slow").size() == 1);
}

TEST_CASE("job e2e: kill -9 of the operator right after the submit leads to no second submission") {
  Env env(sim_flags({"--ray-job-duration", "600s"}));
  const std::string ns = "jobs-d";
  setup(env, ns);
  // The head records the first submission and drops the connection without an answer (ray-jobs-api.md §3:
  // a submit can be recorded although its reply never came): the operator must read before posting again.
  env.sim_post("ray/jobs-faults", json{{"dropNext", 1}});
  env.apply(ephemeral_job(env, "once", ns));
  // Poll fast: the kill should land between the submit and the status write that follows it.
  REQUIRE_MESSAGE(env.eventually([&] { return !submissions(env, "once").empty(); }, 120s),
                  describe_job(env, ns, "once"));
  env.kill_operator();
  env.start_operator();
  REQUIRE_MESSAGE(env.eventually([&] { return status_of(get_job(env, ns, "once"), "jobStatus") == "RUNNING"; }, 60s),
                  describe_job(env, ns, "once"));
  std::this_thread::sleep_for(3s);
  auto subs = submissions(env, "once");
  CHECK(subs.size() == 1);
  int posts = 0;  // every POST a head received, the dropped one included
  for (const auto& p : env.sim_get("ray/jobs-posts"))
    if (p.value("submissionId", "").rfind("once-", 0) == 0) ++posts;
  CHECK(posts == 1);
  // Deleting the job stops it on the head and takes the ephemeral cluster with it.
  const std::string cluster = status_of(get_job(env, ns, "once"), "clusterName");
  auto del = env.kubectl({"delete", "rdj", "once", "-n", ns, "--wait=false"});
  REQUIRE(del.exit_code == 0);
  REQUIRE_MESSAGE(env.eventually([&] { return job_gone(env, ns, "once"); }, 60s), env.operator_log());
  // The stop reached the head (the head itself goes with the cluster right after, before the fake's stop
  // delay could mark the job STOPPED).
  CHECK(submissions(env, "once")[0].value("stopRequested", false) == true);
  REQUIRE_MESSAGE(env.eventually([&] { return env.cluster_gone(ns, cluster); }, 60s), env.operator_log());
}

TEST_CASE("job e2e: a job against an existing cluster leaves that cluster alone") {
  Env env;
  const std::string ns = "jobs-e";
  setup(env, ns);
  std::string cluster = small_cluster(env, "shared", ns, 1);
  cluster.replace(cluster.find("  namespace: " + ns + "\n"), ("  namespace: " + ns + "\n").size(),
                  "  namespace: " + ns + "\n  labels:\n    team: ml\n");
  env.apply(cluster);
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready(ns, "shared"); }, 90s), env.operator_log());
  env.apply("apiVersion: raydog.io/v1alpha1\nkind: RayDogJob\nmetadata:\n  name: use-shared\n  namespace: " + ns +
            "\nspec:\n  entrypoint: echo hi\n  clusterSelector:\n    team: ml\n  ttlSecondsAfterFinished: 2\n");
  auto wait = env.kubectl({"wait", "--for=condition=Complete", "rdj/use-shared", "-n", ns, "--timeout=60s"});
  REQUIRE_MESSAGE(wait.exit_code == 0, wait.err << "\n" << describe_job(env, ns, "use-shared"));
  CHECK(status_of(get_job(env, ns, "use-shared"), "clusterName") == "shared");
  CHECK(submissions(env, "use-shared").size() == 1);
  REQUIRE_MESSAGE(env.eventually([&] { return job_gone(env, ns, "use-shared"); }, 30s), env.operator_log());
  // The cluster is untouched: still there, not being deleted, still Ready, its work requirement live.
  auto c = env.get_cluster(ns, "shared");
  REQUIRE(c);
  CHECK_FALSE((*c)["metadata"].contains("deletionTimestamp"));
  CHECK(env.is_ready(ns, "shared"));
  CHECK(view(env, ns, "shared").live_work_requirements() == 1);

  // Neither clusterSpec nor clusterSelector: the emulator does not evaluate the CRD's CEL rules, so the
  // operator's own validation reports it (a real API server refuses it at apply).
  env.apply("apiVersion: raydog.io/v1alpha1\nkind: RayDogJob\nmetadata:\n  name: nowhere\n  namespace: " + ns +
            "\nspec:\n  entrypoint: echo hi\n");
  REQUIRE_MESSAGE(env.eventually([&] { return deployment(env, ns, "nowhere") == "ValidationFailed"; }, 30s),
                  describe_job(env, ns, "nowhere"));
  auto invalid = get_job(env, ns, "nowhere");
  auto stalled = condition_of(*invalid, "Stalled");
  REQUIRE(stalled);
  CHECK((*stalled)["status"] == "True");
  CHECK(status_of(invalid, "message").find("clusterSpec") != std::string::npos);
  CHECK_FALSE(env.events(ns, "nowhere", "InvalidSpec").empty());
  CHECK(submissions(env, "nowhere").empty());
}

TEST_CASE("job e2e: without the RayDogJob CRD the operator says so once, runs clusters, and takes jobs once the CRD arrives") {
  Env env;
  const std::string ns = "jobs-f";
  env.apply_prerequisites(ns);
  env.start_operator();
  env.apply(small_cluster(env, "plain", ns, 1));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready(ns, "plain"); }, 90s), env.operator_log());
  // The informer has retried the missing kind several times by now (backoff from 0.8 s): one line only.
  std::this_thread::sleep_for(4s);
  const std::string said = "the API server does not serve this resource";
  const std::string log = env.operator_log_full();
  std::size_t lines = 0;
  for (auto pos = log.find(said); pos != std::string::npos; pos = log.find(said, pos + 1)) ++lines;
  CHECK_MESSAGE(lines == 1, log);
  CHECK(log.find("raydogjobs.raydog.io") != std::string::npos);

  install_job_crd(env);
  env.apply("apiVersion: raydog.io/v1alpha1\nkind: RayDogJob\nmetadata:\n  name: late\n  namespace: " + ns +
            "\nspec:\n  entrypoint: echo late\n  clusterSelector:\n    raydog.io/job-target: plain\n");
  // The selector matches nothing yet: said in status, nothing submitted.
  REQUIRE_MESSAGE(env.eventually([&] {
                    return status_of(get_job(env, ns, "late"), "message").find("no RayDogCluster") != std::string::npos;
                  }, 60s),
                  describe_job(env, ns, "late"));
  CHECK(submissions(env, "late").empty());
  auto label = env.kubectl({"label", "rdc", "plain", "-n", ns, "raydog.io/job-target=plain"});
  REQUIRE_MESSAGE(label.exit_code == 0, label.err);
  auto wait = env.kubectl({"wait", "--for=condition=Complete", "rdj/late", "-n", ns, "--timeout=60s"});
  REQUIRE_MESSAGE(wait.exit_code == 0, wait.err << "\n" << describe_job(env, ns, "late"));
  CHECK(submissions(env, "late").size() == 1);
  CHECK(env.operator_log_full().find("the resource is served now") != std::string::npos);
}
