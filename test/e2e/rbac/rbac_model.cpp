#include "test/e2e/rbac/rbac_model.hpp"

#include <algorithm>
#include <sstream>

namespace raydog::test::rbac {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream in(path);
  std::string seg;
  while (std::getline(in, seg, '/'))
    if (!seg.empty()) out.push_back(seg);
  return out;
}

bool query_flag(const std::string& query, const std::string& key) {
  std::stringstream in(query);
  std::string kv;
  while (std::getline(in, kv, '&')) {
    auto eq = kv.find('=');
    if (kv.substr(0, eq) == key)
      return eq != std::string::npos && (kv.substr(eq + 1) == "true" || kv.substr(eq + 1) == "1");
  }
  return false;
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& v : j[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end() || std::find(v.begin(), v.end(), "*") != v.end();
}

}  // namespace

std::string Attributes::key() const {
  if (!resource_request) return "nonResourceURL " + path;
  std::string r =
      (group.empty() ? "core" : group) + "/" + resource + (subresource.empty() ? "" : "/" + subresource);
  return verb + " " + r + (ns.empty() ? " (cluster-wide)" : " in " + ns);
}

Attributes attributes_of(const std::string& method, const std::string& target) {
  Attributes a;
  auto q = target.find('?');
  a.path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  auto segs = split_path(a.path);
  std::size_t i = 0;
  if (segs.size() >= 2 && segs[0] == "api") {
    i = 2;  // api/v1
  } else if (segs.size() >= 3 && segs[0] == "apis") {
    a.group = segs[1];
    i = 3;  // apis/G/V
  } else {
    return a;  // /version, /healthz, /openapi/...
  }
  if (i >= segs.size()) return a;  // discovery: /api/v1, /apis/G/V
  a.resource_request = true;
  // namespaces/NS/<resource>...; "namespaces/NS" alone is the Namespace object itself.
  if (segs[i] == "namespaces" && i + 2 < segs.size()) {
    a.ns = segs[i + 1];
    i += 2;
  }
  a.resource = segs[i];
  if (i + 1 < segs.size()) a.name = segs[i + 1];
  if (i + 2 < segs.size()) a.subresource = segs[i + 2];
  if (method == "GET" || method == "HEAD") {
    if (!a.name.empty())
      a.verb = "get";
    else
      a.verb = query_flag(query, "watch") ? "watch" : "list";
  } else if (method == "POST") {
    a.verb = "create";
  } else if (method == "PUT") {
    a.verb = "update";
  } else if (method == "PATCH") {
    a.verb = "patch";
  } else if (method == "DELETE") {
    a.verb = a.name.empty() ? "deletecollection" : "delete";
  } else {
    a.verb = method;
  }
  return a;
}

std::vector<Rule> rules_of(const json& role) {
  std::vector<Rule> out;
  for (const auto& r : role.value("rules", json::array())) {
    Rule rule;
    rule.api_groups = strings(r, "apiGroups");
    rule.resources = strings(r, "resources");
    rule.verbs = strings(r, "verbs");
    rule.resource_names = strings(r, "resourceNames");
    rule.non_resource_urls = strings(r, "nonResourceURLs");
    out.push_back(std::move(rule));
  }
  return out;
}

bool allows(const Rule& rule, const Attributes& a) {
  if (!a.resource_request) return contains(rule.non_resource_urls, a.path) && contains(rule.verbs, "get");
  if (!contains(rule.verbs, a.verb) || !contains(rule.api_groups, a.group)) return false;
  const std::string res = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
  if (!contains(rule.resources, res)) return false;
  return rule.resource_names.empty() || (!a.name.empty() && contains(rule.resource_names, a.name));
}

}  // namespace raydog::test::rbac
