// GET / LIST / POST / PUT / PATCH / DELETE of objects (§8, §9, §10), with custom-resource admission
// (prune, default, validate) and the scale subresource.
#include <algorithm>

#include "controller/util/base64.hpp"
#include "test/emulator/api.hpp"
#include "test/emulator/api_internal.hpp"
#include "test/emulator/meta.hpp"
#include "test/emulator/patch.hpp"
#include "test/emulator/protobuf_body.hpp"
#include "test/emulator/schema.hpp"

namespace raydog::emulator {

namespace {

const char* kTableType = "application/json;as=Table;v=v1;g=meta.k8s.io";
constexpr std::size_t kMaxBody = 3 * 1024 * 1024;

bool is_crd(const ResourceInfo& info) {
  return info.group == "apiextensions.k8s.io" && info.plural == "customresourcedefinitions";
}

std::string warning_header(const std::string& w) {
  std::string escaped;
  for (char c : w) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return "299 - \"" + escaped + "\"";
}

Result<json, ApiError> decode_object(const ApiRequest& req, const ResourceInfo& info,
                                     const std::string& url_ns, bool has_ns) {
  if (req.body.size() > kMaxBody)
    return unexpected(
        ApiError{413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728", nullptr});
  std::string ct = req.content_type.substr(0, req.content_type.find(';'));
  bool yaml = ct == "application/yaml" || ct == "application/x-yaml" || ct == "text/yaml";
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos)
    return unexpected(bad_request("Object 'Kind' is missing in ''"));
  auto parsed = parse_body(req.body, yaml);
  if (!parsed) return unexpected(parsed.error());
  json obj = std::move(parsed).value();
  if (!obj.is_object())
    return unexpected(
        bad_request("couldn't get version/kind; json parse error: json: cannot unmarshal " +
                    std::string(obj.type_name()) +
                    " into Go value of type struct { APIVersion string "
                    "\"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }"));
  if (!obj.contains("apiVersion") || obj["apiVersion"] == "") obj["apiVersion"] = info.api_version();
  if (!obj.contains("kind") || obj["kind"] == "") obj["kind"] = info.kind;
  if (!obj["apiVersion"].is_string() || !obj["kind"].is_string())
    return unexpected(bad_request("apiVersion and kind must be strings"));
  if (obj["apiVersion"] != info.api_version())
    return unexpected(bad_request("the API version in the data (" + obj["apiVersion"].get<std::string>() +
                                  ") does not match the expected API version (" + info.api_version() + ")"));
  if (obj["kind"] != info.kind)
    return unexpected(bad_request("the kind in the data (" + obj["kind"].get<std::string>() +
                                  ") does not match the expected kind (" + info.kind + ")"));
  if (!obj.contains("metadata") || obj["metadata"].is_null()) obj["metadata"] = json::object();
  if (!obj["metadata"].is_object()) return unexpected(bad_request("metadata must be an object"));
  json& md = obj["metadata"];
  for (const char* f : {"name", "namespace", "generateName", "resourceVersion", "uid"})
    if (md.contains(f) && !md[f].is_string())
      return unexpected(bad_request(std::string("metadata.") + f + " must be a string"));
  if (info.namespaced && has_ns) {
    std::string body_ns = md.value("namespace", "");
    if (!body_ns.empty() && body_ns != url_ns)
      return unexpected(bad_request(
          "the namespace of the provided object does not match the namespace sent on the request"));
    md["namespace"] = url_ns;
  }
  return obj;
}

json scale_of(const ResourceInfo& info, const json& obj) {
  auto first = [&](const std::string& path) -> json {
    if (path.empty()) return nullptr;
    auto v = eval_json_path(obj, path);
    return v.empty() ? json() : v[0];
  };
  const json& md = obj["metadata"];
  json smd = json::object();
  for (const char* f : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"})
    if (md.contains(f)) smd[f] = md[f];
  json spec_r = first(info.spec_replicas_path);
  json status_r = first(info.status_replicas_path);
  json sel = first(info.label_selector_path);
  json status = {{"replicas", status_r.is_number() ? status_r : json(0)}};
  if (sel.is_string()) status["selector"] = sel;
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata", smd},
          {"spec", {{"replicas", spec_r.is_number() ? spec_r : json(0)}}},
          {"status", status}};
}

void set_path(json& obj, const std::string& dotted, const json& value) {
  json* cur = &obj;
  size_t start = dotted.starts_with(".") ? 1 : 0;
  while (true) {
    auto dot = dotted.find('.', start);
    std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) *cur = json::object();
    if (dot == std::string::npos) {
      (*cur)[part] = value;
      return;
    }
    cur = &(*cur)[part];
    start = dot + 1;
  }
}

std::string strict_message(const std::vector<std::string>& pruned) {
  std::string msg = "strict decoding error: ";
  for (size_t i = 0; i < pruned.size(); ++i)
    msg += (i ? ", " : "") + std::string("unknown field \"") + pruned[i] + "\"";
  return msg;
}

}  // namespace

ApiResponse Api::object_response(const ApiRequest& req, const ResourceInfo& info, const json& obj, int code,
                                 const Query& q, const std::vector<std::string>& warnings) {
  ApiResponse r;
  r.code = code;
  auto inc = include_object(q);
  if (wants_table(req.accept) && inc) {
    json md = {{"resourceVersion", obj["metadata"].value("resourceVersion", "")}};
    r.body = dump_json(make_table(info, {&obj}, md, *inc, store_.now()));
    r.content_type = kTableType;
  } else if (auto proto = accepts_only_protobuf(req.accept) ? encode_protobuf_object(obj) : std::nullopt) {
    r.body = std::move(*proto);  // a client that takes nothing else (kubectl accepts JSON too)
    r.content_type = "application/vnd.kubernetes.protobuf";
  } else {
    r.body = dump_json(obj);
  }
  for (const auto& w : warnings) r.headers.push_back({"Warning", warning_header(w)});
  return r;
}

Result<ApiResponse, ApiError> Api::get_item(const ApiRequest& req, const Route& r, const Query& q) {
  ObjPtr obj = store_.get(*r.info, r.ns, r.name);
  if (!obj) return unexpected(not_found(r.info->qualified(), r.info->group, r.info->plural, r.name));
  auto inc = include_object(q);
  if (!inc) return unexpected(inc.error());
  return object_response(req, *r.info, *obj, 200, q);
}

Result<ApiResponse, ApiError> Api::list(const ApiRequest& req, const Route& r, const Query& q) {
  auto labels = LabelSelector::parse(qget(q, "labelSelector"));
  if (!labels) return unexpected(labels.error());
  auto fields = FieldSelector::parse(qget(q, "fieldSelector"), r.info->group, r.info->kind);
  if (!fields) return unexpected(fields.error());
  auto inc = include_object(q);
  if (!inc) return unexpected(inc.error());
  std::string cont = qget(q, "continue");
  std::string rv = qget(q, "resourceVersion");
  if (!cont.empty() && !rv.empty() && rv != "0")
    return unexpected(bad_request("specifying resource version is not allowed when using continue"));
  std::string start_ns, start_name;
  if (!cont.empty()) {
    auto decoded = base64_decode(cont);
    json tok = decoded ? json::parse(*decoded, nullptr, false) : json();
    if (!tok.is_object() || !tok.contains("ns") || !tok.contains("name"))
      return unexpected(bad_request(
          "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"));
    start_ns = tok["ns"].get<std::string>();
    start_name = tok["name"].get<std::string>();
  }
  long limit = 0;
  if (auto l = qget(q, "limit"); !l.empty()) limit = std::max(0L, std::strtol(l.c_str(), nullptr, 10));
  std::vector<const json*> items;
  std::string next_ns, next_name;
  long remaining = 0;
  auto all = store_.list(*r.info, r.ns);
  for (const auto& o : all) {
    if (!cont.empty()) {
      std::pair<std::string, std::string> key{r.info->namespaced ? meta_str(*o, "namespace") : "",
                                              meta_str(*o, "name")};
      if (key <= std::make_pair(start_ns, start_name)) continue;
    }
    if (!labels->matches(*o) || !fields->matches(*o)) continue;
    if (limit > 0 && static_cast<long>(items.size()) >= limit) {
      ++remaining;
      continue;
    }
    items.push_back(o.get());
  }
  json md = {{"resourceVersion", std::to_string(store_.resource_version())}};
  if (remaining > 0 && !items.empty()) {
    const json& last = *items.back();
    md["continue"] = base64_encode(dump_json(
        {{"ns", r.info->namespaced ? meta_str(last, "namespace") : ""}, {"name", meta_str(last, "name")}}));
    md["remainingItemCount"] = remaining;
  }
  ApiResponse res;
  if (wants_table(req.accept)) {
    res.content_type = kTableType;
    res.body = dump_json(make_table(*r.info, items, md, *inc, store_.now()));
    return res;
  }
  // Serialised by hand: 10,000 items should not be copied into one more json tree.
  std::string body = "{\"apiVersion\":" + json(r.info->api_version()).dump() + ",\"items\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) body += ',';
    body += dump_json(*items[i]);
  }
  body += "],\"kind\":" + json(r.info->list_kind).dump() + ",\"metadata\":" + dump_json(md) + "}";
  res.body = std::move(body);
  return res;
}

Result<std::vector<std::string>, ApiError> Api::admit(const ResourceInfo& info, json& obj, const Query& q,
                                                       const json* stored) {
  std::vector<std::string> warnings;
  if (is_crd(info)) {
    auto infos = crd_to_resources(obj);
    if (!infos) return unexpected(infos.error());
    return warnings;
  }
  // Built-in defaulting the real server does and kubectl shows.
  if (info.group.empty() && info.kind == "Secret" && (!obj.contains("type") || obj["type"] == ""))
    obj["type"] = "Opaque";
  if (auto errs = builtin_.admit(info, obj, stored); !errs.empty())
    return unexpected(invalid(info.kind_qualified(), info.group, info.kind, meta_str(obj, "name"), errs));
  if (!info.custom || !info.schema.is_object()) return warnings;
  auto pruned = prune(obj, info.schema);
  std::string fv = qget(q, "fieldValidation");
  if (!pruned.empty()) {
    if (fv == "Strict") return unexpected(bad_request(strict_message(pruned)));
    if (fv != "Ignore")
      for (const auto& p : pruned) warnings.push_back("unknown field \"" + p + "\"");
  }
  apply_defaults(obj, info.schema);
  auto errs = validate(obj, info.schema);
  if (!errs.empty())
    return unexpected(invalid(info.kind_qualified(), info.group, info.kind, meta_str(obj, "name"), errs));
  return warnings;
}

Result<ObjPtr, ApiError> Api::write_create(const ResourceInfo& info, json obj, const Query& q,
                                           std::vector<std::string>& warnings) {
  if (info.custom && !info.crd_name.empty()) {
    auto crd_info = registry_.find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
    ObjPtr crd = store_.get(*crd_info, "", info.crd_name);
    if (crd && !meta_str(*crd, "deletionTimestamp").empty())
      return unexpected(ApiError{405, "MethodNotAllowed",
                                 "create not allowed while custom resource definition is terminating",
                                 nullptr});
  }
  if (info.has_status && info.custom) obj.erase("status");
  auto w = admit(info, obj, q);
  if (!w) return unexpected(w.error());
  warnings = *w;
  auto created = store_.create(info, std::move(obj), dry_run(q));
  if (!created) return created;
  if (is_crd(info) && !dry_run(q)) after_crd_write(*created);
  return is_crd(info) && !dry_run(q) ? store_.get(info, "", meta_str(**created, "name")) : *created;
}

Result<ObjPtr, ApiError> Api::write_update(const ResourceInfo& info, json candidate, Store::Part part,
                                           const Query& q, bool rv_required,
                                           std::vector<std::string>& warnings) {
  std::string name = meta_str(candidate, "name");
  ObjPtr stored = store_.get(info, meta_str(candidate, "namespace"), name);
  if (!stored) return unexpected(not_found(info.qualified(), info.group, info.plural, name));
  json view = candidate;
  if (part == Store::Part::kStatus) {
    view = *stored;
    if (candidate.contains("status"))
      view["status"] = candidate["status"];
    else
      view.erase("status");
  } else if (info.has_status) {
    if (stored->contains("status"))
      view["status"] = (*stored)["status"];
    else
      view.erase("status");
  }
  auto w = admit(info, view, q, stored.get());
  if (!w) return unexpected(w.error());
  warnings = *w;
  // Carry the admitted (pruned, defaulted) content into what the store merges.
  if (part == Store::Part::kStatus) {
    if (view.contains("status"))
      candidate["status"] = view["status"];
    else
      candidate.erase("status");
  } else {
    json md = candidate["metadata"];
    candidate = view;
    candidate["metadata"] = md;
  }
  auto updated = store_.update(info, std::move(candidate), part, dry_run(q), rv_required);
  if (!updated) return updated;
  if (is_crd(info) && !dry_run(q) && store_.get(info, "", name)) after_crd_write(*updated);
  ObjPtr latest = is_crd(info) && !dry_run(q) ? store_.get(info, "", name) : nullptr;
  return latest ? latest : *updated;
}

Result<ApiResponse, ApiError> Api::create(const ApiRequest& req, const Route& r, const Query& q) {
  if (!r.subresource.empty())
    return unexpected(method_not_allowed("create", r.info->plural + "/" + r.subresource));
  auto obj = decode_object(req, *r.info, r.ns, r.has_ns);
  if (!obj) return unexpected(obj.error());
  std::vector<std::string> warnings;
  auto created = write_create(*r.info, std::move(obj).value(), q, warnings);
  if (!created) return unexpected(created.error());
  return object_response(req, *r.info, **created, 201, q, warnings);
}

Result<ApiResponse, ApiError> Api::update(const ApiRequest& req, const Route& r, const Query& q) {
  auto obj = decode_object(req, *r.info, r.ns, r.has_ns);
  if (!obj) return unexpected(obj.error());
  json& o = *obj;
  std::string body_name = meta_str(o, "name");
  if (body_name.empty())
    o["metadata"]["name"] = r.name;
  else if (body_name != r.name)
    return unexpected(bad_request("the name of the object (" + body_name +
                                  ") does not match the name on the URL (" + r.name + ")"));
  std::vector<std::string> warnings;
  auto part = r.subresource == "status" ? Store::Part::kStatus : Store::Part::kMain;
  auto updated = write_update(*r.info, std::move(o), part, q, r.info->custom, warnings);
  if (!updated) return unexpected(updated.error());
  return object_response(req, *r.info, **updated, 200, q, warnings);
}

Result<ApiResponse, ApiError> Api::patch(const ApiRequest& req, const Route& r, const Query& q) {
  if (req.body.size() > kMaxBody)
    return unexpected(
        ApiError{413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728", nullptr});
  PatchType type = patch_type_from_content_type(req.content_type);
  const char* accepted =
      "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
  if (type == PatchType::kUnknown)
    return unexpected(
        unsupported_media_type(std::string(accepted) + ", application/strategic-merge-patch+json"));
  if (type == PatchType::kStrategic && (r.info->custom || is_crd(*r.info)))
    return unexpected(unsupported_media_type(accepted));
  if (type == PatchType::kApply && qget(q, "fieldManager").empty())
    return unexpected(
        invalid("PatchOptions.meta.k8s.io", "meta.k8s.io", "PatchOptions", "",
                {{"FieldValueRequired", "fieldManager", "Required value: is required for apply patch"}}));
  if (type != PatchType::kApply && q.count("force"))
    return unexpected(
        invalid("PatchOptions.meta.k8s.io", "meta.k8s.io", "PatchOptions", "",
                {{"FieldValueForbidden", "force", "Forbidden: may not be specified for non-apply patch"}}));
  ObjPtr stored = store_.get(*r.info, r.ns, r.name);
  std::vector<std::string> warnings;
  if (!stored) {
    if (type != PatchType::kApply || !r.subresource.empty())
      return unexpected(not_found(r.info->qualified(), r.info->group, r.info->plural, r.name));
    ApiRequest as_create = req;
    as_create.content_type = "application/yaml";
    auto obj = decode_object(as_create, *r.info, r.ns, r.has_ns);
    if (!obj) return unexpected(obj.error());
    if (meta_str(*obj, "name").empty()) (*obj)["metadata"]["name"] = r.name;
    if (meta_str(*obj, "name") != r.name)
      return unexpected(bad_request("the name of the object (" + meta_str(*obj, "name") +
                                    ") does not match the name on the URL (" + r.name + ")"));
    auto created = write_create(*r.info, std::move(obj).value(), q, warnings);
    if (!created) return unexpected(created.error());
    return object_response(req, *r.info, **created, 201, q, warnings);
  }
  auto patched = apply_patch(*stored, type, req.body, r.info->schema);
  if (!patched) return unexpected(patched.error());
  json& p = *patched;
  if (!p.is_object()) return unexpected(bad_request("the patch produced a non-object"));
  if (!p.contains("metadata") || !p["metadata"].is_object()) p["metadata"] = json::object();
  if (meta_str(p, "name") != r.name || (r.info->namespaced && meta_str(p, "namespace") != r.ns))
    return unexpected(
        invalid(r.info->kind_qualified(), r.info->group, r.info->kind, r.name,
                {{"FieldValueInvalid", "metadata.name",
                  "Invalid value: " + json(meta_str(p, "name")).dump() + ": field is immutable"}}));
  p["apiVersion"] = (*stored)["apiVersion"];
  p["kind"] = (*stored)["kind"];
  auto part = r.subresource == "status" ? Store::Part::kStatus : Store::Part::kMain;
  auto updated = write_update(*r.info, std::move(p), part, q, false, warnings);
  if (!updated) return unexpected(updated.error());
  return object_response(req, *r.info, **updated, 200, q, warnings);
}

Result<ApiResponse, ApiError> Api::scale(const ApiRequest& req, const Route& r, const Query& q) {
  ObjPtr stored = store_.get(*r.info, r.ns, r.name);
  if (!stored) return unexpected(not_found(r.info->qualified(), r.info->group, r.info->plural, r.name));
  json current = scale_of(*r.info, *stored);
  if (req.method == "GET") return json_response(200, current);
  json desired;
  if (req.method == "PUT") {
    auto body = parse_body(req.body, false);
    if (!body) return unexpected(body.error());
    desired = std::move(body).value();
  } else {
    PatchType type = patch_type_from_content_type(req.content_type);
    if (type == PatchType::kStrategic) type = PatchType::kMerge;  // Scale is a built-in type
    auto patched = apply_patch(current, type, req.body, json());
    if (!patched) return unexpected(patched.error());
    desired = std::move(patched).value();
  }
  if (!desired.is_object() || !desired.contains("spec") || !desired["spec"].contains("replicas") ||
      !desired["spec"]["replicas"].is_number_integer())
    return unexpected(invalid("Scale.autoscaling", "autoscaling", "Scale", r.name,
                              {{"FieldValueRequired", "spec.replicas", "Required value"}}));
  if (desired["spec"]["replicas"].get<long long>() < 0)
    return unexpected(invalid(
        "Scale.autoscaling", "autoscaling", "Scale", r.name,
        {{"FieldValueInvalid", "spec.replicas",
          "Invalid value: " + desired["spec"]["replicas"].dump() + ": must be greater than or equal to 0"}}));
  json next = *stored;
  set_path(next, r.info->spec_replicas_path, desired["spec"]["replicas"]);
  std::string rv = desired.contains("metadata") && desired["metadata"].is_object()
                       ? desired["metadata"].value("resourceVersion", "")
                       : "";
  if (!rv.empty()) next["metadata"]["resourceVersion"] = rv;
  std::vector<std::string> warnings;
  auto updated = write_update(*r.info, std::move(next), Store::Part::kMain, q, false, warnings);
  if (!updated) return unexpected(updated.error());
  return json_response(200, scale_of(*r.info, **updated));
}

Result<ApiResponse, ApiError> Api::remove(const ApiRequest& req, const Route& r, const Query& q) {
  json options;
  if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto parsed = parse_body(req.body, false);
    if (!parsed) return unexpected(parsed.error());
    options = std::move(parsed).value();
  }
  bool dry = dry_run(q) ||
             (options.is_object() && options.contains("dryRun") && options["dryRun"] == json::array({"All"}));
  if (is_crd(*r.info) && !dry) return delete_crd(*r.info, r.name, options);
  auto out = store_.remove(*r.info, r.ns, r.name, options, dry);
  if (!out) return unexpected(out.error());
  if (!out->deleted) return object_response(req, *r.info, *out->object, 200, q);
  json details = {{"name", r.name}, {"kind", r.info->plural}, {"uid", meta_str(*out->object, "uid")}};
  if (!r.info->group.empty()) details["group"] = r.info->group;
  return json_response(200, success_status(details));
}

Result<ApiResponse, ApiError> Api::remove_collection(const ApiRequest& req, const Route& r, const Query& q) {
  auto labels = LabelSelector::parse(qget(q, "labelSelector"));
  if (!labels) return unexpected(labels.error());
  auto fields = FieldSelector::parse(qget(q, "fieldSelector"), r.info->group, r.info->kind);
  if (!fields) return unexpected(fields.error());
  std::vector<std::pair<std::string, std::string>> victims;
  for (const auto& o : store_.list(*r.info, r.ns))
    if (labels->matches(*o) && fields->matches(*o))
      victims.emplace_back(meta_str(*o, "namespace"), meta_str(*o, "name"));
  json items = json::array();
  for (const auto& [ns, name] : victims) {
    auto out = is_crd(*r.info) ? Result<DeleteOutcome, ApiError>(unexpected(path_not_found()))
                               : store_.remove(*r.info, ns, name, nullptr, dry_run(q));
    if (is_crd(*r.info)) {
      (void)delete_crd(*r.info, name, nullptr);
      continue;
    }
    if (out) items.push_back(*out->object);
  }
  (void)req;
  return json_response(200, {{"apiVersion", r.info->api_version()},
                             {"kind", r.info->list_kind},
                             {"metadata", {{"resourceVersion", std::to_string(store_.resource_version())}}},
                             {"items", items}});
}

}  // namespace raydog::emulator
