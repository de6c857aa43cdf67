#pragma once
// Validation of a RayDogCluster: returns ALL problems at once, each "<path>: <message>"
// (`spec.workerPools[1].nodes: must be >= 0`), in field order. The CRD schema (crd.cpp) encodes the
// same rules where OpenAPI/CEL can express them; the test suite checks the two agree on the invalid
// corpus in manifests/samples/invalid/.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/field_error.hpp"
#include "api/types.hpp"
#include "controller/util/result.hpp"

namespace raydog::api {

// Spec rules. Fields that have a default may be absent (validation accepts defaulted and raw specs).
FieldErrors validate_spec(const RayDogClusterSpec& spec);
// Metadata (name required, a DNS subdomain; namespace a DNS label) + spec + the derived YellowDog names.
FieldErrors validate(const RayDogCluster& cluster);

// Decode + default + validate a resource. Decode errors (unknown fields, wrong types) and validation
// errors are returned together (decode errors first); a validation error about a field that already failed to
// decode is dropped.
Result<RayDogCluster, FieldErrors> parse_cluster(const nlohmann::json& resource);
// The same from YAML (one document). A YAML syntax error is one FieldError with an empty path.
Result<RayDogCluster, FieldErrors> parse_cluster_yaml(std::string_view yaml);

// parse_cluster's (and parse_job's) merge: the decode errors, then the validation errors that are not about a
// field that failed to decode (no "required" after "must be an integer").
FieldErrors merge_errors(FieldErrors decode_errors, FieldErrors validation_errors);

// Building blocks shared with the CRD generator, RayDogJob's validation and the tests.
size_t code_points(std::string_view s);      // characters as OpenAPI's maxLength and CEL's size() count them
bool is_dns_label(std::string_view s);       // RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63
bool is_dns_subdomain(std::string_view s);   // RFC 1123 subdomain, <= 253
bool is_config_map_key(std::string_view s);  // [-._a-zA-Z0-9]+, <= 253
bool is_template_ref(std::string_view s);    // ydid:crt:... or namespace/name
bool is_api_url(std::string_view s);         // http(s)://host[/path]

inline constexpr const char* kDnsLabelMessage =
    "must be a DNS label: at most 63 lower case letters, digits or '-', starting and ending with a letter "
    "or digit";
inline constexpr const char* kDnsSubdomainMessage =
    "must be a DNS subdomain: at most 253 lower case letters, digits, '-' or '.', starting and ending with a "
    "letter or digit";

// The patterns the CRD schema uses for the checks above (ECMA/RE2-compatible).
inline constexpr std::string_view kDnsLabelPattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
inline constexpr std::string_view kDnsSubdomainPattern =
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
inline constexpr std::string_view kConfigMapKeyPattern = "^[-._a-zA-Z0-9]+$";
inline constexpr std::string_view kYellowDogNamePattern = "^[a-z][a-z0-9_-]*$";
inline constexpr std::string_view kTemplateRefPattern = "^(ydid:crt:[^\\s/]+|[^\\s/:]+/[^\\s/]+)$";
inline constexpr std::string_view kApiUrlPattern = "^https?://[^\\s/?#]+(/[^\\s]*)?$";
// Go duration without a sign (negative durations are never valid here).
inline constexpr std::string_view kDurationPattern =
    "^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|\xC2\xB5s|\xCE\xBCs|ms|s|m|h))+)$";
// Versions as pip pins them (PEP 440 release, optional pre/post/dev): daliuge-engine's and Ray's. Safe to
// put in a shell script unquoted.
inline constexpr std::string_view kPipVersionPattern =
    "^[0-9]+(\\.[0-9]+){0,3}((a|b|rc)[0-9]+)?(\\.post[0-9]+)?(\\.dev[0-9]+)?$";
// DLG_ROOT: an absolute path without spaces, quotes or shell metacharacters.
inline constexpr std::string_view kDlgRootPattern = "^/[A-Za-z0-9._/-]*$";
inline constexpr size_t kMaxPipVersionLength = 64;
inline constexpr size_t kMaxDlgRootLength = 1024;
inline constexpr std::int32_t kMinPort = 1;
inline constexpr std::int32_t kMaxPort = 65535;
inline constexpr size_t kMaxTagLength = 200;
inline constexpr size_t kMaxDurationLength = 64;  // bounds the CEL cost of duration(self) in the schema
inline constexpr std::int32_t kMaxNodesPerPool = 100000;  // RayDog's own pool maximum (maxNodes)
inline constexpr size_t kMaxWorkerPools = 100;  // YellowDog allows 1000 task groups; bounds CEL cost too
inline constexpr size_t kMaxRayResources = 16;
inline constexpr size_t kMaxRayResourceValueLength = 32;  // CPU, GPU, memory, object_store_memory and a dozen custom ones
inline constexpr size_t kMaxInstanceTags = 50;  // the strictest cloud (AWS) allows 50 tags per instance
inline constexpr size_t kMaxYellowDogNameLength = 60;
inline constexpr size_t kMaxDnsLabelLength = 63;
inline constexpr size_t kMaxDnsSubdomainLength = 253;
inline constexpr size_t kMaxInstanceTagKeyLength = 128;
inline constexpr size_t kMaxInstanceTagValueLength = 256;

}  // namespace raydog::api
