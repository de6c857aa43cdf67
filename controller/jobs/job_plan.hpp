#pragma once
// The RayDogJob plan: pure. What the job controller observed (the job, its cluster, the job on the head)
// goes in; the status to write and the actions to run come out. No I/O, no clock: tests drive every path
// (job_plan_test.cpp).
//
// The life of one job (controller/jobs/README.md draws it):
//   new attempt: status first (jobId, clusterName, startTime), nothing else -> Initializing
//   Initializing: create the ephemeral cluster (or find the selected one), wait for Ready, read the job on
//                 the head: unknown -> submit (-> Running); known -> Running
//   Running: follow the job; SUCCEEDED/STOPPED -> Complete; FAILED -> Retrying (backoffLimit left) or
//            Failed; the head forgot a job it had shown us -> the attempt failed (never run again silently)
//   Retrying: delete the attempt's cluster, then a new attempt (new submission id, new cluster)
//   Complete/Failed: delete the ephemeral cluster (shutdownAfterJobFinishes), delete the job after its TTL
//   suspend: stop the job, delete the ephemeral cluster -> Suspended; resume -> a new attempt
//   deleted: stop a live job, delete the ephemeral cluster, drop the finalizer
//
// Exactly once: the submission id is derived from the job's uid and the attempt number and written to
// status before anything is created or submitted; a submission happens only after a read of that id
// answered 404, and "already exists" counts as submitted.
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/field_error.hpp"
#include "api/job_types.hpp"
#include "controller/jobs/jobs_wire.hpp"

namespace raydog::jobs {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

inline constexpr std::string_view kJobFinalizer = "raydog.io/job-cleanup";
// On the ephemeral cluster: which job made it (with the ownerReference; the label lets a selector find it).
inline constexpr std::string_view kJobLabel = "raydog.io/job";

// One RayDogCluster as the job controller sees it.
struct ClusterView {
  std::string name;
  std::string uid;
  bool owned = false;     // an ownerReference names this job (by uid)
  bool deleting = false;  // deletionTimestamp set
  bool ready = false;     // condition Ready is True
  std::string not_ready;  // the Ready condition's reason and message, for ours
  std::optional<std::string> dashboard_url;  // status.endpoints.dashboard
  std::optional<api::HeadAccess> head_access;
};
// The pieces of a RayDogCluster object the controller uses (any object: missing parts stay empty).
ClusterView cluster_view(const nlohmann::json& cluster, const std::string& job_uid);

// The job on the head, as this reconcile read it.
struct HeadRead {
  enum class Kind { kNotRead, kFound, kNotFound, kFailed } kind = Kind::kNotRead;
  std::optional<JobInfo> info;
  std::string error;                // kFailed
  std::optional<std::string> logs;  // read once when the job is first seen FAILED
};

struct JobObserved {
  api::RayDogJob job;
  std::vector<api::FieldError> spec_errors;    // decode + validation, with paths
  std::optional<nlohmann::json> cluster_spec;  // the raw spec.clusterSpec (copied verbatim into the cluster)
  // Ephemeral: the cluster named in status.clusterName, when it exists (0 or 1). Selector: every cluster
  // of the namespace the selector matches.
  std::vector<ClusterView> clusters;
  bool clusters_read = false;  // false: not looked up this time (nothing needed it)
  HeadRead head;
  TimePoint now;
};

// Actions, run in order.
struct AddFinalizer {};
struct RemoveFinalizer {};
struct CreateCluster {
  nlohmann::json object;  // the whole RayDogCluster
};
struct DeleteCluster {
  std::string name, uid;  // uid: a precondition, so a same-named newer cluster is never deleted
};
struct Submit {
  std::string dashboard_url;
  Submission submission;
};
struct StopJob {
  std::string dashboard_url, id;
  bool best_effort = false;  // on delete and suspend: a failure does not hold anything up
};
struct DeleteJob {
  std::string uid;  // the TTL ran out
};
struct Event {
  std::string type;  // Normal | Warning
  std::string reason, message;
};
using JobAction = std::variant<AddFinalizer, RemoveFinalizer, CreateCluster, DeleteCluster, Submit, StopJob,
                               DeleteJob, Event>;

struct JobPlan {
  std::optional<api::RayDogJobStatus> status;  // nullopt: leave status alone (deleting)
  bool status_first = false;  // a new attempt: its ids are written before anything uses them
  std::vector<JobAction> actions;
  std::optional<Millis> requeue_after;  // nullopt: until something changes
};

struct JobPlanOptions {
  Millis poll_running{std::chrono::seconds(3)};   // KubeRay requeues every 3 s while a job runs
  Millis poll_waiting{std::chrono::seconds(5)};   // the cluster is not Ready yet, the head did not answer
  Millis poll_no_cluster{std::chrono::seconds(15)};  // the selector matches no or several clusters
};

JobPlan plan_job(const JobObserved& o, const JobPlanOptions& options = {});

// When a Submit failed: the head refused it (4xx: the attempt failed, SubmissionFailed) or was not
// reached (the status before this reconcile, with the error: a later read decides).
api::RayDogJobStatus after_submit_failed(const JobObserved& o, const JobsError& error);

// Names, from the job's uid and the attempt number (1, 2, ...): stable across crashes.
std::string submission_id(const api::RayDogJob& job, int attempt);
std::string cluster_name(const api::RayDogJob& job, int attempt);
// The attempt a submission id belongs to (its last dash-separated number); 0 when there is none.
int attempt_of(const std::string& submission_id);

// What the planner needs to know before it can plan: whether the clusters and the head must be read.
bool wants_clusters(const api::RayDogJob& job);
// The dashboard to read the job from (nullopt: none to read now).
std::optional<std::string> head_to_read(const api::RayDogJob& job, const std::vector<ClusterView>& clusters);

// A label map as a selector (`k=v,k2=v2`): what the controller lists by and what messages show.
std::string selector_text(const std::map<std::string, std::string>& labels);

// The Submission for `job`'s current attempt (runtimeEnvYAML as JSON, quantities as numbers).
Submission submission_for(const api::RayDogJob& job, const std::string& id);

}  // namespace raydog::jobs
