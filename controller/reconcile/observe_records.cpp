// What observe shares with the rest of the loop and with the snapshots it keeps: error classification
// (design §5), the WR fingerprints that say whether anything moved, and the compact records a Snapshot
// keeps of tasks and pools (observe.hpp). Apart from observe.cpp so each file does one thing.
#include "controller/reconcile/observe.hpp"

#include <functional>
#include <string>

#include "controller/reconcile/desired.hpp"

namespace raydog::reconcile {

namespace yd = raydog::yellowdog;

Error classify(const yd::YdError& e) {
  switch (e.kind) {
    case yd::YdErrorKind::kNotAuthorised:
      return {ErrorKind::kNotAuthorised, e.what()};
    case yd::YdErrorKind::kInvalidRequest:
    case yd::YdErrorKind::kInvalidStatusTransition:
      return {ErrorKind::kInvalid, e.what()};
    case yd::YdErrorKind::kNotFound:
      return {ErrorKind::kNotFound, e.what()};
    case yd::YdErrorKind::kThrottled:
    case yd::YdErrorKind::kServerError:
    case yd::YdErrorKind::kTransport:
    case yd::YdErrorKind::kProtocol:
    case yd::YdErrorKind::kAlreadyExists:
      return {ErrorKind::kTransient, e.what()};
  }
  return {ErrorKind::kUnknown, e.what()};
}

Error classify(const kube::ApiError& e) {
  using K = kube::ApiError::Kind;
  switch (e.kind) {
    case K::kConflict:
    case K::kAlreadyExists:
      return {ErrorKind::kConflict, e.describe()};
    case K::kNotFound:
      return {ErrorKind::kNotFound, e.describe()};
    case K::kInvalid:
    case K::kBadRequest:
      return {ErrorKind::kInvalid, e.describe()};
    case K::kUnauthorized:
    case K::kForbidden:
      return {ErrorKind::kUnknown, e.describe()};
    default:
      return {ErrorKind::kTransient, e.describe()};
  }
}

std::string fingerprint(const yd::WorkRequirement& wr) {
  std::string out = wr.id.value_or("") + "|" + (wr.status ? wr.status->str() : "");
  for (const auto& g : wr.task_groups) {
    out += "|" + g.name + ":" + g.id.value_or("") + ":" + (g.status ? g.status->str() : "");
    if (g.task_summary) {
      out += ":" + std::to_string(g.task_summary->task_count);
      for (const auto& [status, n] : g.task_summary->status_counts)
        out += "," + status + "=" + std::to_string(n);
    }
  }
  return out;
}

// Per group, the counts of tasks in a finished state: it moves when a task fails, is aborted or ends,
// which is how a pool losing nodes (or being shut down) shows in the WR.
std::string finished_signature(const yd::WorkRequirement& wr) {
  std::string out = wr.status ? wr.status->str() : "";
  for (const auto& g : wr.task_groups) {
    out += "|" + g.name + ":" + (g.status ? g.status->str() : "");
    if (!g.task_summary) continue;
    for (const auto& [status, n] : g.task_summary->status_counts)
      if (yd::is_finished(yd::TaskStatus(status))) out += "," + status + "=" + std::to_string(n);
  }
  return out;
}

PoolRecord PoolRecord::of(const ObservedPool& p) {
  PoolRecord r;
  r.id = p.pool.id;
  r.status = p.pool.status.str();
  r.compute_requirement_id = p.pool.compute_requirement_id.value_or("");
  r.provisioned = p.pool.provisioned();
  r.name = p.pool.name;
  r.namespace_ = p.pool.namespace_;
  r.created_time = p.pool.created_time;
  if (p.pool.properties) {
    r.worker_tag = p.pool.properties->worker_tag;
    r.max_nodes = p.pool.properties->max_nodes;
  }
  if (p.pool.node_summary) r.running_nodes = p.pool.node_summary->count("RUNNING");
  if (p.compute_requirement)
    r.cr = Cr{p.compute_requirement->id, p.compute_requirement->status.str(),
              p.compute_requirement->target_instance_count};
  return r;
}

ObservedPool PoolRecord::observed() const {
  ObservedPool p;
  p.pool.type = provisioned ? std::string(yd::kProvisionedWorkerPoolType) : std::string();
  p.pool.id = id;
  p.pool.status = yd::WorkerPoolStatus(status);
  if (!compute_requirement_id.empty()) p.pool.compute_requirement_id = compute_requirement_id;
  p.pool.name = name;
  p.pool.namespace_ = namespace_;
  p.pool.created_time = created_time;
  if (worker_tag || max_nodes) {
    p.pool.properties.emplace();
    p.pool.properties->worker_tag = worker_tag;
    p.pool.properties->max_nodes = max_nodes;
  }
  if (running_nodes) {
    p.pool.node_summary.emplace();
    p.pool.node_summary->status_counts["RUNNING"] = *running_nodes;
  }
  if (cr) p.compute_requirement = cr->observed();
  return p;
}

yd::ComputeRequirement PoolRecord::Cr::observed() const {
  yd::ComputeRequirement c;
  c.id = id;
  c.status = yd::ComputeRequirementStatus(status);
  c.target_instance_count = target_instance_count;
  return c;
}

TaskRecord TaskRecord::of(const yd::Task& t) {
  TaskRecord r;
  r.id = t.id.value_or("");
  r.name = t.name.value_or("");
  if (t.status) r.status = *t.status;
  r.worker_id = t.worker_id;
  r.node_id = t.node_id;
  r.started_time = t.started_time;
  r.finished_time = t.finished_time;
  for (std::string_view key : kEnvironmentReadBack)
    if (const std::string* value = env_of(t, key)) r.environment.emplace_back(key, *value);
  r.errors = t.errors;
  return r;
}

yd::Task TaskRecord::observed() const {
  yd::Task t;
  if (!id.empty()) t.id = id;
  if (!name.empty()) t.name = name;
  if (!status.empty()) t.status = status;
  t.worker_id = worker_id;
  t.node_id = node_id;
  t.started_time = started_time;
  t.finished_time = finished_time;
  t.environment.insert(environment.begin(), environment.end());
  t.errors = errors;
  return t;
}

yd::WorkRequirement trimmed(const yd::WorkRequirement& wr) {
  yd::WorkRequirement t;
  t.id = wr.id;
  t.status = wr.status;
  t.namespace_ = wr.namespace_;
  t.name = wr.name;
  // view() times buildTimeout and spec.lifetime from these: without them a vouched snapshot never expires.
  t.created_time = wr.created_time;
  t.status_changed_time = wr.status_changed_time;
  t.task_groups.reserve(wr.task_groups.size());
  for (const auto& g : wr.task_groups) {
    yd::TaskGroup k;
    k.id = g.id;
    k.status = g.status;
    k.name = g.name;
    k.tag = g.tag;
    k.run_specification.worker_tags = g.run_specification.worker_tags;  // plan_drain, the Ray view
    t.task_groups.push_back(std::move(k));
  }
  return t;
}

Snapshot snapshot_of(const Observed& observed, TimePoint read_at, bool keep_work_requirement) {
  Snapshot s;
  s.generation = observed.cluster.metadata.generation.value_or(0);
  s.incarnation = observed.incarnation;
  s.read_at = read_at;
  if (keep_work_requirement && observed.work_requirement) s.work_requirement = trimmed(*observed.work_requirement);
  if (observed.work_requirement)
    s.fingerprint = std::hash<std::string>{}(fingerprint(*observed.work_requirement));
  for (const auto& [group, tasks] : observed.tasks) {
    auto& records = s.tasks[group];
    records.reserve(tasks.size());
    for (const auto& t : tasks) records.push_back(TaskRecord::of(t));
  }
  for (const auto& p : observed.pools) s.pools.push_back(PoolRecord::of(p));
  return s;
}

void restore(const Snapshot& snapshot, Observed& observed) {
  for (const auto& [group, records] : snapshot.tasks) {
    auto& tasks = observed.tasks[group];
    for (const auto& r : records) tasks.push_back(r.observed());
  }
  for (const auto& p : snapshot.pools) observed.pools.push_back(p.observed());
}

}  // namespace raydog::reconcile
