#pragma once
// The OpenAPI v3 schema visitor of the field declarations (describe.hpp) and the CustomResourceDefinition
// around a schema, shared by every resource: crd.cpp builds RayDogCluster's, job_crd.cpp RayDogJob's (which
// embeds the whole RayDogClusterSpec schema as spec.clusterSpec). One implementation. Internal to api/:
// include crd.hpp or job_crd.hpp instead.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "api/fields.hpp"
#include "api/json.hpp"
#include "controller/util/yaml_json.hpp"

namespace raydog::api::schema {

using nlohmann::json;

template <class T>
struct IsDefault : std::false_type {};
template <class T>
struct IsDefault<field::Default<T>> : std::true_type {};

inline json rule_json(const field::Rule& r) {
  json out = {{"rule", r.text}, {"message", r.message}};
  if (!r.field_path.empty()) out["fieldPath"] = r.field_path;
  return out;
}

template <class T>
json default_json(const T& value) {
  if constexpr (SpelledEnum<T>)
    return to_string(value);
  else if constexpr (std::is_same_v<T, std::string_view>)
    return std::string(value);
  else
    return value;  // scalars, and described structs through json.hpp
}

// The OpenAPI v3 schema of one described struct: visits its fields (fields.hpp) and collects properties,
// `required` and the object's CEL rules.
class SchemaBuilder {
 public:
  template <class T, class... O>
  void field(std::string_view key, const T&, std::string_view doc, const O&... opts) {
    json s;
    if constexpr (field::has<field::Opaque, O...>)
      s = {{"type", "object"}};
    else
      s = schema_of<T>(doc, opts...);
    (apply(s, opts), ...);
    properties_[std::string(key)] = std::move(s);
    if (field::has<field::Required, O...>) required_.emplace_back(key);
  }
  template <class T, class... O>
  void embed(const T& member, const O&... opts) {
    describe(*this, member);
    (
        [&](const auto& o) {
          if constexpr (std::is_same_v<std::decay_t<decltype(o)>, field::Requires>)
            required_.emplace_back(o.field);
        }(opts),
        ...);
  }
  void constant(std::string_view key, std::string_view, std::string_view doc) {
    properties_[std::string(key)] = {{"type", "string"}, {"description", doc}};
  }
  void object_rule(const field::Rule& r) { rules_.push_back(rule_json(r)); }
  void ignore_unknown_fields() {}
  // Same names, in the order the published CRD has always listed them.
  void required_order(std::vector<std::string_view> order) {
    std::vector<std::string> want(order.begin(), order.end());
    if (!std::is_permutation(want.begin(), want.end(), required_.begin(), required_.end()))
      throw std::logic_error("required_order names other fields than the required ones");
    required_ = std::move(want);
  }

  json object(std::string_view doc) const {
    json o = {{"type", "object"}, {"description", doc}, {"properties", properties_}};
    if (!required_.empty()) o["required"] = required_;
    if (!rules_.empty()) o["x-kubernetes-validations"] = rules_;
    return o;
  }

  template <class T, class... O>
  static json schema_of(std::string_view doc, const O&... opts) {
    if constexpr (IsOptional<T>::value) {
      return schema_of<typename T::value_type>(doc, opts...);
    } else if constexpr (std::is_same_v<T, std::string>) {
      return {{"type", "string"}, {"description", doc}};
    } else if constexpr (std::is_same_v<T, Duration>) {
      return {
          {"type", "string"},
          {"description", std::string(doc) +
                              " A Go duration: a sequence of numbers with units h, m, s, ms, us or ns, "
                              "e.g. 90s, 10m, 1h30m, 1.5h. Must be positive."},
          {"pattern", kDurationPattern},
          {"maxLength", kMaxDurationLength},
          {"x-kubernetes-validations", {rule_json({kRulePositiveDuration, "must be a positive duration"})}}};
    } else if constexpr (SpelledEnum<T>) {
      return {{"type", "string"}, {"description", doc}, {"enum", Spellings<T>::names}};
    } else if constexpr (std::is_same_v<T, bool>) {
      return {{"type", "boolean"}, {"description", doc}};
    } else if constexpr (std::is_same_v<T, std::int32_t>) {
      return {{"type", "integer"}, {"format", "int32"}, {"description", doc}};
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      return {{"type", "integer"}, {"format", "int64"}, {"description", doc}};
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      return {{"type", "object"}, {"description", doc}, {"additionalProperties", {{"type", "string"}}}};
    } else if constexpr (IsVector<T>::value) {
      const auto* item = field::find<field::ItemDoc>(opts...);
      return {{"type", "array"},
              {"description", doc},
              {"items", schema_of<typename T::value_type>(item ? item->text : std::string_view())}};
    } else {
      const T blank{};
      SchemaBuilder b;
      describe(b, blank);
      return b.object(doc);
    }
  }

 private:
  template <class X>
  static void apply(json& s, const X& o) {
    using namespace field;
    if constexpr (std::is_same_v<X, Pattern>) s["pattern"] = o.regex;
    if constexpr (std::is_same_v<X, MinLength>) s["minLength"] = o.value;
    if constexpr (std::is_same_v<X, MaxLength>) s["maxLength"] = o.value;
    if constexpr (std::is_same_v<X, Minimum>) s["minimum"] = o.value;
    if constexpr (std::is_same_v<X, Maximum>) s["maximum"] = o.value;
    if constexpr (std::is_same_v<X, MaxItems>) s["maxItems"] = o.value;
    if constexpr (std::is_same_v<X, MinProperties>) s["minProperties"] = o.value;
    if constexpr (std::is_same_v<X, MaxProperties>) s["maxProperties"] = o.value;
    if constexpr (std::is_same_v<X, ValueMaxLength>) s["additionalProperties"]["maxLength"] = o.value;
    if constexpr (std::is_same_v<X, ValuePattern>) s["additionalProperties"]["pattern"] = o.regex;
    if constexpr (std::is_same_v<X, Format>) s["format"] = o.name;
    if constexpr (std::is_same_v<X, OneOf>) s["enum"] = o.values;
    if constexpr (std::is_same_v<X, Rule>) s["x-kubernetes-validations"].push_back(rule_json(o));
    if constexpr (std::is_same_v<X, Requires>) s["required"].push_back(o.field);
    if constexpr (std::is_same_v<X, ListMapKey>) {
      s["x-kubernetes-list-type"] = "map";
      s["x-kubernetes-list-map-keys"] = {o.key};
    }
    if constexpr (IsDefault<X>::value) s["default"] = default_json(o.value);
  }

  json properties_ = json::object();
  std::vector<std::string> required_;
  json rules_ = json::array();
};

// What differs between the project's CRDs: the names, the printer columns and the schema.
struct CrdNames {
  std::string_view kind;
  std::string_view list_kind;
  std::string_view plural;
  std::string_view singular;
  std::string_view short_name;
};

// One additionalPrinterColumns entry; priority 1 columns appear with `kubectl get -o wide` only.
inline json printer_column(const char* name, const char* type, const char* path, const char* description,
                           int priority = 0) {
  json c = {{"name", name}, {"type", type}, {"jsonPath", path}, {"description", description}};
  if (priority) c["priority"] = priority;
  return c;
}

// The whole CRD: group raydog.io, namespaced, category all, the one version v1alpha1 (served, storage) with
// the status subresource.
inline json crd_object(const CrdNames& names, json columns, json open_api_schema) {
  json version = {{"name", kVersion},
                  {"served", true},
                  {"storage", true},
                  {"subresources", {{"status", json::object()}}},
                  {"additionalPrinterColumns", std::move(columns)},
                  {"schema", {{"openAPIV3Schema", std::move(open_api_schema)}}}};
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          // The install's common labels live here, not in a kustomize transformer: kubectl 1.20's
          // kustomize has no `labels:` (manifests/kustomization.yaml says why).
          {"metadata",
           {{"name", std::string(names.plural) + "." + std::string(kGroup)},
            {"labels", {{"app.kubernetes.io/name", "raydog-operator"}, {"app.kubernetes.io/part-of", "raydog-operator"}}}}},
          {"spec",
           {{"group", kGroup},
            {"names",
             {{"kind", names.kind},
              {"listKind", names.list_kind},
              {"plural", names.plural},
              {"singular", names.singular},
              {"shortNames", {names.short_name}},
              {"categories", {"all"}}}},
            {"scope", "Namespaced"},
            {"versions", {std::move(version)}}}}};
}

// The CRD as checked in under crds/: a header naming the command that prints it, then the YAML.
inline std::string crd_yaml(const json& crd, std::string_view command, std::string_view source) {
  return "# Generated by `" + std::string(command) + "` (" + std::string(source) +
         "). Do not edit: run `make crd`.\n" + json_to_yaml(crd);
}

}  // namespace raydog::api::schema
