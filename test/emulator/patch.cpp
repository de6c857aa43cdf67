#include "test/emulator/patch.hpp"

#include <algorithm>

#include "controller/util/yaml_json.hpp"

namespace raydog::emulator {

PatchType patch_type_from_content_type(const std::string& content_type) {
  std::string ct = content_type.substr(0, content_type.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  if (ct == "application/merge-patch+json") return PatchType::kMerge;
  if (ct == "application/json-patch+json") return PatchType::kJson;
  if (ct == "application/strategic-merge-patch+json") return PatchType::kStrategic;
  if (ct == "application/apply-patch+yaml" || ct == "application/apply-patch+json") return PatchType::kApply;
  return PatchType::kUnknown;
}

Result<json, ApiError> parse_body(const std::string& body, bool yaml) {
  if (yaml) {
    auto r = yaml_to_json(body);
    if (!r) return unexpected(bad_request("error converting YAML to JSON: yaml: " + r.error().message));
    return std::move(r).value();
  }
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> keep the tail
    auto pos = what.find("] ");
    return unexpected(bad_request("couldn't get version/kind; json parse error: " +
                                  (pos == std::string::npos ? what : what.substr(pos + 2))));
  }
}

namespace {

// Merge keys of the built-in list fields kubectl and client-go patch strategically.
std::string merge_key_for(const std::string& field, const json& items) {
  if (field == "containers" || field == "initContainers" || field == "ephemeralContainers" ||
      field == "env" || field == "volumes" || field == "imagePullSecrets")
    return "name";
  if (field == "volumeMounts") return "mountPath";
  if (field == "ownerReferences") return "uid";
  if (field == "conditions") return "type";
  if (field == "ports") {
    for (const auto& i : items)
      if (i.is_object() && i.contains("containerPort")) return "containerPort";
    return "port";
  }
  return "";
}

bool is_primitive_set(const std::string& field) {
  return field == "finalizers";
}

json merge_list(const json& target, const json& patch, const std::string& key) {
  json out = target.is_array() ? target : json::array();
  for (const auto& p : patch) {
    if (!p.is_object() || !p.contains(key)) {
      out.push_back(p);
      continue;
    }
    auto it = std::find_if(out.begin(), out.end(), [&](const json& e) {
      return e.is_object() && e.contains(key) && e[key] == p[key];
    });
    if (p.value("$patch", "") == "delete") {
      if (it != out.end()) out.erase(it);
      continue;
    }
    if (it == out.end())
      out.push_back(strategic_merge(json::object(), p));
    else
      *it = strategic_merge(*it, p);
  }
  return out;
}

}  // namespace

json strategic_merge(const json& target, const json& patch) {
  if (!patch.is_object()) return patch;
  json out = target.is_object() ? target : json::object();
  std::string directive = patch.value("$patch", "");
  if (directive == "replace") {
    json copy = patch;
    copy.erase("$patch");
    return copy;
  }
  if (directive == "delete") return nullptr;
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "$patch" || k == "$retainKeys" || k.rfind("$setElementOrder/", 0) == 0) continue;
    if (k.rfind("$deleteFromPrimitiveList/", 0) == 0) {
      std::string field = k.substr(std::string("$deleteFromPrimitiveList/").size());
      if (out.contains(field) && out[field].is_array() && v.is_array()) {
        json kept = json::array();
        for (const auto& e : out[field])
          if (std::find(v.begin(), v.end(), e) == v.end()) kept.push_back(e);
        out[field] = kept;
      }
      continue;
    }
    if (v.is_null()) {
      out.erase(k);
    } else if (v.is_object()) {
      json merged = strategic_merge(out.contains(k) ? out[k] : json::object(), v);
      if (merged.is_null())
        out.erase(k);
      else
        out[k] = merged;
    } else if (v.is_array() && is_primitive_set(k)) {
      json merged = out.contains(k) && out[k].is_array() ? out[k] : json::array();
      for (const auto& e : v)
        if (std::find(merged.begin(), merged.end(), e) == merged.end()) merged.push_back(e);
      out[k] = merged;
    } else if (v.is_array() && !merge_key_for(k, v).empty()) {
      out[k] = merge_list(out.contains(k) ? out[k] : json::array(), v, merge_key_for(k, v));
    } else {
      out[k] = v;
    }
  }
  if (patch.contains("$retainKeys") && patch["$retainKeys"].is_array()) {
    const json& keep = patch["$retainKeys"];
    std::vector<std::string> drop;
    for (auto it = out.begin(); it != out.end(); ++it)
      if (std::find(keep.begin(), keep.end(), it.key()) == keep.end()) drop.push_back(it.key());
    for (const auto& k : drop) out.erase(k);
  }
  return out;
}

namespace {

const json* sub_schema(const json& schema, const std::string& key) {
  if (!schema.is_object()) return nullptr;
  if (schema.contains("properties") && schema["properties"].contains(key)) return &schema["properties"][key];
  if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object())
    return &schema["additionalProperties"];
  return nullptr;
}

}  // namespace

json apply_merge(const json& target, const json& applied, const json& schema) {
  if (!applied.is_object() || !target.is_object()) {
    if (applied.is_array() && target.is_array() && schema.is_object()) {
      std::string lt = schema.value("x-kubernetes-list-type", "");
      const json items = schema.value("items", json::object());
      if (lt == "set") {
        json out = target;
        for (const auto& e : applied)
          if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
        return out;
      }
      if (lt == "map") {
        std::vector<std::string> keys;
        for (const auto& k : schema.value("x-kubernetes-list-map-keys", json::array()))
          keys.push_back(k.get<std::string>());
        json out = target;
        for (const auto& e : applied) {
          auto it = std::find_if(out.begin(), out.end(), [&](const json& o) {
            if (!o.is_object() || !e.is_object()) return false;
            for (const auto& k : keys)
              if (o.value(k, json()) != e.value(k, json())) return false;
            return true;
          });
          if (it == out.end())
            out.push_back(e);
          else
            *it = apply_merge(*it, e, items);
        }
        return out;
      }
    }
    return applied;
  }
  json out = target;
  for (auto it = applied.begin(); it != applied.end(); ++it) {
    const json* sub = sub_schema(schema, it.key());
    if (it.value().is_null())
      out.erase(it.key());
    else if (out.contains(it.key()))
      out[it.key()] = apply_merge(out[it.key()], it.value(), sub ? *sub : json());
    else
      out[it.key()] = it.value();
  }
  return out;
}

Result<json, ApiError> apply_patch(const json& target, PatchType type, const std::string& body,
                                   const json& schema) {
  auto parsed = parse_body(body, type == PatchType::kApply);
  if (!parsed) {
    ApiError e = parsed.error();
    auto tail = e.message.find("json parse error: ");
    if (tail != std::string::npos) e.message = "error decoding patch: " + e.message.substr(tail + 18);
    return unexpected(e);
  }
  json p = std::move(parsed).value();
  switch (type) {
    case PatchType::kMerge: {
      if (!p.is_object())
        return unexpected(bad_request("json: cannot unmarshal " + std::string(p.type_name()) +
                                      " into Go value of type map[string]interface {}"));
      json out = target;
      out.merge_patch(p);
      return out;
    }
    case PatchType::kJson: {
      if (!p.is_array())
        return unexpected(bad_request("json: cannot unmarshal " + std::string(p.type_name()) +
                                      " into Go value of type jsonpatch.Patch"));
      if (p.size() > 10000)
        return unexpected(ApiError{
            422, "RequestEntityTooLarge",
            "The allowed operations in a JSON patch are limited to 10000, got " + std::to_string(p.size()),
            nullptr});
      try {
        return target.patch(p);
      } catch (const json::exception& e) {
        std::string what = e.what();
        auto pos = what.find("] ");
        return unexpected(ApiError{422, "Invalid",
                                   "the server rejected our request due to an error in our request: " +
                                       (pos == std::string::npos ? what : what.substr(pos + 2)),
                                   nullptr});
      }
    }
    case PatchType::kStrategic: {
      if (!p.is_object())
        return unexpected(bad_request("json: cannot unmarshal " + std::string(p.type_name()) +
                                      " into Go value of type map[string]interface {}"));
      return strategic_merge(target, p);
    }
    case PatchType::kApply: {
      if (!p.is_object())
        return unexpected(bad_request("error decoding YAML: the applied configuration must be an object"));
      return apply_merge(target, p, schema);
    }
    case PatchType::kUnknown:
      break;
  }
  return unexpected(unsupported_media_type(
      "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"));
}

}  // namespace raydog::emulator
