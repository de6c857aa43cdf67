#include "controller/reconcile/view.hpp"

#include <algorithm>

#include "api/defaults.hpp"
#include "api/duration.hpp"

namespace raydog::reconcile {

namespace yd = yellowdog;
namespace names = api::names;

bool pool_live(const ObservedPool& p) {
  return !yd::is_finished(p.pool.status);
}

bool cr_done(const ObservedPool& p) {
  if (p.compute_requirement)
    return p.compute_requirement->status == "TERMINATED" || p.compute_requirement->status == "TERMINATING";
  // Without the CR, the pool's own state says it: TERMINATED follows the CR's termination.
  return p.pool.status == "TERMINATED" || !p.pool.compute_requirement_id;
}

bool wr_alive(const yd::WorkRequirement& wr) {
  return !wr.status || (!yd::is_finished(*wr.status) && *wr.status != "CANCELLING");
}

bool node_gone(const std::optional<NodeAddress>& a, const yd::Task* t) {
  return a && t && t->id && a->task_id == *t->id && a->node_status && yd::is_gone(*a->node_status);
}

namespace {

std::optional<TimePoint> ts(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return yd::parse_timestamp(*s);
}

bool has_finalizer(const api::RayDogCluster& c) {
  if (!c.metadata.finalizers) return false;
  const auto& f = *c.metadata.finalizers;
  return std::find(f.begin(), f.end(), kFinalizer) != f.end();
}

std::string task_error(const yd::Task& t) {
  if (t.errors.empty())
    return "task " + t.name.value_or(t.id.value_or("?")) + " " + (t.status ? t.status->str() : "");
  const auto& e = t.errors.back();
  std::string msg = "task " + t.name.value_or(t.id.value_or("?")) + ": " + e.error_type.str();
  if (!e.error.empty()) msg += ": " + e.error;
  return msg;
}

// ---- roles: which pool, group and tasks play a node kind ------------------------------------------

// Failed tasks chain into one crash loop when each failed within kChainGap of the next; a longer quiet
// period (or a task that ran that long) resets the backoff.
constexpr auto kChainGap = std::chrono::minutes(15);

// The platform lost a settled task's node or instance under it (a reclaim, a crash) while nobody had asked
// the task to stop. Not counted: a task the operator aborted (drained scale-down, head replacement) whose VM
// it then released, which also ends ALLOCATION_LOST; and a task that ran less than kSettled, which may have
// been placed on a node the operator was releasing as idle from an older snapshot (the clean-clone run's
// autoscaler fault matrix launched twice the workers when those were replaced at once).
constexpr auto kSettled = std::chrono::seconds(30);

bool allocation_lost(const yd::Task& t) {
  if (t.abort_requested_time) return false;
  const auto started = ts(t.started_time), finished = ts(t.finished_time);
  if (!started || !finished || *finished - *started < kSettled) return false;
  for (const auto& e : t.errors)
    if (e.error_type == "ALLOCATION_LOST") return true;
  return false;
}

void analyse_backoff(RoleView& r, const PlanOptions& opt) {
  std::vector<std::pair<TimePoint, const yd::Task*>> failures;
  for (const yd::Task* t : r.history)
    if (t->status && *t->status == "FAILED")
      failures.emplace_back(ts(t->finished_time).value_or(TimePoint{}), t);
  r.failed = 0;
  for (const yd::Task* t : r.tasks)
    if (t->status && *t->status == "FAILED") ++r.failed;
  if (failures.empty()) return;
  std::sort(failures.begin(), failures.end(), [](auto& a, auto& b) { return a.first < b.first; });
  r.last_error = task_error(*failures.back().second);
  int n = 1;
  for (size_t i = failures.size() - 1; i > 0; --i) {
    if (failures[i].first - failures[i - 1].first > kChainGap) break;
    ++n;
  }
  r.consecutive_failures = n;
  // A first failure that is the platform's (its node or instance was lost: ALLOCATION_LOST) says nothing
  // about the task: replaced at once, so a lost node costs only the time to notice it. A second one in the
  // same chain backs off as any crash loop does (a reclaim storm must not become a launch storm).
  if (n == 1 && allocation_lost(*failures.back().second)) return;
  Millis delay = opt.backoff_initial;
  for (int i = 1; i < n && delay < opt.backoff_max; ++i) delay *= 2;
  delay = std::min(delay, opt.backoff_max);
  if (failures.back().first != TimePoint{}) r.backoff_until = failures.back().first + delay;
}

RoleView analyse_role(const Observed& o, const RoleNames& names, std::int64_t desired,
                      const api::NodeSpec* node, const yd::WorkRequirement* wr) {
  RoleView r;
  r.names = names;
  r.desired = desired;
  r.node = node;
  // Pools: attempts of this revision.
  for (const auto& p : o.pools) {
    if (!p.pool.name) continue;
    auto attempt = pool_attempt(names.revision, *p.pool.name);
    if (!attempt) continue;
    r.max_pool_attempt = std::max(r.max_pool_attempt, *attempt);
    if (pool_live(p) && (!r.pool || *attempt > pool_attempt(names.revision, *r.pool->pool.name).value_or(0)))
      r.pool = &p;
  }
  // Groups: attempts of this role's group in the WR.
  int max_group_attempt = 0, live_attempt = 0;
  if (wr) {
    for (const auto& g : wr->task_groups) {
      auto attempt = attempt_of(names.task_group, "-g", g.name);
      if (!attempt) continue;
      max_group_attempt = std::max(max_group_attempt, *attempt);
      if (auto it = o.tasks.find(g.name); it != o.tasks.end())
        for (const auto& t : it->second) r.history.push_back(&t);
      bool finished = g.status && yd::is_finished(*g.status);
      if (!finished && *attempt > live_attempt) {
        live_attempt = *attempt;
        r.group = &g;
      }
    }
  }
  if (r.group) {
    r.group_name = r.group->name;
    r.group_missing = false;
    if (auto it = o.tasks.find(r.group->name); it != o.tasks.end())
      for (const auto& t : it->second) r.tasks.push_back(&t);
  } else {
    r.group_name = attempt_name(names.task_group, "-g", max_group_attempt + 1);
  }
  for (const yd::Task* t : r.tasks) {
    if (is_live(*t)) ++r.live;
    if (is_executing(*t)) ++r.executing;
  }
  analyse_backoff(r, o.options);
  return r;
}

// The task playing the role: the live one with the highest ordinal, preferring an EXECUTING one (the same
// rule as current_task() in desired.hpp, over the role's task pointers).
const yd::Task* current_of(const RoleView& r) {
  const yd::Task* best = nullptr;
  int best_ordinal = -1;
  bool best_exec = false;
  for (const yd::Task* t : r.tasks) {
    if (!is_live(*t)) continue;
    int ordinal = t->name ? names::task_ordinal(r.names.kind, *t->name).value_or(0) : 0;
    bool exec = is_executing(*t);
    if (!best || (exec && !best_exec) || (exec == best_exec && ordinal > best_ordinal)) {
      best = t;
      best_ordinal = ordinal;
      best_exec = exec;
    }
  }
  return best;
}

// ---- incarnation: build timeout, lifetime, rebuilds -----------------------------------------------

Millis build_timeout_of(const api::RayDogCluster& c) {
  auto d = c.spec.build_timeout.value_or(std::string(api::kDefaultBuildTimeout)).parsed();
  if (!d || d->count() <= 0) return std::chrono::minutes(10);
  return std::chrono::duration_cast<Millis>(*d);
}

std::optional<Millis> lifetime_of(const api::RayDogCluster& c) {
  if (!c.spec.lifetime) return std::nullopt;
  auto d = c.spec.lifetime->parsed();
  if (!d || d->count() <= 0) return std::nullopt;
  return std::chrono::duration_cast<Millis>(*d);
}

// True when the head of this WR ever started (so a build timeout no longer applies to it).
bool head_ever_started(const Observed& o, const yd::WorkRequirement& wr) {
  for (const auto& g : wr.task_groups) {
    // The group tag says the role; the name prefix is a fallback should a server not echo group tags.
    const bool head_group = g.tag ? *g.tag == "head" : g.name.starts_with(names::kHeadTaskGroup);
    if (!head_group) continue;
    if (auto it = o.tasks.find(g.name); it != o.tasks.end())
      for (const auto& t : it->second)
        if (t.started_time || is_executing(t)) return true;
  }
  return false;
}

// A task of this WR that YellowDog failed for running past its taskTimeout (= spec.lifetime).
bool timed_out_task(const Observed& o, const yd::WorkRequirement& wr) {
  for (const auto& g : wr.task_groups)
    if (auto it = o.tasks.find(g.name); it != o.tasks.end())
      for (const auto& t : it->second)
        if (t.status && *t.status == "FAILED" && !t.errors.empty() &&
            t.errors.back().error_type == "TIMED_OUT")
          return true;
  return false;
}

// Why a held Failed status failed (its Ready reason), when the WR is no longer there to say it.
Failure failure_of(const api::RayDogClusterStatus& st) {
  for (const auto& c : st.conditions)
    if (c.type == api::condition::kReady && c.reason == "LifetimeExpired") return Failure::kLifetimeExpired;
  return Failure::kBuildTimeout;
}

// The gates in the order they win: a deletion over everything, then the spec, the API URL, the
// credentials, a failed observation, suspend.
Lifecycle gate(const Observed& o, const View& v) {
  const auto& c = o.cluster;
  if (c.metadata.deletion_timestamp) return Lifecycle::kDeleting;
  if (!v.spec_errors.empty()) return Lifecycle::kInvalidSpec;
  if (o.api_url_refusal) return Lifecycle::kApiUrlNotAllowed;
  if (o.credentials.state != CredentialsState::kOk) return Lifecycle::kNoCredentials;
  if (o.observe_error) return Lifecycle::kObserveFailed;
  if (c.spec.suspend.value_or(false)) return Lifecycle::kSuspended;
  return Lifecycle::kRunning;
}

// A running cluster's current WR decides: failed (build timeout, lifetime over: held until the generation
// changes), rebuilt under a new incarnation (the WR finished, or a held failure is retried), or waited for
// (CANCELLING). Sets v.lifecycle/failure/build_timeout/lifetime_expired/bump/wr_cancelling.
void judge_incarnation(const Observed& o, View& v, TimePoint now) {
  const auto& c = o.cluster;
  const auto& prev = c.status;
  const std::int64_t generation = c.metadata.generation.value_or(0);
  const bool prev_failed = prev && prev->phase == api::Phase::kFailed;
  const bool prev_suspended = prev && prev->phase == api::Phase::kSuspended;
  const bool generation_changed = !prev || prev->observed_generation.value_or(-1) != generation;

  if (!v.wr) {
    if (prev_failed && !generation_changed) {
      v.lifecycle = Lifecycle::kFailed;  // WR gone from view (e.g. deleted by hand): still held
      v.failure = failure_of(*prev);
    }
    return;
  }
  const auto& wr = *v.wr;
  const Millis bt = build_timeout_of(c);
  const auto created = ts(wr.created_time);
  const bool started = head_ever_started(o, wr);
  const bool finished = wr.status && yd::is_finished(*wr.status);
  const bool cancelling = wr.status && *wr.status == "CANCELLING";
  bool failed_looking = false;
  if (!started && created) {
    if (wr_alive(wr)) {
      failed_looking = now - *created > bt;
    } else {
      auto changed = ts(wr.status_changed_time);
      failed_looking = changed && *changed - *created >= bt;
    }
  }
  // The cluster's lifetime (spec.lifetime, every group's taskTimeout) counts from the WR's creation: past
  // it, or once a task ended TIMED_OUT, the cluster is over, not broken: nothing is replaced.
  bool expired_looking = false;
  if (const auto lt = lifetime_of(c); lt && !failed_looking) {
    if (timed_out_task(o, wr)) {
      expired_looking = true;
    } else if (created) {
      if (wr_alive(wr)) {
        expired_looking = now - *created >= *lt;
      } else {
        auto changed = ts(wr.status_changed_time);
        expired_looking = changed && *changed - *created >= *lt;
      }
    }
  }
  const bool retry = prev_suspended || (prev_failed && generation_changed);
  if ((failed_looking || expired_looking) && !retry) {
    v.lifecycle = Lifecycle::kFailed;
    v.failure = failed_looking ? Failure::kBuildTimeout : Failure::kLifetimeExpired;
    v.build_timeout = failed_looking && wr_alive(wr);
    v.lifetime_expired = expired_looking && wr_alive(wr);
  } else if ((failed_looking || expired_looking) && retry && wr_alive(wr)) {
    v.bump = true;  // plan cancels the old WR first
  } else if (finished) {
    v.bump = true;
  } else if (cancelling) {
    v.wr_cancelling = true;
  }
}

// Every node kind of the spec, against the WR of the incarnation to converge (none after a bump).
void analyse_roles(const Observed& o, View& v) {
  const auto& c = o.cluster;
  const yd::WorkRequirement* wr = v.bump ? nullptr : v.wr;
  v.head = analyse_role(o, v.names.head, 1, c.spec.head ? &*c.spec.head : nullptr, wr);
  if (v.names.observability)
    v.observability = analyse_role(o, *v.names.observability, 1, &c.spec.observability->node, wr);
  if (c.spec.worker_pools)
    for (const auto& p : *c.spec.worker_pools)
      if (const RoleNames* rn = v.names.find_worker(p.name)) {
        v.workers.push_back(analyse_role(o, *rn, desired_nodes(o, p), &p.node, wr));
        v.workers.back().pool_spec = &p;
      }
}

// The first script or userdata ConfigMap/key the spec refers to that observe did not find.
std::optional<std::string> missing_source(const Observed& o, const View& v) {
  const auto& c = o.cluster;
  std::optional<std::string> error;
  auto check = [&](TaskKind kind, const api::NodeSpec& n) {
    if (error) return;
    if (auto s = task_script(kind, n, o.sources); !s)
      error = s.error();
    else if (auto u = user_data(n, o.sources); !u)
      error = u.error();
  };
  const api::NodeSpec head_spec = c.spec.head.value_or(api::NodeSpec{});
  check(TaskKind::kHead, head_spec);
  if (v.names.observability) check(TaskKind::kObservability, c.spec.observability->node);
  if (c.spec.worker_pools)
    for (const auto& p : *c.spec.worker_pools) check(TaskKind::kWorker, p.node);
  return error;
}

// The current head/observability tasks, and the node addresses observe resolved when they belong to them
// (an address of a replaced task, or of a node that is gone, is ignored).
void resolve_current_tasks(const Observed& o, View& v) {
  if (v.observability) {
    v.observability_task = current_of(*v.observability);
    if (v.observability_task && is_executing(*v.observability_task) && o.observability &&
        v.observability_task->id && o.observability->task_id == *v.observability_task->id &&
        !node_gone(o.observability, v.observability_task)) {
      v.observability_ip = o.observability->private_ip;
      v.observability_public_ip = o.observability->public_ip;
    }
  }
  v.head_task = current_of(*v.head);
  if (v.head_task && is_executing(*v.head_task) && o.head && v.head_task->id &&
      o.head->task_id == *v.head_task->id && !node_gone(o.head, v.head_task)) {
    v.head_ip = o.head->private_ip;
    v.head_public_ip = o.head->public_ip;
  }
}

}  // namespace

View view(const Observed& o, TimePoint now) {
  View v;
  const auto& c = o.cluster;
  v.has_finalizer = has_finalizer(c);
  v.spec_errors = spec_errors(o);
  v.names = names_for(c, o.incarnation, &o.sources);
  v.lifecycle = gate(o, v);
  v.wr = o.work_requirement ? &*o.work_requirement : nullptr;
  if (v.lifecycle == Lifecycle::kRunning) judge_incarnation(o, v, now);
  if (v.bump) v.names = names_for(c, o.incarnation + 1, &o.sources);
  analyse_roles(o, v);
  v.source_error = missing_source(o, v);
  resolve_current_tasks(o, v);
  return v;
}

}  // namespace raydog::reconcile
