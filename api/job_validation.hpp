#pragma once
// Validation of a RayDogJob: every problem at once, each "<path>: <message>", in field order, in the style of
// validation.hpp (whose rules validate the embedded spec.clusterSpec, with its paths below spec.clusterSpec).
// The CRD schema (job_crd.cpp) encodes the same rules where OpenAPI/CEL can express them; the tests check
// that the two agree on the job manifests of manifests/samples/invalid/.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/field_error.hpp"
#include "api/job_types.hpp"
#include "controller/util/result.hpp"

namespace raydog::api {

// metadata.name: a DNS-1035 label of at most 47 characters. The controller names each attempt's ephemeral
// cluster `<job name>-<suffix>`, with at most kMaxJobClusterSuffixLength characters for `-<suffix>`, so the
// cluster's name stays within 58 characters: its head Service `<cluster>-head` is then a DNS-1035 label of at
// most 63 (controller/access: the readable form, not the hashed fallback) and the cluster's name fits the
// 63-character label value the operator puts on the Service and the EndpointSlice (raydog.io/cluster).
// RayDogCluster itself only requires a DNS subdomain (validation.cpp); the YellowDog names derived from any
// cluster name fit by construction (names.hpp).
inline constexpr std::size_t kMaxJobNameLength = 47;
inline constexpr std::size_t kMaxJobClusterSuffixLength = 11;  // "-" + suffix, e.g. "-1-x7k2q"
inline constexpr std::size_t kMaxJobClusterNameLength = kMaxJobNameLength + kMaxJobClusterSuffixLength;  // 58
static_assert(kMaxJobClusterNameLength + 5 <= 63, "<cluster>-head must stay a DNS-1035 label");

// Patterns of the job's schema (ECMA/RE2-compatible).
inline constexpr std::string_view kDns1035LabelPattern = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
// spec.entrypoint: not only whitespace (with minLength 1: not empty).
inline constexpr std::string_view kEntrypointPattern = "\\S";
// A label value (Kubernetes): empty, or alphanumerics with '-', '_', '.' inside; at most 63.
inline constexpr std::string_view kLabelValuePattern = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";
inline constexpr std::size_t kMaxLabelValueLength = 63;

// Spec rules (defaulted or raw specs): paths start with "spec.".
FieldErrors validate_job_spec(const RayDogJobSpec& spec);
// Metadata (name required, a DNS-1035 label of at most kMaxJobNameLength; namespace a DNS label) + spec.
FieldErrors validate_job(const RayDogJob& job);

// Decode + default + validate (job_defaults.hpp, job_json.hpp), as parse_cluster: decode errors first, then
// validation errors; a validation error about a field that failed to decode is dropped.
Result<RayDogJob, FieldErrors> parse_job(const nlohmann::json& resource);
// The same from YAML (one document). A YAML syntax error is one FieldError with an empty path.
Result<RayDogJob, FieldErrors> parse_job_yaml(std::string_view yaml);

// spec.runtimeEnvYAML as the JSON object Ray's Jobs API takes (runtime_env), or why it is not one: the check
// validation makes and the conversion the controller submits, in one place.
Result<nlohmann::json, std::string> runtime_env_json(std::string_view runtime_env_yaml);

// Building blocks (and their tests).
bool is_dns1035_label(std::string_view s);  // [a-z]([-a-z0-9]*[a-z0-9])?, <= 63
bool is_label_key(std::string_view s);      // [DNS subdomain prefix (<= 253) "/"] name (<= 63)
bool is_label_value(std::string_view s);    // kLabelValuePattern, <= 63

}  // namespace raydog::api
