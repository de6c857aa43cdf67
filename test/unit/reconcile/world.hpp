#pragma once
// A tiny in-memory YellowDog + Kubernetes for the reconciler's pure core: applies planned actions to an
// Observed the way act + YellowDog would, moves the platform forward on request (pools boot, tasks run,
// nodes get IPs), and computes status like the loop does. It refuses duplicates (a second pool or WR with
// a taken name, a second task with a taken name in a group) so every scenario also checks idempotency.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "api/defaults.hpp"
#include "controller/reconcile/actions.hpp"
#include "controller/reconcile/desired.hpp"
#include "controller/reconcile/plan.hpp"
#include "controller/reconcile/status.hpp"

namespace raydog::reconcile::testing {

namespace yd = yellowdog;
using namespace std::chrono_literals;

inline TimePoint t0() {
  return Clock::from_time_t(1'800'000'000);
}

inline api::RayDogCluster sample_cluster() {
  api::RayDogCluster c;
  c.metadata.name = "demo";
  c.metadata.namespace_name = "team";
  c.metadata.uid = "6f1c2b9e-0000-4000-8000-000000000001";
  c.metadata.generation = 1;
  api::YellowDogSpec y;
  y.namespace_name = "ray";
  y.tag = "team-a";
  y.credentials_secret_ref = api::CredentialsSecretRef{"yd", std::nullopt, std::nullopt};
  c.spec.yellowdog = y;
  api::NodeSpec head;
  head.compute_requirement_template = "ydid:crt:000000:head";
  c.spec.head = head;
  api::WorkerPoolSpec cpu;
  cpu.name = "cpu";
  cpu.nodes = 2;
  cpu.node.compute_requirement_template = "ydid:crt:000000:cpu";
  api::WorkerPoolSpec gpu;
  gpu.name = "gpu";
  gpu.nodes = 1;
  gpu.node.compute_requirement_template = "ydid:crt:000000:gpu";
  c.spec.worker_pools = std::vector<api::WorkerPoolSpec>{cpu, gpu};
  c.spec.lifetime = "24h";
  api::apply_defaults(c);
  return c;
}

template <class T>
std::vector<const T*> all_of(const Actions& actions) {
  std::vector<const T*> out;
  for (const auto& a : actions)
    if (auto* p = std::get_if<T>(&a)) out.push_back(p);
  return out;
}
template <class T>
std::size_t count_of(const Actions& actions) {
  return all_of<T>(actions).size();
}
inline bool has_event(const Actions& actions, std::string_view reason) {
  for (const auto* e : all_of<EmitEvent>(actions))
    if (e->reason == reason) return true;
  return false;
}
// Actions that change YellowDog or the resource (not events, not requeues).
inline std::size_t mutations(const Actions& actions) {
  std::size_t n = 0;
  for (const auto& a : actions)
    if (!std::holds_alternative<EmitEvent>(a) && !std::holds_alternative<RequeueAfter>(a)) ++n;
  return n;
}
inline std::size_t yellowdog_calls(const Actions& actions) {
  std::size_t n = 0;
  for (const auto& a : actions)
    if (!std::holds_alternative<EmitEvent>(a) && !std::holds_alternative<RequeueAfter>(a) &&
        !std::holds_alternative<AddFinalizer>(a) && !std::holds_alternative<RemoveFinalizer>(a) &&
        !std::holds_alternative<RecordIncarnation>(a))
      ++n;
  return n;
}

struct World {
  Observed o;
  TimePoint now = t0();
  int next_id = 1;
  int next_ip = 10;
  std::vector<EmitEvent> events;
  std::vector<yd::WorkRequirement> old_wrs;  // earlier incarnations (cancelled)
  int creates = 0;

  World() {
    o.cluster = sample_cluster();
    o.credentials.state = CredentialsState::kOk;
  }

  std::string id(const char* kind) { return std::string("ydid:") + kind + ":" + std::to_string(next_id++); }
  std::string ts() const { return yd::format_timestamp(now); }

  ObservedPool* pool_named(const std::string& name) {
    for (auto& p : o.pools)
      if (p.pool.name == name) return &p;
    return nullptr;
  }
  yd::TaskGroup* group_named(const std::string& name) {
    if (!o.work_requirement) return nullptr;
    for (auto& g : o.work_requirement->task_groups)
      if (g.name == name) return &g;
    return nullptr;
  }
  yd::Task* task_by_id(const std::string& task_id) {
    for (auto& [g, ts] : o.tasks)
      for (auto& t : ts)
        if (t.id == task_id) return &t;
    return nullptr;
  }

  void finish_task(yd::Task& t, const char* status) {
    t.status = status;
    t.finished_time = ts();
  }

  // Applies actions like act does; stops after `limit` actions (crash/failure simulation).
  ActOutcome apply(const Actions& actions, std::size_t limit = SIZE_MAX) {
    ActOutcome outcome;
    for (const auto& a : actions) {
      if (outcome.executed >= limit) {
        outcome.error = Error{ErrorKind::kTransient, "injected failure"};
        outcome.failed_action = describe(a);
        break;
      }
      apply_one(a, outcome);
      ++outcome.executed;
    }
    return outcome;
  }

  void apply_one(const Action& a, ActOutcome& outcome) {
    auto& meta = o.cluster.metadata;
    if (std::holds_alternative<AddFinalizer>(a)) {
      REQUIRE_FALSE(meta.deletion_timestamp.has_value());
      if (!meta.finalizers) meta.finalizers = std::vector<std::string>{};
      meta.finalizers->push_back(std::string(kFinalizer));
    } else if (std::holds_alternative<RemoveFinalizer>(a)) {
      auto& f = *meta.finalizers;
      f.erase(std::remove(f.begin(), f.end(), std::string(kFinalizer)), f.end());
    } else if (auto* r = std::get_if<RecordIncarnation>(&a)) {
      if (!o.cluster.status) o.cluster.status = api::RayDogClusterStatus{};
      o.cluster.status->work_requirement =
          api::WorkRequirementStatus{std::nullopt, r->work_requirement_name, std::nullopt};
      outcome.recorded_incarnation = r->incarnation;
      if (o.work_requirement) old_wrs.push_back(*o.work_requirement);
      o.work_requirement.reset();  // observe looks the new name up: not found yet
      o.tasks.clear();
      o.incarnation = r->incarnation;
    } else if (auto* p = std::get_if<ProvisionPool>(&a)) {
      const auto& u = p->request.requirement_template_usage;
      REQUIRE_MESSAGE(pool_named(u.requirement_name) == nullptr, "duplicate pool " << u.requirement_name);
      REQUIRE(yellowdog_allowed());
      ObservedPool op;
      op.pool.type = std::string(yd::kProvisionedWorkerPoolType);
      op.pool.id = id("wrkrpl");
      op.pool.name = u.requirement_name;
      op.pool.namespace_ = u.requirement_namespace;
      op.pool.status = "PENDING";
      op.pool.properties = p->request.provisioned_properties;
      op.pool.compute_requirement_id = id("compreq");
      yd::ComputeRequirement cr;
      cr.id = *op.pool.compute_requirement_id;
      cr.name = u.requirement_name;
      cr.status = "PROVISIONING";
      cr.target_instance_count = u.target_instance_count;
      op.compute_requirement = cr;
      o.pools.push_back(op);
      ++creates;
    } else if (auto* r = std::get_if<ResizePool>(&a)) {
      for (auto& p : o.pools)
        if (p.pool.id == r->pool_id) p.compute_requirement->target_instance_count = r->size;
    } else if (auto* s = std::get_if<ShutdownPool>(&a)) {
      for (auto& p : o.pools)
        if (p.pool.id == s->pool_id) {
          REQUIRE_MESSAGE(!yd::is_finished(p.pool.status), "shutdown of a finished pool " << s->pool_name);
          p.pool.status = "SHUTDOWN";
        }
    } else if (auto* t = std::get_if<TerminateComputeRequirement>(&a)) {
      for (auto& p : o.pools)
        if (p.pool.compute_requirement_id == t->compute_requirement_id) {
          p.compute_requirement->status = "TERMINATED";
          p.pool.status = "TERMINATED";
        }
    } else if (auto* c = std::get_if<CreateWorkRequirement>(&a)) {
      REQUIRE_MESSAGE(!o.work_requirement.has_value(), "duplicate WR");
      REQUIRE(yellowdog_allowed());
      for (const auto& old : old_wrs) REQUIRE_MESSAGE(old.name != c->work_requirement.name, "WR name reused");
      yd::WorkRequirement wr = c->work_requirement;
      wr.id = id("wrkreq");
      wr.status = "RUNNING";
      wr.created_time = ts();
      for (auto& g : wr.task_groups) {
        g.id = id("wrktgrp");
        g.status = "PENDING";
      }
      o.work_requirement = wr;
      ++creates;
    } else if (auto* g = std::get_if<AddTaskGroups>(&a)) {
      REQUIRE(o.work_requirement);
      REQUIRE(o.work_requirement->id == g->work_requirement_id);
      for (auto group : g->groups) {
        REQUIRE_MESSAGE(group_named(group.name) == nullptr, "duplicate group " << group.name);
        group.id = id("wrktgrp");
        group.status = "PENDING";
        o.work_requirement->task_groups.push_back(group);
      }
    } else if (auto* at = std::get_if<AddTasks>(&a)) {
      yd::TaskGroup* group = group_named(at->task_group_name);
      REQUIRE_MESSAGE(group != nullptr, "AddTasks to missing group " << at->task_group_name);
      if (at->task_group_id) REQUIRE(group->id == *at->task_group_id);
      auto& list = o.tasks[group->name];
      for (auto task : at->tasks) {
        for (const auto& existing : list)
          REQUIRE_MESSAGE(existing.name != task.name, "duplicate task " << *task.name);
        task.id = id("task");
        task.status = "READY";
        task.task_group_id = group->id;
        list.push_back(task);
        ++creates;
      }
    } else if (auto* ct = std::get_if<CancelTasks>(&a)) {
      for (const auto& tid : ct->task_ids) {
        yd::Task* t = task_by_id(tid);
        REQUIRE(t != nullptr);
        if (is_live(*t)) finish_task(*t, yd::is_waiting(*t->status) ? "CANCELLED" : "ABORTED");
      }
    } else if (auto* cw = std::get_if<CancelWorkRequirement>(&a)) {
      REQUIRE(o.work_requirement);
      REQUIRE(o.work_requirement->id == cw->work_requirement_id);
      for (auto& [g, list] : o.tasks)
        for (auto& t : list)
          if (is_live(t)) finish_task(t, yd::is_waiting(*t.status) ? "CANCELLED" : "ABORTED");
      o.work_requirement->status = "CANCELLED";
      o.work_requirement->status_changed_time = ts();
      for (auto& gr : o.work_requirement->task_groups) gr.status = "CANCELLED";
    } else if (auto* e = std::get_if<EmitEvent>(&a)) {
      events.push_back(*e);
    }
  }

  // No YellowDog create while the spec is invalid or credentials are missing, and never without the
  // finalizer.
  bool yellowdog_allowed() const {
    const auto& f = o.cluster.metadata.finalizers;
    return f && std::find(f->begin(), f->end(), std::string(kFinalizer)) != f->end();
  }

  // The platform moves on: pools boot, tasks start, observe resolves the head/observability addresses.
  void progress() {
    for (auto& p : o.pools) {
      if (yd::is_finished(p.pool.status)) continue;
      p.pool.status = "RUNNING";
      if (p.compute_requirement) p.compute_requirement->status = "RUNNING";
      yd::StatusCounts nodes;
      nodes.status_counts["RUNNING"] =
          p.compute_requirement ? p.compute_requirement->target_instance_count.value_or(0) : 0;
      p.pool.node_summary = nodes;
    }
    if (o.work_requirement && o.work_requirement->status == "RUNNING")
      for (auto& [g, list] : o.tasks)
        for (auto& t : list)
          if (is_live(t) && !is_executing(t)) {
            t.status = "EXECUTING";
            t.started_time = ts();
            t.node_id = "node-" + *t.id;
          }
    resolve();
  }

  std::string ip_for(const std::string& task_id) {
    auto it = ips.find(task_id);
    if (it != ips.end()) return it->second;
    return ips[task_id] = "10.0.0." + std::to_string(next_ip++);
  }
  std::map<std::string, std::string> ips;

  // What observe would resolve for the current head/observability task.
  void resolve() {
    o.head.reset();
    o.observability.reset();
    View v = view(o, now);
    if (v.head_task && is_executing(*v.head_task)) {
      NodeAddress a;
      a.task_id = *v.head_task->id;
      a.node_id = v.head_task->node_id;
      a.private_ip = ip_for(a.task_id);
      a.public_ip = "203.0.113." + a.private_ip->substr(a.private_ip.value().rfind('.') + 1);
      a.node_status = "RUNNING";
      if (lost_nodes.count(a.task_id)) a.node_status = "LOST";
      o.head = a;
    }
    if (v.observability_task && is_executing(*v.observability_task)) {
      NodeAddress a;
      a.task_id = *v.observability_task->id;
      a.private_ip = ip_for(a.task_id);
      a.node_status = "RUNNING";
      o.observability = a;
    }
  }
  std::set<std::string> lost_nodes;

  // One reconcile: observe (already in o), plan, act, status.
  Actions reconcile(std::size_t limit = SIZE_MAX) {
    resolve();
    // Like the loop: plan and status both see the observation made before act ran.
    const Observed before = o;
    Actions actions = plan(before, now);
    ActOutcome outcome = apply(actions, limit);
    auto next = compute_status(before, outcome, before.cluster.status, now);
    if (status_changed(before.cluster.status, next)) o.cluster.status = next;
    o.incarnation = incarnation_from_status(o.cluster);
    last = actions;
    return actions;
  }
  Actions last;

  // True when a plan is steady: no mutation and no fast requeue (a steady requeue or none at all).
  bool steady(const Actions& a) const {
    if (mutations(a) != 0) return false;
    for (const auto* r : all_of<RequeueAfter>(a))
      if (r->after < o.options.requeue_steady) return false;
    return true;
  }

  // Reconcile + progress until the plan is steady (bounded).
  int converge(int max_rounds = 200) {
    for (int i = 0; i < max_rounds; ++i) {
      Actions a = reconcile();
      progress();
      now += 2s;
      if (steady(a) && steady(plan(o, now))) return i;
    }
    FAIL("did not converge: last plan " << dump(last));
    return -1;
  }

  static std::string dump(const Actions& actions) {
    std::string s;
    for (const auto& a : actions) s += describe(a) + "; ";
    return s;
  }

  std::vector<const yd::Task*> live_tasks(std::string_view group_prefix) const {
    std::vector<const yd::Task*> out;
    for (const auto& [g, list] : o.tasks)
      if (g.starts_with(group_prefix))
        for (const auto& t : list)
          if (is_live(t)) out.push_back(&t);
    return out;
  }
  // Live tasks of groups starting with `group_prefix`, by name.
  std::vector<const yd::Task*> live_tasks_by_name(std::string_view group_prefix) const {
    auto tasks = live_tasks(group_prefix);
    std::sort(tasks.begin(), tasks.end(), [](auto* a, auto* b) { return *a->name < *b->name; });
    return tasks;
  }
  // The name of the task group `t` is in ("" when it is not one of o.tasks').
  std::string group_of(const yd::Task* t) const {
    for (const auto& [g, list] : o.tasks)
      for (const auto& x : list)
        if (&x == t) return g;
    return "";
  }
  std::size_t live_pools() const {
    return std::count_if(o.pools.begin(), o.pools.end(),
                         [](const auto& p) { return !yd::is_finished(p.pool.status); });
  }
  const api::Condition* condition(std::string_view type) const {
    if (!o.cluster.status) return nullptr;
    for (const auto& c : o.cluster.status->conditions)
      if (c.type == type) return &c;
    return nullptr;
  }
  std::string cond_status(std::string_view type) const {
    auto* c = condition(type);
    return c ? c->status : "";
  }
  std::string cond_reason(std::string_view type) const {
    auto* c = condition(type);
    return c ? c->reason : "";
  }
  std::optional<api::Phase> phase() const {
    return o.cluster.status ? o.cluster.status->phase : std::nullopt;
  }
};

}  // namespace raydog::reconcile::testing
