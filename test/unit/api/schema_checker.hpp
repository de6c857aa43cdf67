#pragma once
// A small OpenAPI v3 + Kubernetes structural-schema checker, enough to run manifests against the generated
// CRD schema the way the API server would: defaults first, then type, properties (unknown fields rejected,
// as with kubectl's default strict field validation), required, enum, pattern, min/maxLength, minimum,
// maxItems, min/maxProperties, x-kubernetes-list-type map uniqueness, and the schema's CEL rules (each known
// rule text is evaluated by an equivalent C++ predicate; an unknown rule is itself reported).
// Used only to check that the schema and validation.cpp agree.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace raydog::api::test {

struct SchemaError {
  std::string path;
  std::string message;
};

// Applies defaults to `value` in place and returns every violation.
std::vector<SchemaError> check_schema(const nlohmann::json& schema, nlohmann::json& value);

// Rule texts the checker can evaluate.
std::vector<std::string> known_cel_rules();

}  // namespace raydog::api::test
