#include "schema_checker.hpp"

#include "api/quantity.hpp"

#include <functional>
#include <map>
#include <regex>
#include <set>

#include "api/duration.hpp"

namespace raydog::api::test {
namespace {

using nlohmann::json;

bool autoscaled(const json& spec) {
  return spec.contains("autoscaling") && spec["autoscaling"].contains("enabled") &&
         spec["autoscaling"]["enabled"].get<bool>();
}

// Equivalents of the CEL rules in crd.cpp, keyed by rule text.
const std::map<std::string, std::function<bool(const json&)>>& cel() {
  static const std::map<std::string, std::function<bool(const json&)>> rules = {
      {"!(has(self.startScript) && has(self.startScriptFrom))",
       [](const json& s) { return !(s.contains("startScript") && s.contains("startScriptFrom")); }},
      {"!(has(self.userData) && has(self.userDataFrom))",
       [](const json& s) { return !(s.contains("userData") && s.contains("userDataFrom")); }},
      {"!has(self.enabled) || !self.enabled || has(self.computeRequirementTemplate)",
       [](const json& s) {
         return !s.contains("enabled") || !s["enabled"].get<bool>() ||
                s.contains("computeRequirementTemplate");
       }},
      {"!has(self.keyIdKey) || !has(self.keySecretKey) || self.keyIdKey != self.keySecretKey",
       [](const json& s) {
         return !s.contains("keyIdKey") || !s.contains("keySecretKey") || s["keyIdKey"] != s["keySecretKey"];
       }},
      {"duration(self) > duration('0s')",
       [](const json& s) {
         auto d = parse_go_duration(s.get<std::string>());
         return d.ok() && d->count() > 0;
       }},
      {"self.dim != self.nm && self.dim != self.events && self.dim != self.rpc && self.nm != self.events && "
       "self.nm != self.rpc && self.events != self.rpc",
       [](const json& s) {
         const json& d = s.at("dim");
         const json& n = s.at("nm");
         const json& e = s.at("events");
         const json& r = s.at("rpc");
         return d != n && d != e && d != r && n != e && n != r && e != r;
       }},
      {"!has(self.maxDeferral) || (has(self.membershipPolicy) && self.membershipPolicy == 'WhenIdle')",
       [](const json& s) {
         return !s.contains("maxDeferral") ||
                (s.contains("membershipPolicy") && s["membershipPolicy"] == "WhenIdle");
       }},
      {"!has(self.headAccess) || self.headAccess != 'None' || !has(self.daliuge) || !has(self.daliuge.enabled) || "
       "!self.daliuge.enabled",
       [](const json& s) {
         return !s.contains("headAccess") || s["headAccess"] != "None" || !s.contains("daliuge") ||
                !s["daliuge"].contains("enabled") || !s["daliuge"]["enabled"].get<bool>();
       }},
      {"self.all(k, !(k in ['CPU', 'GPU', 'memory', 'object_store_memory']) || "
       "self[k].matches('^[+]?[0-9]+(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+]?[0-9]+)?$'))",
       [](const json& s) {
         static const std::regex whole(raydog::api::kWholeQuantityPattern);
         for (const char* k : {"CPU", "GPU", "memory", "object_store_memory"})
           if (s.contains(k) && (!s[k].is_string() || !std::regex_search(s[k].get<std::string>(), whole))) return false;
         return true;
       }},
      {"self.all(k, size(k) >= 1 && size(k) <= 63)",
       [](const json& s) {
         for (auto it = s.begin(); it != s.end(); ++it)
           if (it.key().empty() || it.key().size() > 63) return false;
         return true;
       }},
      {"!has(self.minNodes) || !has(self.maxNodes) || self.minNodes <= self.maxNodes",
       [](const json& s) {
         return !s.contains("minNodes") || !s.contains("maxNodes") || s["minNodes"] <= s["maxNodes"];
       }},
      {"!has(self.autoscaling) || !has(self.autoscaling.enabled) || !self.autoscaling.enabled || "
       "!has(self.headAccess) || self.headAccess != 'None'",
       [](const json& s) { return !autoscaled(s) || !s.contains("headAccess") || s["headAccess"] != "None"; }},
      {"!has(self.autoscaling) || !has(self.autoscaling.enabled) || !self.autoscaling.enabled || "
       "!has(self.workerPools) || self.workerPools.all(p, has(p.maxNodes) && has(p.rayResources) && "
       "size(p.rayResources) > 0 && p.nodes <= p.maxNodes && (!has(p.minNodes) || p.nodes >= p.minNodes))",
       [](const json& s) {
         if (!autoscaled(s) || !s.contains("workerPools")) return true;
         for (const json& p : s["workerPools"])
           if (!p.contains("maxNodes") || !p.contains("rayResources") || p["rayResources"].empty() ||
               !p.contains("nodes") || p["nodes"] > p["maxNodes"] || (p.contains("minNodes") && p["nodes"] < p["minNodes"]))
             return false;
         return true;
       }},
      // RayDogJob (job_fields.hpp).
      {"has(self.clusterSpec) || has(self.clusterSelector)",
       [](const json& s) { return s.contains("clusterSpec") || s.contains("clusterSelector"); }},
      {"!(has(self.clusterSpec) && has(self.clusterSelector))",
       [](const json& s) { return !(s.contains("clusterSpec") && s.contains("clusterSelector")); }},
      {"!has(self.shutdownAfterJobFinishes) || !self.shutdownAfterJobFinishes || has(self.clusterSpec)",
       [](const json& s) {
         return !s.contains("shutdownAfterJobFinishes") || !s["shutdownAfterJobFinishes"].get<bool>() ||
                s.contains("clusterSpec");
       }},
      {"!('CPU' in self) && !('GPU' in self)", [](const json& s) { return !s.contains("CPU") && !s.contains("GPU"); }},
      {"self.all(k, size(k) >= 1 && size(k) <= 128)",
       [](const json& s) {
         for (auto it = s.begin(); it != s.end(); ++it)
           if (it.key().empty() || it.key().size() > 128) return false;
         return true;
       }},
  };
  return rules;
}

bool type_ok(const std::string& type, const json& v) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  return false;
}

// Characters, not bytes (OpenAPI lengths count Unicode code points).
size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void check(const json& schema, json& v, const std::string& path, std::vector<SchemaError>& errors) {
  auto fail = [&](const std::string& p, const std::string& m) { errors.push_back({p, m}); };
  std::string type = schema.value("type", "");
  if (!type.empty() && !type_ok(type, v)) {
    fail(path, "must be of type " + type);
    return;
  }
  if (v.is_object()) {
    // The API server drops null values of non-nullable fields before defaulting: null means absent.
    for (auto it = v.begin(); it != v.end();) it = it->is_null() ? v.erase(it) : std::next(it);
    if (schema.contains("properties")) {
      const json& props = schema["properties"];
      for (auto it = props.begin(); it != props.end(); ++it)
        if (it->contains("default") && !v.contains(it.key())) v[it.key()] = (*it)["default"];
      for (auto it = v.begin(); it != v.end(); ++it) {
        std::string p = path + "." + it.key();
        if (props.contains(it.key()))
          check(props[it.key()], it.value(), p, errors);
        else if (!schema.contains("additionalProperties"))
          fail(p, "unknown field");
      }
    }
    if (schema.contains("additionalProperties"))
      for (auto it = v.begin(); it != v.end(); ++it)
        check(schema["additionalProperties"], it.value(), path + "[" + it.key() + "]", errors);
    for (const auto& r : schema.value("required", json::array()))
      if (!v.contains(r.get<std::string>())) fail(path + "." + r.get<std::string>(), "required");
    if (schema.contains("maxProperties") && v.size() > schema["maxProperties"].get<size_t>())
      fail(path, "too many properties");
    if (schema.contains("minProperties") && v.size() < schema["minProperties"].get<size_t>())
      fail(path, "too few properties");
  }
  if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i)
      check(schema["items"], v[i], path + "[" + std::to_string(i) + "]", errors);
    if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<size_t>())
      fail(path, "too many items");
    if (schema.value("x-kubernetes-list-type", "") == "map") {
      std::set<json> seen;
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_object()) continue;  // reported as a type error
        json key;
        for (const auto& k : schema["x-kubernetes-list-map-keys"])
          key.push_back(v[i].value(k.get<std::string>(), json()));
        if (!seen.insert(key).second)
          fail(path + "[" + std::to_string(i) + "]." +
                   schema["x-kubernetes-list-map-keys"][0].get<std::string>(),
               "duplicate map key");
      }
    }
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (schema.contains("pattern") && !std::regex_search(s, std::regex(schema["pattern"].get<std::string>())))
      fail(path, "does not match pattern");
    if (schema.contains("minLength") && utf8_length(s) < schema["minLength"].get<size_t>())
      fail(path, "too short");
    if (schema.contains("maxLength") && utf8_length(s) > schema["maxLength"].get<size_t>())
      fail(path, "too long");
  }
  if (schema.contains("enum")) {
    bool found = false;
    for (const auto& e : schema["enum"]) found = found || e == v;
    if (!found) fail(path, "not in enum");
  }
  if (schema.contains("minimum") && v.is_number() && v.get<double>() < schema["minimum"].get<double>())
    fail(path, "below minimum");
  if (schema.contains("maximum") && v.is_number() && v.get<double>() > schema["maximum"].get<double>())
    fail(path, "above maximum");
  for (const auto& r : schema.value("x-kubernetes-validations", json::array())) {
    std::string text = r["rule"].get<std::string>();
    auto it = cel().find(text);
    std::string p = path + r.value("fieldPath", "");
    if (it == cel().end())
      fail(p, "rule unknown to the checker: " + text);
    else {
      // A field of the wrong type was reported already; the API server does not run the rule then either.
      try {
        if (!it->second(v)) fail(p, r["message"].get<std::string>());
      } catch (const json::exception&) {
      }
    }
  }
}

}  // namespace

std::vector<SchemaError> check_schema(const json& schema, json& value) {
  std::vector<SchemaError> errors;
  if (value.is_object())
    for (auto it = value.begin(); it != value.end();) it = it->is_null() ? value.erase(it) : std::next(it);
  // Paths start at the object's fields ("spec.x"), as validation.cpp names them.
  if (!value.is_object() || !schema.contains("properties")) {
    check(schema, value, "", errors);
    return errors;
  }
  const json& props = schema["properties"];
  for (auto it = props.begin(); it != props.end(); ++it)
    if (it->contains("default") && !value.contains(it.key())) value[it.key()] = (*it)["default"];
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (props.contains(it.key()))
      check(props[it.key()], it.value(), it.key(), errors);
    else
      errors.push_back({it.key(), "unknown field"});
  }
  for (const auto& r : schema.value("required", json::array()))
    if (!value.contains(r.get<std::string>())) errors.push_back({r.get<std::string>(), "required"});
  return errors;
}

std::vector<std::string> known_cel_rules() {
  std::vector<std::string> out;
  for (const auto& [text, fn] : cel()) out.push_back(text);
  return out;
}

}  // namespace raydog::api::test
