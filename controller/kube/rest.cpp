#include "controller/kube/rest.hpp"

#include <charconv>

#include "controller/http/url.hpp"
#include "controller/util/enum_names.hpp"
#include "controller/util/json_read.hpp"

namespace raydog::kube {
namespace {

void add(std::string& q, std::string_view key, std::string_view value) {
  q += q.empty() ? '?' : '&';
  q += key;
  q += '=';
  q += http::url_encode(value);
}

ApiError::Kind kind_for(int code, const std::string& reason) {
  using K = ApiError::Kind;
  if (reason == "NotFound") return K::kNotFound;
  if (reason == "AlreadyExists") return K::kAlreadyExists;
  if (reason == "Conflict") return K::kConflict;
  if (reason == "Invalid") return K::kInvalid;
  if (reason == "Expired" || reason == "Gone") return K::kGone;
  if (reason == "Unauthorized") return K::kUnauthorized;
  if (reason == "Forbidden") return K::kForbidden;
  if (reason == "TooManyRequests") return K::kTooManyRequests;
  if (reason == "BadRequest") return K::kBadRequest;
  if (reason == "MethodNotAllowed") return K::kMethodNotAllowed;
  if (reason == "UnsupportedMediaType") return K::kUnsupportedMediaType;
  if (reason == "Timeout") return K::kTimeout;
  switch (code) {
    case 400:
      return K::kBadRequest;
    case 401:
      return K::kUnauthorized;
    case 403:
      return K::kForbidden;
    case 404:
      return K::kNotFound;
    case 405:
      return K::kMethodNotAllowed;
    case 408:
      return K::kTimeout;
    case 409:
      return K::kConflict;
    case 410:
      return K::kGone;
    case 415:
      return K::kUnsupportedMediaType;
    case 422:
      return K::kInvalid;
    case 429:
      return K::kTooManyRequests;
    case 504:
      return K::kTimeout;
    default:
      return code >= 500 && code <= 599 ? K::kServerError : K::kOther;
  }
}

}  // namespace

namespace {
using K = ApiError::Kind;
// clang-format off
constexpr EnumName<K> kKindNames[] = {
    {K::kNotFound, "NotFound"}, {K::kConflict, "Conflict"}, {K::kAlreadyExists, "AlreadyExists"},
    {K::kInvalid, "Invalid"}, {K::kGone, "Gone"}, {K::kUnauthorized, "Unauthorized"},
    {K::kForbidden, "Forbidden"}, {K::kTooManyRequests, "TooManyRequests"}, {K::kBadRequest, "BadRequest"},
    {K::kMethodNotAllowed, "MethodNotAllowed"}, {K::kUnsupportedMediaType, "UnsupportedMediaType"},
    {K::kTimeout, "Timeout"}, {K::kServerError, "ServerError"}, {K::kTransport, "Transport"},
    {K::kDecode, "Decode"}, {K::kOther, "Other"}};
// clang-format on
constexpr EnumName<PatchType> kPatchContentTypes[] = {
    {PatchType::kMerge, "application/merge-patch+json"},
    {PatchType::kJson, "application/json-patch+json"},
    {PatchType::kApply, "application/apply-patch+yaml"},
    {PatchType::kStrategic, "application/strategic-merge-patch+json"}};
}  // namespace

const char* to_string(ApiError::Kind kind) {
  return name_of(kKindNames, kind, "Other");
}

std::string ApiError::describe() const {
  std::string out = to_string(kind);
  if (code != 0) out += " (" + std::to_string(code) + ")";
  if (!message.empty()) out += ": " + message;
  return out;
}

const char* content_type(PatchType type) {
  return name_of(kPatchContentTypes, type, "application/merge-patch+json");
}

ApiError status_to_error(const json& st) {
  ApiError e;
  auto str = [&](const json& o, const char* k) {
    auto it = o.find(k);
    return (it != o.end() && it->is_string()) ? it->get<std::string>() : std::string();
  };
  const std::int64_t code = json_int_or(st, "code", 0);
  e.code = code >= 100 && code <= 999 ? static_cast<int>(code) : 0;  // an HTTP code or nothing
  e.reason = str(st, "reason");
  e.message = str(st, "message");
  if (auto d = st.find("details"); d != st.end() && d->is_object()) {
    if (auto c = d->find("causes"); c != d->end() && c->is_array()) {
      for (const auto& cause : *c) {
        if (!cause.is_object()) continue;
        e.causes.push_back({str(cause, "reason").empty() ? str(cause, "type") : str(cause, "reason"),
                            str(cause, "message"), str(cause, "field")});
      }
    }
    // Seconds as Kubernetes sends them; a negative or absurd value is ignored (a day at most).
    if (const std::int64_t r = json_int_or(*d, "retryAfterSeconds", -1); r >= 0 && r <= 86400)
      e.retry_after = std::chrono::seconds(r);
  }
  e.kind = kind_for(e.code, e.reason);
  return e;
}

ApiError decode_status(int code, std::string_view body, std::string_view retry_after_header) {
  ApiError e;
  json st = json::parse(body, nullptr, false);
  if (!st.is_discarded() && json_string_or(st, "kind") == "Status") {
    e = status_to_error(st);
    if (e.code == 0) e.code = code;
    if (code != 0 && e.code != code) e.code = code;  // the HTTP status is what happened on the wire
    e.kind = kind_for(e.code, e.reason);
  } else {
    e.code = code;
    e.kind = kind_for(code, "");
    // A proxy's HTML page or plain text: keep a short, single-line excerpt.
    std::string text(body.substr(0, 200));
    for (char& c : text)
      if (c == '\n' || c == '\r') c = ' ';
    e.message = text.empty() ? "HTTP " + std::to_string(code) : text;
  }
  if (!retry_after_header.empty()) {
    long secs = 0;
    auto [p, ec] = std::from_chars(retry_after_header.data(),
                                   retry_after_header.data() + retry_after_header.size(), secs);
    if (ec == std::errc() && secs >= 0 && secs <= 86400) e.retry_after = std::chrono::seconds(secs);
  }
  return e;
}

std::string resource_path(const ResourceRef& ref, const std::string& ns, const std::string& name,
                          const std::string& subresource) {
  std::string p = ref.group.empty() ? "/api/" + ref.version : "/apis/" + ref.group + "/" + ref.version;
  if (ref.namespaced && !ns.empty()) p += "/namespaces/" + http::url_encode(ns);
  p += "/" + ref.plural;
  if (!name.empty()) {
    p += "/" + http::url_encode(name);
    if (!subresource.empty()) p += "/" + subresource;
  }
  return p;
}

std::string list_query(const ListOptions& o) {
  std::string q;
  if (!o.label_selector.empty()) add(q, "labelSelector", o.label_selector);
  if (!o.field_selector.empty()) add(q, "fieldSelector", o.field_selector);
  if (o.limit > 0) add(q, "limit", std::to_string(o.limit));
  if (!o.continue_token.empty()) add(q, "continue", o.continue_token);
  if (!o.resource_version.empty()) add(q, "resourceVersion", o.resource_version);
  if (!o.resource_version_match.empty()) add(q, "resourceVersionMatch", o.resource_version_match);
  return q;
}

std::string watch_query(const WatchOptions& o) {
  std::string q = "?watch=true";
  if (!o.label_selector.empty()) add(q, "labelSelector", o.label_selector);
  if (!o.field_selector.empty()) add(q, "fieldSelector", o.field_selector);
  if (!o.resource_version.empty()) add(q, "resourceVersion", o.resource_version);
  if (o.allow_bookmarks) add(q, "allowWatchBookmarks", "true");
  if (o.timeout.count() > 0) add(q, "timeoutSeconds", std::to_string(o.timeout.count()));
  return q;
}

std::string make_key(const std::string& ns, const std::string& name) {
  return ns.empty() ? name : ns + "/" + name;
}

std::string object_key(const json& object) {
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) return "";
  return make_key(md->value("namespace", ""), md->value("name", ""));
}

std::string resource_version_of(const json& object) {
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) return "";
  auto rv = md->find("resourceVersion");
  return (rv != md->end() && rv->is_string()) ? rv->get<std::string>() : "";
}

}  // namespace raydog::kube
