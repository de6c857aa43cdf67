#include "api/defaults.hpp"

#include <functional>

#include "api/crd.hpp"
#include "api/json.hpp"

namespace raydog::api {
namespace {

using nlohmann::json;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string::npos) dot = path.size();
    parts.push_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  return parts;
}

// Walks `parts` from `node`; "x[]" descends into every element of list x. Sets the last part when absent.
void apply_at(json& node, const std::vector<std::string>& parts, size_t i, const json& value) {
  if (!node.is_object()) return;
  const std::string& part = parts[i];
  if (i + 1 == parts.size()) {
    auto it = node.find(part);
    if (it == node.end() || it->is_null()) node[part] = value;
    return;
  }
  if (part.ends_with("[]")) {
    auto it = node.find(part.substr(0, part.size() - 2));
    if (it == node.end() || !it->is_array()) return;
    for (auto& item : *it) apply_at(item, parts, i + 1, value);
    return;
  }
  auto it = node.find(part);
  if (it == node.end()) return;
  apply_at(*it, parts, i + 1, value);
}

}  // namespace

std::vector<DefaultRule> default_rules(const json& schema) {
  std::vector<DefaultRule> t;
  std::function<void(const json&, const std::string&)> walk = [&](const json& node, const std::string& path) {
    if (node.contains("default")) t.push_back({path, node["default"]});
    if (node.contains("properties"))
      for (auto it = node["properties"].begin(); it != node["properties"].end(); ++it)
        walk(it.value(), path.empty() ? it.key() : path + "." + it.key());
    if (node.contains("items")) walk(node["items"], path + "[]");
  };
  walk(schema, "");
  return t;
}

void apply_default_rules(json& resource, const std::vector<DefaultRule>& rules) {
  for (const auto& rule : rules) apply_at(resource, split_path(rule.path), 0, rule.value);
}

// Read off the schema, whose `default:` keywords come from the Default{} of each field (fields.hpp).
const std::vector<DefaultRule>& default_table() {
  static const std::vector<DefaultRule> table = default_rules(open_api_schema());
  return table;
}

void apply_defaults(json& resource) {
  apply_default_rules(resource, default_table());
}

void apply_defaults(RayDogClusterSpec& spec) {
  json j = {{"spec", spec}};
  apply_defaults(j);
  FieldErrors ignored;  // defaults are of the right types by construction (tested)
  spec = decode_spec(j["spec"], "spec", ignored);
}

void apply_defaults(RayDogCluster& cluster) {
  apply_defaults(cluster.spec);
}

DimAddress dim_address_of(const RayDogClusterSpec& spec) {
  if (spec.daliuge && spec.daliuge->dim_address) return *spec.daliuge->dim_address;
  return spec.head_access.value_or(kDefaultHeadAccess) == HeadAccess::kPublic ? DimAddress::kPublic
                                                                               : DimAddress::kPrivate;
}

}  // namespace raydog::api
