#include "api/json.hpp"

#include "api/fields.hpp"
#include "api/json_codec.hpp"

namespace raydog::api {

using nlohmann::json;
using codec::decode_object;
using codec::encode;

// The JSON of every described type is encode(); nlohmann finds these through ADL.
void to_json(json& j, const ConfigMapKeySelector& v) {
  j = encode(v);
}
void to_json(json& j, const ValueSource& v) {
  j = encode(v);
}
void to_json(json& j, const NodeSpec& v) {
  j = encode(v);
}
void to_json(json& j, const WorkerPoolSpec& v) {
  j = encode(v);
}
void to_json(json& j, const ObservabilitySpec& v) {
  j = encode(v);
}
void to_json(json& j, const CredentialsSecretRef& v) {
  j = encode(v);
}
void to_json(json& j, const YellowDogSpec& v) {
  j = encode(v);
}
void to_json(json& j, const DaliugePorts& v) {
  j = encode(v);
}
void to_json(json& j, const DaliugeSpec& v) {
  j = encode(v);
}
void to_json(json& j, const RayDogClusterSpec& v) {
  j = encode(v);
}
void to_json(json& j, const Condition& v) {
  j = encode(v);
}
void to_json(json& j, const WorkRequirementStatus& v) {
  j = encode(v);
}
void to_json(json& j, const HeadStatus& v) {
  j = encode(v);
}
void to_json(json& j, const ObservabilityStatus& v) {
  j = encode(v);
}
void to_json(json& j, const EndpointsStatus& v) {
  j = encode(v);
}
void to_json(json& j, const WorkerPoolStatus& v) {
  j = encode(v);
}
void to_json(json& j, const DaliugeNodeStatus& v) {
  j = encode(v);
}
void to_json(json& j, const DaliugeStatus& v) {
  j = encode(v);
}
void to_json(json& j, const RayDogClusterStatus& v) {
  j = encode(v);
}
void to_json(json& j, const ObjectMeta& v) {
  j = encode(v);
}
void to_json(json& j, const RayDogCluster& v) {
  j = encode(v);
}

RayDogClusterSpec decode_spec(const json& j, const std::string& path, FieldErrors& errors) {
  return decode_object<RayDogClusterSpec>(j, path, errors);
}

RayDogClusterStatus decode_status(const json& j, const std::string& path, FieldErrors& errors) {
  return decode_object<RayDogClusterStatus>(j, path, errors);
}

ObjectMeta decode_metadata(const json& j, const std::string& path, FieldErrors& errors) {
  return decode_object<ObjectMeta>(j, path, errors);
}

RayDogCluster decode_cluster(const json& j, FieldErrors& errors) {
  return decode_object<RayDogCluster>(j, "", errors);
}

Result<RayDogCluster, FieldErrors> cluster_from_json(const json& j) { return codec::decode_all<RayDogCluster>(j, ""); }

Result<RayDogClusterSpec, FieldErrors> spec_from_json(const json& j) { return codec::decode_all<RayDogClusterSpec>(j, "spec"); }

Result<RayDogClusterStatus, FieldErrors> status_from_json(const json& j) { return codec::decode_all<RayDogClusterStatus>(j, "status"); }

}  // namespace raydog::api
