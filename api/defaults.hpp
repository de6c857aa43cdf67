#pragma once
// Defaulting: the values a field takes when the user leaves it out. Each is declared once, with its field
// (Default{} in fields.hpp): it becomes the CRD schema's `default:` keyword, which the API server applies,
// and an entry of default_table(), which apply_defaults() here applies the same way for code that did not
// come through an API server (tests, `validate`). The constants below are the values, for code that reads a
// field that may be absent (value_or).
//
// Semantics are the API server's: a default is applied only when the field's parent object exists (no
// `observability` block => no `observability.enabled`), and a field explicitly set is never changed.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.hpp"

namespace raydog::api {

inline constexpr std::string_view kDefaultApiUrl = "https://api.yellowdog.ai";
inline constexpr std::string_view kDefaultKeyIdKey = "keyId";
inline constexpr std::string_view kDefaultKeySecretKey = "keySecret";
inline constexpr std::string_view kDefaultBuildTimeout = "10m";
inline constexpr DeletionPolicy kDefaultDeletionPolicy = DeletionPolicy::kDelete;
// The Ray view (controller/ray, ray-gcs.md).
inline constexpr HeadAccess kDefaultHeadAccess = HeadAccess::kPrivate;
inline constexpr std::string_view kDefaultRayJoinTimeout = "5m";
inline constexpr std::string_view kDefaultHeadUnresponsiveTimeout = "2m";
inline constexpr std::string_view kDefaultDrainTimeout = "10m";
// Not in the table: the Ray version the default node userdata installs when spec.rayVersion is absent (a
// schema default would change every existing cluster's pool revision, and so replace its nodes, on upgrade).
// The release the simulator's fake heads report and the tests use.
inline constexpr std::string_view kDefaultRayVersion = "2.49.2";
// The head Service (controller/access): on, cluster-internal.
inline constexpr HeadServiceType kDefaultHeadServiceType = HeadServiceType::kClusterIP;
// Autoscaling (controller/autoscaler, ray-gcs.md §4.4): KubeRay's idle timeout, Ray's update interval.
inline constexpr std::string_view kDefaultIdleTimeout = "60s";
inline constexpr UpscalingMode kDefaultUpscalingMode = UpscalingMode::kDefault;
inline constexpr std::string_view kDefaultPollInterval = "5s";
// DALiuGE (daliuge-integration.md §1, §2).
inline constexpr std::int32_t kDefaultDimPort = 8001;
inline constexpr std::int32_t kDefaultNmPort = 8000;
inline constexpr std::int32_t kDefaultEventsPort = 5555;
inline constexpr std::int32_t kDefaultRpcPort = 6666;
inline constexpr std::string_view kDefaultDlgRoot = "/var/dlg";
// Not in the table: dimAddress follows headAccess when absent (dim_address_of()).
inline constexpr DimAddress kDefaultDimAddress = DimAddress::kPrivate;
inline constexpr MembershipPolicy kDefaultMembershipPolicy = MembershipPolicy::kImmediate;
// Not in the table: maxDeferral is only allowed with WhenIdle, so it cannot be defaulted by the schema.
inline constexpr std::string_view kDefaultMaxDeferral = "10m";

struct DefaultRule {
  // Field path below the resource, "[]" meaning every element of a list: "spec.workerPools[].metricsEnabled".
  std::string path;
  nlohmann::json value;
};

// Every default of the v1alpha1 schema (read off the schema).
const std::vector<DefaultRule>& default_table();

// The table of any schema (depth first, so an object's default ({}) comes before its fields' defaults) and
// its application with the API server's rule: what default_table() and the RayDogJob's table are made of.
std::vector<DefaultRule> default_rules(const nlohmann::json& schema);
void apply_default_rules(nlohmann::json& resource, const std::vector<DefaultRule>& rules);

// Applies the table to a resource's JSON (the whole object: {"spec": {...}, ...}).
void apply_defaults(nlohmann::json& resource);
// The same on typed values (round-trips through JSON so that there is one implementation).
void apply_defaults(RayDogClusterSpec& spec);
void apply_defaults(RayDogCluster& cluster);

// The head address the operator uses for the DIM: spec.daliuge.dimAddress when set, else the one
// spec.headAccess names (Public or Private; None never reaches the DIM, validation forbids DALiuGE there).
DimAddress dim_address_of(const RayDogClusterSpec& spec);

}  // namespace raydog::api
