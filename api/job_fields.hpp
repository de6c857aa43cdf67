#pragma once
// RayDogJob v1alpha1, one declaration per field (describe.hpp explains the protocol; fields.hpp does the
// same for RayDogCluster): JSON name, description (what `kubectl explain rdj` and the RayDogJob field tables
// of api/README.md show), schema constraints and default. The members are in job_types.hpp; the rules with
// the messages users see in job_validation.cpp. spec.clusterSpec is a RayDogClusterSpec: its declarations
// (spec_fields.hpp) are the embedded schema, decoder and encoder, so the two resources never drift apart.
#include <cstdint>
#include <limits>

#include "api/fields.hpp"
#include "api/job_defaults.hpp"
#include "api/job_types.hpp"
#include "api/job_validation.hpp"

namespace raydog::api {

// CEL rules (x-kubernetes-validations) of the job spec. Each has a twin check in job_validation.cpp.
inline constexpr const char* kRuleJobClusterRequired = "has(self.clusterSpec) || has(self.clusterSelector)";
inline constexpr const char* kRuleJobClusterExclusive = "!(has(self.clusterSpec) && has(self.clusterSelector))";
inline constexpr const char* kRuleJobShutdownNeedsClusterSpec =
    "!has(self.shutdownAfterJobFinishes) || !self.shutdownAfterJobFinishes || has(self.clusterSpec)";
// Ray refuses to start the job's supervisor actor with CPU or GPU among its resources.
inline constexpr const char* kRuleEntrypointResourcesNoCpuGpu = "!('CPU' in self) && !('GPU' in self)";

inline constexpr std::string_view kMessageJobClusterRequired =
    "one of clusterSpec (a cluster for this job) and clusterSelector (an existing cluster) is required";
inline constexpr std::string_view kMessageJobClusterExclusive = "clusterSpec and clusterSelector are mutually exclusive";
inline constexpr std::string_view kMessageJobShutdownNeedsClusterSpec =
    "shutdownAfterJobFinishes is only allowed with clusterSpec: a cluster chosen by clusterSelector is never "
    "deleted by the job";
inline constexpr std::string_view kMessageEntrypointResourcesNoCpuGpu =
    "CPU and GPU are not allowed here: use entrypointNumCpus and entrypointNumGpus";

// The int32 fields' bound in the schema (decode refuses larger values: "must be an integer in int32 range").
inline constexpr std::int64_t kMaxInt32 = std::numeric_limits<std::int32_t>::max();

template <class V, Of<RayDogJobSpec> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("entrypoint", s.entrypoint,
          "The command Ray runs for the job (ray job submit's entrypoint), e.g. `python train.py --epochs 3`: "
          "submitted to the Jobs API of the cluster's head once per attempt.",
          required, MinLength{1}, Pattern{kEntrypointPattern});
  v.field("runtimeEnvYAML", s.runtime_env_yaml,
          "Ray's runtime environment of the job (working_dir, pip, env_vars, ...): a YAML mapping in a string, "
          "usually a block (`runtimeEnvYAML: |`) "
          "(https://docs.ray.io/en/latest/ray-core/handling-dependencies.html).");
  v.field("metadata", s.metadata,
          "Metadata of the Ray job (string -> string), shown by `ray job list` and the Ray dashboard.");
  v.field("entrypointNumCpus", s.entrypoint_num_cpus,
          "CPUs reserved for the entrypoint command itself (not for the tasks and actors it starts): a "
          "quantity such as \"1\" or \"500m\". Absent: Ray's default (none).",
          Pattern{kQuantityPattern}, MaxLength{kMaxRayResourceValueLength});
  v.field("entrypointNumGpus", s.entrypoint_num_gpus,
          "GPUs reserved for the entrypoint command itself: a quantity such as \"1\" or \"0.5\". Absent: none.",
          Pattern{kQuantityPattern}, MaxLength{kMaxRayResourceValueLength});
  v.field("entrypointResources", s.entrypoint_resources,
          "Custom Ray resources reserved for the entrypoint command (name -> Kubernetes quantity), e.g. "
          "{accel_a100: \"1\"}; CPU and GPU go in entrypointNumCpus and entrypointNumGpus.",
          ValuePattern{kQuantityPattern}, ValueMaxLength{kMaxRayResourceValueLength},
          MaxProperties{kMaxRayResources}, Rule{kRuleRayResourceNames, "resource names must be 1 to 63 characters"},
          Rule{kRuleEntrypointResourcesNoCpuGpu, kMessageEntrypointResourcesNoCpuGpu});
  v.field("clusterSpec", s.cluster_spec,
          "A cluster for this job alone: a whole RayDogCluster spec (`kubectl explain rdc.spec`). Each attempt "
          "gets a new RayDogCluster owned by the job, named after it; its deletionPolicy decides what happens "
          "to the YellowDog objects when it goes. Exactly one of clusterSpec and clusterSelector.");
  v.field("clusterSelector", s.cluster_selector,
          "Labels of an existing RayDogCluster in the job's namespace to run the job on (exactly one cluster "
          "must match them). The job never changes or deletes that cluster. Exactly one of clusterSpec and "
          "clusterSelector.",
          MinProperties{1}, ValuePattern{kLabelValuePattern}, ValueMaxLength{kMaxLabelValueLength});
  // No schema default: true with clusterSpec, and not allowed with clusterSelector (job_defaults.hpp).
  v.field("shutdownAfterJobFinishes", s.shutdown_after_job_finishes,
          "Delete the job's cluster (clusterSpec) as soon as the job finishes. Default: true with clusterSpec. "
          "Only allowed with clusterSpec (true with clusterSelector is an error).");
  v.field("ttlSecondsAfterFinished", s.ttl_seconds_after_finished,
          "Seconds after the job finished (status.endTime) when the RayDogJob deletes itself, and its cluster "
          "(clusterSpec) with it. Absent: the RayDogJob stays.",
          Minimum{0}, Maximum{kMaxInt32});
  v.field("activeDeadlineSeconds", s.active_deadline_seconds,
          "Longest an attempt may run, counted from status.startTime: past it the job is stopped and the "
          "RayDogJob fails. Absent: no limit.",
          Minimum{1});
  v.field("backoffLimit", s.backoff_limit,
          "How many times a failed attempt is retried, each time with a new submission (and a new cluster with "
          "clusterSpec). 0: no retry.",
          Default{kDefaultBackoffLimit}, Minimum{0}, Maximum{kMaxInt32});
  v.field("suspend", s.suspend,
          "true: nothing runs: a running job is stopped and the job's cluster (clusterSpec) deleted "
          "(jobDeploymentStatus Suspended); false again starts a new attempt.",
          Default{false});
  v.object_rule({kRuleJobClusterRequired, kMessageJobClusterRequired});
  v.object_rule({kRuleJobClusterExclusive, kMessageJobClusterExclusive, ".clusterSelector"});
  v.object_rule({kRuleJobShutdownNeedsClusterSpec, kMessageJobShutdownNeedsClusterSpec, ".shutdownAfterJobFinishes"});
}

template <class V, Of<RayDogJobStatus> S>
void describe(V& v, S& s) {
  using namespace field;
  v.ignore_unknown_fields();  // a newer operator may have written a newer status
  v.field("observedGeneration", s.observed_generation, "metadata.generation this status was computed from.",
          Minimum{0});
  v.field("jobId", s.job_id,
          "Submission id of the current attempt on the head's Jobs API (`ray job status <jobId>`).");
  v.field("jobStatus", s.job_status,
          "Ray's status of the job as last read from the head: PENDING, RUNNING, STOPPED, SUCCEEDED or "
          "FAILED (the last three are final).");
  v.field("jobDeploymentStatus", s.job_deployment_status,
          "Where the RayDogJob is: Initializing (creating or finding the cluster, waiting for it to be ready, "
          "submitting), Running (submitted, followed on the head), Complete (SUCCEEDED or STOPPED), Failed (no "
          "retry left, or activeDeadlineSeconds passed), Suspended, Retrying (a failed attempt is being torn "
          "down before the next), ValidationFailed (the spec must be fixed).");
  v.field("clusterName", s.cluster_name,
          "The RayDogCluster the job runs on: the job's own (clusterSpec) or the one clusterSelector matched.");
  v.field("dashboardURL", s.dashboard_url, "Ray dashboard of that cluster's head (http://IP:8265).");
  v.field("startTime", s.start_time, "When the current attempt started (RFC 3339).", Format{"date-time"});
  v.field("endTime", s.end_time, "When the job reached a final state (RFC 3339).", Format{"date-time"});
  v.field("failed", s.failed, "Attempts that failed.", Minimum{0});
  v.field("succeeded", s.succeeded, "Attempts that succeeded (0 or 1).", Minimum{0});
  v.field("message", s.message, "Ray's message about the job; when it failed, the end of its logs.");
  v.field("conditions", s.conditions,
          "Complete (True once the job SUCCEEDED or was STOPPED: `kubectl wait --for=condition=Complete "
          "rdj/NAME`), Failed (True once it failed for good), and kstatus' Reconciling (True while the operator "
          "works towards the job's end) and Stalled (True when nothing can progress without a spec change).",
          ItemDoc{"A standard Kubernetes condition (metav1.Condition)."}, ListMapKey{"type"});
}

inline constexpr std::string_view kJobResourceDescription =
    "RayDogJob runs one Ray job on YellowDog: raydog-operator submits its entrypoint to the Jobs API of a "
    "RayDogCluster (one of the job's own, from spec.clusterSpec, or an existing one chosen by "
    "spec.clusterSelector), follows it to its end and retries a failure up to spec.backoffLimit times.";

template <class V, Of<RayDogJob> S>
void describe(V& v, S& s) {
  using namespace field;
  v.constant("apiVersion", kApiVersion,
             "APIVersion defines the versioned schema of this representation of an object.");
  v.constant("kind", kJobKind, "Kind is a string value representing the REST resource this object represents.");
  v.field("metadata", s.metadata, "", opaque);
  v.field("spec", s.spec, "Desired state of a Ray job on YellowDog.", required);
  v.field("status", s.status, "Observed state, written by the operator.");
}

}  // namespace raydog::api
