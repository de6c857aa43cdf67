#include "test/emulator/resources.hpp"

#include <algorithm>

namespace raydog::emulator {

namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

ResourceInfo builtin(std::string group, std::string version, std::string plural, std::string singular,
                     std::string kind, bool namespaced, std::vector<std::string> short_names = {},
                     std::vector<std::string> categories = {}) {
  ResourceInfo r;
  r.group = std::move(group);
  r.version = std::move(version);
  r.plural = std::move(plural);
  r.singular = std::move(singular);
  r.kind = std::move(kind);
  r.list_kind = r.kind + "List";
  r.namespaced = namespaced;
  r.short_names = std::move(short_names);
  r.categories = std::move(categories);
  return r;
}

}  // namespace

Registry::Registry() {
  resources_.push_back(std::make_shared<const ResourceInfo>(
      builtin("", "v1", "namespaces", "namespace", "Namespace", false, {"ns"})));
  resources_.push_back(
      std::make_shared<const ResourceInfo>(builtin("", "v1", "events", "event", "Event", true, {"ev"})));
  resources_.push_back(std::make_shared<const ResourceInfo>(
      builtin("", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"})));
  resources_.push_back(
      std::make_shared<const ResourceInfo>(builtin("", "v1", "secrets", "secret", "Secret", true)));
  resources_.push_back(std::make_shared<const ResourceInfo>(
      builtin("", "v1", "services", "service", "Service", true, {"svc"}, {"all"})));
  resources_.push_back(std::make_shared<const ResourceInfo>(
      builtin("", "v1", "endpoints", "endpoints", "Endpoints", true, {"ep"})));
  resources_.push_back(std::make_shared<const ResourceInfo>(
      builtin("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, {"sa"})));
  auto deploy = builtin("apps", "v1", "deployments", "deployment", "Deployment", true, {"deploy"}, {"all"});
  deploy.tracks_generation = true;
  deploy.has_status = true;
  resources_.push_back(std::make_shared<const ResourceInfo>(deploy));
  resources_.push_back(std::make_shared<const ResourceInfo>(
      builtin("coordination.k8s.io", "v1", "leases", "lease", "Lease", true)));
  resources_.push_back(std::make_shared<const ResourceInfo>(
      builtin("events.k8s.io", "v1", "events", "event", "Event", true, {"ev"})));
  resources_.push_back(std::make_shared<const ResourceInfo>(
      builtin("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", true)));
  for (auto [plural, kind, ns] : std::vector<std::tuple<std::string, std::string, bool>>{
           {"clusterroles", "ClusterRole", false},
           {"clusterrolebindings", "ClusterRoleBinding", false},
           {"roles", "Role", true},
           {"rolebindings", "RoleBinding", true}}) {
    std::string singular = plural.substr(0, plural.size() - 1);
    resources_.push_back(std::make_shared<const ResourceInfo>(
        builtin("rbac.authorization.k8s.io", "v1", plural, singular, kind, ns)));
  }
  auto crd = builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
                     "CustomResourceDefinition", false, {"crd", "crds"});
  crd.tracks_generation = true;
  crd.has_status = true;
  resources_.push_back(std::make_shared<const ResourceInfo>(crd));
}

Registry::Ptr Registry::find(const std::string& group, const std::string& version,
                             const std::string& plural) const {
  for (const auto& r : resources_)
    if (r->group == group && r->version == version && r->plural == plural) return r;
  return nullptr;
}

Registry::Ptr Registry::find_kind(const std::string& api_version, const std::string& kind) const {
  for (const auto& r : resources_)
    if (r->api_version() == api_version && r->kind == kind) return r;
  return nullptr;
}

std::vector<std::string> Registry::groups() const {
  std::vector<std::string> out;
  for (const auto& r : resources_)
    if (!r->group.empty() && std::find(out.begin(), out.end(), r->group) == out.end())
      out.push_back(r->group);
  return out;
}

std::vector<std::string> Registry::versions(const std::string& group) const {
  std::vector<std::string> out;
  for (const auto& r : resources_)
    if (r->group == group && std::find(out.begin(), out.end(), r->version) == out.end())
      out.push_back(r->version);
  return out;
}

void Registry::register_crd(const std::string& crd_name, const std::vector<ResourceInfo>& infos) {
  unregister_crd(crd_name);
  for (auto info : infos) {
    info.crd_name = crd_name;
    resources_.push_back(std::make_shared<const ResourceInfo>(std::move(info)));
  }
  ++generation_;
}

void Registry::unregister_crd(const std::string& crd_name) {
  auto before = resources_.size();
  std::erase_if(resources_, [&](const Ptr& r) { return r->custom && r->crd_name == crd_name; });
  if (resources_.size() != before) ++generation_;
}

namespace {

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it != j.end() && it->is_array())
    for (const auto& s : *it)
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

}  // namespace

Result<std::vector<ResourceInfo>, ApiError> crd_to_resources(const json& crd) {
  std::string name = crd.contains("metadata") ? str(crd["metadata"], "name") : "";
  std::vector<FieldError> errs;
  const json spec = crd.value("spec", json::object());
  const json names = spec.value("names", json::object());
  std::string group = str(spec, "group");
  std::string plural = str(names, "plural");
  std::string kind = str(names, "kind");
  std::string scope = str(spec, "scope");
  if (group.empty()) errs.push_back({"FieldValueRequired", "spec.group", "Required value"});
  if (plural.empty()) errs.push_back({"FieldValueRequired", "spec.names.plural", "Required value"});
  if (kind.empty()) errs.push_back({"FieldValueRequired", "spec.names.kind", "Required value"});
  if (scope != "Namespaced" && scope != "Cluster")
    errs.push_back({"FieldValueNotSupported", "spec.scope",
                    "Unsupported value: \"" + scope + "\": supported values: \"Cluster\", \"Namespaced\""});
  if (!plural.empty() && !group.empty() && name != plural + "." + group)
    errs.push_back({"FieldValueInvalid", "metadata.name",
                    "Invalid value: \"" + name + "\": must be spec.names.plural+\".\"+spec.group"});
  const json versions = spec.value("versions", json::array());
  int storage = 0;
  std::vector<ResourceInfo> out;
  if (!versions.is_array() || versions.empty())
    errs.push_back({"FieldValueInvalid", "spec.versions",
                    "Invalid value: null: must have exactly one version marked as storage version"});
  for (size_t i = 0; versions.is_array() && i < versions.size(); ++i) {
    const json& v = versions[i];
    if (v.value("storage", false)) ++storage;
    if (!v.value("served", false)) continue;
    ResourceInfo r;
    r.group = group;
    r.version = str(v, "name");
    r.plural = plural;
    r.singular = str(names, "singular");
    if (r.singular.empty()) {
      r.singular = kind;
      std::transform(r.singular.begin(), r.singular.end(), r.singular.begin(), ::tolower);
    }
    r.kind = kind;
    r.list_kind = str(names, "listKind");
    if (r.list_kind.empty()) r.list_kind = kind + "List";
    r.namespaced = scope != "Cluster";
    r.short_names = strings(names, "shortNames");
    r.categories = strings(names, "categories");
    r.custom = true;
    r.tracks_generation = true;
    const json sub = v.value("subresources", json::object());
    r.has_status = sub.contains("status");
    if (sub.contains("scale") && sub["scale"].is_object()) {
      r.has_scale = true;
      r.spec_replicas_path = str(sub["scale"], "specReplicasPath");
      r.status_replicas_path = str(sub["scale"], "statusReplicasPath");
      r.label_selector_path = str(sub["scale"], "labelSelectorPath");
    }
    if (v.contains("schema") && v["schema"].contains("openAPIV3Schema"))
      r.schema = v["schema"]["openAPIV3Schema"];
    for (const auto& c : v.value("additionalPrinterColumns", json::array())) {
      PrinterColumn pc;
      pc.name = str(c, "name");
      pc.type = str(c, "type");
      pc.format = str(c, "format");
      pc.description = str(c, "description");
      pc.json_path = str(c, "jsonPath");
      pc.priority = c.value("priority", 0);
      r.columns.push_back(pc);
    }
    if (r.version.empty())
      errs.push_back(
          {"FieldValueRequired", "spec.versions[" + std::to_string(i) + "].name", "Required value"});
    out.push_back(std::move(r));
  }
  if (versions.is_array() && !versions.empty() && storage != 1)
    errs.push_back({"FieldValueInvalid", "spec.versions",
                    "Invalid value: ...: must have exactly one version marked as storage version"});
  if (!errs.empty())
    return unexpected(invalid("CustomResourceDefinition.apiextensions.k8s.io", "apiextensions.k8s.io",
                              "CustomResourceDefinition", name, errs));
  return out;
}

}  // namespace raydog::emulator
