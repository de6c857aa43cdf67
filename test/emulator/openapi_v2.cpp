#include "test/emulator/openapi_v2.hpp"

#include "test/emulator/discovery.hpp"
#include "test/emulator/protobuf.hpp"

namespace raydog::emulator {

namespace {

// ---- the Swagger 2.0 document ----

json query_param(const std::string& name, const std::string& type, const std::string& desc) {
  return {{"name", name}, {"in", "query"}, {"type", type}, {"uniqueItems", true}, {"description", desc}};
}

json path_param(const std::string& name, const std::string& desc) {
  return {{"name", name},     {"in", "path"},        {"required", true},
          {"type", "string"}, {"uniqueItems", true}, {"description", desc}};
}

json ok_response(const json& schema) {
  return {{"200", {{"description", "OK"}, {"schema", schema}}}};
}

// Every write operation lists dryRun: kubectl 1.20's dry-run verifier looks for that parameter on the
// PATCH operation of the path whose x-kubernetes-group-version-kind names the kind (else "doesn't support
// dry-run"), and the real server always offers it.
json operation(const ResourceInfo& r, const std::string& id, const std::string& action, bool write,
               const json& body_schema) {
  json ref = {{"$ref", "#/definitions/" + openapi_schema_name(r)}};
  json op = {{"operationId", id + r.kind},
             {"description", id + " the specified " + r.kind},
             {"consumes", {"*/*"}},
             {"produces", {"application/json", "application/yaml"}},
             {"schemes", {"https"}},
             {"tags", {r.group.empty() ? "core_" + r.version : r.group + "_" + r.version}},
             {"responses", ok_response(ref)},
             {"x-kubernetes-action", action},
             {"x-kubernetes-group-version-kind", openapi_gvk(r)}};
  if (!write) return op;
  json params = json::array();
  if (!body_schema.is_null())
    params.push_back({{"name", "body"}, {"in", "body"}, {"required", true}, {"schema", body_schema}});
  params.push_back(
      query_param("dryRun", "string", "When present, indicates that modifications should not be persisted."));
  params.push_back(query_param(
      "fieldManager", "string",
      "fieldManager is a name associated with the actor or entity that is making these changes."));
  if (action == "patch")
    params.push_back(query_param("force", "boolean", "Force is going to force Apply requests."));
  op["parameters"] = params;
  if (action == "patch")
    op["consumes"] = {"application/json-patch+json", "application/merge-patch+json",
                      "application/strategic-merge-patch+json", "application/apply-patch+yaml"};
  return op;
}

// The definition of one kind. The emulator has no schemas for built-ins, so their definitions carry no
// x-kubernetes-group-version-kind: kubectl 1.20 then uses its compiled-in types for strategic merge and skips
// client-side validation, as with any server whose OpenAPI lacks the kind. (A schema-less definition that
// names the kind crashes its three-way merge with a nil dereference; a typed-but-empty one rejects every
// field.) Their paths still name the kind, which is all the dry-run support check reads.
json definition(const ResourceInfo& r) {
  json s;
  if (r.schema.is_object()) {
    s = openapi_v2_schema(r.schema);
    if (s.contains("properties")) {
      // The real server always describes these three, whatever the CRD's schema says about them.
      json& p = s["properties"];
      if (!p.contains("apiVersion"))
        p["apiVersion"] = {{"type", "string"},
                           {"description",
                            "APIVersion defines the versioned schema of this representation "
                            "of an object."}};
      if (!p.contains("kind"))
        p["kind"] = {{"type", "string"},
                     {"description",
                      "Kind is a string value representing the REST resource this object "
                      "represents."}};
      if (!p.contains("metadata"))
        p["metadata"] = {{"type", "object"}, {"description", "Standard object's metadata."}};
    }
  } else {
    s = {{"x-kubernetes-preserve-unknown-fields", true}};
  }
  if (!s.contains("description"))
    s["description"] = r.custom ? r.kind + " is a custom resource." : r.kind + " (" + r.api_version() + ").";
  if (r.schema.is_object()) s["x-kubernetes-group-version-kind"] = json::array({openapi_gvk(r)});
  return s;
}

}  // namespace

json openapi_v2_schema(const json& in) {
  if (!in.is_object()) return json::object();
  json out = json::object();
  for (const char* k : {"description", "title", "format", "default", "example"})
    if (in.contains(k)) out[k] = in[k];
  if (in.contains("type") && in["type"].is_string()) out["type"] = in["type"];
  if (in.contains("required") && in["required"].is_array()) out["required"] = in["required"];
  for (auto it = in.begin(); it != in.end(); ++it)
    if (it.key().rfind("x-", 0) == 0) out[it.key()] = it.value();
  bool nullable = in.value("nullable", false);
  bool preserve = in.value("x-kubernetes-preserve-unknown-fields", false);
  if (!nullable && !preserve) {
    if (in.contains("properties") && in["properties"].is_object()) {
      json props = json::object();
      for (auto it = in["properties"].begin(); it != in["properties"].end(); ++it)
        props[it.key()] = openapi_v2_schema(it.value());
      out["properties"] = props;
    }
    if (in.contains("items") && in["items"].is_object()) out["items"] = openapi_v2_schema(in["items"]);
  }
  if (in.contains("additionalProperties")) {
    const json& ap = in["additionalProperties"];
    if (ap.is_boolean()) out["additionalProperties"] = ap;
    if (ap.is_object()) out["additionalProperties"] = openapi_v2_schema(ap);
  }
  // As the real server does: a nullable value has no type in v2, and kubectl cannot read an array without
  // an item schema.
  if (nullable) out.erase("type");
  if (out.value("type", "") == "array" && !out.contains("items")) out.erase("type");
  // A required property that may be null would fail client-side validation when sent as null.
  if (out.contains("required") && in.contains("properties") && in["properties"].is_object()) {
    json kept = json::array();
    for (const auto& name : out["required"])
      if (!(name.is_string() && in["properties"].contains(name.get<std::string>()) &&
            in["properties"][name.get<std::string>()].value("nullable", false)))
        kept.push_back(name);
    out["required"] = kept;
  }
  if (out.contains("required") && out["required"].empty()) out.erase("required");
  return out;
}

json openapi_v2_document(const Registry& reg) {
  json paths = json::object();
  json definitions = json::object();
  for (const auto& rp : reg.all()) {
    const ResourceInfo& r = *rp;
    std::string ref = "#/definitions/" + openapi_schema_name(r);
    std::string gvp = r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
    std::string base = gvp + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.plural;
    json scope = json::array();
    if (r.namespaced) scope.push_back(path_param("namespace", "object name and auth scope"));
    json item_params = scope;
    item_params.push_back(path_param("name", "name of the " + r.kind));
    json ref_schema = {{"$ref", ref}};
    paths[base + "/{name}"] = {{"get", operation(r, "read", "get", false, nullptr)},
                               {"put", operation(r, "replace", "put", true, ref_schema)},
                               {"patch", operation(r, "patch", "patch", true, json{{"type", "object"}})},
                               {"delete", operation(r, "delete", "delete", true, nullptr)},
                               {"parameters", item_params}};
    paths[base] = {{"post", operation(r, "create", "post", true, ref_schema)}, {"parameters", scope}};
    if (r.has_status)
      paths[base + "/{name}/status"] = {
          {"get", operation(r, "read" + std::string("Status"), "get", false, nullptr)},
          {"patch", operation(r, "patchStatus", "patch", true, json{{"type", "object"}})},
          {"parameters", item_params}};
    definitions[openapi_schema_name(r)] = definition(r);
  }
  return {{"swagger", "2.0"},
          {"info", {{"title", "Kubernetes"}, {"version", version_info()["gitVersion"]}}},
          {"paths", paths},
          {"definitions", definitions}};
}

// ---- the protobuf encoding (field numbers from gnostic's openapiv2/OpenAPIv2.proto) ----

namespace {

// Any{yaml = 2}: gnostic keeps arbitrary values as YAML text, and JSON is YAML.
ProtoWriter any_of(const json& v) {
  ProtoWriter w;
  w.string(2, v.dump());
  return w;
}

// Every x-* key of `obj` as a NamedAny{name = 1, value = 2} in field `field`.
void vendor_extensions(ProtoWriter& w, int field, const json& obj) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key().rfind("x-", 0) != 0) continue;
    ProtoWriter named;
    named.string(1, it.key()).message(2, any_of(it.value()));
    w.message(field, named);
  }
}

void strings(ProtoWriter& w, int field, const json& obj, const char* key) {
  if (obj.contains(key) && obj[key].is_array())
    for (const auto& s : obj[key])
      if (s.is_string()) w.repeated_string(field, s.get<std::string>());
}

std::string str(const json& obj, const char* key) {
  return obj.contains(key) && obj[key].is_string() ? obj[key].get<std::string>() : "";
}

ProtoWriter schema_message(const json& s) {
  ProtoWriter w;
  if (!s.is_object()) return w;
  w.string(1, str(s, "$ref")).string(2, str(s, "format")).string(3, str(s, "title"));
  w.string(4, str(s, "description"));
  if (s.contains("default")) w.message(5, any_of(s["default"]));
  auto num = [&](int f, const char* k) {
    if (s.contains(k) && s[k].is_number()) w.dbl(f, s[k].get<double>());
  };
  auto integer = [&](int f, const char* k) {
    if (s.contains(k) && s[k].is_number_integer()) w.int64(f, s[k].get<std::int64_t>());
  };
  auto flag = [&](int f, const char* k) {
    if (s.contains(k) && s[k].is_boolean()) w.boolean(f, s[k].get<bool>());
  };
  num(6, "multipleOf");
  num(7, "maximum");
  flag(8, "exclusiveMaximum");
  num(9, "minimum");
  flag(10, "exclusiveMinimum");
  integer(11, "maxLength");
  integer(12, "minLength");
  w.string(13, str(s, "pattern"));
  integer(14, "maxItems");
  integer(15, "minItems");
  flag(16, "uniqueItems");
  integer(17, "maxProperties");
  integer(18, "minProperties");
  strings(w, 19, s, "required");
  if (s.contains("enum") && s["enum"].is_array())
    for (const auto& e : s["enum"]) w.message(20, any_of(e));
  if (s.contains("additionalProperties")) {  // AdditionalPropertiesItem{schema = 1 | boolean = 2}
    ProtoWriter ap;
    const json& v = s["additionalProperties"];
    if (v.is_boolean()) {
      ap.oneof_boolean(2, v.get<bool>());
    } else {
      ap.message(1, schema_message(v));
    }
    w.message(21, ap);
  }
  if (s.contains("type") && s["type"].is_string()) {  // TypeItem{repeated value = 1}
    ProtoWriter t;
    t.repeated_string(1, s["type"].get<std::string>());
    w.message(22, t);
  }
  if (s.contains("items") && s["items"].is_object()) {  // ItemsItem{repeated schema = 1}
    ProtoWriter items;
    items.message(1, schema_message(s["items"]));
    w.message(23, items);
  }
  if (s.contains("properties") && s["properties"].is_object()) {  // Properties{repeated NamedSchema = 1}
    ProtoWriter props;
    for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
      ProtoWriter named;
      named.string(1, it.key()).message(2, schema_message(it.value()));
      props.message(1, named);
    }
    w.message(25, props);
  }
  flag(27, "readOnly");
  if (s.contains("example")) w.message(30, any_of(s["example"]));
  vendor_extensions(w, 31, s);
  return w;
}

// ParametersItem{parameter = 1}: Parameter{body_parameter = 1 | non_body_parameter = 2}.
ProtoWriter parameter_item(const json& p) {
  ProtoWriter param;
  std::string in = str(p, "in");
  if (in == "body") {  // BodyParameter{description 1, name 2, in 3, required 4, schema 5}
    ProtoWriter body;
    body.string(1, str(p, "description")).string(2, str(p, "name")).string(3, in);
    body.boolean(4, p.value("required", false)).message(5, schema_message(p.value("schema", json::object())));
    param.message(1, body);
  } else {
    // Query and path sub-schemas share their first fields: required 1, in 2, description 3, name 4; the
    // type is 6 for a query parameter (5 is allow_empty_value) and 5 for a path parameter.
    ProtoWriter sub;
    sub.boolean(1, p.value("required", false)).string(2, in).string(3, str(p, "description"));
    sub.string(4, str(p, "name"));
    if (in == "path") {
      sub.string(5, str(p, "type")).boolean(19, p.value("uniqueItems", false));
    } else {
      sub.string(6, str(p, "type")).boolean(20, p.value("uniqueItems", false));
    }
    ProtoWriter non_body;  // NonBodyParameter{query_parameter_sub_schema 3 | path_parameter_sub_schema 4}
    non_body.message(in == "path" ? 4 : 3, sub);
    param.message(2, non_body);
  }
  ProtoWriter item;
  item.message(1, param);
  return item;
}

ProtoWriter operation_message(const json& op) {
  ProtoWriter w;
  strings(w, 1, op, "tags");
  w.string(3, str(op, "description")).string(5, str(op, "operationId"));
  strings(w, 6, op, "produces");
  strings(w, 7, op, "consumes");
  if (op.contains("parameters"))
    for (const auto& p : op["parameters"]) w.message(8, parameter_item(p));
  if (op.contains("responses")) {  // Responses{NamedResponseValue{name 1, ResponseValue{response 1}} = 1}
    ProtoWriter responses;
    for (auto it = op["responses"].begin(); it != op["responses"].end(); ++it) {
      ProtoWriter response;  // Response{description 1, SchemaItem{schema 1} 2}
      response.string(1, str(it.value(), "description"));
      if (it.value().contains("schema")) {
        ProtoWriter schema_item;
        schema_item.message(1, schema_message(it.value()["schema"]));
        response.message(2, schema_item);
      }
      ProtoWriter value, named;
      value.message(1, response);
      named.string(1, it.key()).message(2, value);
      responses.message(1, named);
    }
    w.message(9, responses);
  }
  strings(w, 10, op, "schemes");
  vendor_extensions(w, 13, op);
  return w;
}

ProtoWriter path_item(const json& item) {
  ProtoWriter w;  // PathItem{get 2, put 3, post 4, delete 5, options 6, head 7, patch 8, parameters 9}
  const std::pair<const char*, int> verbs[] = {{"get", 2},     {"put", 3},  {"post", 4}, {"delete", 5},
                                               {"options", 6}, {"head", 7}, {"patch", 8}};
  for (const auto& [verb, field] : verbs)
    if (item.contains(verb)) w.message(field, operation_message(item[verb]));
  if (item.contains("parameters"))
    for (const auto& p : item["parameters"]) w.message(9, parameter_item(p));
  vendor_extensions(w, 10, item);
  return w;
}

}  // namespace

std::string openapi_v2_protobuf(const json& doc) {
  ProtoWriter w;  // Document{swagger 1, info 2, paths 8, definitions 9}
  w.string(1, str(doc, "swagger"));
  if (doc.contains("info")) {  // Info{title 1, version 2}
    ProtoWriter info;
    info.string(1, str(doc["info"], "title")).string(2, str(doc["info"], "version"));
    w.message(2, info);
  }
  if (doc.contains("paths")) {  // Paths{NamedPathItem{name 1, value 2} = 2}
    ProtoWriter paths;
    for (auto it = doc["paths"].begin(); it != doc["paths"].end(); ++it) {
      ProtoWriter named;
      named.string(1, it.key()).message(2, path_item(it.value()));
      paths.message(2, named);
    }
    w.message(8, paths);
  }
  if (doc.contains("definitions")) {  // Definitions{NamedSchema{name 1, value 2} = 1}
    ProtoWriter defs;
    for (auto it = doc["definitions"].begin(); it != doc["definitions"].end(); ++it) {
      ProtoWriter named;
      named.string(1, it.key()).message(2, schema_message(it.value()));
      defs.message(1, named);
    }
    w.message(9, defs);
  }
  vendor_extensions(w, 16, doc);
  return w.bytes();
}

}  // namespace raydog::emulator
