#pragma once
// JSON for the RayDogJob types, as json.hpp for RayDogCluster (the same two visitors, json_codec.hpp):
// `to_json` overloads for nlohmann's ADL (absent optionals omitted, empty status lists omitted) and decoding
// that reports every unknown field and type error with its path. Unknown fields are rejected in the spec
// (spec.clusterSpec included) and at the top level; unknown metadata and status fields are ignored.
#include <nlohmann/json.hpp>
#include <string>

#include "api/field_error.hpp"
#include "api/job_types.hpp"
#include "api/json.hpp"
#include "controller/util/result.hpp"

namespace raydog::api {

void to_json(nlohmann::json& j, const RayDogJobSpec& v);
void to_json(nlohmann::json& j, const RayDogJobStatus& v);
void to_json(nlohmann::json& j, const RayDogJob& v);  // with apiVersion and kind

// Lenient building blocks: decode what can be decoded, append every problem to `errors`.
RayDogJob decode_job(const nlohmann::json& j, FieldErrors& errors);
RayDogJobSpec decode_job_spec(const nlohmann::json& j, const std::string& path, FieldErrors& errors);
RayDogJobStatus decode_job_status(const nlohmann::json& j, const std::string& path, FieldErrors& errors);

// All-or-nothing forms.
Result<RayDogJob, FieldErrors> job_from_json(const nlohmann::json& j);
Result<RayDogJobSpec, FieldErrors> job_spec_from_json(const nlohmann::json& j);
Result<RayDogJobStatus, FieldErrors> job_status_from_json(const nlohmann::json& j);

}  // namespace raydog::api
