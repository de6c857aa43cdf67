// Plan steps that drain what no role owns any more: groups and pools of old revisions, removed pools,
// superseded attempts. They go once what replaces them runs (a revision change keeps serving until the
// new revision's tasks are all EXECUTING); a pool nobody wants (removed, or `nodes: 0`) goes at once.
#include <algorithm>

#include "controller/reconcile/planner.hpp"

namespace raydog::reconcile {

namespace yd = yellowdog;

namespace {

const RoleView* role_for(const View& v, std::string_view key) {
  if (v.head->names.key == key) return &*v.head;
  if (v.observability && v.observability->names.key == key) return &*v.observability;
  for (const auto& w : v.workers)
    if (w.names.key == key) return &w;
  return nullptr;
}

// The role a group or pool served (its role key) has its replacement running, or no longer exists.
bool drain_ok(const View& v, const std::optional<std::string>& key) {
  if (!key) return true;
  const RoleView* r = role_for(v, *key);
  if (!r || r->desired <= 0) return true;
  return r->executing >= r->desired;
}

template <class Pred>
bool any_role(const View& v, Pred is) {
  if (is(*v.head) || (v.observability && is(*v.observability))) return true;
  return std::any_of(v.workers.begin(), v.workers.end(), is);
}

// Which role a pool served: the WR group that targets its worker tag says (group tag = role key).
std::optional<std::string> role_key_of(const View& v, const std::string& worker_tag) {
  std::optional<std::string> key;
  if (v.wr && !v.bump)
    for (const auto& g : v.wr->task_groups) {
      const auto& tags = g.run_specification.worker_tags;
      if (tags && std::find(tags->begin(), tags->end(), worker_tag) != tags->end()) key = g.tag;
    }
  return key;
}

}  // namespace

Flow obsolete_groups(Planner& p) {
  const auto& v = p.v;
  if (!v.wr || v.bump) return Flow::kContinue;
  for (const auto& g : v.wr->task_groups) {
    if (any_role(v, [&](const RoleView& r) { return r.group == &g; })) continue;
    if (!drain_ok(v, g.tag)) {
      p.converging = true;
      continue;
    }
    std::vector<std::string> ids;
    if (auto it = p.o.tasks.find(g.name); it != p.o.tasks.end())
      for (const auto& t : it->second)
        if (is_live(t) && t.id) ids.push_back(*t.id);
    if (!ids.empty()) {
      p.out.push_back(CancelTasks{ids, true, CancelReason::kObsolete, g.name});
      p.converging = true;
    }
  }
  return Flow::kContinue;
}

Flow obsolete_pools(Planner& p) {
  const auto& v = p.v;
  for (const auto& pool : p.o.pools) {
    if (!pool_live(pool) || any_role(v, [&](const RoleView& r) { return r.pool == &pool && r.desired > 0; }))
      continue;
    const std::string tag = pool.pool.properties && pool.pool.properties->worker_tag
                                ? *pool.pool.properties->worker_tag
                                : pool.pool.name.value_or("");
    // A pool of the current revision that is no longer wanted (nodes: 0) is drained at once.
    const bool current_revision = any_role(v, [&](const RoleView& r) { return r.names.revision == tag; });
    if (!current_revision && !drain_ok(v, role_key_of(v, tag))) {
      p.converging = true;
      continue;
    }
    const std::string name = pool.pool.name.value_or(pool.pool.id);
    p.out.push_back(ShutdownPool{pool.pool.id, name});
    p.event("Normal", "PoolRemoved",
            "Shutting down worker pool " + name + " (no longer in the spec or replaced)");
    p.converging = true;
  }
  return Flow::kContinue;
}

Flow finished_pool_crs(Planner& p) {
  // Pools shut down (by us, or from outside) whose compute requirement still runs.
  for (const auto& pool : p.o.pools) {
    if (pool_live(pool) || cr_done(pool) || !pool.pool.compute_requirement_id) continue;
    if (pool.pool.status != "SHUTDOWN") continue;
    p.out.push_back(TerminateComputeRequirement{*pool.pool.compute_requirement_id,
                                                pool.pool.name.value_or(pool.pool.id)});
    p.converging = true;
  }
  return Flow::kContinue;
}

}  // namespace raydog::reconcile
