#include "controller/ray/decisions.hpp"

#include <algorithm>

#include "api/defaults.hpp"
#include "api/duration.hpp"
#include "api/names.hpp"
#include "controller/reconcile/desired.hpp"
#include "controller/util/time.hpp"

namespace raydog::ray {

namespace yd = yellowdog;
using reconcile::Actions;
using reconcile::CancelReason;
using reconcile::CancelTasks;

namespace {

Millis duration_or(const std::optional<api::Duration>& value, std::string_view fallback) {
  if (value && value->parsed() && value->parsed()->count() > 0)
    return std::chrono::duration_cast<Millis>(*value->parsed());
  return std::chrono::duration_cast<Millis>(*api::Duration(fallback).parsed());
}

std::string describe_duration(Millis d) {
  return api::format_go_duration(std::chrono::duration_cast<api::Nanos>(d));
}

std::string name_of(const yd::Task& t) {
  return t.name.value_or(t.id.value_or("?"));
}

// Victim order (decisions.hpp): lower sorts first. `chosen`: the autoscaler's victims.
int victim_rank(const TaskNode& tn, const std::set<std::string>& chosen) {
  if (tn.node && (tn.node->status == NodeStatus::kDead || tn.node->status == NodeStatus::kDraining)) return 0;
  if (chosen.count(*tn.task->id)) return 1;
  if (!tn.node) return 2;
  if (tn.node->status == NodeStatus::kIdle) return 3;
  return 4;
}

bool before(const TaskNode& a, const TaskNode& b, const std::set<std::string>& chosen) {
  const int ra = victim_rank(a, chosen), rb = victim_rank(b, chosen);
  if (ra != rb) return ra < rb;
  if (ra == 2) {
    const bool aw = !a.task->status || yd::is_waiting(*a.task->status);
    const bool bw = !b.task->status || yd::is_waiting(*b.task->status);
    if (aw != bw) return aw;
  }
  if (ra == 3 && a.node->idle_ms != b.node->idle_ms) return a.node->idle_ms > b.node->idle_ms;
  const int ao = api::names::task_ordinal(api::names::TaskKind::kWorker, name_of(*a.task)).value_or(0);
  const int bo = api::names::task_ordinal(api::names::TaskKind::kWorker, name_of(*b.task)).value_or(0);
  return ao > bo;  // newest first
}

struct Decider {
  const reconcile::Observed& o;
  const RayView& ray;
  const std::map<std::string, TimePoint>& since_before;
  const RayPolicy& policy;
  TimePoint now;
  RayDecisions out;
  std::set<std::string> taken;  // tasks some action already cancels, or a victim

  void warn(std::string reason, std::string message) {
    out.events.push_back({"Warning", std::move(reason), std::move(message)});
  }

  void victim(GroupRelease& g, const TaskNode& tn) {
    const yd::Task& t = *tn.task;
    const std::string& id = *t.id;
    auto done = [&] {
      g.cancel.push_back(id);
      if (g.reason == CancelReason::kSurplus && t.node_id) g.release.push_back(*t.node_id);
    };
    if (!tn.node || tn.node->status == NodeStatus::kDead) return done();
    if (tn.node->status == NodeStatus::kDraining) {
      const auto was = since_before.find(id);
      const TimePoint since = was == since_before.end() ? now : was->second;
      if (now - since >= policy.drain_timeout) {
        warn("DrainTimedOut", "Ray node " + tn.node->hex_id() + " of task " + name_of(t) +
                                  " is still draining after drainTimeout " + describe_duration(policy.drain_timeout) +
                                  ": cancelling the task anyway");
        return done();
      }
      out.draining_since[id] = since;
      ++g.in_flight;
      return;
    }
    DrainOrder d;
    d.task_id = id;
    d.task_name = name_of(t);
    d.node_id = tn.node->node_id;
    if (tn.node->status == NodeStatus::kIdle) {
      d.reason = DrainReason::kIdleTermination;
      d.message = "raydog-operator: scale-down of " + tn.group + " (idle node)";
    } else {
      d.reason = DrainReason::kPreemption;
      d.deadline = now + policy.drain_timeout;
      d.message = "raydog-operator: scale-down of " + tn.group + " (busy node, deadline drainTimeout " +
                  describe_duration(policy.drain_timeout) + ")";
    }
    out.drains.push_back(std::move(d));
    ++g.in_flight;
  }

  void group(const CancelTasks& planned) {
    GroupRelease g;
    g.group = planned.group;
    g.reason = planned.reason;
    std::vector<TaskNode> candidates;
    if (auto it = o.tasks.find(planned.group); it != o.tasks.end())
      for (const auto& t : it->second)
        if (t.id && reconcile::is_live(t) && !taken.count(*t.id))
          if (const TaskNode* tn = ray.find(*t.id)) candidates.push_back(*tn);
    std::sort(candidates.begin(), candidates.end(),
              [&](const TaskNode& a, const TaskNode& b) { return before(a, b, o.scale_down_victims); });
    const std::size_t count =
        planned.reason == CancelReason::kObsolete ? candidates.size() : std::min(candidates.size(), planned.task_ids.size());
    for (std::size_t i = 0; i < count; ++i) {
      taken.insert(*candidates[i].task->id);
      victim(g, candidates[i]);
    }
    out.groups.push_back(std::move(g));
  }

  void heal(const reconcile::RoleView& w) {
    for (const yd::Task* t : w.tasks) {
      if (!t->id || !reconcile::is_executing(*t) || taken.count(*t->id)) continue;
      const TaskNode* tn = ray.find(*t->id);
      if (!tn) continue;
      if (tn->node && tn->node->status == NodeStatus::kDead) {
        out.heal.push_back(*t->id);
        warn("RayNodeLost", "Ray node " + tn->node->hex_id() + " of task " + name_of(*t) + " (pool " + w.names.pool +
                                ") is DEAD while its task runs: replacing the task");
      } else if (!tn->node && t->started_time) {
        const auto started = parse_rfc3339(*t->started_time);
        if (started && now - *started >= policy.join_timeout) {
          out.heal.push_back(*t->id);
          warn("RayJoinTimeout", "task " + name_of(*t) + " (pool " + w.names.pool + ") has run for rayJoinTimeout " +
                                     describe_duration(policy.join_timeout) +
                                     " without its Ray node joining the head: replacing the task");
        }
      }
    }
  }
};

}  // namespace

RayPolicy RayPolicy::of(const api::RayDogClusterSpec& spec) {
  RayPolicy p;
  p.join_timeout = duration_or(spec.ray_join_timeout, api::kDefaultRayJoinTimeout);
  p.unresponsive_timeout = duration_or(spec.head_unresponsive_timeout, api::kDefaultHeadUnresponsiveTimeout);
  p.drain_timeout = duration_or(spec.drain_timeout, api::kDefaultDrainTimeout);
  return p;
}

RayDecisions decide(const reconcile::Observed& observed, const reconcile::View& view, const Actions& planned,
                    const RayView& ray, const std::map<std::string, TimePoint>& draining_since,
                    bool session_changed, const RayPolicy& policy, TimePoint now) {
  Decider d{observed, ray, draining_since, policy, now, {}, {}};
  for (const auto& a : planned)
    if (const auto* c = std::get_if<CancelTasks>(&a))
      if (c->reason == CancelReason::kReplace || c->reason == CancelReason::kStale)
        d.taken.insert(c->task_ids.begin(), c->task_ids.end());
  for (const auto& a : planned)
    if (const auto* c = std::get_if<CancelTasks>(&a))
      if (c->reason == CancelReason::kSurplus || c->reason == CancelReason::kObsolete) d.group(*c);
  if (!session_changed && ray.head && alive(*ray.head))
    for (const auto& w : view.workers) d.heal(w);
  return std::move(d.out);
}

std::optional<std::string> group_of_pool(const reconcile::Observed& o, const std::string& pool_id) {
  std::optional<std::string> tag;
  for (const auto& p : o.pools)
    if (p.pool.id == pool_id) tag = p.pool.properties && p.pool.properties->worker_tag ? *p.pool.properties->worker_tag
                                                                                  : p.pool.name.value_or("");
  if (!tag || !o.work_requirement) return std::nullopt;
  for (const auto& g : o.work_requirement->task_groups) {
    const auto& tags = g.run_specification.worker_tags;
    if (tags && std::find(tags->begin(), tags->end(), *tag) != tags->end()) return g.name;
  }
  return std::nullopt;
}

namespace {

bool is_requeue(const reconcile::Action& a) {
  return std::holds_alternative<reconcile::RequeueAfter>(a);
}

// Inserts `more` before the trailing RequeueAfter (if any).
void append(Actions& actions, Actions more) {
  auto at = actions.end();
  if (!actions.empty() && is_requeue(actions.back())) at = actions.end() - 1;
  actions.insert(at, std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

// YellowDog nodes of `group`'s finished tasks (newest first) that no live task of the group uses, at most
// as many as the shrink of pool `pool_id` to `size` still needs after `releasing`.
std::vector<std::string> idle_nodes(const reconcile::Observed& o, const std::string& group, const std::string& pool_id,
                                    std::int64_t size, const std::vector<std::string>& releasing) {
  std::int64_t current = 0;
  for (const auto& p : o.pools)
    if (p.pool.id == pool_id && p.compute_requirement && p.compute_requirement->target_instance_count)
      current = *p.compute_requirement->target_instance_count;
  std::int64_t wanted = current - size - static_cast<std::int64_t>(releasing.size());
  const auto it = o.tasks.find(group);
  if (wanted <= 0 || it == o.tasks.end()) return {};
  std::set<std::string> busy(releasing.begin(), releasing.end());
  for (const auto& t : it->second)
    if (reconcile::is_live(t) && t.node_id) busy.insert(*t.node_id);
  std::vector<const yd::Task*> finished;
  for (const auto& t : it->second)
    if (!reconcile::is_live(t) && t.node_id && !busy.count(*t.node_id)) finished.push_back(&t);
  std::sort(finished.begin(), finished.end(), [](const yd::Task* a, const yd::Task* b) {
    return a->finished_time.value_or("") > b->finished_time.value_or("");
  });
  std::vector<std::string> out;
  for (const yd::Task* t : finished) {
    if (static_cast<std::int64_t>(out.size()) >= wanted) break;
    if (std::find(out.begin(), out.end(), *t->node_id) == out.end()) out.push_back(*t->node_id);
  }
  return out;
}

// The name of the live pool whose VMs run `group`'s tasks (for the NodesReleased event); the group's name
// when no pool is found.
std::string pool_of_group(const reconcile::Observed& o, const std::string& group) {
  for (const auto& p : o.pools)
    if (reconcile::pool_live(p) && group_of_pool(o, p.pool.id) == group) return p.pool.name.value_or(p.pool.id);
  return group;
}

const GroupRelease* release_of(const RayDecisions& d, const std::string& group) {
  for (const auto& g : d.groups)
    if (g.group == group) return &g;
  return nullptr;
}

}  // namespace

void rewrite(Actions& actions, const RayDecisions& d, const reconcile::Observed& observed) {
  Actions out, after;  // `after`: resizes of groups done now, run once their nodes were released
  bool in_flight = false;
  bool surplus = false;
  for (const auto& g : d.groups) surplus = surplus || g.reason == CancelReason::kSurplus;
  for (auto& a : actions) {
    // Plan announces a scale-down as done; here it is a drain first (DrainRequested, then TasksCancelled).
    if (auto* e = std::get_if<reconcile::EmitEvent>(&a); e && surplus && e->reason == "WorkersCancelled") continue;
    if (auto* c = std::get_if<CancelTasks>(&a);
        c && (c->reason == CancelReason::kSurplus || c->reason == CancelReason::kObsolete)) {
      const GroupRelease* g = release_of(d, c->group);
      if (!g) continue;
      if (g->in_flight > 0) in_flight = true;
      if (!g->cancel.empty()) out.push_back(CancelTasks{g->cancel, true, c->reason, c->group});
      if (!g->release.empty()) out.push_back(reconcile::ReleaseNodes{g->release, pool_of_group(observed, c->group)});
      continue;
    }
    if (auto* r = std::get_if<reconcile::ResizePool>(&a)) {
      const auto group = group_of_pool(observed, r->pool_id);
      const GroupRelease* g = group ? release_of(d, *group) : nullptr;
      if (g && g->in_flight > 0) continue;  // held until Ray let the victims go
      // A shrink releases the VMs of the pool's drained (finished) tasks by name before YellowDog is
      // told the new size, so it never picks a VM itself; then the resize, after every release.
      std::vector<std::string> idle;
      if (group) idle = idle_nodes(observed, *group, r->pool_id, r->size, g ? g->release : std::vector<std::string>{});
      if (g || !idle.empty()) {
        if (!idle.empty()) after.push_back(reconcile::ReleaseNodes{idle, r->pool_name});
        after.push_back(std::move(a));
        continue;
      }
    }
    if (auto* s = std::get_if<reconcile::ShutdownPool>(&a)) {
      const auto group = group_of_pool(observed, s->pool_id);
      const GroupRelease* g = group ? release_of(d, *group) : nullptr;
      if (g && g->in_flight > 0) continue;  // its nodes are still draining
    }
    out.push_back(std::move(a));
  }
  Actions extra = std::move(after);
  if (!d.heal.empty()) extra.push_back(CancelTasks{d.heal, true, CancelReason::kReplace, ""});
  for (const auto& e : d.events) extra.push_back(reconcile::EmitEvent{e.type, e.reason, e.message});
  append(out, std::move(extra));
  if (in_flight || !d.heal.empty())
    for (auto& a : out)
      if (auto* r = std::get_if<reconcile::RequeueAfter>(&a))
        r->after = std::min(r->after, observed.options.requeue_converging);
  actions = std::move(out);
}

void hold_scale_down(Actions& actions, const reconcile::Observed& observed) {
  Actions out;
  std::set<std::string> held;  // groups whose scale-down waits
  for (const auto& a : actions)
    if (const auto* c = std::get_if<CancelTasks>(&a))
      if (c->reason == CancelReason::kSurplus || c->reason == CancelReason::kObsolete) held.insert(c->group);
  for (auto& a : actions) {
    if (const auto* c = std::get_if<CancelTasks>(&a); c && held.count(c->group)) continue;
    if (const auto* r = std::get_if<reconcile::ResizePool>(&a)) {
      const auto group = group_of_pool(observed, r->pool_id);
      if (group && held.count(*group)) continue;
    }
    if (const auto* s = std::get_if<reconcile::ShutdownPool>(&a)) {
      const auto group = group_of_pool(observed, s->pool_id);
      if (group && held.count(*group)) continue;
    }
    out.push_back(std::move(a));
  }
  actions = std::move(out);
}

}  // namespace raydog::ray
