#include <doctest/doctest.h>

#include "api/json.hpp"
#include "api_fixtures.hpp"

using nlohmann::json;
using namespace raydog::api;

namespace {
using test::messages;

json minimal() {
  return json::parse(
      R"({"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogCluster", "metadata": {"name": "x"},
    "spec": {"yellowdog": {"namespace": "ray", "credentialsSecretRef": {"name": "s"}},
             "head": {"computeRequirementTemplate": "ray/head"}}})");
}

std::vector<std::string> decode_errors(const json& j) {
  auto r = cluster_from_json(j);
  REQUIRE_FALSE(r.ok());
  return messages(r.error());
}
}  // namespace

TEST_CASE("json: every field round-trips exactly") {
  json in = test::full_cluster_json();
  auto c = cluster_from_json(in);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : to_string(c.error())));
  CHECK(c->spec.head->metrics_enabled == true);
  CHECK(c->spec.deletion_policy == DeletionPolicy::kOrphan);
  CHECK(c->status->phase == Phase::kRunning);
  CHECK(c->status->worker_pools.at(0).ready_nodes == 3);
  CHECK(c->status->conditions.at(1).observed_generation == std::nullopt);
  CHECK((*c->spec.worker_pools)[1].node.instance_tags->at("gpu") == "a100");
  CHECK(json(*c) == in);
  // And typed -> JSON -> typed.
  auto again = cluster_from_json(json(*c));
  REQUIRE(again.ok());
  CHECK(*again == *c);
}

TEST_CASE("json: absent optional fields stay absent, explicit empty values stay") {
  json in = minimal();
  auto c = cluster_from_json(in);
  REQUIRE(c.ok());
  CHECK_FALSE(c->spec.worker_pools.has_value());
  CHECK_FALSE(c->spec.build_timeout.has_value());
  CHECK_FALSE(c->status.has_value());
  CHECK(json(*c) == in);

  in["spec"]["workerPools"] = json::array();
  in["spec"]["head"]["instanceTags"] = json::object();
  in["spec"]["suspend"] = false;
  auto c2 = cluster_from_json(in);
  REQUIRE(c2.ok());
  CHECK(c2->spec.worker_pools.has_value());
  CHECK(json(*c2) == in);
}

TEST_CASE("json: null means absent") {
  json in = minimal();
  in["spec"]["lifetime"] = nullptr;
  auto c = cluster_from_json(in);
  REQUIRE(c.ok());
  CHECK_FALSE(c->spec.lifetime.has_value());
}

TEST_CASE("json: unknown fields are rejected with their path") {
  json in = minimal();
  in["spec"]["workerPools"] =
      json::parse(R"([{"name": "cpu", "nodez": 3, "computeRequirementTemplate": "a/b"}])");
  in["spec"]["head"]["startscript"] = "x";
  in["spec"]["yellowdog"]["credentialsSecretRef"]["keyID"] = "x";
  in["spec"]["observability"] = json::parse(R"({"enabled": true, "grafana": true})");
  in["spec"]["extra"] = 1;
  in["bogus"] = 1;
  auto errs = decode_errors(in);
  for (const char* want :
       {"spec.workerPools[0].nodez: unknown field", "spec.head.startscript: unknown field",
        "spec.yellowdog.credentialsSecretRef.keyID: unknown field",
        "spec.observability.grafana: unknown field", "spec.extra: unknown field", "bogus: unknown field"}) {
    CHECK_MESSAGE(std::find(errs.begin(), errs.end(), want) != errs.end(), want);
  }
  CHECK(errs.size() == 6);
}

TEST_CASE("json: type errors name the path and the types") {
  json in = minimal();
  in["spec"]["workerPools"] = json::parse(R"([{"name": "cpu", "nodes": "four"}, {"name": 7, "nodes": 1.5}])");
  in["spec"]["head"]["metricsEnabled"] = "yes";
  in["spec"]["head"]["instanceTags"] = json{{"team", 1}};
  in["spec"]["suspend"] = 1;
  in["spec"]["lifetime"] = 10;
  in["spec"]["yellowdog"]["credentialsSecretRef"] = "s";
  in["spec"]["deletionPolicy"] = "Keep";
  auto errs = decode_errors(in);
  std::vector<std::string> want = {
      "spec.yellowdog.credentialsSecretRef: must be an object, got string",
      "spec.lifetime: must be a string, got integer",
      "spec.head.instanceTags[team]: must be a string, got integer",
      "spec.head.metricsEnabled: must be a boolean, got string",
      "spec.workerPools[0].nodes: must be an integer, got string",
      "spec.workerPools[1].name: must be a string, got integer",
      "spec.workerPools[1].nodes: must be an integer, got number",
      "spec.suspend: must be a boolean, got integer",
      "spec.deletionPolicy: unsupported value \"Keep\": must be one of Delete, Orphan",
  };
  CHECK(errs == want);
}

TEST_CASE("json: int32 range is enforced") {
  json in = minimal();
  in["spec"]["workerPools"] = json::parse(R"([{"name": "cpu", "nodes": 3000000000}])");
  CHECK(decode_errors(in) ==
        std::vector<std::string>{"spec.workerPools[0].nodes: must be an integer in int32 range"});
}

TEST_CASE("json: apiVersion and kind are checked, metadata and status extras are ignored") {
  json in = minimal();
  in["apiVersion"] = "raydog.io/v1";
  in["kind"] = "RayCluster";
  CHECK(decode_errors(in) ==
        std::vector<std::string>{"apiVersion: must be raydog.io/v1alpha1, got \"raydog.io/v1\"",
                                 "kind: must be RayDogCluster, got \"RayCluster\""});
  json ok = minimal();
  ok["metadata"]["managedFields"] = json::array({json::object()});
  ok["metadata"]["ownerReferences"] = json::array();
  ok["status"] = json{{"phase", "Pending"}, {"futureField", 1}};
  auto c = cluster_from_json(ok);
  REQUIRE(c.ok());
  CHECK(c->status->phase == Phase::kPending);
}

TEST_CASE("json: a status phase outside the enum is an error") {
  auto r = status_from_json(json{{"phase", "Exploded"}});
  REQUIRE_FALSE(r.ok());
  CHECK(messages(r.error()) == std::vector<std::string>{"status.phase: unsupported value \"Exploded\""});
}

TEST_CASE("json: status lists are omitted when empty, scalars when unset") {
  RayDogClusterStatus s;
  s.phase = Phase::kProvisioning;
  CHECK(json(s) == json{{"phase", "Provisioning"}});
  s.conditions.push_back({"Ready", "False", "Provisioning", "", "2026-01-01T00:00:00Z", 1});
  CHECK(json(s)["conditions"][0]["observedGeneration"] == 1);
  CHECK(json(s)["conditions"][0]["message"] == "");
}

TEST_CASE("json: spec_from_json decodes a bare spec") {
  auto r = spec_from_json(minimal()["spec"]);
  REQUIRE(r.ok());
  CHECK(r->yellowdog->namespace_name == "ray");
  auto bad = spec_from_json(json::array());
  REQUIRE_FALSE(bad.ok());
  CHECK(messages(bad.error()) == std::vector<std::string>{"spec: must be an object, got array"});
}

TEST_CASE("json: spec durations are parsed at decode and encoded as written") {
  json in = minimal();
  in["spec"]["lifetime"] = "1.5h";
  in["spec"]["buildTimeout"] = "bogus";  // decodes (a string); validation reports it
  auto c = cluster_from_json(in);
  REQUIRE(c.ok());
  CHECK(c->spec.lifetime->parsed() == std::chrono::minutes(90));
  CHECK_FALSE(c->spec.build_timeout->parsed().has_value());
  CHECK(json(*c) == in);
}
