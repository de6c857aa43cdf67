// The project's generated CRDs (crds/: RayDogCluster and RayDogJob) and its samples (manifests/samples)
// against kube-emulator: the CRDs register, `kubectl explain` works, valid samples apply, and invalid ones are
// rejected naming the field (or accepted, when their header says the schema accepts them).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include "test/e2e/kubectl/checks.hpp"
#include "test/e2e/kubectl/harness.hpp"

using namespace raydog::e2e;
namespace fs = std::filesystem;

namespace {
// Rules the CRD expresses only as CEL (x-kubernetes-validations), which the emulator does not evaluate.
const std::vector<std::string> kCelOnly = {"observability-without-template.yaml",
                                           "zero-build-timeout.yaml",
                                           "user-data-both.yaml",
                                           "start-script-both.yaml",
                                           "same-secret-keys.yaml",
                                           "daliuge-ports-not-distinct.yaml",
                                           "daliuge-zero-max-deferral.yaml",
                                           "daliuge-max-deferral-without-when-idle.yaml",
                                           "autoscaling-unbounded-pool.yaml",
                                           "autoscaling-head-access-none.yaml",
                                           "job-no-cluster.yaml",
                                           "job-both-clusters.yaml",
                                           "job-shutdown-with-selector.yaml"};

// Every field of RayDogJob's spec, as `kubectl explain rdj.spec` must list it.
const std::vector<std::string> kJobSpecFields = {
    "entrypoint",         "runtimeEnvYAML",          "metadata",        "entrypointNumCpus",
    "entrypointNumGpus",  "entrypointResources",     "clusterSpec",     "clusterSelector",
    "shutdownAfterJobFinishes", "ttlSecondsAfterFinished", "activeDeadlineSeconds", "backoffLimit",
    "suspend"};
}  // namespace

TEST_CASE("project CRD: registers - explains - accepts the samples - rejects the invalid corpus") {
  std::string crd = project_crd_path();
  if (crd.empty()) {
    MESSAGE("crds/raydog.io_raydogclusters.yaml does not exist yet: nothing to check");
    return;
  }
  const std::string job_crd = raydog::test::source_path("crds/raydog.io_raydogjobs.yaml");
  REQUIRE_MESSAGE(fs::exists(job_crd), "crds/raydog.io_raydogjobs.yaml is missing: run `make crd`");
  Emulator emu;
  REQUIRE_OK(emu.kubectl({"apply", "-f", crd}));
  REQUIRE_OK(emu.kubectl({"apply", "-f", job_crd}));
  REQUIRE_OK(
      emu.kubectl({"wait", "--for=condition=Established", "crd/raydogclusters.raydog.io", "--timeout=30s"}));
  REQUIRE_OK(emu.kubectl({"wait", "--for=condition=Established", "crd/raydogjobs.raydog.io", "--timeout=30s"}));
  // The discovery cache kubectl wrote during apply predates the CRD; refresh it as a user would.
  REQUIRE_OK(emu.kubectl({"api-resources"}));
  auto explain = emu.kubectl({"explain", "rdc.spec"});
  REQUIRE_OK(explain);
  CHECK_OUT(explain, "workerPools");
  // RayDogJob: every spec field is documented, and the embedded cluster spec is RayDogCluster's.
  auto explain_job = emu.kubectl({"explain", "rdj.spec"});
  REQUIRE_OK(explain_job);
  CHECK_OUT(explain_job, "RayDogJob");
  for (const auto& field : kJobSpecFields) {
    INFO(field);
    CHECK(std::regex_search(explain_job.out, std::regex("\\n\\s+" + field + "\\b")));
  }
  auto explain_cluster_spec = emu.kubectl({"explain", "rdj.spec.clusterSpec"});
  REQUIRE_OK(explain_cluster_spec);
  CHECK_OUT(explain_cluster_spec, "workerPools");
  CHECK_OUT(explain_cluster_spec, "yellowdog");
  std::string samples = raydog::test::source_path("manifests/samples");
  int valid = 0, rejected = 0, client_rejected = 0;
  for (const auto& entry : fs::directory_iterator(samples)) {
    if (entry.path().extension() != ".yaml") continue;
    auto r = emu.kubectl({"apply", "-f", entry.path().string()});
    std::smatch m;
    if (r.exit_code != 0 &&
        std::regex_search(r.err, m, std::regex(R"re(namespaces "([a-z0-9-]+)" not found)re"))) {
      // Samples may live in their own namespace, as on a real cluster: create it, then retry.
      REQUIRE_OK(emu.kubectl({"apply", "-f", "-"},
                             "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + m[1].str() + "}\n"));
      r = emu.kubectl({"apply", "-f", entry.path().string()});
    }
    INFO(entry.path().filename().string() << "\n" << describe(r));
    CHECK(r.exit_code == 0);
    ++valid;
  }
  auto get = emu.kubectl({"get", "rdc"});
  REQUIRE_OK(get);
  CHECK(std::regex_search(get.out, std::regex(R"(NAME\s+PHASE\s+HEAD IP)")));
  auto get_jobs = emu.kubectl({"get", "rdj"});
  REQUIRE_OK(get_jobs);
  CHECK(std::regex_search(get_jobs.out,
                          std::regex(R"(NAME\s+JOB STATUS\s+DEPLOYMENT STATUS\s+CLUSTER\s+START\s+END\s+AGE)")));
  CHECK_OUT(get_jobs, "pi");
  std::string invalid_dir = samples + "/invalid";
  if (fs::exists(invalid_dir)) {
    for (const auto& entry : fs::directory_iterator(invalid_dir)) {
      if (entry.path().extension() != ".yaml") continue;
      std::string name = entry.path().filename().string();
      auto r = emu.kubectl({"apply", "-f", entry.path().string()});
      if (kubectl_version().minor < 25 && r.exit_code != 0 && contains(r.err, "error validating data")) {
        // Before 1.25 kubectl validates against the OpenAPI v2 schema itself and stops there (types,
        // required and unknown fields, as against a real server); the server's own verdict, which is what
        // this test is about, comes with client-side validation off.
        ++client_rejected;
        r = emu.kubectl({"apply", "--validate=false", "-f", entry.path().string()});
      }
      INFO(name << "\n" << describe(r));
      std::ifstream header(entry.path());
      const std::string text((std::istreambuf_iterator<char>(header)), std::istreambuf_iterator<char>());
      if (contains(text, "\n# schema: accepts")) {
        // A rule only the operator checks (it reports ValidationFailed): the API server stores the object.
        CHECK(r.exit_code == 0);
        (void)emu.kubectl({"delete", "-f", entry.path().string(), "--ignore-not-found"});
        continue;
      }
      if (std::find(kCelOnly.begin(), kCelOnly.end(), name) != kCelOnly.end()) {
        MESSAGE(name << ": CEL-only rule, not evaluated by kube-emulator (exit " << r.exit_code << ")");
        (void)emu.kubectl({"delete", "-f", entry.path().string(), "--ignore-not-found"});
        continue;
      }
      CHECK(r.exit_code != 0);
      CHECK((contains(r.err, "is invalid") || contains(r.err, "strict decoding error")));
      // Every "# expect: <field>: ..." line names a field the server's message must name too.
      std::ifstream in(entry.path());
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind("# expect: ", 0) != 0) continue;
        std::string field = line.substr(10, line.find(':', 10) - 10);
        // The server may name the enclosing element (list-map duplicates, unknown fields next to it).
        std::string parent = field.substr(0, field.rfind('.'));
        CHECK_MESSAGE((contains(r.err, field) || contains(r.err, parent)), "field " << field);
      }
      ++rejected;
    }
  }
  MESSAGE("project samples: " << valid << " applied, " << rejected << " invalid rejected"
                              << (client_rejected
                                      ? " (" + std::to_string(client_rejected) + " of them by kubectl " +
                                            kubectl_version().git_version + "'s client-side validation too)"
                                      : std::string()));
}
