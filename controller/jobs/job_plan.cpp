#include "controller/jobs/job_plan.hpp"

#include <algorithm>

#include "api/conditions.hpp"
#include "api/job_defaults.hpp"
#include "api/job_validation.hpp"
#include "api/names.hpp"
#include "api/quantity.hpp"
#include "controller/util/time.hpp"

namespace raydog::jobs {

namespace {

using api::JobDeploymentStatus;
using api::RayJobStatus;
using nlohmann::json;
using namespace std::chrono_literals;

// A status write is followed by a reconcile right away (the write's echo does not enqueue the key).
constexpr Millis kNext{100};

bool ephemeral(const api::RayDogJob& job) { return job.spec.cluster_spec.has_value(); }

bool shutdown_after_finish(const api::RayDogJob& job) { return api::shutdown_after_job_finishes(job.spec); }

bool has_finalizer(const api::RayDogJob& job) {
  const auto& f = job.metadata.finalizers;
  return f && std::find(f->begin(), f->end(), kJobFinalizer) != f->end();
}

std::optional<JobDeploymentStatus> deployment(const api::RayDogJob& job) {
  return job.status ? job.status->job_deployment_status : std::nullopt;
}

bool in_flight(std::optional<JobDeploymentStatus> ds) {
  return ds == JobDeploymentStatus::kInitializing || ds == JobDeploymentStatus::kRunning;
}

const ClusterView* current_cluster(const api::RayDogJob& job, const std::vector<ClusterView>& clusters) {
  const auto name = job.status ? job.status->cluster_name : std::nullopt;
  if (name) {
    for (const auto& c : clusters)
      if (c.name == *name) return &c;
    return nullptr;
  }
  if (!ephemeral(job) && clusters.size() == 1) return &clusters[0];
  return nullptr;
}

bool live_on_head(const HeadRead& head) {
  return head.kind == HeadRead::Kind::kFound && head.info && !api::is_terminal(head.info->status);
}


// The failure reason the Failed condition keeps from the reconcile that failed the job.
std::string previous_failure_reason(const std::optional<api::RayDogJobStatus>& st) {
  if (!st) return "";
  const auto* c = api::find_condition(st->conditions, api::job_condition::kFailed);
  return c && c->status == api::condition::kTrue ? c->reason : "";
}

// Complete, Failed (what `kubectl wait --for=condition=...` reads) and kstatus' Reconciling and Stalled,
// all from the deployment status; `failure` names why the job failed when it fails now.
void set_conditions(api::RayDogJobStatus& st, const std::optional<api::RayDogJobStatus>& previous,
                    const std::string& failure, const std::string& now) {
  const auto ds = st.job_deployment_status.value_or(JobDeploymentStatus::kInitializing);
  const std::string phase(api::to_string(ds));
  const std::string message = st.message.value_or("");
  const bool complete = ds == JobDeploymentStatus::kComplete;
  const bool failed = ds == JobDeploymentStatus::kFailed;
  api::put_condition(st, previous, api::job_condition::kComplete, complete, complete ? "JobFinished" : phase,
      complete ? message : "", now);
  const std::string reason = failure.empty() ? previous_failure_reason(previous) : failure;
  api::put_condition(st, previous, api::job_condition::kFailed, failed, failed ? (reason.empty() ? "Failed" : reason) : phase,
      failed ? message : "", now);
  const bool working = in_flight(ds) || ds == JobDeploymentStatus::kRetrying;
  api::put_condition(st, previous, "Reconciling", working, working ? phase : "Done", working ? message : "", now);
  const bool stalled = ds == JobDeploymentStatus::kValidationFailed;
  api::put_condition(st, previous, "Stalled", stalled, stalled ? "InvalidSpec" : "NotStalled", stalled ? message : "", now);
}

struct Planner {
  Planner(const JobObserved& observed, const JobPlanOptions& options) : o(observed), opt(options) {}

  const JobObserved& o;
  const JobPlanOptions& opt;
  const api::RayDogJob& job = o.job;
  const std::optional<api::RayDogJobStatus>& previous = o.job.status;
  api::RayDogJobStatus st = o.job.status.value_or(api::RayDogJobStatus{});
  std::string now = format_rfc3339(o.now);
  std::string failure;  // the Failed condition's reason, when this plan fails the job
  JobPlan p;

  void event(std::string type, std::string reason, std::string message) {
    p.actions.push_back(Event{std::move(type), std::move(reason), std::move(message)});
  }
  void set(JobDeploymentStatus ds) { st.job_deployment_status = ds; }
  JobDeploymentStatus ds() const { return st.job_deployment_status.value_or(JobDeploymentStatus::kInitializing); }
  std::string job_id() const { return st.job_id.value_or(""); }

  JobPlan done(std::optional<Millis> requeue) {
    st.observed_generation = job.metadata.generation;
    set_conditions(st, previous, failure, now);
    p.status = std::move(st);
    p.requeue_after = requeue;
    return std::move(p);
  }

  // ---- the steps ----

  JobPlan deleting() {
    if (!has_finalizer(job)) return std::move(p);
    if (live_on_head(o.head) && st.dashboard_url) {
      p.actions.push_back(StopJob{*st.dashboard_url, job_id(), true});
      event("Normal", "Stopping", "the RayDogJob is being deleted: stopping job " + job_id());
    }
    delete_own_cluster("the RayDogJob is being deleted");
    p.actions.push_back(RemoveFinalizer{});
    return std::move(p);
  }

  // The attempt's ephemeral cluster, when it exists, is ours and is not already going.
  void delete_own_cluster(const std::string& why) {
    if (!ephemeral(job)) return;
    const ClusterView* c = current_cluster(job, o.clusters);
    if (!c || !c->owned || c->deleting) return;
    p.actions.push_back(DeleteCluster{c->name, c->uid});
    event("Normal", "ClusterDeleted", "deleting RayDogCluster " + c->name + ": " + why);
  }

  JobPlan invalid() {
    std::string message;
    for (const auto& e : o.spec_errors) message += (message.empty() ? "" : "; ") + e.path + ": " + e.message;
    if (ds() != JobDeploymentStatus::kValidationFailed || st.message != message)
      event("Warning", "InvalidSpec", message);
    set(JobDeploymentStatus::kValidationFailed);
    st.message = message;
    return done(std::nullopt);  // a spec change brings the next reconcile
  }

  JobPlan finished() {
    if (shutdown_after_finish(job)) delete_own_cluster("the job finished (shutdownAfterJobFinishes)");
    const auto ttl = job.spec.ttl_seconds_after_finished;
    const auto end = st.end_time ? parse_rfc3339(*st.end_time) : std::nullopt;
    if (!ttl || !end) return done(std::nullopt);
    const auto due = *end + std::chrono::seconds(*ttl);
    if (o.now < due) return done(std::chrono::duration_cast<Millis>(due - o.now) + 1s);
    p.actions.push_back(DeleteJob{job.metadata.uid.value_or("")});
    event("Normal", "Deleted",
          "ttlSecondsAfterFinished (" + std::to_string(*ttl) + "s) passed: deleting the RayDogJob");
    return done(std::nullopt);
  }

  JobPlan suspend() {
    if (live_on_head(o.head) && st.dashboard_url)
      p.actions.push_back(StopJob{*st.dashboard_url, job_id(), true});
    delete_own_cluster("the RayDogJob is suspended");
    if (ds() != JobDeploymentStatus::kSuspended) event("Normal", "Suspended", "spec.suspend is true: nothing runs");
    set(JobDeploymentStatus::kSuspended);
    st.message = "suspended (spec.suspend)";
    return done(std::nullopt);
  }

  // The ids of attempt n go to status before anything uses them.
  JobPlan new_attempt() {
    const int n = attempt_of(job_id()) + 1;
    st.job_id = submission_id(job, n);
    st.cluster_name = ephemeral(job) ? std::optional(cluster_name(job, n)) : std::nullopt;
    st.start_time = now;
    st.end_time.reset();
    st.job_status.reset();
    st.dashboard_url.reset();
    st.message = "attempt " + std::to_string(n) + ": submission id " + *st.job_id;
    set(JobDeploymentStatus::kInitializing);
    p.status_first = true;
    return done(kNext);
  }

  // The attempt failed: retried while backoffLimit allows it (never after a deadline), else the job failed.
  JobPlan fail_attempt(const std::string& reason, const std::string& message, bool retryable = true) {
    const int failed = st.failed.value_or(0) + 1;
    const int limit = job.spec.backoff_limit.value_or(0);
    st.failed = failed;
    st.end_time = now;
    st.message = message;
    if (retryable && failed <= limit) {
      set(JobDeploymentStatus::kRetrying);
      event("Warning", "Retrying",
            "attempt " + std::to_string(attempt_of(job_id())) + " failed (" + reason + "): retry " +
                std::to_string(failed) + " of " + std::to_string(limit) + ": " + message);
      return done(kNext);
    }
    set(JobDeploymentStatus::kFailed);
    failure = reason;
    event("Warning", reason == "DeadlineExceeded" ? "DeadlineExceeded" : "JobFailed", message);
    return done(kNext);
  }

  JobPlan retrying() {
    const ClusterView* c = ephemeral(job) ? current_cluster(job, o.clusters) : nullptr;
    if (c && c->owned && !c->deleting) {
      delete_own_cluster("attempt " + std::to_string(attempt_of(job_id())) + " failed, the next gets a new cluster");
      return done(opt.poll_waiting);
    }
    return new_attempt();
  }

  bool past_deadline() const {
    const auto deadline = job.spec.active_deadline_seconds;
    const auto start = st.start_time ? parse_rfc3339(*st.start_time) : std::nullopt;
    return deadline && start && o.now >= *start + std::chrono::seconds(*deadline);
  }

  JobPlan deadline() {
    if (live_on_head(o.head) && st.dashboard_url) p.actions.push_back(StopJob{*st.dashboard_url, job_id(), true});
    return fail_attempt("DeadlineExceeded",
                        "the job ran past activeDeadlineSeconds (" +
                            std::to_string(*job.spec.active_deadline_seconds) + "s)" +
                            (live_on_head(o.head) ? ": stopping job " + job_id() : std::string()),
                        false);
  }

  JobPlan waiting(std::string message, Millis requeue, std::string warning_reason = {}) {
    if (!warning_reason.empty() && st.message != message) event("Warning", warning_reason, message);
    st.message = std::move(message);
    return done(requeue);
  }

  JobPlan in_flight_step() {
    const bool running = ds() == JobDeploymentStatus::kRunning;
    const ClusterView* c = current_cluster(job, o.clusters);
    if (ephemeral(job)) {
      const std::string name = st.cluster_name.value_or("");
      if (!c || c->deleting) {
        if (running) return fail_attempt("ClusterLost", "RayDogCluster " + name + " went away while the job ran");
        if (c) return waiting("waiting for the old RayDogCluster " + name + " to be deleted", opt.poll_waiting);
        if (!o.cluster_spec) return waiting("no clusterSpec to create RayDogCluster " + name + " from", opt.poll_waiting);
        p.actions.push_back(CreateCluster{cluster_object(name)});
        event("Normal", "ClusterCreated", "creating RayDogCluster " + name);
        return waiting("creating RayDogCluster " + name, opt.poll_waiting);
      }
      if (!c->owned)
        return waiting("RayDogCluster " + name + " exists and does not belong to this RayDogJob", opt.poll_no_cluster,
                       "ClusterNameTaken");
    } else {
      const std::string sel = selector_text(job.spec.cluster_selector.value_or(std::map<std::string, std::string>{}));
      if (!c && running)
        return fail_attempt("ClusterLost", "RayDogCluster " + st.cluster_name.value_or("") +
                                               " no longer matches clusterSelector " + sel + " or went away");
      if (!c && o.clusters.empty())
        return waiting("no RayDogCluster in this namespace matches clusterSelector " + sel, opt.poll_no_cluster,
                       "ClusterNotFound");
      if (!c) {
        std::string names;
        for (const auto& x : o.clusters) names += (names.empty() ? "" : ", ") + x.name;
        return waiting(std::to_string(o.clusters.size()) + " RayDogClusters match clusterSelector " + sel + " (" +
                           names + "): it must match exactly one",
                       opt.poll_no_cluster, "ClusterAmbiguous");
      }
      st.cluster_name = c->name;
    }
    if (c->head_access == api::HeadAccess::kNone)
      return waiting("RayDogCluster " + c->name +
                         " has spec.headAccess None: the operator cannot reach its dashboard to submit the job",
                     opt.poll_no_cluster, "HeadNotReachable");
    if (!running && (!c->ready || !c->dashboard_url))
      return waiting("waiting for RayDogCluster " + c->name + " to be Ready" +
                         (c->not_ready.empty() ? std::string() : " (" + c->not_ready + ")"),
                     opt.poll_waiting);
    if (c->dashboard_url) st.dashboard_url = c->dashboard_url;
    const std::string url = st.dashboard_url.value_or("");
    switch (o.head.kind) {
      case HeadRead::Kind::kNotRead:
        return waiting("waiting for the head's dashboard address", opt.poll_waiting);
      case HeadRead::Kind::kFailed:
        return waiting("cannot read job " + job_id() + " from the dashboard: " + o.head.error, opt.poll_waiting);
      case HeadRead::Kind::kNotFound:
        if (st.job_status)
          return fail_attempt("JobLost", "the head at " + url + " no longer knows job " + job_id() +
                                             ", which it reported as " + std::string(api::to_string(*st.job_status)) +
                                             " (did the head restart without GCS fault tolerance?); it is not "
                                             "submitted again under the same id");
        return submit(*c, url);
      case HeadRead::Kind::kFound:
        break;
    }
    return follow(*o.head.info);
  }

  JobPlan submit(const ClusterView& c, const std::string& url) {
    p.actions.push_back(Submit{url, submission_for(job, job_id())});
    event("Normal", "Submitted", "submitted job " + job_id() + " to " + url + ": " + job.spec.entrypoint);
    if (c.head_access == api::HeadAccess::kPublic)
      event("Warning", "DashboardUnauthenticated",
            "the Ray dashboard at " + url +
                " takes jobs from anyone who reaches it (it has no authentication) and is reached over the "
                "head's public address (spec.headAccess Public)");
    set(JobDeploymentStatus::kRunning);
    st.message = "submitted";
    return done(opt.poll_running);
  }

  JobPlan follow(const JobInfo& info) {
    if (ds() == JobDeploymentStatus::kInitializing)
      event("Normal", "Running", "job " + job_id() + " is known to the head (" +
                                     std::string(api::to_string(info.status)) + ")");
    set(JobDeploymentStatus::kRunning);
    st.job_status = info.status;
    st.message = info.message;
    switch (info.status) {
      case RayJobStatus::kPending:
      case RayJobStatus::kRunning:
        return done(opt.poll_running);
      case RayJobStatus::kSucceeded:
      case RayJobStatus::kStopped: {
        const bool ok = info.status == RayJobStatus::kSucceeded;
        set(JobDeploymentStatus::kComplete);
        st.end_time = now;
        if (ok) st.succeeded = st.succeeded.value_or(0) + 1;
        event("Normal", ok ? "JobSucceeded" : "JobStopped",
              "job " + job_id() + " " + (ok ? "succeeded" : "was stopped") +
                  (info.message.empty() ? std::string() : ": " + info.message));
        return done(kNext);
      }
      case RayJobStatus::kFailed:
        break;
    }
    std::string message = info.message.empty() ? "job " + job_id() + " failed" : info.message;
    // Ray's own message carries the log tail when the entrypoint failed; other failures (runtime_env,
    // supervisor) do not: the log's last lines are added unless already there.
    if (o.head.logs) {
      const std::string tail = log_tail(*o.head.logs);
      if (!tail.empty() && message.find(tail) == std::string::npos) message += "\nlast log lines:\n" + tail;
    }
    return fail_attempt("AppFailed", message);
  }

  json cluster_object(const std::string& name) const {
    json labels = json::object();
    if (job.metadata.labels)
      for (const auto& [k, v] : *job.metadata.labels) labels[k] = v;
    labels[std::string(kJobLabel)] = job.metadata.name;
    return json{{"apiVersion", std::string(api::kApiVersion)},
                {"kind", std::string(api::kKind)},
                {"metadata",
                 {{"name", name},
                  {"namespace", job.metadata.namespace_name.value_or("default")},
                  {"labels", labels},
                  {"ownerReferences",
                   json::array({{{"apiVersion", std::string(api::kApiVersion)},
                                 {"kind", std::string(api::kJobKind)},
                                 {"name", job.metadata.name},
                                 {"uid", job.metadata.uid.value_or("")},
                                 {"controller", true},
                                 {"blockOwnerDeletion", true}}})}}},
                {"spec", *o.cluster_spec}};
  }

  JobPlan plan() {
    if (job.metadata.deletion_timestamp) return deleting();
    if (!has_finalizer(job)) {
      // First the finalizer, alone: a status write after it would carry a stale resourceVersion.
      p.actions.push_back(AddFinalizer{});
      p.requeue_after = kNext;
      return std::move(p);
    }
    if (!o.spec_errors.empty()) return invalid();
    const auto d = ds();
    if (d == JobDeploymentStatus::kComplete || d == JobDeploymentStatus::kFailed) return finished();
    if (job.spec.suspend.value_or(false)) return suspend();
    if (!st.job_id || d == JobDeploymentStatus::kSuspended) return new_attempt();
    if (d == JobDeploymentStatus::kRetrying) return retrying();
    if (d == JobDeploymentStatus::kValidationFailed) set(JobDeploymentStatus::kInitializing);  // fixed: go on
    if (past_deadline()) return deadline();
    return in_flight_step();
  }
};

}  // namespace

std::string selector_text(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

ClusterView cluster_view(const json& cluster, const std::string& job_uid) {
  ClusterView v;
  const json meta = cluster.value("metadata", json::object());
  v.name = meta.value("name", "");
  v.uid = meta.value("uid", "");
  v.deleting = meta.contains("deletionTimestamp") && !meta["deletionTimestamp"].is_null();
  if (const auto refs = meta.find("ownerReferences"); refs != meta.end() && refs->is_array())
    for (const auto& r : *refs)
      if (r.is_object() && r.value("kind", "") == api::kJobKind && r.value("uid", "") == job_uid && !job_uid.empty())
        v.owned = true;
  const json spec = cluster.value("spec", json::object());
  if (spec.contains("headAccess") && spec["headAccess"].is_string())
    v.head_access = api::enum_from_string<api::HeadAccess>(spec["headAccess"].get<std::string>());
  const json status = cluster.value("status", json::object());
  if (status.is_object()) {
    if (const auto ep = status.find("endpoints"); ep != status.end() && ep->is_object())
      if (ep->contains("dashboard") && (*ep)["dashboard"].is_string())
        v.dashboard_url = (*ep)["dashboard"].get<std::string>();
    v.not_ready = "no Ready condition yet";
    if (const auto conds = status.find("conditions"); conds != status.end() && conds->is_array())
      for (const auto& c : *conds)
        if (c.is_object() && c.value("type", "") == api::condition::kReady) {
          v.ready = c.value("status", "") == api::condition::kTrue;
          const std::string reason = c.value("reason", ""), message = c.value("message", "");
          v.not_ready = reason + (message.empty() ? "" : ": " + message);
        }
  }
  if (v.ready) v.not_ready.clear();
  return v;
}

JobPlan plan_job(const JobObserved& o, const JobPlanOptions& options) {
  Planner planner(o, options);
  return planner.plan();
}

api::RayDogJobStatus after_submit_failed(const JobObserved& o, const JobsError& error) {
  static const JobPlanOptions defaults;
  if (error.kind == JobsError::Kind::kRejected) {
    Planner planner(o, defaults);
    return *planner.fail_attempt("SubmissionFailed", "the head refused the submission: " + error.message).status;
  }
  Planner planner(o, defaults);
  planner.st.message = "submitting job " + planner.job_id() + ": " + error.message + " (read again before any resubmission)";
  return *planner.done(std::nullopt).status;
}

std::string submission_id(const api::RayDogJob& job, int attempt) {
  // [a-z0-9-] only: the id becomes a URL segment, a file name and an actor name on the head.
  return job.metadata.name + "-" + api::names::hash8(job.metadata.uid.value_or("")) + "-" + std::to_string(attempt);
}

std::string cluster_name(const api::RayDogJob& job, int attempt) {
  // Like KubeRay's <job>-<5 characters>, but derived, so a crash between create and status write adopts.
  return job.metadata.name + "-" +
         api::names::hash8(job.metadata.uid.value_or("") + "/" + std::to_string(attempt)).substr(0, 5);
}

int attempt_of(const std::string& id) {
  const auto dash = id.rfind('-');
  if (dash == std::string::npos || dash + 1 >= id.size()) return 0;
  int n = 0;
  for (std::size_t i = dash + 1; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9' || n > 100000000) return 0;
    n = n * 10 + (id[i] - '0');
  }
  return n;
}

bool wants_clusters(const api::RayDogJob& job) {
  // Everything but a job without a finalizer on its way out needs to know its cluster.
  return !(job.metadata.deletion_timestamp && !has_finalizer(job));
}

std::optional<std::string> head_to_read(const api::RayDogJob& job, const std::vector<ClusterView>& clusters) {
  if (!job.status || !job.status->job_id || !in_flight(deployment(job))) return std::nullopt;
  if (job.metadata.deletion_timestamp && !has_finalizer(job)) return std::nullopt;
  const ClusterView* c = current_cluster(job, clusters);
  if (!c || c->head_access == api::HeadAccess::kNone || (ephemeral(job) && !c->owned)) return std::nullopt;
  const bool running = deployment(job) == JobDeploymentStatus::kRunning;
  if (!running && !c->ready) return std::nullopt;
  if (c->dashboard_url) return c->dashboard_url;
  return running ? job.status->dashboard_url : std::nullopt;
}

Submission submission_for(const api::RayDogJob& job, const std::string& id) {
  Submission s;
  s.submission_id = id;
  s.entrypoint = job.spec.entrypoint;
  if (job.spec.runtime_env_yaml)
    if (auto env = api::runtime_env_json(*job.spec.runtime_env_yaml)) s.runtime_env = std::move(*env);
  s.metadata = job.spec.metadata;
  if (job.spec.entrypoint_num_cpus) s.entrypoint_num_cpus = api::parse_quantity(*job.spec.entrypoint_num_cpus);
  if (job.spec.entrypoint_num_gpus) s.entrypoint_num_gpus = api::parse_quantity(*job.spec.entrypoint_num_gpus);
  if (job.spec.entrypoint_resources) {
    std::map<std::string, double> r;
    for (const auto& [k, v] : *job.spec.entrypoint_resources)
      if (auto q = api::parse_quantity(v)) r[k] = *q;
    s.entrypoint_resources = std::move(r);
  }
  return s;
}

}  // namespace raydog::jobs
