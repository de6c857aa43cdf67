#include "test/emulator/status.hpp"

namespace raydog::emulator {

json status_json(const ApiError& e) {
  json s = {{"kind", "Status"},    {"apiVersion", "v1"},   {"metadata", json::object()},
            {"status", "Failure"}, {"message", e.message}, {"reason", e.reason},
            {"code", e.code}};
  if (!e.details.is_null()) s["details"] = e.details;
  return s;
}

json success_status(const json& details) {
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", json::object()},
          {"status", "Success"},
          {"details", details}};
}

namespace {
json named_details(const std::string& group, const std::string& kind, const std::string& name) {
  json d = {{"name", name}, {"kind", kind}};
  if (!group.empty()) d["group"] = group;
  return d;
}
}  // namespace

ApiError not_found(const std::string& qualified, const std::string& group, const std::string& plural,
                   const std::string& name) {
  return {404, "NotFound", qualified + " \"" + name + "\" not found", named_details(group, plural, name)};
}

ApiError path_not_found() {
  return {404, "NotFound", "the server could not find the requested resource", json::object()};
}

ApiError already_exists(const std::string& qualified, const std::string& group, const std::string& plural,
                        const std::string& name) {
  return {409, "AlreadyExists", qualified + " \"" + name + "\" already exists",
          named_details(group, plural, name)};
}

ApiError conflict(const std::string& qualified, const std::string& group, const std::string& plural,
                  const std::string& name) {
  return {409, "Conflict",
          "Operation cannot be fulfilled on " + qualified + " \"" + name +
              "\": the object has been modified; please apply your changes to the latest version and try "
              "again",
          named_details(group, plural, name)};
}

ApiError bad_request(std::string message) {
  return {400, "BadRequest", std::move(message), nullptr};
}

ApiError invalid(const std::string& kind_qualified, const std::string& group, const std::string& kind,
                 const std::string& name, const std::vector<FieldError>& errors) {
  std::string msg = kind_qualified + " \"" + name + "\" is invalid: ";
  json causes = json::array();
  for (size_t i = 0; i < errors.size(); ++i) {
    const auto& fe = errors[i];
    std::string one = fe.field.empty() ? fe.detail : fe.field + ": " + fe.detail;
    if (errors.size() > 1) msg += (i == 0 ? "[" : ", ");
    msg += one;
    causes.push_back({{"reason", fe.reason}, {"message", fe.detail}, {"field", fe.field}});
  }
  if (errors.size() > 1) msg += "]";
  json d = named_details(group, kind, name);
  d["causes"] = causes;
  return {422, "Invalid", msg, d};
}

ApiError expired(std::string message) {
  return {410, "Expired", std::move(message), nullptr};
}

ApiError method_not_allowed(const std::string& verb, const std::string& plural) {
  return {405, "MethodNotAllowed", verb + " is not supported on resources of kind \"" + plural + "\"",
          nullptr};
}

ApiError unsupported_media_type(const std::string& accepted) {
  return {415, "UnsupportedMediaType",
          "the body of the request was in an unknown format - accepted media types include: " + accepted,
          nullptr};
}

ApiError unauthorized() {
  return {401, "Unauthorized", "Unauthorized", nullptr};
}
ApiError forbidden(std::string message) {
  return {403, "Forbidden", std::move(message), nullptr};
}
ApiError internal_error(const std::string& what) {
  return {500, "InternalError", "Internal error occurred: " + what, nullptr};
}

}  // namespace raydog::emulator
