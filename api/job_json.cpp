#include "api/job_json.hpp"

#include "api/job_fields.hpp"
#include "api/json_codec.hpp"

namespace raydog::api {

using nlohmann::json;
using codec::decode_object;
using codec::encode;

void to_json(json& j, const RayDogJobSpec& v) {
  j = encode(v);
}
void to_json(json& j, const RayDogJobStatus& v) {
  j = encode(v);
}
void to_json(json& j, const RayDogJob& v) {
  j = encode(v);
}

RayDogJob decode_job(const json& j, FieldErrors& errors) {
  return decode_object<RayDogJob>(j, "", errors);
}

RayDogJobSpec decode_job_spec(const json& j, const std::string& path, FieldErrors& errors) {
  return decode_object<RayDogJobSpec>(j, path, errors);
}

RayDogJobStatus decode_job_status(const json& j, const std::string& path, FieldErrors& errors) {
  return decode_object<RayDogJobStatus>(j, path, errors);
}

Result<RayDogJob, FieldErrors> job_from_json(const json& j) { return codec::decode_all<RayDogJob>(j, ""); }

Result<RayDogJobSpec, FieldErrors> job_spec_from_json(const json& j) { return codec::decode_all<RayDogJobSpec>(j, "spec"); }

Result<RayDogJobStatus, FieldErrors> job_status_from_json(const json& j) { return codec::decode_all<RayDogJobStatus>(j, "status"); }

}  // namespace raydog::api
