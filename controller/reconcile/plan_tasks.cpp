// Plan steps for the Ray tasks, in dependency order: the observability task (its node's IP goes into
// every other task's environment), the head task (which waits for it), the worker tasks (which wait for
// the head and point at its IP). A step whose prerequisite is not running yet plans nothing; the step
// that waits has already marked the plan converging.
#include <set>

#include "controller/reconcile/planner.hpp"

namespace raydog::reconcile {

namespace yd = yellowdog;
namespace names = api::names;

namespace {

// The singleton's task is submitted and waiting to run: its address comes once it starts (a wait a
// ChangeFeed reports, see Planner::awaiting_start).
bool starting(const yd::Task* t) {
  return t && is_live(*t) && !is_executing(*t);
}

int next_ordinal_of(const RoleView& r) {
  int max = 0;
  for (const yd::Task* t : r.tasks)
    if (t->name) max = std::max(max, names::task_ordinal(r.names.kind, *t->name).value_or(0));
  return max + 1;
}

// Keeps exactly one live task of a singleton role (head/observability). `stale`: the current task runs
// with an outdated environment (cancelled and replaced without backoff: nothing failed).
void singleton(Planner& p, const RoleView& r, const yd::Task* current, const std::optional<NodeAddress>& addr,
               std::map<std::string, std::string> env, std::string_view what, bool stale = false) {
  std::vector<std::string> cancel;
  for (const yd::Task* t : r.tasks)
    if (is_live(*t) && t != current && t->id) cancel.push_back(*t->id);
  bool lost = node_gone(addr, current);
  if (lost && current->id) cancel.push_back(*current->id);
  if (!cancel.empty()) {
    p.out.push_back(CancelTasks{cancel, true, CancelReason::kReplace, r.group_name});
    p.converging = true;
  }
  if (current && !lost) {
    if (!is_executing(*current)) p.awaiting_start = true;
    return;
  }
  if (!stale && p.in_backoff(r)) return;
  const bool replacing = !r.history.empty();
  std::vector<yd::Task> tasks{task(r.names.kind, next_ordinal_of(r), p.script(r), std::move(env))};
  p.add_tasks(r, std::move(tasks));
  std::string reason = r.names.kind == TaskKind::kHead
                           ? (replacing ? "HeadReplaced" : "HeadStarted")
                           : (replacing ? "ObservabilityReplaced" : "ObservabilityStarted");
  std::string why = lost        ? ": its node was lost"
                    : stale     ? ": the running one had an outdated environment"
                    : replacing ? ": " + (r.last_error.empty() ? std::string("no live task") : r.last_error)
                                : "";
  p.event(replacing ? "Warning" : "Normal", reason, "Added " + std::string(what) + " task" + why);
}

// Observability is disabled, or its node's address is known.
bool observability_ready(const View& v) {
  return !v.observability || v.observability_ip.has_value();
}

// The observability node moved (its task was replaced): the head runs with the old OBSERVABILITY_HOST.
bool head_points_elsewhere(const View& v) {
  if (!v.observability_ip || !v.head_task) return false;
  const std::string* head_obs = env_of(*v.head_task, kObservabilityHostEnv);
  return !head_obs || *head_obs != *v.observability_ip;
}

std::map<std::string, std::string> worker_env(const View& v) {
  std::map<std::string, std::string> env{{std::string(kHeadIpEnv), *v.head_ip},
                                         {"RAY_HEAD_NODE_PRIVATE_IP", *v.head_ip}};
  if (v.observability_ip) env[std::string(kObservabilityHostEnv)] = *v.observability_ip;
  return env;
}

// Cancel order for surplus tasks: waiting ones first (they cost nothing), newest first.
std::vector<std::string> surplus(std::vector<const yd::Task*> live, std::int64_t count, TaskKind kind) {
  std::sort(live.begin(), live.end(), [&](const yd::Task* a, const yd::Task* b) {
    bool aw = !a->status || yd::is_waiting(*a->status), bw = !b->status || yd::is_waiting(*b->status);
    if (aw != bw) return aw;
    int ao = a->name ? names::task_ordinal(kind, *a->name).value_or(0) : 0;
    int bo = b->name ? names::task_ordinal(kind, *b->name).value_or(0) : 0;
    return ao > bo;
  });
  std::vector<std::string> ids;
  for (const yd::Task* t : live) {
    if (static_cast<std::int64_t>(ids.size()) >= count) break;
    if (t->id) ids.push_back(*t->id);
  }
  return ids;
}

// One worker pool: stale tasks (pointed at an old head or observability node) cancelled, then as many
// fresh ones as desired. Returns how many were re-pointed; `old_ips` collects the heads they pointed at.
std::int64_t converge_workers(Planner& p, const RoleView& w, std::set<std::string>& old_ips) {
  const auto& v = p.v;
  const std::string& ip = *v.head_ip;
  std::vector<const yd::Task*> fresh;
  std::vector<std::string> stale;
  for (const yd::Task* t : w.tasks) {
    if (!is_live(*t)) continue;
    const std::string* head = env_of(*t, kHeadIpEnv);
    const std::string* obs = env_of(*t, kObservabilityHostEnv);
    const bool obs_stale = v.observability_ip && (!obs || *obs != *v.observability_ip);
    if (!head || *head != ip || obs_stale) {
      if (t->id) stale.push_back(*t->id);
      old_ips.insert(head ? *head : std::string("(none)"));
    } else {
      fresh.push_back(t);
    }
  }
  if (!stale.empty()) {
    p.out.push_back(CancelTasks{stale, true, CancelReason::kStale, w.group_name});
    p.converging = true;
  }
  auto have = static_cast<std::int64_t>(fresh.size());
  if (have < w.desired) {
    if (!p.in_backoff(w)) {
      std::vector<yd::Task> add;
      int ordinal = next_ordinal_of(w);
      for (std::int64_t i = have; i < w.desired; ++i) {
        auto env = worker_env(v);
        env[std::string(kRayNodeTypeEnv)] = w.names.pool;
        if (w.pool_spec && w.pool_spec->ray_resources)
          env.merge(ray_resources_env(*w.pool_spec->ray_resources));
        env[std::string(kRayInstanceIdEnv)] = ray_instance_id(w.group_name, names::task(TaskKind::kWorker, ordinal));
        add.push_back(task(TaskKind::kWorker, ordinal++, p.script(w), env));
      }
      p.add_tasks(w, std::move(add));
      p.event("Normal", "WorkersAdded",
              "Added " + std::to_string(w.desired - have) + " worker task(s) to pool " + w.names.pool);
    } else {
      p.converging = true;
    }
  } else if (have > w.desired) {
    p.out.push_back(
        CancelTasks{surplus(fresh, have - w.desired, TaskKind::kWorker), true, CancelReason::kSurplus, w.group_name});
    p.event(
        "Normal", "WorkersCancelled",
        "Cancelled " + std::to_string(have - w.desired) + " surplus worker task(s) of pool " + w.names.pool);
    p.converging = true;
  } else {
    std::int64_t exec = 0;
    for (const yd::Task* t : fresh) exec += is_executing(*t) ? 1 : 0;
    if (exec < w.desired) p.awaiting_start = true;
  }
  return static_cast<std::int64_t>(stale.size());
}

}  // namespace

Flow observability_task(Planner& p) {
  if (!p.v.observability) return Flow::kContinue;
  singleton(p, *p.v.observability, p.v.observability_task, p.o.observability, {}, "observability");
  if (!p.v.observability_ip && !starting(p.v.observability_task)) p.converging = true;
  return Flow::kContinue;
}

Flow head_task(Planner& p) {
  const auto& v = p.v;
  if (!observability_ready(v)) return Flow::kContinue;
  std::map<std::string, std::string> head_env;
  if (v.observability_ip) head_env[std::string(kObservabilityHostEnv)] = *v.observability_ip;
  if (head_points_elsewhere(v)) {
    // Replaced like a lost head, without backoff; the workers follow once it runs.
    const std::string* head_obs = env_of(*v.head_task, kObservabilityHostEnv);
    p.event("Warning", "ObservabilityMoved",
            "Observability node moved from " + (head_obs ? *head_obs : std::string("(none)")) + " to " +
                *v.observability_ip + "; restarting the head and re-pointing the workers");
    singleton(p, *v.head, nullptr, std::nullopt, head_env, "head", true);
    p.converging = true;
    return Flow::kContinue;
  }
  singleton(p, *v.head, v.head_task, p.o.head, head_env, "head");
  if (!v.head_ip && !starting(v.head_task)) p.converging = true;
  return Flow::kContinue;
}

Flow worker_tasks(Planner& p) {
  const auto& v = p.v;
  if (!observability_ready(v) || head_points_elsewhere(v) || !v.head_ip) return Flow::kContinue;
  // The IPs the stale worker tasks point at name the old head (status may already have lost it).
  std::set<std::string> old_ips;
  std::int64_t repointed = 0;
  for (const auto& w : v.workers) repointed += converge_workers(p, w, old_ips);
  if (repointed > 0) {
    std::string olds;
    for (const auto& o_ip : old_ips) olds += (olds.empty() ? "" : ", ") + o_ip;
    p.event("Warning", "HeadReplaced",
            "Head IP changed from " + olds + " to " + *v.head_ip + "; re-pointing " +
                std::to_string(repointed) + " worker task(s)");
  }
  return Flow::kContinue;
}

}  // namespace raydog::reconcile
