// compute_status steps for the fields derived from YellowDog: work requirement, head, endpoints,
// observability, worker pools, and how ready each part is.
#include "controller/reconcile/status_steps.hpp"

namespace raydog::reconcile::status_steps {

namespace {

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

bool yellowdog_blind(const Observed& o, const View& v) {
  return v.lifecycle == Lifecycle::kObserveFailed ||
         (v.lifecycle == Lifecycle::kDeleting &&
          (o.observe_error || o.credentials.state != CredentialsState::kOk));
}

bool live_view(const View& v, bool blind) {
  return !blind && !v.bump && v.lifecycle != Lifecycle::kInvalidSpec;
}

std::optional<api::WorkRequirementStatus> work_requirement_status(const Observed& o, const View& v,
                                                                  const ActOutcome& outcome) {
  if (!v.spec_errors.empty()) return std::nullopt;
  api::WorkRequirementStatus wr;
  if (outcome.recorded_incarnation) {
    wr.name = names_for(o.cluster, *outcome.recorded_incarnation).work_requirement;
    return wr;
  }
  // A rebuild that was not recorded yet keeps naming the old incarnation's WR.
  wr.name = v.bump ? names_for(o.cluster, o.incarnation).work_requirement : v.names.work_requirement;
  if (o.work_requirement) {
    wr.id = o.work_requirement->id;
    if (o.work_requirement->status) wr.status = o.work_requirement->status->str();
  }
  return wr;
}

std::optional<api::HeadStatus> head_status(const Observed& o, const View& v) {
  if (!v.head_task) return std::nullopt;
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
  return h;
}

std::optional<api::EndpointsStatus> endpoints_status(const View& v) {
  if (!v.head_ip) return std::nullopt;
  const std::string ip = *endpoint_ip(v.head_public_ip, v.head_ip);
  return api::EndpointsStatus{"ray://" + ip + ":10001", "http://" + ip + ":8265", ip + ":6379", std::nullopt};
}

std::optional<api::ObservabilityStatus> observability_status(const View& v) {
  if (!v.observability_ip) return std::nullopt;
  const std::string ip = *endpoint_ip(v.observability_public_ip, v.observability_ip);
  return api::ObservabilityStatus{v.observability_ip, v.observability_public_ip, "http://" + ip + ":3000",
                                  "http://" + ip + ":9090"};
}

WorkerSummary worker_pools_status(const View& v, bool live_view, TimePoint now) {
  WorkerSummary sum;
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
      if (!sum.degradation) sum.degradation = "pool " + w.names.pool + ": " + w.last_error;
    } else {
      p.health = "Progressing";
      p.message = std::to_string(ready) + "/" + std::to_string(w.desired) + " Ray worker nodes ready";
    }
    sum.desired += w.desired;
    sum.ready += ready;
    sum.pools.push_back(std::move(p));
  }
  return sum;
}

std::optional<std::string> head_degradation(const View& v, bool live_view, TimePoint now) {
  if (live_view && v.head->consecutive_failures > 0 && !v.head_ip && v.head->backoff_until &&
      now < *v.head->backoff_until)
    return "head: " + v.head->last_error;
  return std::nullopt;
}

Readiness readiness(const View& v, bool live_view, const WorkerSummary& workers,
                    const PreviousStatus& previous) {
  Readiness r;
  r.desired_workers = workers.desired;
  r.ready_workers = workers.ready;
  r.head = live_view && v.head_ip.has_value();
  r.observability = !v.observability || (live_view && v.observability_ip.has_value());
  r.workers = live_view && workers.ready >= workers.desired;
  r.all = v.lifecycle == Lifecycle::kRunning && r.head && r.observability && r.workers;
  if (previous)
    for (const auto& c : previous->conditions)
      if (c.type == api::condition::kProvisioned) {
        r.was_provisioned = c.status == api::condition::kTrue;
        break;
      }
  return r;
}

}  // namespace raydog::reconcile::status_steps
