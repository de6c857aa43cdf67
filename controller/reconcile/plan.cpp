#include "controller/reconcile/plan.hpp"

#include <algorithm>
#include <set>

#include "api/defaults.hpp"
#include "api/duration.hpp"
#include "api/validation.hpp"

namespace raydog::reconcile {

namespace yd = yellowdog;
namespace names = api::names;
using namespace std::chrono_literals;

namespace {

// ---- small helpers -------------------------------------------------------------------------------

std::optional<TimePoint> ts(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return yd::parse_timestamp(*s);
}

Millis build_timeout_of(const api::RayDogCluster& c) {
  auto d = c.spec.build_timeout.value_or(std::string(api::kDefaultBuildTimeout)).parsed();
  if (!d || d->count() <= 0) return std::chrono::minutes(10);
  return std::chrono::duration_cast<Millis>(*d);
}

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

bool has_finalizer(const api::RayDogCluster& c) {
  if (!c.metadata.finalizers) return false;
  const auto& f = *c.metadata.finalizers;
  return std::find(f.begin(), f.end(), kFinalizer) != f.end();
}

std::string group_attempt_name(std::string_view base, int attempt) {
  return attempt_name(base, "-g", attempt);
}
std::optional<int> group_attempt(std::string_view base, std::string_view name) {
  return attempt_of(base, "-g", name);
}

std::string task_error(const yd::Task& t) {
  if (t.errors.empty())
    return "task " + t.name.value_or(t.id.value_or("?")) + " " + (t.status ? t.status->str() : "");
  const auto& e = t.errors.back();
  std::string msg = "task " + t.name.value_or(t.id.value_or("?")) + ": " + e.error_type.str();
  if (!e.error.empty()) msg += ": " + e.error;
  return msg;
}

// ---- role analysis -------------------------------------------------------------------------------

// Failed tasks chain into one crash loop when each failed within kChainGap of the next; a longer quiet
// period (or a task that ran that long) resets the backoff.
constexpr auto kChainGap = std::chrono::minutes(15);

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
      auto attempt = group_attempt(names.task_group, g.name);
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
    r.group_name = group_attempt_name(names.task_group, max_group_attempt + 1);
  }
  for (const yd::Task* t : r.tasks) {
    if (is_live(*t)) ++r.live;
    if (is_executing(*t)) ++r.executing;
  }
  analyse_backoff(r, o.options);
  return r;
}

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

bool node_gone(const std::optional<NodeAddress>& a, const yd::Task* t) {
  return a && t && t->id && a->task_id == *t->id && a->node_status && yd::is_gone(*a->node_status);
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

std::optional<Millis> lifetime_of(const api::RayDogCluster& c) {
  if (!c.spec.lifetime) return std::nullopt;
  auto d = c.spec.lifetime->parsed();
  if (!d || d->count() <= 0) return std::nullopt;
  return std::chrono::duration_cast<Millis>(*d);
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
    if (c.type == api::condition::kReady && c.reason == "LifetimeExpired") return Failure::LifetimeExpired;
  return Failure::BuildTimeout;
}

}  // namespace

api::FieldErrors spec_errors(const Observed& o) {
  api::FieldErrors errors;
  auto under = [](const std::string& path, const std::string& prefix) {
    if (prefix.empty()) return true;
    if (!path.starts_with(prefix)) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[';
  };
  for (const auto& d : o.decode_errors)
    if (!under(d.path, "status")) errors.push_back(d);
  for (auto& e : api::validate(o.cluster)) {
    bool shadowed = false;
    for (const auto& d : o.decode_errors) shadowed = shadowed || under(e.path, d.path);
    if (!shadowed) errors.push_back(std::move(e));
  }
  return errors;
}

// ---- view ----------------------------------------------------------------------------------------

View view(const Observed& o, TimePoint now) {
  View v;
  const auto& c = o.cluster;
  const auto& prev = c.status;
  const std::int64_t generation = c.metadata.generation.value_or(0);
  v.has_finalizer = has_finalizer(c);
  v.spec_errors = spec_errors(o);
  v.names = names_for(c, o.incarnation);

  if (c.metadata.deletion_timestamp)
    v.lifecycle = Lifecycle::Deleting;
  else if (!v.spec_errors.empty())
    v.lifecycle = Lifecycle::InvalidSpec;
  else if (o.credentials.state != CredentialsState::Ok)
    v.lifecycle = Lifecycle::NoCredentials;
  else if (o.observe_error)
    v.lifecycle = Lifecycle::ObserveFailed;
  else if (c.spec.suspend.value_or(false))
    v.lifecycle = Lifecycle::Suspended;

  v.wr = o.work_requirement ? &*o.work_requirement : nullptr;
  const bool prev_failed = prev && prev->phase == api::Phase::Failed;
  const bool prev_suspended = prev && prev->phase == api::Phase::Suspended;
  const bool generation_changed = !prev || prev->observed_generation.value_or(-1) != generation;

  if (v.lifecycle == Lifecycle::Running && v.wr) {
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
      v.lifecycle = Lifecycle::Failed;
      v.failure = failed_looking ? Failure::BuildTimeout : Failure::LifetimeExpired;
      v.build_timeout = failed_looking && wr_alive(wr);
      v.lifetime_expired = expired_looking && wr_alive(wr);
    } else if ((failed_looking || expired_looking) && retry && wr_alive(wr)) {
      v.bump = true;  // plan cancels the old WR first
    } else if (finished) {
      v.bump = true;
    } else if (cancelling) {
      v.wr_cancelling = true;
    }
  } else if (v.lifecycle == Lifecycle::Running && prev_failed && !generation_changed) {
    v.lifecycle = Lifecycle::Failed;  // WR gone from view (e.g. deleted by hand): still held
    v.failure = failure_of(*prev);
  }

  if (v.bump) {
    v.names = names_for(c, o.incarnation + 1);
  }
  const yd::WorkRequirement* wr = v.bump ? nullptr : v.wr;

  // Roles.
  const api::NodeSpec head_spec = c.spec.head.value_or(api::NodeSpec{});
  v.head = analyse_role(o, v.names.head, 1, c.spec.head ? &*c.spec.head : nullptr, wr);
  if (v.names.observability)
    v.observability = analyse_role(o, *v.names.observability, 1, &c.spec.observability->node, wr);
  if (c.spec.worker_pools)
    for (const auto& p : *c.spec.worker_pools)
      if (const RoleNames* rn = v.names.find_worker(p.name))
        v.workers.push_back(
            analyse_role(o, *rn, std::max<std::int64_t>(0, p.nodes.value_or(0)), &p.node, wr));

  // Sources (scripts, userdata from ConfigMaps).
  auto check = [&](TaskKind kind, const api::NodeSpec& n) {
    if (v.source_error) return;
    if (auto s = task_script(kind, n, o.sources); !s)
      v.source_error = s.error();
    else if (auto u = user_data(n, o.sources); !u)
      v.source_error = u.error();
  };
  check(TaskKind::Head, head_spec);
  if (v.names.observability) check(TaskKind::Observability, c.spec.observability->node);
  if (c.spec.worker_pools)
    for (const auto& p : *c.spec.worker_pools) check(TaskKind::Worker, p.node);

  // The node addresses observe resolved, when they belong to the current tasks.
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
  return v;
}

// ---- teardown ------------------------------------------------------------------------------------

namespace {

// Cancel the WR, shut every live pool down, terminate every CR not yet terminating. `ids` collects what
// is still alive (for the CleanupTimedOut event).
Actions teardown(const Observed& o, const yd::WorkRequirement* wr, std::vector<std::string>* ids = nullptr) {
  Actions out;
  if (wr && wr->id && wr_alive(*wr)) out.push_back(CancelWorkRequirement{*wr->id, true});
  if (ids && wr && wr->id && !(wr->status && yd::is_finished(*wr->status))) ids->push_back(*wr->id);
  for (const auto& p : o.pools) {
    const std::string name = p.pool.name.value_or(p.pool.id);
    if (pool_live(p)) {
      out.push_back(ShutdownPool{p.pool.id, name});
      if (ids) ids->push_back(p.pool.id);
    }
    if (!cr_done(p) && p.pool.compute_requirement_id) {
      out.push_back(TerminateComputeRequirement{*p.pool.compute_requirement_id, name});
      if (ids) ids->push_back(*p.pool.compute_requirement_id);
    }
  }
  return out;
}

// The YellowDog ids the last written status names (WR, head pool, worker pools and their CRs): what a
// cleanup that cannot read YellowDog any more reports as possibly leaking.
std::vector<std::string> ids_from_status(const api::RayDogCluster& c) {
  std::vector<std::string> ids;
  if (!c.status) return ids;
  const auto& st = *c.status;
  auto add = [&](const std::optional<std::string>& id) {
    if (id && !id->empty() && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  };
  if (st.work_requirement) add(st.work_requirement->id);
  if (st.head) add(st.head->worker_pool_id);
  for (const auto& p : st.worker_pools) {
    add(p.worker_pool_id);
    add(p.compute_requirement_id);
  }
  return ids;
}

bool needs_event(const api::RayDogCluster& c, std::string_view reason) {
  // Gate events are emitted once per generation (the Synced condition remembers the reason), not on
  // every retry.
  if (!c.status) return true;
  for (const auto& cond : c.status->conditions)
    if (cond.type == api::condition::kSynced)
      return !(cond.reason == reason && cond.observed_generation == c.metadata.generation);
  return true;
}

void append(Actions& out, Actions more) {
  for (auto& a : more) out.push_back(std::move(a));
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

struct Planner {
  const Observed& o;
  const View& v;
  TimePoint now;
  Actions out;
  bool converging = false;
  std::optional<Millis> wake;  // earliest backoff expiry

  const api::RayDogCluster& c() const { return o.cluster; }

  void event(std::string type, std::string reason, std::string message) {
    out.push_back(EmitEvent{std::move(type), std::move(reason), std::move(message)});
  }

  bool in_backoff(const RoleView& r) {
    if (!r.backoff_until || now >= *r.backoff_until) return false;
    Millis left = std::chrono::duration_cast<Millis>(*r.backoff_until - now);
    if (!wake || left < *wake) wake = left;
    return true;
  }

  void add_tasks(const RoleView& r, std::vector<yd::Task> tasks) {
    AddTasks a;
    a.task_group_name = r.group_name;
    if (r.group && r.group->id) a.task_group_id = *r.group->id;
    a.tasks = std::move(tasks);
    out.push_back(std::move(a));
    converging = true;
  }

  std::string script(const RoleView& r) {
    auto s = task_script(r.names.kind, r.node ? *r.node : api::NodeSpec{}, o.sources);
    return s ? *s : std::string{};
  }

  void pools() {
    auto provision = [&](const RoleView& r) {
      if (r.desired <= 0 || r.pool) return;
      const api::NodeSpec node = r.node ? *r.node : api::NodeSpec{};
      auto ud = user_data(node, o.sources);
      int attempt = r.max_pool_attempt + 1;
      std::string name = pool_attempt_name(r.names.revision, attempt);
      out.push_back(ProvisionPool{
          r.names.key, provision_request(c(), r.names, name, node, r.desired, ud ? *ud : std::nullopt)});
      event("Normal", attempt > 1 ? "PoolReprovisioned" : "PoolProvisioned",
            "Provisioned worker pool " + name + " (" + r.names.key + ", " + std::to_string(r.desired) +
                " nodes)" + (attempt > 1 ? ": the previous pool was shut down" : ""));
      converging = true;
    };
    provision(*v.head);
    if (v.observability) provision(*v.observability);
    for (const auto& w : v.workers) provision(w);
    // Resize worker pools whose node count changed (head/observability are always 1).
    for (const auto& w : v.workers) {
      if (!w.pool || w.desired <= 0) continue;
      std::optional<std::int64_t> current;
      if (w.pool->compute_requirement && w.pool->compute_requirement->target_instance_count)
        current = *w.pool->compute_requirement->target_instance_count;
      else if (w.pool->pool.properties && w.pool->pool.properties->max_nodes &&
               *w.pool->pool.properties->max_nodes < w.desired)
        current = *w.pool->pool.properties->max_nodes;  // without the CR only growth is detectable
      if (current && *current != w.desired) {
        out.push_back(ResizePool{w.pool->pool.id, w.pool->pool.name.value_or(w.pool->pool.id), w.desired});
        event("Normal", "PoolResized",
              "Resized worker pool " + w.pool->pool.name.value_or(w.pool->pool.id) + " from " +
                  std::to_string(*current) + " to " + std::to_string(w.desired) + " nodes");
        converging = true;
      }
    }
  }

  void work_requirement() {
    if (!v.wr || v.bump) {
      auto wr = reconcile::work_requirement(c(), v.names);
      // Group names follow the attempt naming of the roles (all attempt 1 for a new WR).
      out.push_back(CreateWorkRequirement{std::move(wr)});
      event("Normal", "WorkRequirementCreated", "Created work requirement " + v.names.work_requirement);
      converging = true;
      return;
    }
    std::vector<yd::TaskGroup> missing;
    auto want = [&](const RoleView& r) {
      if (!r.group_missing) return;
      auto g = task_group(c(), r.names);
      g.name = r.group_name;
      missing.push_back(std::move(g));
    };
    want(*v.head);
    if (v.observability) want(*v.observability);
    for (const auto& w : v.workers) want(w);
    if (!missing.empty() && v.wr->id) {
      std::string list;
      for (const auto& g : missing) list += (list.empty() ? "" : ", ") + g.name;
      out.push_back(AddTaskGroups{*v.wr->id, std::move(missing)});
      event("Normal", "TaskGroupsAdded", "Added task groups " + list + " to " + v.names.work_requirement);
      converging = true;
    }
  }

  // Keeps exactly one live task of a singleton role (head/observability); true when it is EXECUTING.
  // `stale`: the current task runs with an outdated environment (cancelled and replaced without backoff).
  void singleton(const RoleView& r, const yd::Task* current, const std::optional<NodeAddress>& addr,
                 std::map<std::string, std::string> env, std::string_view what, bool stale = false) {
    std::vector<std::string> cancel;
    for (const yd::Task* t : r.tasks)
      if (is_live(*t) && t != current && t->id) cancel.push_back(*t->id);
    bool lost = node_gone(addr, current);
    if (lost && current->id) cancel.push_back(*current->id);
    if (!cancel.empty()) {
      out.push_back(CancelTasks{cancel, true});
      converging = true;
    }
    if (current && !lost) {
      if (!is_executing(*current)) converging = true;
      return;
    }
    if (!stale && in_backoff(r)) return;
    const bool replacing = !r.history.empty();
    std::vector<yd::Task> tasks{task(r.names.kind, next_ordinal_of(r), script(r), std::move(env))};
    add_tasks(r, std::move(tasks));
    std::string reason = r.names.kind == TaskKind::Head
                             ? (replacing ? "HeadReplaced" : "HeadStarted")
                             : (replacing ? "ObservabilityReplaced" : "ObservabilityStarted");
    std::string why = lost        ? ": its node was lost"
                      : stale     ? ": the running one had an outdated environment"
                      : replacing ? ": " + (r.last_error.empty() ? std::string("no live task") : r.last_error)
                                  : "";
    event(replacing ? "Warning" : "Normal", reason, "Added " + std::string(what) + " task" + why);
  }

  int next_ordinal_of(const RoleView& r) {
    int max = 0;
    for (const yd::Task* t : r.tasks)
      if (t->name) max = std::max(max, names::task_ordinal(r.names.kind, *t->name).value_or(0));
    return max + 1;
  }

  void tasks() {
    // Observability first: its IP goes into every other task's environment.
    if (v.observability) {
      singleton(*v.observability, v.observability_task, o.observability, {}, "observability");
      if (!v.observability_ip) {
        converging = true;
        return;
      }
    }
    std::map<std::string, std::string> head_env;
    if (v.observability_ip) head_env[std::string(kObservabilityHostEnv)] = *v.observability_ip;
    // The observability node moved (its task was replaced): the head was started with the old
    // OBSERVABILITY_HOST. It is replaced like a lost head; the workers follow once it runs.
    const std::string* head_obs = v.head_task ? env_of(*v.head_task, kObservabilityHostEnv) : nullptr;
    if (v.observability_ip && v.head_task && (!head_obs || *head_obs != *v.observability_ip)) {
      event("Warning", "ObservabilityMoved",
            "Observability node moved from " + (head_obs ? *head_obs : std::string("(none)")) + " to " +
                *v.observability_ip + "; restarting the head and re-pointing the workers");
      singleton(*v.head, nullptr, std::nullopt, head_env, "head", true);
      converging = true;
      return;
    }
    singleton(*v.head, v.head_task, o.head, head_env, "head");
    if (!v.head_ip) {
      converging = true;
      return;
    }
    const std::string& ip = *v.head_ip;
    // The IPs the stale worker tasks point at name the old head (status may already have lost it).
    std::set<std::string> old_ips;
    std::int64_t repointed = 0;
    for (const auto& w : v.workers) {
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
        repointed += static_cast<std::int64_t>(stale.size());
        out.push_back(CancelTasks{stale, true});
        converging = true;
      }
      auto have = static_cast<std::int64_t>(fresh.size());
      if (have < w.desired) {
        if (!in_backoff(w)) {
          std::vector<yd::Task> add;
          int ordinal = next_ordinal_of(w);
          for (std::int64_t i = have; i < w.desired; ++i)
            add.push_back(task(TaskKind::Worker, ordinal++, script(w), worker_env(v)));
          add_tasks(w, std::move(add));
          event("Normal", "WorkersAdded",
                "Added " + std::to_string(w.desired - have) + " worker task(s) to pool " + w.names.pool);
        } else {
          converging = true;
        }
      } else if (have > w.desired) {
        out.push_back(CancelTasks{surplus(fresh, have - w.desired, TaskKind::Worker), true});
        event("Normal", "WorkersCancelled",
              "Cancelled " + std::to_string(have - w.desired) + " surplus worker task(s) of pool " +
                  w.names.pool);
        converging = true;
      } else {
        std::int64_t exec = 0;
        for (const yd::Task* t : fresh) exec += is_executing(*t) ? 1 : 0;
        if (exec < w.desired) converging = true;
      }
    }
    if (repointed > 0) {
      std::string olds;
      for (const auto& o_ip : old_ips) olds += (olds.empty() ? "" : ", ") + o_ip;
      event("Warning", "HeadReplaced",
            "Head IP changed from " + olds + " to " + ip + "; re-pointing " + std::to_string(repointed) +
                " worker task(s)");
    }
  }

  // Groups of the WR that no role owns any more (old revisions, removed pools, superseded attempts) and
  // live pools no role claims: drained once what replaces them is ready.
  void obsolete() {
    auto role_for = [&](std::string_view key) -> const RoleView* {
      if (v.head->names.key == key) return &*v.head;
      if (v.observability && v.observability->names.key == key) return &*v.observability;
      for (const auto& w : v.workers)
        if (w.names.key == key) return &w;
      return nullptr;
    };
    auto drain_ok = [&](const std::optional<std::string>& key) {
      if (!key) return true;
      const RoleView* r = role_for(*key);
      if (!r || r->desired <= 0) return true;
      return r->executing >= r->desired;  // the replacement runs: drop the old one
    };
    auto current_group = [&](const yd::TaskGroup& g) {
      auto is = [&](const RoleView& r) { return r.group == &g; };
      if (is(*v.head) || (v.observability && is(*v.observability))) return true;
      return std::any_of(v.workers.begin(), v.workers.end(), is);
    };
    std::vector<std::string> obsolete_tags;  // worker tags of obsolete groups we may drain
    if (v.wr && !v.bump) {
      for (const auto& g : v.wr->task_groups) {
        if (current_group(g)) continue;
        if (!drain_ok(g.tag)) {
          converging = true;
          continue;
        }
        if (g.run_specification.worker_tags)
          for (const auto& t : *g.run_specification.worker_tags) obsolete_tags.push_back(t);
        std::vector<std::string> ids;
        if (auto it = o.tasks.find(g.name); it != o.tasks.end())
          for (const auto& t : it->second)
            if (is_live(t) && t.id) ids.push_back(*t.id);
        if (!ids.empty()) {
          out.push_back(CancelTasks{ids, true});
          converging = true;
        }
      }
    }
    auto claimed = [&](const ObservedPool& p) {
      auto is = [&](const RoleView& r) { return r.pool == &p && r.desired > 0; };
      if (is(*v.head) || (v.observability && is(*v.observability))) return true;
      return std::any_of(v.workers.begin(), v.workers.end(), is);
    };
    for (const auto& p : o.pools) {
      if (!pool_live(p) || claimed(p)) continue;
      // Which role did it serve? The WR group that targets its worker tag says (group tag = role key).
      std::optional<std::string> key;
      const std::string tag = p.pool.properties && p.pool.properties->worker_tag
                                  ? *p.pool.properties->worker_tag
                                  : p.pool.name.value_or("");
      if (v.wr && !v.bump)
        for (const auto& g : v.wr->task_groups)
          if (g.run_specification.worker_tags &&
              std::find(g.run_specification.worker_tags->begin(), g.run_specification.worker_tags->end(),
                        tag) != g.run_specification.worker_tags->end())
            key = g.tag;
      // A pool of the current revision that is no longer wanted (nodes: 0) is drained at once.
      bool current_revision = false;
      auto same_rev = [&](const RoleView& r) { return r.names.revision == tag; };
      current_revision = same_rev(*v.head) || (v.observability && same_rev(*v.observability)) ||
                         std::any_of(v.workers.begin(), v.workers.end(), same_rev);
      if (!current_revision && !drain_ok(key)) {
        converging = true;
        continue;
      }
      const std::string name = p.pool.name.value_or(p.pool.id);
      out.push_back(ShutdownPool{p.pool.id, name});
      event("Normal", "PoolRemoved",
            "Shutting down worker pool " + name + " (no longer in the spec or replaced)");
      converging = true;
    }
    // Finished pools whose compute requirement still runs (shut down by us, or from outside).
    for (const auto& p : o.pools) {
      if (pool_live(p) || cr_done(p) || !p.pool.compute_requirement_id) continue;
      if (p.pool.status != "SHUTDOWN") continue;
      out.push_back(
          TerminateComputeRequirement{*p.pool.compute_requirement_id, p.pool.name.value_or(p.pool.id)});
      converging = true;
    }
  }

  void pacing() {
    Millis after = converging ? o.options.requeue_converging : o.options.requeue_steady;
    if (!converging && wake) after = std::min(after, *wake);
    if (converging && wake && *wake > after)
      after = std::max(after, std::min(*wake, o.options.requeue_steady));
    out.push_back(RequeueAfter{after});
  }
};

}  // namespace

bool torn_down(const Observed& o) {
  if (o.work_requirement && !(o.work_requirement->status && yd::is_finished(*o.work_requirement->status)))
    return false;
  for (const auto& p : o.pools)
    if (pool_live(p) || !cr_done(p)) return false;
  return true;
}

Actions plan(const Observed& o, TimePoint now) {
  const auto& c = o.cluster;
  const View v = view(o, now);
  Planner p{o, v, now, {}, false, std::nullopt};

  switch (v.lifecycle) {
    case Lifecycle::Deleting: {
      if (!v.has_finalizer) return {};
      if (c.spec.deletion_policy.value_or(api::kDefaultDeletionPolicy) == api::DeletionPolicy::Orphan) {
        p.event("Normal", "Orphaned", "deletionPolicy is Orphan: YellowDog objects are left running");
        p.out.push_back(RemoveFinalizer{});
        return p.out;
      }
      auto deleted_at =
          c.metadata.deletion_timestamp ? yd::parse_timestamp(*c.metadata.deletion_timestamp) : std::nullopt;
      const bool timed_out = deleted_at && now - *deleted_at >= o.options.cleanup_timeout;
      if (!o.observe_error && o.credentials.state == CredentialsState::Ok && torn_down(o)) {
        p.event("Normal", "CleanedUp", "YellowDog objects finished; removing the finalizer");
        p.out.push_back(RemoveFinalizer{});
        return p.out;
      }
      if (timed_out) {
        std::vector<std::string> ids;
        const bool blind = o.observe_error || o.credentials.state != CredentialsState::Ok;
        if (blind)
          ids = ids_from_status(c);  // YellowDog unreadable: the last status knows the ids
        else
          teardown(o, o.work_requirement ? &*o.work_requirement : nullptr, &ids);
        std::string list;
        for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
        p.event("Warning", "CleanupTimedOut",
                "Cleanup did not finish in time; these YellowDog objects may leak" +
                    std::string(blind ? " (YellowDog could not be read; ids from the last status)" : "") +
                    ": " + (list.empty() ? std::string("(unknown)") : list));
        p.out.push_back(RemoveFinalizer{});
        return p.out;
      }
      if (o.observe_error || o.credentials.state != CredentialsState::Ok) {
        p.out.push_back(RequeueAfter{o.options.credentials_retry});
        return p.out;
      }
      p.out = teardown(o, o.work_requirement ? &*o.work_requirement : nullptr);
      if (!p.out.empty())
        p.event("Normal", "CleaningUp",
                "Deleting: cancelling the work requirement, shutting pools down, terminating compute "
                "requirements; the finalizer goes once YellowDog shows them finished");
      p.out.push_back(RequeueAfter{o.options.requeue_converging});
      return p.out;
    }
    case Lifecycle::InvalidSpec: {
      // Terminal until the spec changes: no YellowDog call, no requeue (the watch brings the next edit).
      if (needs_event(c, "InvalidSpec")) p.event("Warning", "InvalidSpec", api::to_string(v.spec_errors));
      return p.out;
    }
    case Lifecycle::NoCredentials: {
      const char* reason =
          o.credentials.state == CredentialsState::NotAuthorised ? "NotAuthorised" : "CredentialsNotFound";
      if (o.credentials.state != CredentialsState::Unknown && needs_event(c, reason))
        p.event("Warning", reason, o.credentials.message);
      p.out.push_back(RequeueAfter{o.credentials.state == CredentialsState::Unknown
                                       ? o.options.requeue_converging
                                       : o.options.credentials_retry});
      return p.out;
    }
    case Lifecycle::ObserveFailed:
      return {};  // the loop retries with backoff
    case Lifecycle::Suspended:
    case Lifecycle::Failed: {
      if (v.build_timeout)
        p.event("Warning", "BuildTimeout",
                "Head task not EXECUTING within buildTimeout " +
                    c.spec.build_timeout.value_or(std::string(api::kDefaultBuildTimeout)) +
                    "; tearing the cluster down (no retry until the spec changes)");
      if (v.lifetime_expired)
        p.event("Warning", "LifetimeExpired",
                "spec.lifetime " + c.spec.lifetime.value_or("") +
                    " is over; tearing the cluster down, nothing is replaced (no rebuild until the spec "
                    "changes)");
      Actions down = teardown(o, v.wr);
      const bool busy = !down.empty() || !torn_down(o);
      if (!down.empty() && v.lifecycle == Lifecycle::Suspended)
        p.event("Normal", "Suspending",
                "spec.suspend is true: cancelling the work requirement, shutting pools down");
      append(p.out, std::move(down));
      if (busy) p.out.push_back(RequeueAfter{o.options.requeue_converging});
      return p.out;
    }
    case Lifecycle::Running:
      break;
  }

  // Finalizer before the first external create.
  if (!v.has_finalizer) p.out.push_back(AddFinalizer{});

  if (v.wr_cancelling) {
    p.out.push_back(
        RequeueAfter{o.options.requeue_converging});  // wait for CANCELLED, then a new incarnation
    return p.out;
  }
  if (v.source_error) {
    if (needs_event(c, "ConfigMapNotFound")) p.event("Warning", "ConfigMapNotFound", *v.source_error);
    p.out.push_back(RequeueAfter{o.options.credentials_retry});
    return p.out;
  }
  if (v.bump) {
    // The old incarnation's WR is finished (or abandoned after a failed build): the cluster is rebuilt
    // under new names, recorded first so a crash before the create is adopted, not duplicated.
    if (v.wr && v.wr->id && wr_alive(*v.wr)) p.out.push_back(CancelWorkRequirement{*v.wr->id, true});
    p.out.push_back(RecordIncarnation{v.names.incarnation, v.names.work_requirement});
    p.event("Normal", "Rebuilding",
            "Starting incarnation " + std::to_string(v.names.incarnation) + " as work requirement " +
                v.names.work_requirement);
  }

  p.pools();
  p.work_requirement();
  p.tasks();
  p.obsolete();
  p.pacing();
  return p.out;
}

std::string describe(const Action& action) {
  struct Describe {
    std::string operator()(const AddFinalizer&) const { return "AddFinalizer"; }
    std::string operator()(const RemoveFinalizer&) const { return "RemoveFinalizer"; }
    std::string operator()(const RecordIncarnation& a) const {
      return "RecordIncarnation " + std::to_string(a.incarnation) + " " + a.work_requirement_name;
    }
    std::string operator()(const ProvisionPool& a) const {
      return "ProvisionPool " + a.request.requirement_template_usage.requirement_name;
    }
    std::string operator()(const ResizePool& a) const {
      return "ResizePool " + a.pool_name + " " + std::to_string(a.size);
    }
    std::string operator()(const ShutdownPool& a) const { return "ShutdownPool " + a.pool_name; }
    std::string operator()(const TerminateComputeRequirement& a) const {
      return "TerminateComputeRequirement " + a.name;
    }
    std::string operator()(const CreateWorkRequirement& a) const {
      return "CreateWorkRequirement " + a.work_requirement.name;
    }
    std::string operator()(const AddTaskGroups& a) const {
      std::string s = "AddTaskGroups";
      for (const auto& g : a.groups) s += " " + g.name;
      return s;
    }
    std::string operator()(const AddTasks& a) const {
      std::string s = "AddTasks " + a.task_group_name;
      for (const auto& t : a.tasks) s += " " + t.name.value_or("?");
      return s;
    }
    std::string operator()(const CancelTasks& a) const {
      std::string s = a.abort ? "CancelTasks(abort)" : "CancelTasks";
      for (const auto& id : a.task_ids) s += " " + id;
      return s;
    }
    std::string operator()(const CancelWorkRequirement& a) const {
      return std::string(a.abort ? "CancelWorkRequirement(abort) " : "CancelWorkRequirement ") +
             a.work_requirement_id;
    }
    std::string operator()(const EmitEvent& a) const { return "EmitEvent " + a.type + " " + a.reason; }
    std::string operator()(const RequeueAfter& a) const {
      return "RequeueAfter " + std::to_string(a.after.count()) + "ms";
    }
  };
  return std::visit(Describe{}, action);
}

}  // namespace raydog::reconcile
