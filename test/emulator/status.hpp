#pragma once
// Kubernetes Status error objects (kube-api-wire.md §12): every failure in the emulator is an ApiError
// value that the HTTP front turns into a Status body with the same code.
#include <nlohmann/json.hpp>
#include <string>

namespace raydog::emulator {

using json = nlohmann::json;

struct ApiError {
  int code = 500;
  std::string reason;  // "NotFound", "Conflict", ...
  std::string message;
  json details;  // null or {name, group, kind, causes...}
};

json status_json(const ApiError& e);
json success_status(const json& details);

// Constructors for the cases of §12. `qualified` is "<plural>[.<group>]".
ApiError not_found(const std::string& qualified, const std::string& group, const std::string& plural,
                   const std::string& name);
ApiError path_not_found();
ApiError already_exists(const std::string& qualified, const std::string& group, const std::string& plural,
                        const std::string& name);
ApiError conflict(const std::string& qualified, const std::string& group, const std::string& plural,
                  const std::string& name);
ApiError bad_request(std::string message);
// 422: "<Kind>[.<group>] "<name>" is invalid: <field>: <detail>" with one cause per field error.
struct FieldError {
  std::string
      reason;         // FieldValueInvalid, FieldValueRequired, FieldValueForbidden, FieldValueNotSupported...
  std::string field;  // "spec.workerPools[0].nodes"
  std::string detail;  // "Invalid value: -1: spec.workerPools[0].nodes in body should be ..."
};
ApiError invalid(const std::string& kind_qualified, const std::string& group, const std::string& kind,
                 const std::string& name, const std::vector<FieldError>& errors);
ApiError expired(std::string message);
ApiError method_not_allowed(const std::string& verb, const std::string& plural);
ApiError unsupported_media_type(const std::string& accepted);
ApiError unauthorized();
ApiError forbidden(std::string message);
ApiError internal_error(const std::string& what);

}  // namespace raydog::emulator
