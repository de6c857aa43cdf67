#include "test/emulator/schema.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <regex>
#include <set>

namespace raydog::emulator {

namespace {

std::string child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

bool preserves_unknown(const json& s) {
  return s.value("x-kubernetes-preserve-unknown-fields", false);
}

void prune_at(json& v, const json& s, const std::string& path, bool root, std::vector<std::string>& pruned) {
  if (!s.is_object()) return;
  if (v.is_object()) {
    const json* props = s.contains("properties") && s["properties"].is_object() ? &s["properties"] : nullptr;
    const json* addl = s.contains("additionalProperties") && s["additionalProperties"].is_object()
                           ? &s["additionalProperties"]
                           : nullptr;
    bool keep_unknown =
        preserves_unknown(s) || (s.contains("additionalProperties") && s["additionalProperties"] == true);
    std::vector<std::string> drop;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string& k = it.key();
      if (root && (k == "apiVersion" || k == "kind" || k == "metadata")) continue;
      if (props && props->contains(k)) {
        prune_at(it.value(), (*props)[k], child(path, k), false, pruned);
      } else if (addl) {
        prune_at(it.value(), *addl, child(path, k), false, pruned);
      } else if (!keep_unknown) {
        drop.push_back(k);
      }
    }
    for (const auto& k : drop) {
      pruned.push_back(child(path, k));
      v.erase(k);
    }
  } else if (v.is_array() && s.contains("items") && s["items"].is_object()) {
    for (size_t i = 0; i < v.size(); ++i) prune_at(v[i], s["items"], index(path, i), false, pruned);
  }
}

void default_at(json& v, const json& s) {
  if (!s.is_object()) return;
  if (v.is_object()) {
    if (s.contains("properties") && s["properties"].is_object()) {
      for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
        const json& ps = it.value();
        if ((!v.contains(it.key()) || (v[it.key()].is_null() && !ps.value("nullable", false))) &&
            ps.is_object() && ps.contains("default"))
          v[it.key()] = ps["default"];
        if (v.contains(it.key())) default_at(v[it.key()], ps);
      }
    }
    if (s.contains("additionalProperties") && s["additionalProperties"].is_object())
      for (auto it = v.begin(); it != v.end(); ++it) default_at(it.value(), s["additionalProperties"]);
  } else if (v.is_array() && s.contains("items") && s["items"].is_object()) {
    for (auto& item : v) default_at(item, s["items"]);
  }
}

std::string type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool type_ok(const json& v, const std::string& t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_boolean();
  if (t == "number") return v.is_number();
  if (t == "integer")
    return v.is_number_integer() || v.is_number_unsigned() ||
           (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  return true;
}

std::string fmt_number(const json& n) {
  if (n.is_number_float()) {
    double d = n.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  }
  return n.dump();
}

// Patterns are compiled once per process (schemas repeat them for every object); null when the pattern is
// not ECMAScript-compatible, which is not the object's fault.
const std::regex* compiled(const std::string& pattern) {
  static std::map<std::string, std::unique_ptr<std::regex>> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    std::unique_ptr<std::regex> re;
    try {
      re = std::make_unique<std::regex>(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
    }
    it = cache.emplace(pattern, std::move(re)).first;
  }
  return it->second.get();
}

void validate_at(const json& v, const json& s, const std::string& path, std::vector<FieldError>& errs) {
  if (!s.is_object()) return;
  auto invalid = [&](const std::string& what) {
    errs.push_back(
        {"FieldValueInvalid", path,
         "Invalid value: " +
             (v.is_string() || v.is_number() || v.is_boolean() ? v.dump() : "\"" + type_name(v) + "\"") +
             ": " + path + " in body " + what});
  };
  if (v.is_null()) {
    if (s.value("nullable", false)) return;
    if (s.contains("type")) {
      std::string t = s["type"].get<std::string>();
      errs.push_back({"FieldValueInvalid", path,
                      "Invalid value: \"null\": " + path + " in body must be of type " + t + ": \"null\""});
    }
    return;
  }
  bool int_or_string = s.value("x-kubernetes-int-or-string", false);
  if (int_or_string) {
    if (!(v.is_string() || type_ok(v, "integer"))) {
      errs.push_back({"FieldValueInvalid", path,
                      "Invalid value: \"" + type_name(v) + "\": " + path +
                          " in body must be of type integer,string: \"" + type_name(v) + "\""});
      return;
    }
  } else if (s.contains("type") && s["type"].is_string()) {
    std::string t = s["type"].get<std::string>();
    if (!type_ok(v, t)) {
      errs.push_back({"FieldValueInvalid", path,
                      "Invalid value: \"" + type_name(v) + "\": " + path + " in body must be of type " + t +
                          ": \"" + type_name(v) + "\""});
      return;
    }
  }
  if (s.contains("enum") && s["enum"].is_array()) {
    bool found = false;
    for (const auto& e : s["enum"]) found = found || e == v;
    if (!found) {
      std::string supported;
      for (const auto& e : s["enum"]) supported += (supported.empty() ? "" : ", ") + e.dump();
      errs.push_back({"FieldValueNotSupported", path,
                      "Unsupported value: " + v.dump() + ": supported values: " + supported});
    }
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (s.contains("minimum") && s["minimum"].is_number()) {
      double m = s["minimum"].get<double>();
      bool excl = s.value("exclusiveMinimum", false);
      if (excl ? d <= m : d < m)
        invalid(std::string("should be greater than ") + (excl ? "" : "or equal to ") +
                fmt_number(s["minimum"]));
    }
    if (s.contains("maximum") && s["maximum"].is_number()) {
      double m = s["maximum"].get<double>();
      bool excl = s.value("exclusiveMaximum", false);
      if (excl ? d >= m : d > m)
        invalid(std::string("should be less than ") + (excl ? "" : "or equal to ") +
                fmt_number(s["maximum"]));
    }
    if (s.contains("multipleOf") && s["multipleOf"].is_number()) {
      double m = s["multipleOf"].get<double>();
      if (m != 0 && std::fmod(d, m) != 0) invalid("should be a multiple of " + fmt_number(s["multipleOf"]));
    }
  }
  if (v.is_string()) {
    const std::string str = v.get<std::string>();
    if (s.contains("minLength") && str.size() < s["minLength"].get<size_t>())
      invalid("should be at least " + s["minLength"].dump() + " chars long");
    if (s.contains("maxLength") && str.size() > s["maxLength"].get<size_t>())
      errs.push_back(
          {"FieldValueTooLong", path, "Too long: may not be more than " + s["maxLength"].dump() + " bytes"});
    if (s.contains("pattern") && s["pattern"].is_string()) {
      const std::regex* re = compiled(s["pattern"].get<std::string>());
      if (re && !std::regex_search(str, *re))
        invalid("should match '" + s["pattern"].get<std::string>() + "'");
    }
  }
  if (v.is_array()) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
      invalid("should have at least " + s["minItems"].dump() + " items");
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>())
      errs.push_back({"FieldValueTooMany", path,
                      "Too many: " + std::to_string(v.size()) + ": must have at most " +
                          s["maxItems"].dump() + " items"});
    if (s.contains("items"))
      for (size_t i = 0; i < v.size(); ++i) validate_at(v[i], s["items"], index(path, i), errs);
    std::string list_type = s.value("x-kubernetes-list-type", "");
    if (list_type == "set") {
      std::set<std::string> seen;
      for (size_t i = 0; i < v.size(); ++i)
        if (!seen.insert(v[i].dump()).second)
          errs.push_back({"FieldValueDuplicate", index(path, i), "Duplicate value: " + v[i].dump()});
    } else if (list_type == "map") {
      std::vector<std::string> keys;
      for (const auto& k : s.value("x-kubernetes-list-map-keys", json::array()))
        keys.push_back(k.get<std::string>());
      std::set<std::string> seen;
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_object()) continue;
        json key = json::object();
        for (const auto& k : keys)
          if (v[i].contains(k)) key[k] = v[i][k];
        if (!seen.insert(key.dump()).second)
          errs.push_back({"FieldValueDuplicate", index(path, i), "Duplicate value: " + key.dump()});
      }
    }
  }
  if (v.is_object()) {
    if (s.contains("required") && s["required"].is_array())
      for (const auto& r : s["required"])
        if (r.is_string() && !v.contains(r.get<std::string>()))
          errs.push_back({"FieldValueRequired", child(path, r.get<std::string>()), "Required value"});
    if (s.contains("properties") && s["properties"].is_object())
      for (auto it = v.begin(); it != v.end(); ++it)
        if (s["properties"].contains(it.key()))
          validate_at(it.value(), s["properties"][it.key()], child(path, it.key()), errs);
    if (s.contains("additionalProperties") && s["additionalProperties"].is_object())
      for (auto it = v.begin(); it != v.end(); ++it)
        if (!s.contains("properties") || !s["properties"].contains(it.key()))
          validate_at(it.value(), s["additionalProperties"], child(path, it.key()), errs);
    if (s.contains("minProperties") && v.size() < s["minProperties"].get<size_t>())
      invalid("should have at least " + s["minProperties"].dump() + " properties");
    if (s.contains("maxProperties") && v.size() > s["maxProperties"].get<size_t>())
      invalid("should have at most " + s["maxProperties"].dump() + " properties");
  }
}

}  // namespace

std::vector<std::string> prune(json& object, const json& schema) {
  std::vector<std::string> pruned;
  prune_at(object, schema, "", true, pruned);
  std::sort(pruned.begin(), pruned.end());
  return pruned;
}

void apply_defaults(json& object, const json& schema) {
  // Root metadata is never defaulted from the schema.
  json md;
  bool had_md = object.contains("metadata");
  if (had_md) md = object["metadata"];
  default_at(object, schema);
  if (had_md) object["metadata"] = md;
}

std::vector<FieldError> validate(const json& object, const json& schema) {
  std::vector<FieldError> errs;
  if (!schema.is_object() || !object.is_object()) return errs;
  // The root's metadata/apiVersion/kind follow the server's own rules, not the schema; the rest of the
  // root is validated field by field without copying the (possibly large) schema.
  static const std::set<std::string> kServerOwned = {"metadata", "apiVersion", "kind"};
  if (schema.contains("required") && schema["required"].is_array())
    for (const auto& r : schema["required"])
      if (r.is_string() && !kServerOwned.count(r.get<std::string>()) &&
          !object.contains(r.get<std::string>()))
        errs.push_back({"FieldValueRequired", r.get<std::string>(), "Required value"});
  if (schema.contains("properties") && schema["properties"].is_object())
    for (auto it = object.begin(); it != object.end(); ++it)
      if (!kServerOwned.count(it.key()) && schema["properties"].contains(it.key()))
        validate_at(it.value(), schema["properties"][it.key()], it.key(), errs);
  return errs;
}

}  // namespace raydog::emulator
