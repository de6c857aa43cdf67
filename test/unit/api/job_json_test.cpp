// RayDogJob JSON (api/job_json.hpp): the same visitors as RayDogCluster's, instantiated for the job.
#include <doctest/doctest.h>

#include <algorithm>

#include "api/job_json.hpp"
#include "api_fixtures.hpp"

using nlohmann::json;
using namespace raydog::api;

namespace {

using test::messages;

json minimal_job() {
  return json::parse(R"({"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogJob", "metadata": {"name": "j"},
    "spec": {"entrypoint": "python x.py", "clusterSelector": {"team": "a"}}})");
}

std::vector<std::string> decode_errors(const json& j) {
  auto r = job_from_json(j);
  REQUIRE_FALSE(r.ok());
  return messages(r.error());
}

}  // namespace

TEST_CASE("job json: every field round-trips exactly, the embedded cluster spec included") {
  json in = test::full_job_json();
  auto j = job_from_json(in);
  REQUIRE_MESSAGE(j.ok(), (j.ok() ? "" : to_string(j.error())));
  CHECK(j->spec.entrypoint == "python train.py --epochs 3");
  CHECK(j->spec.entrypoint_num_cpus == "500m");
  CHECK(j->spec.entrypoint_resources->at("accel_a100") == "1");
  CHECK(j->spec.shutdown_after_job_finishes == false);
  CHECK(j->spec.ttl_seconds_after_finished == 60);
  CHECK(j->spec.active_deadline_seconds == 3600);
  CHECK(j->spec.backoff_limit == 2);
  REQUIRE(j->spec.cluster_spec.has_value());
  CHECK(j->spec.cluster_spec->deletion_policy == DeletionPolicy::kOrphan);
  CHECK((*j->spec.cluster_spec->worker_pools)[1].ray_resources->at("memory") == "32Gi");
  CHECK(j->status->job_status == RayJobStatus::kFailed);
  CHECK(j->status->job_deployment_status == JobDeploymentStatus::kRetrying);
  CHECK(j->status->failed == 1);
  CHECK(j->status->conditions.at(1).type == "Complete");
  CHECK(json(*j) == in);
  auto again = job_from_json(json(*j));
  REQUIRE(again.ok());
  CHECK(*again == *j);

  // The selector instead of the cluster spec (the two exclude each other; validation says so, not decode).
  in["spec"].erase("clusterSpec");
  in["spec"]["clusterSelector"] = {{"team", "a"}, {"raydog.io/pool", "gpu"}};
  auto sel = job_from_json(in);
  REQUIRE(sel.ok());
  CHECK(sel->spec.cluster_selector->size() == 2);
  CHECK(json(*sel) == in);
}

TEST_CASE("job json: every enum spelling decodes and encodes") {
  for (auto name : Spellings<RayJobStatus>::names) {
    auto s = job_status_from_json(json{{"jobStatus", name}});
    REQUIRE(s.ok());
    CHECK(to_string(*s->job_status) == name);
    CHECK(json(*s)["jobStatus"] == name);
  }
  for (auto name : Spellings<JobDeploymentStatus>::names) {
    auto s = job_status_from_json(json{{"jobDeploymentStatus", name}});
    REQUIRE(s.ok());
    CHECK(json(*s)["jobDeploymentStatus"] == name);
  }
  CHECK(is_terminal(RayJobStatus::kStopped));
  CHECK_FALSE(is_terminal(RayJobStatus::kRunning));
}

TEST_CASE("job json: absent stays absent, explicit empty values stay, null is absent") {
  json in = minimal_job();
  auto j = job_from_json(in);
  REQUIRE(j.ok());
  CHECK_FALSE(j->spec.backoff_limit.has_value());
  CHECK_FALSE(j->spec.cluster_spec.has_value());
  CHECK_FALSE(j->status.has_value());
  CHECK(json(*j) == in);

  in["spec"]["metadata"] = json::object();
  in["spec"]["suspend"] = false;
  auto j2 = job_from_json(in);
  REQUIRE(j2.ok());
  CHECK(j2->spec.metadata.has_value());
  CHECK(json(*j2) == in);

  in["spec"]["ttlSecondsAfterFinished"] = nullptr;
  auto j3 = job_from_json(in);
  REQUIRE(j3.ok());
  CHECK_FALSE(j3->spec.ttl_seconds_after_finished.has_value());
}

TEST_CASE("job json: unknown fields are rejected in the spec and the cluster spec, with their path") {
  json in = minimal_job();
  in["spec"]["entryPoint"] = "x";
  in["spec"]["clusterSpec"] = json::parse(R"({"yellowdog": {"namespace": "ray", "credentialsSecretRef": {"name": "s"}},
      "head": {"computeRequirementTemplate": "a/b", "startscript": "x"}, "bogus": 1})");
  in["extra"] = 1;
  auto errs = decode_errors(in);
  std::vector<std::string> want = {"spec.clusterSpec.head.startscript: unknown field",
                                   "spec.clusterSpec.bogus: unknown field", "spec.entryPoint: unknown field",
                                   "extra: unknown field"};
  CHECK(errs == want);
}

TEST_CASE("job json: type errors name the path and the types") {
  json in = minimal_job();
  in["spec"]["entrypoint"] = json::array({"python", "x.py"});
  in["spec"]["entrypointNumCpus"] = 1;  // a quantity string, as rayResources' values
  in["spec"]["clusterSelector"] = json{{"team", true}};
  in["spec"]["backoffLimit"] = 3000000000LL;
  in["spec"]["activeDeadlineSeconds"] = "1h";
  in["spec"]["clusterSpec"] = json{{"suspend", "no"}};
  CHECK(decode_errors(in) == std::vector<std::string>{
                                 "spec.entrypoint: must be a string, got array",
                                 "spec.entrypointNumCpus: must be a string, got integer",
                                 "spec.clusterSpec.suspend: must be a boolean, got string",
                                 "spec.clusterSelector[team]: must be a string, got boolean",
                                 "spec.activeDeadlineSeconds: must be an integer, got string",
                                 "spec.backoffLimit: must be an integer in int32 range",
                             });
}

TEST_CASE("job json: apiVersion and kind are checked, metadata and status extras are ignored") {
  json in = minimal_job();
  in["kind"] = "RayDogCluster";
  CHECK(decode_errors(in) == std::vector<std::string>{"kind: must be RayDogJob, got \"RayDogCluster\""});
  json ok = minimal_job();
  ok["metadata"]["managedFields"] = json::array({json::object()});
  ok["status"] = json{{"jobStatus", "RUNNING"}, {"futureField", 1}, {"conditions", json::array({json{
                                                                        {"type", "Complete"},
                                                                        {"status", "False"},
                                                                        {"futureConditionField", 1}}})}};
  auto j = job_from_json(ok);
  REQUIRE_MESSAGE(j.ok(), (j.ok() ? "" : to_string(j.error())));
  CHECK(j->status->job_status == RayJobStatus::kRunning);
  CHECK(j->status->conditions.at(0).type == "Complete");
}

TEST_CASE("job json: status values outside the enums are errors, without the list a user would need") {
  auto r = job_status_from_json(json{{"jobStatus", "EXPLODED"}, {"jobDeploymentStatus", "Gone"}});
  REQUIRE_FALSE(r.ok());
  CHECK(messages(r.error()) == std::vector<std::string>{"status.jobStatus: unsupported value \"EXPLODED\"",
                                                        "status.jobDeploymentStatus: unsupported value \"Gone\""});
}

TEST_CASE("job json: the encoder writes apiVersion and kind, omits unset status fields and empty lists") {
  RayDogJob job;
  job.metadata.name = "j";
  job.spec.entrypoint = "python x.py";
  job.spec.cluster_selector = std::map<std::string, std::string>{{"team", "a"}};
  CHECK(json(job) == minimal_job());
  RayDogJobStatus s;
  s.job_deployment_status = JobDeploymentStatus::kInitializing;
  CHECK(json(s) == json{{"jobDeploymentStatus", "Initializing"}});
  s.conditions.push_back({"Complete", "True", "Succeeded", "", "2026-01-01T00:00:00Z", std::nullopt});
  CHECK(json(s)["conditions"][0] == json{{"type", "Complete"},
                                         {"status", "True"},
                                         {"reason", "Succeeded"},
                                         {"message", ""},
                                         {"lastTransitionTime", "2026-01-01T00:00:00Z"}});
}

TEST_CASE("job json: job_spec_from_json decodes a bare spec") {
  auto r = job_spec_from_json(minimal_job()["spec"]);
  REQUIRE(r.ok());
  CHECK(r->cluster_selector->at("team") == "a");
  auto bad = job_spec_from_json(json::array());
  REQUIRE_FALSE(bad.ok());
  CHECK(messages(bad.error()) == std::vector<std::string>{"spec: must be an object, got array"});
}
