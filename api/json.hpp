#pragma once
// JSON for the RayDogCluster types (the wire form the API server stores).
//
// Encoding: `to_json` overloads (nlohmann ADL, so `nlohmann::json j = spec;` works); absent optionals are
// omitted, empty status lists are omitted.
// Decoding: explicit functions that collect every problem instead of stopping at the first, each naming
// its JSON path: unknown fields (`spec.workerPools[0].nodez: unknown field`) and type errors
// (`spec.workerPools[0].nodes: must be an integer`). Unknown fields are rejected in the spec (a typo must
// not be silently ignored) and at the top level; unknown metadata and status fields are ignored (the API
// server adds metadata the operator does not model, and a newer operator may have written a newer status).
#include <nlohmann/json.hpp>

#include "api/field_error.hpp"
#include "api/types.hpp"
#include "controller/util/result.hpp"

namespace raydog::api {

void to_json(nlohmann::json& j, const ConfigMapKeySelector& v);
void to_json(nlohmann::json& j, const ValueSource& v);
void to_json(nlohmann::json& j, const NodeSpec& v);
void to_json(nlohmann::json& j, const WorkerPoolSpec& v);
void to_json(nlohmann::json& j, const ObservabilitySpec& v);
void to_json(nlohmann::json& j, const CredentialsSecretRef& v);
void to_json(nlohmann::json& j, const YellowDogSpec& v);
void to_json(nlohmann::json& j, const DaliugePorts& v);
void to_json(nlohmann::json& j, const DaliugeSpec& v);
void to_json(nlohmann::json& j, const RayDogClusterSpec& v);
void to_json(nlohmann::json& j, const Condition& v);
void to_json(nlohmann::json& j, const WorkRequirementStatus& v);
void to_json(nlohmann::json& j, const HeadStatus& v);
void to_json(nlohmann::json& j, const ObservabilityStatus& v);
void to_json(nlohmann::json& j, const EndpointsStatus& v);
void to_json(nlohmann::json& j, const WorkerPoolStatus& v);
void to_json(nlohmann::json& j, const DaliugeNodeStatus& v);
void to_json(nlohmann::json& j, const DaliugeStatus& v);
void to_json(nlohmann::json& j, const RayDogClusterStatus& v);
void to_json(nlohmann::json& j, const ObjectMeta& v);
void to_json(nlohmann::json& j, const RayDogCluster& v);  // with apiVersion and kind

// Lenient building blocks: decode what can be decoded, append every problem to `errors`.
RayDogCluster decode_cluster(const nlohmann::json& j, FieldErrors& errors);
RayDogClusterSpec decode_spec(const nlohmann::json& j, const std::string& path, FieldErrors& errors);
RayDogClusterStatus decode_status(const nlohmann::json& j, const std::string& path, FieldErrors& errors);
ObjectMeta decode_metadata(const nlohmann::json& j, const std::string& path, FieldErrors& errors);

// All-or-nothing forms.
Result<RayDogCluster, FieldErrors> cluster_from_json(const nlohmann::json& j);
Result<RayDogClusterSpec, FieldErrors> spec_from_json(const nlohmann::json& j);
Result<RayDogClusterStatus, FieldErrors> status_from_json(const nlohmann::json& j);

}  // namespace raydog::api
