#pragma once
// Patch formats of §9: JSON merge patch and JSON patch through nlohmann (merge_patch / patch), strategic
// merge patch for built-in kinds (map merge plus the directives and merge keys kubectl and client-go
// emit), and the server-side-apply merge (maps merge, lists replace unless the schema marks them
// x-kubernetes-list-type map/set).
#include <nlohmann/json.hpp>
#include <string>

#include "controller/util/result.hpp"
#include "test/emulator/status.hpp"

namespace raydog::emulator {

enum class PatchType { kMerge, kJson, kStrategic, kApply, kUnknown };
PatchType patch_type_from_content_type(const std::string& content_type);

// Parses a request body as JSON, or YAML when `yaml` is set (JSON text is valid YAML). Errors are 400.
Result<json, ApiError> parse_body(const std::string& body, bool yaml);

// Applies the patch `body` to `target`. `schema` (openAPIV3Schema or null) guides the apply merge.
Result<json, ApiError> apply_patch(const json& target, PatchType type, const std::string& body,
                                   const json& schema);

json strategic_merge(const json& target, const json& patch);
json apply_merge(const json& target, const json& applied, const json& schema);

}  // namespace raydog::emulator
