#pragma once
// RayDogJob v1alpha1: a Ray job on YellowDog as one resource (KubeRay's RayJob in HTTP mode). Either an
// ephemeral cluster the job owns (spec.clusterSpec: a whole RayDogCluster spec) or an existing RayDogCluster
// picked by labels (spec.clusterSelector); the controller (controller/jobs/) submits the entrypoint to the
// head's Jobs API exactly once per attempt, follows it and tears down what it created.
//
// The C++ members only: their JSON names, descriptions, schema and defaults are declared once in
// job_fields.hpp; validation (with the messages users see) in job_validation.cpp.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.hpp"

namespace raydog::api {

inline constexpr std::string_view kJobKind = "RayDogJob";
inline constexpr std::string_view kJobPlural = "raydogjobs";
inline constexpr std::string_view kJobShortName = "rdj";
inline constexpr std::string_view kJobSingular = "raydogjob";
inline constexpr std::string_view kJobListKind = "RayDogJobList";

// Ray's own job status (ray-jobs-api.md §2); terminal: STOPPED, SUCCEEDED, FAILED.
enum class RayJobStatus { kPending, kRunning, kStopped, kSucceeded, kFailed };

// Where the RayDogJob is in its life (KubeRay's jobDeploymentStatus). Complete and Failed are final;
// ValidationFailed until the spec is fixed.
enum class JobDeploymentStatus {
  kInitializing,  // creating or finding the cluster, waiting for Ready, submitting
  kRunning,       // submitted: following the job on the head
  kComplete,      // the job ended SUCCEEDED or STOPPED
  kFailed,        // the job failed and no retry is left, or the deadline passed
  kSuspended,     // spec.suspend: the ephemeral cluster is gone, nothing runs
  kRetrying,      // a failed attempt is being torn down before the next one
  kValidationFailed,
};

struct RayDogJobSpec {
  std::string entrypoint;                                              // required, non-empty
  std::optional<std::string> runtime_env_yaml;                         // Ray's runtime_env, as YAML
  std::optional<std::map<std::string, std::string>> metadata;          // the job's metadata map
  std::optional<std::string> entrypoint_num_cpus;                      // a quantity ("1", "0.5")
  std::optional<std::string> entrypoint_num_gpus;                      // a quantity
  std::optional<std::map<std::string, std::string>> entrypoint_resources;  // name -> quantity
  std::optional<RayDogClusterSpec> cluster_spec;                       // an ephemeral cluster the job owns
  std::optional<std::map<std::string, std::string>> cluster_selector;  // labels of an existing cluster
  std::optional<bool> shutdown_after_job_finishes;  // default: true with clusterSpec (only allowed there)
  std::optional<std::int32_t> ttl_seconds_after_finished;  // absent: the job stays after it finished
  std::optional<std::int64_t> active_deadline_seconds;     // from status.startTime of the attempt
  std::optional<std::int32_t> backoff_limit;               // default 0 (no retry)
  std::optional<bool> suspend;                             // default false
  bool operator==(const RayDogJobSpec&) const = default;
};

struct RayDogJobStatus {
  std::optional<std::int64_t> observed_generation;
  std::optional<std::string> job_id;  // the submission id of the current attempt
  std::optional<RayJobStatus> job_status;  // as last read from the head; absent until seen there
  std::optional<JobDeploymentStatus> job_deployment_status;
  std::optional<std::string> cluster_name;
  std::optional<std::string> dashboard_url;
  std::optional<std::string> start_time;  // RFC 3339: when the current attempt started
  std::optional<std::string> end_time;    // RFC 3339: when the job reached a final state
  std::optional<std::int32_t> failed;     // failed attempts
  std::optional<std::int32_t> succeeded;  // succeeded attempts (0 or 1)
  std::optional<std::string> message;     // Ray's message; the log tail when the job failed
  std::vector<Condition> conditions;
  bool operator==(const RayDogJobStatus&) const = default;
};

struct RayDogJob {
  ObjectMeta metadata;
  RayDogJobSpec spec;
  std::optional<RayDogJobStatus> status;
  bool operator==(const RayDogJob&) const = default;
};

// RayDogJob condition types (besides kstatus' Reconciling and Stalled).
namespace job_condition {
inline constexpr std::string_view kComplete = "Complete";  // True once the job SUCCEEDED or was STOPPED
inline constexpr std::string_view kFailed = "Failed";      // True once the job failed for good
}  // namespace job_condition

template <>
struct Spellings<RayJobStatus> {
  static constexpr std::array<std::string_view, 5> names = {"PENDING", "RUNNING", "STOPPED", "SUCCEEDED",
                                                            "FAILED"};
};
template <>
struct Spellings<JobDeploymentStatus> {
  static constexpr std::array<std::string_view, 7> names = {
      "Initializing", "Running", "Complete", "Failed", "Suspended", "Retrying", "ValidationFailed"};
};

inline constexpr bool is_terminal(RayJobStatus s) {
  return s == RayJobStatus::kStopped || s == RayJobStatus::kSucceeded || s == RayJobStatus::kFailed;
}

}  // namespace raydog::api
