// The request -> RBAC attribute mapping and rule matching the RBAC e2e test relies on.
#include <doctest/doctest.h>

#include "test/e2e/rbac/rbac_model.hpp"

namespace rbac = raydog::test::rbac;

TEST_CASE("rbac_model: requests map to the attributes the API server's authorizer checks") {
  auto a = rbac::attributes_of("GET", "/apis/raydog.io/v1alpha1/raydogclusters?watch=true&resourceVersion=5");
  CHECK(a.resource_request);
  CHECK(a.key() == "watch raydog.io/raydogclusters (cluster-wide)");
  CHECK(rbac::attributes_of("GET", "/apis/raydog.io/v1alpha1/raydogclusters?limit=500").verb == "list");
  a = rbac::attributes_of("PUT", "/apis/raydog.io/v1alpha1/namespaces/a/raydogclusters/c/status");
  CHECK(a.key() == "update raydog.io/raydogclusters/status in a");
  CHECK(a.name == "c");
  CHECK(rbac::attributes_of("PATCH", "/apis/raydog.io/v1alpha1/namespaces/a/raydogclusters/c").key() ==
        "patch raydog.io/raydogclusters in a");
  CHECK(rbac::attributes_of("GET", "/api/v1/namespaces/a/secrets/s").key() == "get core/secrets in a");
  CHECK(rbac::attributes_of("POST", "/api/v1/namespaces/a/events").key() == "create core/events in a");
  CHECK(rbac::attributes_of("PUT", "/apis/coordination.k8s.io/v1/namespaces/raydog-system/leases/l").key() ==
        "update coordination.k8s.io/leases in raydog-system");
  CHECK(rbac::attributes_of("DELETE", "/api/v1/namespaces/a/configmaps").verb == "deletecollection");
  CHECK(rbac::attributes_of("GET", "/api/v1/namespaces/a").key() == "get core/namespaces (cluster-wide)");
  CHECK(!rbac::attributes_of("GET", "/version").resource_request);
  CHECK(!rbac::attributes_of("GET", "/apis/raydog.io/v1alpha1").resource_request);
}

TEST_CASE("rbac_model: rules match group, resource/subresource, verb and resourceNames") {
  auto role = rbac::json::parse(R"({"rules": [
    {"apiGroups": ["raydog.io"], "resources": ["raydogclusters", "raydogclusters/status"], "verbs": ["get", "update"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["only"]}]})");
  auto rules = rbac::rules_of(role);
  REQUIRE(rules.size() == 2);
  auto allowed = [&](const char* m, const char* t) {
    auto a = rbac::attributes_of(m, t);
    return rbac::allows(rules[0], a) || rbac::allows(rules[1], a);
  };
  CHECK(allowed("PUT", "/apis/raydog.io/v1alpha1/namespaces/a/raydogclusters/c/status"));
  CHECK(!allowed("PATCH", "/apis/raydog.io/v1alpha1/namespaces/a/raydogclusters/c/status"));
  CHECK(!allowed("PUT", "/apis/raydog.io/v1alpha1/namespaces/a/raydogclusters/c/finalizers"));
  CHECK(!allowed("GET", "/apis/other.io/v1/namespaces/a/raydogclusters/c"));
  CHECK(allowed("GET", "/api/v1/namespaces/a/configmaps/only"));
  CHECK(!allowed("GET", "/api/v1/namespaces/a/configmaps/other"));
  CHECK(!allowed("GET", "/api/v1/namespaces/a/configmaps"));  // list is not get
}
