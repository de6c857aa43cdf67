#include <doctest/doctest.h>

#include "api/defaults.hpp"
#include "api/json.hpp"

using nlohmann::json;
using namespace raydog::api;

TEST_CASE("defaults: a minimal spec gets every default") {
  RayDogClusterSpec spec;
  spec.yellowdog = YellowDogSpec{};
  spec.yellowdog->credentials_secret_ref = CredentialsSecretRef{"creds", {}, {}};
  spec.head = NodeSpec{};
  spec.worker_pools = std::vector<WorkerPoolSpec>{{"cpu", 2, {}, {}, {}, {}, {}}, {"gpu", 1, {}, {}, {}, {}, {}}};
  apply_defaults(spec);
  CHECK(spec.yellowdog->api_url == "https://api.yellowdog.ai");
  CHECK(spec.yellowdog->credentials_secret_ref->key_id_key == "keyId");
  CHECK(spec.yellowdog->credentials_secret_ref->key_secret_key == "keySecret");
  CHECK(spec.build_timeout == "10m");
  CHECK(spec.suspend == false);
  CHECK(spec.deletion_policy == DeletionPolicy::kDelete);
  CHECK(spec.head->metrics_enabled == false);
  for (const auto& p : *spec.worker_pools) CHECK(p.node.metrics_enabled == false);
  // No parent, no default (the API server's rule): observability stays absent, lifetime has no default.
  CHECK_FALSE(spec.observability.has_value());
  CHECK_FALSE(spec.lifetime.has_value());
}

TEST_CASE("defaults: explicit values are kept") {
  RayDogClusterSpec spec;
  spec.build_timeout = "1h";
  spec.suspend = true;
  spec.deletion_policy = DeletionPolicy::kOrphan;
  spec.observability = ObservabilitySpec{true, {}};
  spec.observability->node.metrics_enabled = true;
  apply_defaults(spec);
  CHECK(spec.build_timeout == "1h");
  CHECK(spec.suspend == true);
  CHECK(spec.deletion_policy == DeletionPolicy::kOrphan);
  CHECK(spec.observability->enabled == true);
  CHECK(spec.observability->node.metrics_enabled == true);
}

TEST_CASE("defaults: observability present gets enabled=false") {
  RayDogClusterSpec spec;
  spec.observability = ObservabilitySpec{};
  apply_defaults(spec);
  CHECK(spec.observability->enabled == false);
  CHECK(spec.observability->node.metrics_enabled == false);
}

TEST_CASE("defaults: applying twice changes nothing") {
  json j = {{"spec", {{"yellowdog", {{"credentialsSecretRef", {{"name", "s"}}}}}, {"head", json::object()}}}};
  apply_defaults(j);
  json once = j;
  apply_defaults(j);
  CHECK(j == once);
}

TEST_CASE("defaults: every table entry has a valid path and a value of the field's type") {
  // Build a spec where every parent exists, default it, and find each table value at its path.
  RayDogClusterSpec spec;
  spec.yellowdog = YellowDogSpec{};
  spec.yellowdog->credentials_secret_ref = CredentialsSecretRef{"creds", {}, {}};
  spec.head = NodeSpec{};
  spec.observability = ObservabilitySpec{};
  spec.worker_pools = std::vector<WorkerPoolSpec>{{"cpu", 1, {}, {}, {}, {}, {}}};
  spec.autoscaling = AutoscalingSpec{};
  spec.head_service = HeadServiceSpec{};
  spec.daliuge = DaliugeSpec{};  // no ports: the table defaults `ports: {}` and then each port
  apply_defaults(spec);
  json j = {{"spec", spec}};  // typed round trip: a wrongly typed default would have been dropped
  for (const auto& rule : default_table()) {
    INFO(rule.path);
    json::json_pointer ptr;
    std::string path = rule.path;
    size_t start = 0;
    while (start <= path.size()) {
      size_t dot = path.find('.', start);
      if (dot == std::string::npos) dot = path.size();
      std::string part = path.substr(start, dot - start);
      if (part.ends_with("[]")) {
        ptr /= part.substr(0, part.size() - 2);
        ptr /= 0;
      } else {
        ptr /= part;
      }
      start = dot + 1;
    }
    REQUIRE(j.contains(ptr));
    if (rule.value.is_object())  // an object default ({}) is then filled by its fields' defaults
      CHECK(j.at(ptr).is_object());
    else
      CHECK(j.at(ptr) == rule.value);
  }
}
