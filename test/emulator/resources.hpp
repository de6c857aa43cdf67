#pragma once
// What the emulator serves: one ResourceInfo per group/version/plural, built-ins at start and custom
// resources registered and unregistered as CustomResourceDefinitions come and go (§4.3, §13).
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controller/util/result.hpp"
#include "test/emulator/status.hpp"

namespace raydog::emulator {

struct PrinterColumn {
  std::string name, type, format, description, json_path;
  int priority = 0;
};

struct ResourceInfo {
  std::string group, version, plural, singular, kind, list_kind;
  bool namespaced = true;
  std::vector<std::string> short_names, categories;
  bool custom = false;      // served from a CRD: JSON/merge/apply patches only, schema applies
  bool has_status = false;  // status subresource
  bool has_scale = false;
  std::string spec_replicas_path, status_replicas_path, label_selector_path;  // ".spec.replicas"
  std::vector<PrinterColumn> columns;  // custom printer columns (after Name); empty: Age only
  json schema;                         // openAPIV3Schema (null for built-ins)
  bool tracks_generation = false;
  std::string crd_name;  // "<plural>.<group>" for custom resources

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "raydogclusters.raydog.io" or "configmaps": how messages name the resource.
  std::string qualified() const { return group.empty() ? plural : plural + "." + group; }
  // "RayDogCluster.raydog.io" or "ConfigMap": how 422 messages name the kind.
  std::string kind_qualified() const { return group.empty() ? kind : kind + "." + group; }
  // Objects live under this key; independent of version.
  std::string store_key() const { return group + "/" + plural; }
};

class Registry {
 public:
  Registry();  // the built-in kinds
  // Shared so a request keeps its resource alive while a CRD change rewrites the registry.
  using Ptr = std::shared_ptr<const ResourceInfo>;
  Ptr find(const std::string& group, const std::string& version, const std::string& plural) const;
  Ptr find_kind(const std::string& api_version, const std::string& kind) const;
  const std::vector<Ptr>& all() const { return resources_; }
  // Group names in discovery order, and each group's versions (preferred first).
  std::vector<std::string> groups() const;
  std::vector<std::string> versions(const std::string& group) const;

  // Replaces whatever the CRD registered before. Returns the resources it now serves.
  void register_crd(const std::string& crd_name, const std::vector<ResourceInfo>& infos);
  void unregister_crd(const std::string& crd_name);
  // Bumped on every change: the OpenAPI hashes and discovery derive from it.
  unsigned long generation() const { return generation_; }

 private:
  std::vector<Ptr> resources_;
  unsigned long generation_ = 1;
};

// Validates a CustomResourceDefinition (§13.1) and turns each served version into a ResourceInfo.
Result<std::vector<ResourceInfo>, ApiError> crd_to_resources(const json& crd);

}  // namespace raydog::emulator
