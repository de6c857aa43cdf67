#pragma once
// Kubernetes RBAC, as much as the RBAC e2e test needs: a recorded API request mapped to the attributes the
// RBAC authorizer checks (verb, API group, resource, subresource, namespace, name), and PolicyRule matching
// with ClusterRole (all namespaces and cluster scope) and Role (its namespace only) semantics.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace raydog::test::rbac {

using nlohmann::json;

struct Attributes {
  bool resource_request = false;  // false: a non-resource URL (/version, discovery, /healthz)
  std::string path;               // without the query
  std::string verb;  // get list watch create update patch delete deletecollection (resource requests)
  std::string group, resource, subresource, ns, name;  // ns empty: cluster-scoped or all namespaces
  std::string key() const;  // "verb group/resource[/sub] in ns" (for messages and sets)
};

// "GET /apis/raydog.io/v1alpha1/namespaces/a/raydogclusters?watch=true" -> watch raydog.io raydogclusters
// in a. Follows the API server's RequestInfoFactory rules for the paths the operator uses.
Attributes attributes_of(const std::string& method, const std::string& target);

struct Rule {
  std::vector<std::string> api_groups, resources, verbs, resource_names, non_resource_urls;
};
std::vector<Rule> rules_of(const json& role);  // a ClusterRole or Role object

// Does the rule allow the request? (resources "r" or "r/sub", names when resourceNames is set; "*" too,
// though the project's rules must never use it.)
bool allows(const Rule& rule, const Attributes& a);

}  // namespace raydog::test::rbac
