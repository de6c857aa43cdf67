// The sample manifests parse and validate; every manifest in manifests/samples/invalid/ (RayDogClusters, and
// RayDogJobs in job-*.yaml) produces exactly the errors listed in its "# expect: " header lines, in order.
#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>

#include "api/job_defaults.hpp"
#include "api/job_validation.hpp"
#include "api/validation.hpp"
#include "api_fixtures.hpp"
#include "test/support/process.hpp"

using namespace raydog::api;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> header_lines(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix)) out.push_back(line.substr(prefix.size()));
  return out;
}

std::vector<fs::path> invalid_corpus() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(raydog::test::source_path("manifests/samples/invalid")))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("samples: minimal.yaml is valid") {
  auto c = parse_cluster_yaml(
      raydog::test::read_file(raydog::test::source_path("manifests/samples/minimal.yaml")));
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : to_string(c.error())));
  CHECK(c->metadata.name == "demo");
  REQUIRE(c->spec.worker_pools->size() == 1);
  CHECK(c->spec.build_timeout == "10m");  // defaulted
}

TEST_CASE("samples: heterogeneous.yaml is valid, with 2+ pools and observability on") {
  auto c = parse_cluster(test::sample_cluster("manifests/samples/heterogeneous.yaml"));
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : to_string(c.error())));
  CHECK(c->spec.worker_pools->size() >= 2);
  CHECK(c->spec.observability->enabled == true);
  CHECK(c->spec.lifetime == "24h");
}

TEST_CASE("samples: autoscaling.yaml is valid, every pool bounded and shaped") {
  auto c = parse_cluster_yaml(
      raydog::test::read_file(raydog::test::source_path("manifests/samples/autoscaling.yaml")));
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : to_string(c.error())));
  REQUIRE(c->spec.autoscaling.has_value());
  CHECK(c->spec.autoscaling->enabled == true);
  CHECK(c->spec.autoscaling->poll_interval == "5s");
  CHECK(c->spec.autoscaling->upscaling_mode == UpscalingMode::kDefault);
  REQUIRE(c->spec.worker_pools->size() == 2);
  for (const auto& p : *c->spec.worker_pools) {
    CHECK(p.max_nodes.has_value());
    CHECK(p.ray_resources.has_value());
  }
  CHECK((*c->spec.worker_pools)[1].idle_timeout == "5m");
}

TEST_CASE("samples: daliuge.yaml is valid, DALiuGE on with WhenIdle and the default ports") {
  auto c = parse_cluster_yaml(
      raydog::test::read_file(raydog::test::source_path("manifests/samples/daliuge.yaml")));
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : to_string(c.error())));
  REQUIRE(c->spec.daliuge.has_value());
  const auto& d = *c->spec.daliuge;
  CHECK(d.enabled == true);
  CHECK(d.version == "6.6.0");
  CHECK(d.ports->dim == 8001);
  CHECK(d.ports->nm == 8000);
  CHECK(d.ports->events == 5555);
  CHECK(d.ports->rpc == 6666);
  CHECK(d.membership_policy == MembershipPolicy::kWhenIdle);
  CHECK(d.max_deferral == "10m");
}

TEST_CASE("samples: job.yaml is valid, an ephemeral cluster deleted with the job") {
  auto j = parse_job(test::sample_of_kind("manifests/samples/job.yaml", "RayDogJob"));
  REQUIRE_MESSAGE(j.ok(), (j.ok() ? "" : to_string(j.error())));
  REQUIRE(j->spec.cluster_spec.has_value());
  CHECK_FALSE(j->spec.cluster_selector.has_value());
  CHECK(shutdown_after_job_finishes(j->spec));
  CHECK(j->spec.ttl_seconds_after_finished == 60);
  CHECK(j->spec.backoff_limit == 0);                  // defaulted
  CHECK(j->spec.cluster_spec->build_timeout == "10m");  // the embedded cluster spec's default
  CHECK(runtime_env_json(*j->spec.runtime_env_yaml).ok());
}

TEST_CASE("samples: job-existing-cluster.yaml is valid, on a cluster chosen by labels") {
  auto j = parse_job(test::sample_of_kind("manifests/samples/job-existing-cluster.yaml", "RayDogJob"));
  REQUIRE_MESSAGE(j.ok(), (j.ok() ? "" : to_string(j.error())));
  CHECK_FALSE(j->spec.cluster_spec.has_value());
  CHECK(j->spec.cluster_selector->size() == 1);
  CHECK_FALSE(shutdown_after_job_finishes(j->spec));
  CHECK(j->spec.backoff_limit == 2);
}

TEST_CASE("samples: the invalid corpus produces exactly the expected errors") {
  auto files = invalid_corpus();
  CHECK(files.size() >= 10);
  int jobs = 0;
  for (const auto& f : files) {
    INFO(f.filename().string());
    std::string text = raydog::test::read_file(f.string());
    auto want = header_lines(text, "# expect: ");
    REQUIRE_MESSAGE(!want.empty(), "no '# expect: ' header");
    auto doc = raydog::yaml_to_json(text);
    REQUIRE(doc.ok());
    jobs += test::kind_of(*doc) == "RayDogJob";
    // job-*.yaml are RayDogJobs, the rest RayDogClusters: the name says which validation applies.
    CHECK((test::kind_of(*doc) == "RayDogJob") == f.filename().string().starts_with("job-"));
    std::vector<std::string> got;
    for (const auto& e : test::validation_errors(text)) got.push_back(e.to_string());
    CHECK(got == want);
  }
  CHECK(jobs >= 5);
}
