#include "controller/reconcile/status.hpp"

#include <ctime>

#include "api/validation.hpp"
#include "controller/reconcile/plan.hpp"

namespace raydog::reconcile {

namespace yd = yellowdog;
namespace cond = api::condition;

std::string format_k8s_time(TimePoint t) {
  std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

const api::Condition* find(const std::optional<api::RayDogClusterStatus>& s, std::string_view type) {
  if (!s) return nullptr;
  for (const auto& c : s->conditions)
    if (c.type == type) return &c;
  return nullptr;
}

struct Conditions {
  const std::optional<api::RayDogClusterStatus>& previous;
  std::int64_t generation;
  std::string now;
  std::vector<api::Condition> out;

  void set(std::string_view type, bool status, std::string reason, std::string message) {
    api::Condition c;
    c.type = std::string(type);
    c.status = std::string(status ? cond::kTrue : cond::kFalse);
    c.reason = std::move(reason);
    c.message = std::move(message);
    c.observed_generation = generation;
    const api::Condition* before = find(previous, type);
    c.last_transition_time = before && before->status == c.status && !before->last_transition_time.empty()
                                 ? before->last_transition_time
                                 : now;
    out.push_back(std::move(c));
  }
};

std::string error_reason(ErrorKind k) {
  switch (k) {
    case ErrorKind::Transient:
      return "TransientError";
    case ErrorKind::NotAuthorised:
      return "NotAuthorised";
    case ErrorKind::Invalid:
      return "YellowDogRejected";
    case ErrorKind::Conflict:
      return "Conflict";
    case ErrorKind::NotFound:
      return "ObjectGone";
    case ErrorKind::Unknown:
      return "ReconcileError";
  }
  return "ReconcileError";
}

std::optional<std::string> endpoint_ip(const std::optional<std::string>& pub,
                                       const std::optional<std::string>& priv) {
  // Users reach the cluster from outside the VPC when the VM has a public address.
  return pub ? pub : priv;
}

std::int32_t i32(std::int64_t v) {
  return static_cast<std::int32_t>(v);
}

// Ready worker tasks: EXECUTING and pointed at the current head.
std::int64_t ready_workers(const RoleView& r, const std::optional<std::string>& head_ip) {
  if (!head_ip) return 0;
  std::int64_t n = 0;
  for (const auto* t : r.tasks) {
    if (!is_executing(*t)) continue;
    const std::string* ip = env_of(*t, kHeadIpEnv);
    if (ip && *ip == *head_ip) ++n;
  }
  return std::min(n, r.desired);
}

}  // namespace

api::RayDogClusterStatus compute_status(const Observed& o, const ActOutcome& outcome,
                                        const std::optional<api::RayDogClusterStatus>& previous,
                                        TimePoint now) {
  const auto& c = o.cluster;
  const View v = view(o, now);
  const std::int64_t generation = c.metadata.generation.value_or(0);
  api::RayDogClusterStatus st;
  st.observed_generation = generation;
  Conditions conds{previous, generation, format_k8s_time(now), {}};

  // When YellowDog could not be read, the YellowDog-derived fields keep their last known values.
  // Likewise while deleting without a reading of YellowDog (observe failed, credentials gone, Orphan): the
  // ids stay in status, where a timed-out cleanup finds what may leak.
  const bool blind = v.lifecycle == Lifecycle::ObserveFailed ||
                     (v.lifecycle == Lifecycle::Deleting &&
                      (o.observe_error || o.credentials.state != CredentialsState::Ok));
  if (blind && previous) {
    st = *previous;
    st.observed_generation = generation;
    st.conditions.clear();
  }

  // ---- work requirement (the incarnation recorded first, then what YellowDog shows) ----
  if (!blind) {
    api::WorkRequirementStatus wr;
    if (outcome.recorded_incarnation) {
      wr.name = names_for(c, *outcome.recorded_incarnation).work_requirement;
    } else if (v.bump) {
      wr.name = names_for(c, o.incarnation).work_requirement;  // the new one was not recorded
      if (o.work_requirement) {
        wr.id = o.work_requirement->id;
        if (o.work_requirement->status) wr.status = o.work_requirement->status->str();
      }
    } else {
      wr.name = v.names.work_requirement;
      if (o.work_requirement) {
        wr.id = o.work_requirement->id;
        if (o.work_requirement->status) wr.status = o.work_requirement->status->str();
      }
    }
    if (v.spec_errors.empty()) st.work_requirement = wr;
  }

  // ---- head, observability, endpoints ----
  const bool live_view = !blind && !v.bump && v.lifecycle != Lifecycle::InvalidSpec;
  if (live_view && v.head_task) {
    api::HeadStatus h;
    h.task_id = v.head_task->id;
    if (v.head_task->status) h.task_status = v.head_task->status->str();
    if (o.head && v.head_task->id && o.head->task_id == *v.head_task->id) {
      h.node_id = o.head->node_id;
      h.worker_pool_id = o.head->worker_pool_id;
    }
    if (!h.worker_pool_id && v.head->pool) h.worker_pool_id = v.head->pool->pool.id;
    h.private_ip = v.head_ip;
    h.public_ip = v.head_public_ip;
    st.head = h;
  }
  if (live_view && v.head_ip) {
    const std::string ip = *endpoint_ip(v.head_public_ip, v.head_ip);
    st.endpoints = api::EndpointsStatus{"ray://" + ip + ":10001", "http://" + ip + ":8265", ip + ":6379"};
  }
  if (live_view && v.observability_ip) {
    const std::string ip = *endpoint_ip(v.observability_public_ip, v.observability_ip);
    st.observability = api::ObservabilityStatus{v.observability_ip, v.observability_public_ip,
                                                "http://" + ip + ":3000", "http://" + ip + ":9090"};
  }

  // ---- worker pools ----
  std::int64_t desired_total = 0, ready_total = 0;
  bool degraded = false;
  std::string degraded_message;
  if (!blind) {
    for (const auto& w : v.workers) {
      api::WorkerPoolStatus p;
      p.name = w.names.pool;
      p.worker_tag = w.names.revision;
      p.desired_nodes = i32(w.desired);
      const std::int64_t ready = live_view ? ready_workers(w, v.head_ip) : 0;
      p.ready_nodes = i32(ready);
      p.failed_tasks = i32(live_view ? w.failed : 0);
      p.registered_nodes = 0;
      if (live_view && w.pool) {
        p.worker_pool_id = w.pool->pool.id;
        p.compute_requirement_id = w.pool->pool.compute_requirement_id;
        p.pool_status = w.pool->pool.status.str();
        if (w.pool->pool.node_summary) p.registered_nodes = i32(w.pool->pool.node_summary->count("RUNNING"));
      }
      if (live_view && w.group && w.group->id) p.task_group_id = w.group->id;
      if (w.desired == 0 || ready >= w.desired) {
        p.health = "Healthy";
      } else if (live_view && w.consecutive_failures > 0 && w.backoff_until && now < *w.backoff_until) {
        p.health = "Degraded";
        p.message = w.last_error;
        degraded = true;
        if (degraded_message.empty()) degraded_message = "pool " + w.names.pool + ": " + w.last_error;
      } else {
        p.health = "Progressing";
        p.message = std::to_string(ready) + "/" + std::to_string(w.desired) + " Ray worker nodes ready";
      }
      desired_total += w.desired;
      ready_total += ready;
      st.worker_pools.push_back(std::move(p));
    }
    st.desired_workers = i32(desired_total);
    st.ready_workers = i32(ready_total);
  }
  if (live_view && v.head->consecutive_failures > 0 && !v.head_ip && v.head->backoff_until &&
      now < *v.head->backoff_until) {
    degraded = true;
    degraded_message = "head: " + v.head->last_error;
  }

  const bool head_ready = live_view && v.head_ip.has_value();
  const bool obs_ready = !v.observability || (live_view && v.observability_ip.has_value());
  const bool workers_ready = live_view && ready_total >= desired_total;
  const bool all_ready = v.lifecycle == Lifecycle::Running && head_ready && obs_ready && workers_ready;
  const api::Condition* prev_provisioned = find(previous, cond::kProvisioned);
  const bool was_provisioned = prev_provisioned && prev_provisioned->status == cond::kTrue;

  // ---- phase ----
  const std::optional<api::Phase> prev_phase = previous ? previous->phase : std::nullopt;
  api::Phase phase = api::Phase::Pending;
  switch (v.lifecycle) {
    case Lifecycle::Deleting:
      phase = api::Phase::Deleting;
      break;
    case Lifecycle::Failed:
      phase = api::Phase::Failed;
      break;
    case Lifecycle::Suspended:
      phase = api::Phase::Suspended;
      break;
    case Lifecycle::InvalidSpec:
    case Lifecycle::NoCredentials:
    case Lifecycle::ObserveFailed:
      phase = prev_phase.value_or(api::Phase::Pending);
      break;
    case Lifecycle::Running: {
      const bool anything = (o.work_requirement && !v.bump) || v.head->pool;
      if (all_ready)
        phase = api::Phase::Running;
      else if (degraded || (was_provisioned && !v.bump))
        phase = api::Phase::Degraded;
      else if (anything || outcome.executed > 0)
        phase = api::Phase::Provisioning;
      else
        phase = api::Phase::Pending;
      break;
    }
  }
  st.phase = phase;

  // ---- Synced ----
  bool stalled = false;
  std::string stalled_reason = "NotStalled", stalled_message;
  auto stall = [&](std::string reason, std::string message) {
    if (stalled) return;
    stalled = true;
    stalled_reason = std::move(reason);
    stalled_message = std::move(message);
  };
  const bool deleting = v.lifecycle == Lifecycle::Deleting;
  if (!deleting && v.lifecycle == Lifecycle::InvalidSpec) {
    conds.set(cond::kSynced, false, "InvalidSpec", api::to_string(v.spec_errors));
    stall("InvalidSpec", api::to_string(v.spec_errors));
  } else if (!deleting && v.lifecycle == Lifecycle::NoCredentials) {
    if (o.credentials.state == CredentialsState::Unknown) {
      conds.set(cond::kSynced, false, "CredentialsPending", "YellowDog credentials not read yet");
    } else {
      std::string reason =
          o.credentials.state == CredentialsState::NotAuthorised ? "NotAuthorised" : "CredentialsNotFound";
      conds.set(cond::kSynced, false, reason, o.credentials.message);
      stall(reason, o.credentials.message);
    }
  } else if (o.observe_error) {
    conds.set(cond::kSynced, false, error_reason(o.observe_error->kind), o.observe_error->message);
    if (o.observe_error->kind == ErrorKind::NotAuthorised) stall("NotAuthorised", o.observe_error->message);
  } else if (!deleting && v.source_error) {
    conds.set(cond::kSynced, false, "ConfigMapNotFound", *v.source_error);
    stall("ConfigMapNotFound", *v.source_error);
  } else if (outcome.error && outcome.error->kind == ErrorKind::Conflict) {
    // A Kubernetes 409 is routine (a newer version exists): requeue, do not flap Synced.
    if (const api::Condition* before = find(previous, cond::kSynced))
      conds.set(cond::kSynced, before->status == cond::kTrue, before->reason, before->message);
    else
      conds.set(cond::kSynced, true, "Reconciled", "");
  } else if (outcome.error) {
    std::string message = outcome.failed_action ? *outcome.failed_action + ": " + outcome.error->message
                                                : outcome.error->message;
    conds.set(cond::kSynced, false, error_reason(outcome.error->kind), message);
    if (outcome.error->kind == ErrorKind::Invalid) stall("YellowDogRejected", message);
    if (outcome.error->kind == ErrorKind::NotAuthorised) stall("NotAuthorised", message);
  } else {
    conds.set(cond::kSynced, true, "Reconciled", "");
  }

  // ---- Ready ----
  switch (phase) {
    case api::Phase::Running:
      conds.set(cond::kReady, true, "Running",
                "head " + v.head_ip.value_or("") + ", " + std::to_string(ready_total) + "/" +
                    std::to_string(desired_total) + " workers ready");
      break;
    case api::Phase::Deleting:
      conds.set(cond::kReady, false, "Deleting", "cleaning up YellowDog objects before the resource goes");
      break;
    case api::Phase::Suspended:
      conds.set(cond::kReady, false, "Suspended", "spec.suspend is true");
      break;
    case api::Phase::Failed: {
      const api::Condition* prev_ready = find(previous, cond::kReady);
      if (v.failure == Failure::LifetimeExpired ||
          (v.failure == Failure::None && prev_ready && prev_ready->reason == "LifetimeExpired")) {
        conds.set(cond::kReady, false, "LifetimeExpired",
                  "spec.lifetime " + c.spec.lifetime.value_or("") +
                      " is over: the cluster was torn down; change the spec to rebuild");
        stall("LifetimeExpired", "the cluster's lifetime is over; change the spec to rebuild");
      } else {
        conds.set(cond::kReady, false, "BuildTimeout",
                  "the head task was not EXECUTING within buildTimeout " +
                      c.spec.build_timeout.value_or("10m") + "; change the spec to retry");
        stall("BuildTimeout", "the head did not start within buildTimeout; change the spec to retry");
      }
      break;
    }
    case api::Phase::Degraded:
      conds.set(cond::kReady, false, "Degraded",
                degraded_message.empty() ? std::to_string(ready_total) + "/" + std::to_string(desired_total) +
                                               " workers ready" + (head_ready ? "" : ", head not ready")
                                         : degraded_message);
      break;
    case api::Phase::Provisioning:
      conds.set(cond::kReady, false, "Provisioning",
                head_ready
                    ? std::to_string(ready_total) + "/" + std::to_string(desired_total) + " workers ready"
                    : "waiting for the head node");
      break;
    case api::Phase::Pending:
      conds.set(cond::kReady, false, "Pending",
                v.lifecycle == Lifecycle::InvalidSpec ? "the spec is invalid" : "nothing provisioned yet");
      break;
  }

  // ---- HeadReady / WorkersReady / Provisioned ----
  if (head_ready) {
    conds.set(cond::kHeadReady, true, "HeadExecuting",
              "head task " + v.head_task->name.value_or("") + " on " + *v.head_ip);
  } else {
    std::string reason = "HeadPending", message = "no head task yet";
    if (live_view && v.head_task)
      reason = "HeadStarting",
      message = "head task " + v.head_task->name.value_or("") + " is " +
                (v.head_task->status ? v.head_task->status->str() : std::string("submitted"));
    else if (live_view && !v.head->last_error.empty())
      reason = "HeadFailed", message = v.head->last_error;
    conds.set(cond::kHeadReady, false, reason, message);
  }
  conds.set(cond::kWorkersReady, workers_ready && head_ready,
            workers_ready && head_ready ? "WorkersReady" : "WorkersPending",
            std::to_string(ready_total) + "/" + std::to_string(desired_total) + " Ray worker nodes ready");
  if (was_provisioned || all_ready)
    conds.set(cond::kProvisioned, true, "Provisioned", "the cluster has been fully ready");
  else
    conds.set(cond::kProvisioned, false, "NotYetProvisioned", "the cluster has not been fully ready yet");

  // ---- kstatus ----
  bool reconciling = false;
  std::string reconciling_reason = "Steady";
  if (!stalled) {
    if (deleting)
      reconciling = true, reconciling_reason = "Deleting";
    else if (v.lifecycle == Lifecycle::Suspended && !torn_down(o))
      reconciling = true, reconciling_reason = "Suspending";
    else if (v.lifecycle == Lifecycle::Running && !all_ready)
      reconciling = true, reconciling_reason = "Progressing";
    else if (v.lifecycle == Lifecycle::ObserveFailed || v.lifecycle == Lifecycle::NoCredentials)
      reconciling = true, reconciling_reason = "Retrying";
  }
  conds.set("Reconciling", reconciling, reconciling_reason, reconciling ? "converging on the spec" : "");
  conds.set("Stalled", stalled, stalled_reason, stalled_message);

  st.conditions = std::move(conds.out);
  return st;
}

namespace {
api::RayDogClusterStatus without_times(api::RayDogClusterStatus s) {
  for (auto& c : s.conditions) c.last_transition_time.clear();
  return s;
}
}  // namespace

bool status_changed(const api::RayDogClusterStatus& a, const api::RayDogClusterStatus& b) {
  return !(without_times(a) == without_times(b));
}
bool status_changed(const std::optional<api::RayDogClusterStatus>& a, const api::RayDogClusterStatus& b) {
  return !a || status_changed(*a, b);
}

}  // namespace raydog::reconcile
