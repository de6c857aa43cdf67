#include "test/emulator/discovery.hpp"

#include <algorithm>
#include <functional>
#include <sstream>

namespace raydog::emulator {

namespace {

const json kVerbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};

json subresource_entries(const ResourceInfo& r) {
  json subs = json::array();
  if (r.has_status)
    subs.push_back({{"subresource", "status"},
                    {"responseKind", {{"group", r.group}, {"version", r.version}, {"kind", r.kind}}},
                    {"verbs", {"get", "patch", "update"}}});
  if (r.has_scale)
    subs.push_back({{"subresource", "scale"},
                    {"responseKind", {{"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}}},
                    {"verbs", {"get", "patch", "update"}}});
  return subs;
}

json aggregated_resource(const ResourceInfo& r) {
  json j = {{"resource", r.plural},
            {"singularResource", r.singular},
            {"scope", r.namespaced ? "Namespaced" : "Cluster"},
            {"responseKind", {{"group", r.group}, {"version", r.version}, {"kind", r.kind}}},
            {"verbs", kVerbs}};
  if (!r.short_names.empty()) j["shortNames"] = r.short_names;
  if (!r.categories.empty()) j["categories"] = r.categories;
  json subs = subresource_entries(r);
  if (!subs.empty()) j["subresources"] = subs;
  return j;
}

json query_param(const std::string& name, const std::string& desc) {
  return {{"name", name},
          {"in", "query"},
          {"description", desc},
          {"schema", {{"type", "string"}, {"uniqueItems", true}}}};
}

json operation(const ResourceInfo& r, const std::string& verb, const std::string& action, bool patch) {
  json ref = {{"$ref", "#/components/schemas/" + openapi_schema_name(r)}};
  json op = {{"operationId", verb + r.kind},
             {"x-kubernetes-action", action},
             {"x-kubernetes-group-version-kind", openapi_gvk(r)},
             {"responses",
              {{"200", {{"description", "OK"}, {"content", {{"application/json", {{"schema", ref}}}}}}}}}};
  if (verb == "get") return op;
  json params = {
      query_param("dryRun", "When present, indicates that modifications should not be persisted."),
      query_param("fieldManager",
                  "fieldManager is a name associated with the actor or entity that is making these changes."),
      query_param("fieldValidation",
                  "fieldValidation instructs the server on how to handle objects in the request containing "
                  "unknown or duplicate fields.")};
  if (patch) {
    params.push_back({{"name", "force"},
                      {"in", "query"},
                      {"description", "Force is going to force Apply requests."},
                      {"schema", {{"type", "boolean"}, {"uniqueItems", true}}}});
    op["requestBody"] = {{"content",
                          {{"application/json-patch+json", {{"schema", {{"type", "object"}}}}},
                           {"application/merge-patch+json", {{"schema", {{"type", "object"}}}}},
                           {"application/apply-patch+yaml", {{"schema", {{"type", "object"}}}}}}},
                         {"required", true}};
  } else {
    op["requestBody"] = {{"content", {{"application/json", {{"schema", ref}}}}}, {"required", true}};
  }
  op["parameters"] = params;
  return op;
}

std::string hash_of(const json& doc) {
  std::ostringstream ss;
  ss << std::hex << std::uppercase << std::hash<std::string>{}(doc.dump());
  return ss.str();
}

}  // namespace

std::string openapi_schema_name(const ResourceInfo& r) {
  if (r.group.empty()) return "io.k8s.api.core." + r.version + "." + r.kind;
  std::vector<std::string> parts;
  std::stringstream ss(r.group);
  std::string p;
  while (std::getline(ss, p, '.')) parts.insert(parts.begin(), p);
  std::string out;
  for (const auto& x : parts) out += x + ".";
  return out + r.version + "." + r.kind;
}

json openapi_gvk(const ResourceInfo& r) {
  return {{"group", r.group}, {"version", r.version}, {"kind", r.kind}};
}

json version_info() {
  return {{"major", "1"},
          {"minor", "32"},
          {"gitVersion", "v1.32.0"},
          {"gitCommit", "0000000000000000000000000000000000000000"},
          {"gitTreeState", "clean"},
          {"buildDate", "2025-01-01T00:00:00Z"},
          {"goVersion", "go1.23.0"},
          {"compiler", "gc"},
          {"platform", "linux/amd64"}};
}

json aggregated_discovery(const Registry& reg, bool core) {
  json items = json::array();
  auto group_item = [&](const std::string& group) {
    json versions = json::array();
    for (const auto& v : reg.versions(group)) {
      json resources = json::array();
      for (const auto& r : reg.all())
        if (r->group == group && r->version == v) resources.push_back(aggregated_resource(*r));
      versions.push_back({{"version", v}, {"freshness", "Current"}, {"resources", resources}});
    }
    json md = json::object();
    if (!group.empty()) md["name"] = group;
    return json{{"metadata", md}, {"versions", versions}};
  };
  if (core)
    items.push_back(group_item(""));
  else
    for (const auto& g : reg.groups()) items.push_back(group_item(g));
  return {{"kind", "APIGroupDiscoveryList"},
          {"apiVersion", "apidiscovery.k8s.io/v2"},
          {"metadata", json::object()},
          {"items", items}};
}

json legacy_api_versions(const std::string& server_address) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

json legacy_group(const Registry& reg, const std::string& group) {
  auto versions = reg.versions(group);
  if (versions.empty()) return nullptr;
  json vs = json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
  return {{"kind", "APIGroup"},
          {"apiVersion", "v1"},
          {"name", group},
          {"versions", vs},
          {"preferredVersion", vs[0]}};
}

json legacy_group_list(const Registry& reg) {
  json groups = json::array();
  for (const auto& g : reg.groups()) {
    json grp = legacy_group(reg, g);
    grp.erase("kind");
    grp.erase("apiVersion");
    groups.push_back(grp);
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

json legacy_resource_list(const Registry& reg, const std::string& group, const std::string& version) {
  json resources = json::array();
  for (const auto& rp : reg.all()) {
    const ResourceInfo& r = *rp;
    if (r.group != group || r.version != version) continue;
    json j = {{"name", r.plural},
              {"singularName", r.singular},
              {"namespaced", r.namespaced},
              {"kind", r.kind},
              {"verbs", kVerbs}};
    if (!r.short_names.empty()) j["shortNames"] = r.short_names;
    if (!r.categories.empty()) j["categories"] = r.categories;
    resources.push_back(j);
    if (r.has_status)
      resources.push_back({{"name", r.plural + "/status"},
                           {"singularName", ""},
                           {"namespaced", r.namespaced},
                           {"kind", r.kind},
                           {"verbs", {"get", "patch", "update"}}});
    if (r.has_scale)
      resources.push_back({{"name", r.plural + "/scale"},
                           {"singularName", ""},
                           {"namespaced", r.namespaced},
                           {"group", "autoscaling"},
                           {"version", "v1"},
                           {"kind", "Scale"},
                           {"verbs", {"get", "patch", "update"}}});
  }
  if (resources.empty()) return nullptr;
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group.empty() ? version : group + "/" + version},
          {"resources", resources}};
}

json openapi_v3_document(const Registry& reg, const std::string& gv_path) {
  json paths = json::object();
  json schemas = json::object();
  bool any = false;
  for (const auto& rp : reg.all()) {
    const ResourceInfo& r = *rp;
    std::string gvp = r.group.empty() ? "api/" + r.version : "apis/" + r.group + "/" + r.version;
    if (gvp != gv_path) continue;
    any = true;
    std::string base = "/" + gvp + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.plural;
    paths[base + "/{name}"] = {{"get", operation(r, "read", "get", false)},
                               {"put", operation(r, "replace", "put", false)},
                               {"patch", operation(r, "patch", "patch", true)}};
    paths[base] = {{"post", operation(r, "create", "post", false)}};
    json schema = r.schema.is_object()
                      ? r.schema
                      : json{{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
    if (!schema.contains("description") && r.custom)
      schema["description"] = r.kind + " is a custom resource.";
    schema["x-kubernetes-group-version-kind"] = json::array({openapi_gvk(r)});
    schemas[openapi_schema_name(r)] = schema;
  }
  if (!any) return nullptr;
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
          {"paths", paths},
          {"components", {{"schemas", schemas}}}};
}

json openapi_v3_root(const Registry& reg) {
  json paths = json::object();
  std::vector<std::string> gvs;
  for (const auto& rp : reg.all()) {
    const ResourceInfo& r = *rp;
    std::string gvp = r.group.empty() ? "api/" + r.version : "apis/" + r.group + "/" + r.version;
    if (std::find(gvs.begin(), gvs.end(), gvp) == gvs.end()) gvs.push_back(gvp);
  }
  for (const auto& gvp : gvs)
    paths[gvp] = {
        {"serverRelativeURL", "/openapi/v3/" + gvp + "?hash=" + hash_of(openapi_v3_document(reg, gvp))}};
  return {{"paths", paths}};
}

}  // namespace raydog::emulator
