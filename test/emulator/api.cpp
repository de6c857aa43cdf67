#include "test/emulator/api.hpp"
#include "test/emulator/protobuf_body.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "controller/http/url.hpp"
#include "test/emulator/api_internal.hpp"
#include "test/emulator/discovery.hpp"
#include "test/emulator/meta.hpp"
#include "test/emulator/openapi_v2.hpp"

namespace raydog::emulator {

std::string dump_json(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::map<std::string, std::string> parse_query(const std::string& query) {
  std::map<std::string, std::string> q;
  std::stringstream ss(query);
  std::string kv;
  while (std::getline(ss, kv, '&')) {
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    std::string k = http::url_decode(kv.substr(0, eq));
    std::string v = eq == std::string::npos ? "" : http::url_decode(kv.substr(eq + 1));
    q.emplace(k, v);  // first occurrence wins
  }
  return q;
}

bool query_true(const std::string& v) {
  std::string l = v;
  std::transform(l.begin(), l.end(), l.begin(), ::tolower);
  return !(l.empty() || l == "0" || l == "false");
}

std::string qget(const std::map<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  return it == q.end() ? "" : it->second;
}

bool dry_run(const std::map<std::string, std::string>& q) {
  return qget(q, "dryRun") == "All";
}

ApiResponse json_response(int code, const json& body) {
  ApiResponse r;
  r.code = code;
  r.body = dump_json(body);
  return r;
}

ApiResponse error_response(const ApiError& e) {
  return json_response(e.code, status_json(e));
}

bool wants_table(const std::string& accept) {
  return accept.find("as=Table") != std::string::npos;
}

Result<IncludeObject, ApiError> include_object(const std::map<std::string, std::string>& q) {
  std::string v = qget(q, "includeObject");
  if (v.empty() || v == "Metadata") return IncludeObject::kMetadata;
  if (v == "Object") return IncludeObject::kObject;
  if (v == "None") return IncludeObject::kNone;
  return unexpected(bad_request("includeObject: Unsupported value: \"" + v +
                                "\": supported values: \"Metadata\", \"None\", \"Object\""));
}

WatchSession::~WatchSession() {
  if (store_ && sink_) store_->unsubscribe(sink_);
}

Api::Api(ApiOptions options)
    : store_(options.history), builtin_(BuiltinAdmissionOptions{options.allow_loopback_endpoints}) {
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    auto info = registry_.find("", "v1", "namespaces");
    (void)store_.create(*info, {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  }
}

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segs;
  std::stringstream ss(path);
  std::string s;
  while (std::getline(ss, s, '/'))
    if (!s.empty()) segs.push_back(http::percent_decode(s));
  return segs;
}

ApiResponse text(int code, std::string body) {
  ApiResponse r;
  r.code = code;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

const char* kAggregatedType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

}  // namespace

Api::Outcome Api::handle(const ApiRequest& req) {
  auto qpos = req.target.find('?');
  std::string path = req.target.substr(0, qpos);
  Query q = qpos == std::string::npos ? Query{} : parse_query(req.target.substr(qpos + 1));
  auto segs = split_path(path);
  auto ok_json = [](const json& j) { return Outcome{json_response(200, j), nullptr}; };
  auto not_found = [] { return Outcome{error_response(path_not_found()), nullptr}; };
  bool is_get = req.method == "GET" || req.method == "HEAD";

  if (segs.empty()) {
    if (!is_get) return not_found();
    json paths = {"/api",        "/api/v1",     "/apis",   "/healthz", "/livez",
                  "/openapi/v2", "/openapi/v3", "/readyz", "/version"};
    return ok_json({{"paths", paths}});
  }
  const std::string& s0 = segs[0];
  if (segs.size() == 1 && (s0 == "healthz" || s0 == "readyz" || s0 == "livez"))
    return {text(200, "ok"), nullptr};
  if (segs.size() == 1 && s0 == "version") return ok_json(version_info());
  if (s0 == "openapi") {
    if (!is_get) return not_found();
    if (segs.size() == 2 && segs[1] == "v2") {
      // kubectl before 1.27 asks for the protobuf (explain, validation, the dry-run check); other clients
      // (and curl) get JSON, as from a real server.
      json doc = openapi_v2_document(registry_);
      if (req.accept.find("protobuf") == std::string::npos) return ok_json(doc);
      ApiResponse r;
      r.code = 200;
      // Not the "@v1.0" spelling kubectl asks with: Go's mime parser rejects it in a Content-Type.
      r.content_type = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
      r.body = openapi_v2_protobuf(doc);
      return {r, nullptr};
    }
    if (segs.size() == 2 && segs[1] == "v3") return ok_json(openapi_v3_root(registry_));
    if (segs.size() >= 3 && segs[1] == "v3") {
      std::string gv;
      for (size_t i = 2; i < segs.size(); ++i) gv += (i > 2 ? "/" : "") + segs[i];
      json doc = openapi_v3_document(registry_, gv);
      if (doc.is_null()) return not_found();
      ApiResponse r = json_response(200, doc);
      r.headers.push_back({"Cache-Control", "public, immutable"});
      return {r, nullptr};
    }
    return not_found();
  }
  bool aggregated = req.accept.find("as=APIGroupDiscoveryList") != std::string::npos;
  auto discovery = [&](bool core) {
    ApiResponse r = json_response(200, aggregated_discovery(registry_, core));
    r.content_type = kAggregatedType;
    return Outcome{r, nullptr};
  };
  if (s0 == "api") {
    if (segs.size() == 1) {
      if (!is_get) return not_found();
      if (aggregated) return discovery(true);
      return ok_json(legacy_api_versions(req.host));
    }
    if (segs[1] != "v1") return not_found();
    if (segs.size() == 2) {
      if (!is_get) return not_found();
      return ok_json(legacy_resource_list(registry_, "", "v1"));
    }
  } else if (s0 == "apis") {
    if (segs.size() == 1) {
      if (!is_get) return not_found();
      if (aggregated) return discovery(false);
      return ok_json(legacy_group_list(registry_));
    }
    if (segs.size() == 2) {
      json g = legacy_group(registry_, segs[1]);
      if (g.is_null() || !is_get) return not_found();
      return ok_json(g);
    }
    if (segs.size() == 3) {
      json l = legacy_resource_list(registry_, segs[1], segs[2]);
      if (l.is_null() || !is_get) return not_found();
      return ok_json(l);
    }
  } else {
    return not_found();
  }

  // Resource paths.
  std::string group = s0 == "api" ? "" : segs[1];
  std::string version = s0 == "api" ? segs[1] : segs[2];
  std::vector<std::string> rest(segs.begin() + (s0 == "api" ? 2 : 3), segs.end());
  Route route;
  if (rest.size() >= 3 && rest[0] == "namespaces" &&
      !(rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"))) {
    route.has_ns = true;
    route.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) return not_found();
  route.info = registry_.find(group, version, rest[0]);
  if (!route.info) return not_found();
  if (route.has_ns && !route.info->namespaced) return not_found();
  if (rest.size() >= 2) route.name = rest[1];
  if (rest.size() == 3) {
    route.subresource = rest[2];
    bool ok = (route.subresource == "status" && route.info->has_status) ||
              (route.subresource == "scale" && route.info->has_scale) ||
              (route.subresource == "status" && route.info->kind == "Namespace");
    if (!ok) return not_found();
  }
  if (route.info->namespaced && !route.has_ns && !route.name.empty()) return not_found();
  return handle_resource(req, route, q);
}

Api::Outcome Api::handle_resource(const ApiRequest& req, const Route& r, const Query& q) {
  auto wrap = [](Result<ApiResponse, ApiError> res) {
    return Outcome{res ? std::move(res).value() : error_response(res.error()), nullptr};
  };
  const std::string& m = req.method;
  std::string ct = req.content_type.substr(0, req.content_type.find(';'));
  if ((m == "POST" || m == "PUT") && ct.find("protobuf") != std::string::npos) {
    // kubectl's imperative commands send built-in kinds as protobuf: decoded to JSON, handled as JSON.
    auto decoded = decode_protobuf_body(req.body);
    if (!decoded) {
      ApiError e = unsupported_media_type("application/json, application/yaml");
      e.message = decoded.error().message;
      return {error_response(e), nullptr};
    }
    ApiRequest json_req = req;
    json_req.body = decoded->dump();
    json_req.content_type = "application/json";
    return handle_resource(json_req, r, q);
  }
  if (!r.subresource.empty() && r.subresource == "scale") {
    if (m == "GET" || m == "PUT" || m == "PATCH") return wrap(scale(req, r, q));
    return {
        error_response(method_not_allowed(m == "DELETE" ? "delete" : "create", r.info->plural + "/scale")),
        nullptr};
  }
  if (r.name.empty()) {
    if (m == "GET") {
      if (query_true(qget(q, "watch"))) {
        auto w = watch(req, r, q);
        if (!w) return {error_response(w.error()), nullptr};
        return {ApiResponse{}, std::move(w).value()};
      }
      return wrap(list(req, r, q));
    }
    if (m == "POST") {
      if (r.info->namespaced && !r.has_ns) return {error_response(path_not_found()), nullptr};
      auto res = create(req, r, q);
      finish_crd_deletions();
      return wrap(std::move(res));
    }
    if (m == "DELETE") {
      auto res = remove_collection(req, r, q);
      finish_crd_deletions();
      return wrap(std::move(res));
    }
    return {error_response(method_not_allowed(m == "PUT" ? "update" : "patch", r.info->plural)), nullptr};
  }
  if (m == "GET") {
    if (query_true(qget(q, "watch")))
      return {error_response(bad_request("watch is not supported on a single item; use a fieldSelector")),
              nullptr};
    return wrap(get_item(req, r, q));
  }
  Result<ApiResponse, ApiError> res = unexpected(method_not_allowed("create", r.info->plural));
  if (m == "PUT")
    res = update(req, r, q);
  else if (m == "PATCH")
    res = patch(req, r, q);
  else if (m == "DELETE" && r.subresource.empty())
    res = remove(req, r, q);
  else if (m == "DELETE")
    res = unexpected(method_not_allowed("delete", r.info->plural + "/" + r.subresource));
  finish_crd_deletions();
  return wrap(std::move(res));
}

}  // namespace raydog::emulator
