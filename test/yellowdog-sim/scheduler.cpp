// The time-driven half of the core: what the platform does on its own between API calls (§7, §7.1, §10.3-4).
#include <algorithm>
#include <unordered_map>

#include "test/yellowdog-sim/simulator.hpp"

namespace raydog::ydsim {

namespace {
constexpr const char* kAccount = "000000";
// What every simulated node offers (§7.1 inputs).
const std::vector<std::string> kSupportedTaskTypes{"bash", "docker"};
constexpr const char* kInstanceType = "sim.standard";
constexpr const char* kProvider = "ON_PREMISE";
constexpr const char* kRegion = "sim-local";
constexpr double kVcpus = 2, kRamGb = 4;

bool list_allows(const json& rs, const char* key, const std::string& value) {
  auto it = rs.find(key);
  if (it == rs.end() || !it->is_array() || it->empty()) return true;
  for (const auto& v : *it)
    if (v.is_string() && v.get<std::string>() == value) return true;
  return false;
}
bool range_allows(const json& rs, const char* key, double value) {
  auto it = rs.find(key);
  if (it == rs.end() || !it->is_object()) return true;
  if (it->contains("min") && (*it)["min"].is_number() && value < (*it)["min"].get<double>()) return false;
  if (it->contains("max") && (*it)["max"].is_number() && value > (*it)["max"].get<double>()) return false;
  return true;
}

bool group_active(const TaskGroup& g) {
  return g.wr->status == WrStatus::kRunning &&
         (g.status == TgStatus::kPending || g.status == TgStatus::kRunning);
}

std::optional<Millis> parse_task_timeout(const Task& t) {
  if (t.spec.contains("timeout") && t.spec["timeout"].is_string())
    return parse_iso_duration(t.spec["timeout"].get<std::string>());
  const json& rs = t.group->run_spec();
  if (rs.contains("taskTimeout") && rs["taskTimeout"].is_string())
    return parse_iso_duration(rs["taskTimeout"].get<std::string>());
  return std::nullopt;
}

std::optional<Millis> task_timeout(const Task& t) {
  if (!t.timeout_memo) t.timeout_memo = parse_task_timeout(t);
  return *t.timeout_memo;
}

// A list constraint as matches() applies it: absent, not an array or empty -> anything (nullopt);
// otherwise the string entries (a list of only non-strings allows nothing).
std::optional<std::vector<std::string>> list_constraint(const json& rs, const char* key) {
  auto it = rs.find(key);
  if (it == rs.end() || !it->is_array() || it->empty()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

TaskGroup::MatchSpec match_spec_of(const TaskGroup& group) {
  const json& rs = group.run_spec();
  TaskGroup::MatchSpec m;
  m.worker_tags = list_constraint(rs, "workerTags");
  m.namespaces = list_constraint(rs, "namespaces");
  auto types = rs.find("taskTypes");
  if (types != rs.end() && types->is_array())
    for (const auto& t : *types)
      if (!t.is_string() || std::find(kSupportedTaskTypes.begin(), kSupportedTaskTypes.end(),
                                      t.get<std::string>()) == kSupportedTaskTypes.end())
        m.static_ok = false;
  m.static_ok = m.static_ok && list_allows(rs, "instanceTypes", kInstanceType) &&
                list_allows(rs, "providers", kProvider) && list_allows(rs, "regions", kRegion) &&
                range_allows(rs, "vcpus", kVcpus) && range_allows(rs, "ram", kRamGb);
  return m;
}

int max_retries(const TaskGroup& g) {
  const json& rs = g.run_spec();
  if (rs.contains("retryPolicy") && rs["retryPolicy"].is_object() &&
      rs["retryPolicy"].contains("maxRetries") && rs["retryPolicy"]["maxRetries"].is_number_integer())
    return rs["retryPolicy"]["maxRetries"].get<int>();
  if (rs.contains("maximumTaskRetries") && rs["maximumTaskRetries"].is_number_integer())
    return rs["maximumTaskRetries"].get<int>();
  return 0;
}

bool usable(const Worker& w) {
  return w.node->status == NodeStatus::kRunning && !finished(w.node->pool->status) &&
         w.status != WorkerStatus::kShutdown && w.status != WorkerStatus::kLost;
}
}  // namespace

namespace {
bool matches_spec(const TaskGroup::MatchSpec& m, const WorkerPool& pool) {
  auto allows = [](const std::optional<std::vector<std::string>>& list, const std::string& v) {
    return !list || std::find(list->begin(), list->end(), v) != list->end();
  };
  return m.static_ok && allows(m.worker_tags, pool.worker_tag) && allows(m.namespaces, pool.ns);
}
}  // namespace

bool Simulator::matches(const TaskGroup& group, const WorkerPool& pool) {
  return matches_spec(match_spec_of(group), pool);
}

// The scheduler's hot path: the group's spec parsed once (it never changes after creation).
bool Simulator::matches_memo(const TaskGroup& group, const WorkerPool& pool) {
  if (!group.match_memo) group.match_memo = match_spec_of(group);
  return matches_spec(*group.match_memo, pool);
}

void Simulator::tick(TimePoint now) {
  if (now > now_) now_ = now;
  if (quiet_ && now_ < wake_at_) return;
  wake();
  ++full_ticks_;
  const std::uint64_t before = changes_;
  step_instances();
  step_tasks();
  step_groups();  // failures since the last tick must discard waiting tasks before they are allocated
  step_claims();
  step_allocation();
  tally_waiting();  // what growth and the idle clocks ask (growth changes no task)
  step_growth();
  step_idle();
  step_groups();
  step_work_requirements();
  step_pools_and_crs();
  // The steps are a function of the state and the clock: once a tick changes nothing, the next one can
  // only differ when a timer fires or an API operation (wake()) changes the state.
  if (changes_ == before) {
    quiet_ = true;
    wake_at_ = next_timer();
  }
}

void Simulator::wake() {
  quiet_ = false;
}

TimePoint Simulator::next_timer() const {
  TimePoint at = TimePoint::max();
  auto arm = [&](TimePoint t) { at = std::min(at, t); };
  for (const auto& i : instances_) {
    if (i->status == InstanceStatus::kPending) arm(i->boot_at);
    if (i->status == InstanceStatus::kRunning && !i->node) arm(i->register_at);
    const auto& boot_timeout = i->cr->pool->node_boot_timeout;
    if (boot_timeout && !i->node &&
        (i->status == InstanceStatus::kPending || i->status == InstanceStatus::kRunning))
      arm(i->created + *boot_timeout);
    if (i->status == InstanceStatus::kTerminating) arm(i->terminate_at);
  }
  for (const Task* t : tasks_) {
    if (t->status == TaskStatus::kAllocated || t->status == TaskStatus::kDownloading) arm(t->step_at);
    if (t->status == TaskStatus::kExecuting) {
      auto timeout = task_timeout(*t);
      if (timeout && timeout->count() > 0) arm(*t->started + *timeout);
    }
  }
  // Busy nodes and pools have no idle clock: they can only become idle through a change, which ends
  // the quiet.
  for (const auto& pool : pools_) {
    if (finished(pool->status)) continue;
    if (pool->idle_node_timeout)
      for (const Node* n : pool->nodes)
        if (n->status == NodeStatus::kRunning && n->idle_since)
          arm(*n->idle_since + *pool->idle_node_timeout);
    if (pool->idle_pool_timeout && pool->idle_since) arm(*pool->idle_since + *pool->idle_pool_timeout);
  }
  return at;
}

void Simulator::register_node(Instance& inst) {
  WorkerPool& pool = *inst.cr->pool;
  auto node = std::make_unique<Node>();
  std::string uuid = new_uuid();
  node->id = std::string("ydid:node:") + kAccount + ":" + uuid;
  node->pool = &pool;
  node->instance = &inst;
  node->registered = node->status_changed = now_;
  node->idle_since = now_;
  for (int i = 1; i <= pool.workers_per_node; ++i) {
    auto w = std::make_unique<Worker>();
    w->id = std::string("ydid:wrkr:") + kAccount + ":" + uuid + ":" + std::to_string(i);
    w->node = node.get();
    w->registered = w->status_changed = now_;
    worker_by_id_[w->id] = w.get();
    node->workers.push_back(std::move(w));
  }
  inst.node = node.get();
  ++changes_;
  pool.nodes.push_back(node.get());
  pool.ever_registered = true;
  node_by_id_[node->id] = node.get();
  nodes_.push_back(std::move(node));
}

void Simulator::release_worker(Worker& w) {
  if (!w.claimed_by) return;
  w.claimed_by = nullptr;
  ++changes_;
  if (usable(w)) set_status(w, WorkerStatus::kStopped);
  w.node->pool->last_released = now_;
}

void Simulator::finish_task(Task& t, TaskStatus status, const char* error_type, std::string error,
                            std::optional<int> exit_code) {
  bool was_in_progress = in_progress(t.status);
  TaskStatus before = t.status;
  if (t.worker) {
    t.worker->task = nullptr;
    t.worker->node->idle_since = now_;
    t.worker = nullptr;
  }
  if (error_type) {
    json e = {{"timestamp", format_timestamp(now_)},
              {"error", std::move(error)},
              {"errorType", error_type},
              {"statusAtFailure", to_string(before)},
              {"causedFailure", status == TaskStatus::kFailed}};
    if (!t.node_id.empty()) e["nodeId"] = t.node_id;
    if (!t.worker_id.empty()) e["workerId"] = t.worker_id;
    if (exit_code) e["processExitCode"] = *exit_code;
    t.errors.push_back(std::move(e));
  }
  if (status == TaskStatus::kFailed && t.retry_count < max_retries(*t.group) && group_active(*t.group)) {
    ++t.retry_count;
    set_status(t, TaskStatus::kReady);  // back to waiting; the scheduler allocates it again
    clear_started(t);
  } else {
    set_status(t, status);
    set_finished(t);
  }
  if (was_in_progress && on_task_stopped) on_task_stopped(t);
}

void Simulator::node_gone(Node& n, NodeStatus status) {
  set_status(n, status);
  if (status != NodeStatus::kLost) n.deregistered = now_;
  for (auto& w : n.workers) {
    if (w->task)
      finish_task(*w->task, TaskStatus::kFailed, "ALLOCATION_LOST",
                  "Node " + n.id + " is " + std::string(to_string(status)));
    release_worker(*w);
    set_status(*w, status == NodeStatus::kLost ? WorkerStatus::kLost : WorkerStatus::kShutdown);
  }
}

void Simulator::step_instances() {
  for (auto& ip : instances_) {
    Instance& i = *ip;
    ComputeRequirement& cr = *i.cr;
    bool terminating_cr = cr.status == CrStatus::kTerminating || cr.status == CrStatus::kTerminated;
    if (i.status == InstanceStatus::kPending && now_ >= i.boot_at && !terminating_cr) {
      if (i.fail_boot) {
        set_status(i, InstanceStatus::kTerminated);
        // Nothing of this requirement came up: provisioning failed, the platform gives the pool up.
        bool any_live = std::any_of(cr.instances.begin(), cr.instances.end(),
                                    [](Instance* x) { return x->status != InstanceStatus::kTerminated; });
        if (!any_live && !cr.pool->ever_registered) {
          if (!finished(cr.pool->status)) set_status(*cr.pool, PoolStatus::kShutdown);
          begin_terminate(cr);
        }
        continue;
      }
      set_status(i, InstanceStatus::kRunning);
    }
    if (i.status == InstanceStatus::kRunning && !i.node && now_ >= i.register_at && !terminating_cr &&
        !finished(cr.pool->status))
      register_node(i);
    const auto& boot_timeout = cr.pool->node_boot_timeout;
    if (boot_timeout && !i.node &&
        (i.status == InstanceStatus::kPending || i.status == InstanceStatus::kRunning) &&
        now_ >= i.created + *boot_timeout) {
      set_status(i, InstanceStatus::kTerminating);
      i.terminate_at = now_ + config_.terminate_delay;
    }
    if (i.status == InstanceStatus::kTerminating && now_ >= i.terminate_at)
      set_status(i, InstanceStatus::kTerminated);
  }
}

void Simulator::step_tasks() {
  const Millis half = config_.task_start_delay / 2;
  for (Task* t : tasks_) {
    if (t->status == TaskStatus::kAllocated && now_ >= t->step_at) {
      set_status(*t, TaskStatus::kDownloading);
      t->step_at += config_.task_start_delay - half;
    }
    if (t->status == TaskStatus::kDownloading && now_ >= t->step_at) {
      set_status(*t, TaskStatus::kExecuting);
      set_started(*t);
      if (on_task_executing) on_task_executing(*t);
    }
    if (t->status == TaskStatus::kExecuting) {
      auto timeout = task_timeout(*t);
      if (timeout && timeout->count() > 0 && now_ >= *t->started + *timeout)
        finish_task(*t, TaskStatus::kFailed, "TIMED_OUT", "Task exceeded its timeout");
    }
  }
}

std::vector<WorkerPool*> Simulator::candidate_pools(const TaskGroup& g) const {
  if (!g.match_memo) g.match_memo = match_spec_of(g);
  std::vector<WorkerPool*> out;
  if (!g.match_memo->worker_tags) {
    out.reserve(pools_.size());
    for (const auto& p : pools_) out.push_back(p.get());
    return out;
  }
  for (const auto& tag : *g.match_memo->worker_tags)
    if (auto it = pools_by_tag_.find(tag); it != pools_by_tag_.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
  std::sort(out.begin(), out.end(), [](const WorkerPool* a, const WorkerPool* b) { return a->seq < b->seq; });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void Simulator::step_claims() {
  // Per group (by TaskGroup::seq): claimed workers without a task, all claimed workers, READY tasks.
  std::vector<int> free_claimed(group_count_), waiting_count(group_count_), claimed_total(group_count_);
  for (auto& n : nodes_)
    for (auto& w : n->workers) {
      if (w->claimed_by && !w->task) ++free_claimed[w->claimed_by->seq];
      if (w->claimed_by) ++claimed_total[w->claimed_by->seq];
    }
  for (Task* t : tasks_)
    if (t->status == TaskStatus::kReady) ++waiting_count[t->group->seq];

  // Release idle claims of groups that have nothing left to run (or that stopped being active).
  for (auto& n : nodes_)
    for (auto& w : n->workers) {
      if (!w->claimed_by || w->task) continue;
      TaskGroup* g = w->claimed_by;
      bool keep = group_active(*g) && waiting_count[g->seq] > 0 && usable(*w);
      if (!keep) {
        release_worker(*w);
        --free_claimed[g->seq];
        --claimed_total[g->seq];
      }
    }

  for (auto& wr : wrs_)
    for (auto& gp : wr->groups) {
      TaskGroup& g = *gp;
      if (!group_active(g)) continue;
      int need = waiting_count[g.seq] - free_claimed[g.seq];
      if (need > 0)
        for (WorkerPool* pool : candidate_pools(g)) {
          if (need <= 0) break;
          if (finished(pool->status) || !matches_memo(g, *pool)) continue;
          for (Node* n : pool->nodes) {
            if (need <= 0) break;
            if (n->status != NodeStatus::kRunning) continue;
            for (auto& w : n->workers) {
              if (need <= 0) break;
              if (w->claimed_by || w->task || !usable(*w)) continue;
              w->claimed_by = &g;
              ++changes_;
              set_status(*w, WorkerStatus::kRunning);
              pool->last_claimed = now_;
              ++free_claimed[g.seq];
              ++claimed_total[g.seq];
              --need;
            }
          }
        }
      bool claimed_any = claimed_total[g.seq] > 0;
      if (claimed_any && g.status == TgStatus::kPending) set_status(g, TgStatus::kRunning);
      bool starved = waiting_count[g.seq] > 0 && !claimed_any;
      if (starved != g.starved) {
        g.starved = starved;
        ++changes_;
        g.last_updated = now_;
      }
    }
}

void Simulator::step_allocation() {
  std::unordered_map<TaskGroup*, std::vector<Worker*>> free;
  for (auto& n : nodes_)
    for (auto& w : n->workers)
      if (w->claimed_by && !w->task && usable(*w)) free[w->claimed_by].push_back(w.get());
  for (Task* t : tasks_) {
    if (t->status != TaskStatus::kReady || !group_active(*t->group)) continue;
    auto& ws = free[t->group];
    if (ws.empty()) continue;
    Worker* w = ws.front();
    ws.erase(ws.begin());
    w->task = t;
    t->worker = w;
    t->worker_id = w->id;
    t->node_id = w->node->id;
    set_status(*t, TaskStatus::kAllocated);
    t->step_at = now_ + config_.task_start_delay / 2;
  }
}

std::vector<std::pair<TaskGroup*, int>> Simulator::waiting_by_group() const {
  std::vector<int> counts(group_count_);
  std::vector<std::pair<TaskGroup*, int>> out;
  for (Task* t : tasks_)
    if (t->status == TaskStatus::kReady && group_active(*t->group) && counts[t->group->seq]++ == 0)
      out.emplace_back(t->group, 0);
  for (auto& [g, n] : out) n = counts[g->seq];
  return out;
}

void Simulator::tally_waiting() {
  waiting_ = waiting_by_group();
  // READY tasks each pool could run (the §7.1 rule over the groups' candidate pools): growth and the idle
  // clock ask this per pool, and 30,000 pools times every waiting group was most of a tick.
  pool_waiting_.assign(pools_.size(), 0);
  for (const auto& [g, n] : waiting_)
    for (WorkerPool* pool : candidate_pools(*g))
      if (matches_memo(*g, *pool)) pool_waiting_[pool->seq] += n;
}

void Simulator::step_growth() {
  for (auto& pp : pools_) {
    WorkerPool& pool = *pp;
    ComputeRequirement& cr = *pool.cr;
    if (finished(pool.status) || pool.fail_provisioning || cr.status == CrStatus::kTerminating ||
        cr.status == CrStatus::kTerminated)
      continue;
    int live = 0, booting = 0;
    for (Instance* i : cr.instances) {
      // An instance whose node was lost gives no capacity any more; count it as gone.
      bool alive = (i->status == InstanceStatus::kPending || i->status == InstanceStatus::kRunning) &&
                   !(i->node && gone(i->node->status));
      if (!alive) continue;
      ++live;
      if (!i->node) ++booting;
    }
    const int waiting_tasks = pool_waiting_[pool.seq];
    int want = 0;
    if (waiting_tasks > 0) {
      int capacity = booting * pool.workers_per_node;
      for (Node* n : pool.nodes)
        if (n->status == NodeStatus::kRunning)
          for (auto& w : n->workers)
            if (!w->task && (!w->claimed_by || matches_memo(*w->claimed_by, pool))) ++capacity;
      if (waiting_tasks > capacity)
        want = (waiting_tasks - capacity + pool.workers_per_node - 1) / pool.workers_per_node;
    }
    if (cr.maintain_instance_count) want = std::max(want, cr.target_instance_count - live);
    want = std::min(want, pool.max_nodes - live);
    if (want > 0) add_instances(cr, want);
  }
}

namespace {
// A pool is idle when no node is busy, none is booting and no waiting task could run on it.
bool pool_busy(const WorkerPool& pool, int waiting_tasks) {
  if (waiting_tasks > 0) return true;
  for (const Node* n : pool.nodes)
    if (n->status == NodeStatus::kRunning && n->busy()) return true;
  for (const Instance* i : pool.cr->instances)
    if (!i->node && (i->status == InstanceStatus::kPending || i->status == InstanceStatus::kRunning))
      return true;
  return false;
}

// Stops the idle clock of what is busy, starts it (now) for what became idle.
void run_idle_clock(std::optional<TimePoint>& idle_since, bool busy, TimePoint now) {
  if (busy)
    idle_since.reset();
  else if (!idle_since)
    idle_since = now;
}
}  // namespace

void Simulator::step_idle() {
  for (auto& pp : pools_) {
    WorkerPool& pool = *pp;
    if (finished(pool.status)) continue;
    int live_nodes = 0;
    for (Node* n : pool.nodes)
      if (n->status == NodeStatus::kRunning) {
        ++live_nodes;
        run_idle_clock(n->idle_since, n->busy(), now_);
      }
    run_idle_clock(pool.idle_since, pool_busy(pool, pool_waiting_[pool.seq]), now_);
    if (pool.idle_node_timeout)
      for (Node* n : pool.nodes) {
        if (live_nodes <= pool.min_nodes) break;
        if (n->status != NodeStatus::kRunning || !n->idle_since ||
            now_ < *n->idle_since + *pool.idle_node_timeout)
          continue;
        node_gone(*n, NodeStatus::kTerminated);
        if (n->instance && n->instance->status != InstanceStatus::kTerminated) {
          set_status(*n->instance, InstanceStatus::kTerminating);
          n->instance->terminate_at = now_ + config_.terminate_delay;
        }
        --live_nodes;
      }
    if (pool.idle_pool_timeout && pool.idle_since && now_ >= *pool.idle_since + *pool.idle_pool_timeout) {
      set_status(pool, PoolStatus::kShutdown);
      begin_terminate(*pool.cr);
    }
  }
}

void Simulator::step_groups() {
  for (auto& wr : wrs_)
    for (auto& gp : wr->groups) {
      TaskGroup& g = *gp;
      if (terminal(g.status)) continue;
      int n = 0, waiting_n = 0, running = 0, failed = 0;
      for (Task* t : g.tasks) {
        ++n;
        if (waiting(t->status))
          ++waiting_n;
        else if (in_progress(t->status))
          ++running;
        else if (t->status == TaskStatus::kFailed)
          ++failed;
      }
      switch (g.status) {
        case TgStatus::kCancelling:
          if (running == 0) set_status(g, TgStatus::kCancelled);
          break;
        case TgStatus::kFailing:
          if (running == 0) set_status(g, TgStatus::kFailed);
          break;
        case TgStatus::kFinishing:
          if (running == 0 && waiting_n == 0)
            set_status(g, failed ? TgStatus::kFailed : TgStatus::kCompleted);
          break;
        case TgStatus::kPending:
        case TgStatus::kRunning:
          if (failed && g.finish_if_any_task_failed()) {
            for (Task* t : g.tasks)
              if (waiting(t->status)) finish_task(*t, TaskStatus::kDiscarded);
            set_status(g, running ? TgStatus::kFailing : TgStatus::kFailed);
          } else if (n > 0 && waiting_n == 0 && running == 0 && g.finish_if_all_tasks_finished()) {
            set_status(g, failed ? TgStatus::kFailed : TgStatus::kCompleted);
          }
          break;
        default:
          break;
      }
    }
}

void Simulator::step_work_requirements() {
  for (auto& wp : wrs_) {
    WorkRequirement& wr = *wp;
    if (finished(wr.status) || wr.status == WrStatus::kHeld) continue;
    bool all_terminal = !wr.groups.empty();
    bool all_completed = true;
    for (auto& g : wr.groups) {
      if (!terminal(g->status)) all_terminal = false;
      if (g->status != TgStatus::kCompleted) all_completed = false;
    }
    if (wr.status == WrStatus::kCancelling) {
      bool executing = false;
      for (auto& g : wr.groups)
        for (Task* t : g->tasks)
          if (in_progress(t->status)) executing = true;
      if (!executing) {
        for (auto& g : wr.groups)
          if (!terminal(g->status)) set_status(*g, TgStatus::kCancelled);
        set_status(wr, WrStatus::kCancelled);
      }
    } else if (all_terminal) {
      set_status(wr, all_completed ? WrStatus::kCompleted : WrStatus::kFailed);
    } else if (wr.status == WrStatus::kFinishing && wr.groups.empty()) {
      set_status(wr, WrStatus::kCompleted);
    }
  }
}

void Simulator::step_pools_and_crs() {
  for (auto& cp : crs_) {
    ComputeRequirement& cr = *cp;
    bool all_terminated = true, any_pending = false;
    for (Instance* i : cr.instances) {
      if (i->status != InstanceStatus::kTerminated) all_terminated = false;
      if (i->status == InstanceStatus::kPending) any_pending = true;
    }
    if (cr.status == CrStatus::kTerminating && all_terminated) set_status(cr, CrStatus::kTerminated);
    if ((cr.status == CrStatus::kNew || cr.status == CrStatus::kProvisioning) && !any_pending)
      set_status(cr, CrStatus::kRunning);
  }
  for (auto& pp : pools_) {
    WorkerPool& pool = *pp;
    if (pool.cr->status == CrStatus::kTerminated) {
      set_status(pool, PoolStatus::kTerminated);
      continue;
    }
    if (finished(pool.status)) continue;
    int registered = 0, claimed = 0;
    bool booting = false;
    for (Node* n : pool.nodes)
      if (n->status == NodeStatus::kRunning)
        for (auto& w : n->workers) {
          ++registered;
          if (w->claimed_by) ++claimed;
        }
    for (Instance* i : pool.cr->instances)
      if (!i->node && (i->status == InstanceStatus::kPending || i->status == InstanceStatus::kRunning))
        booting = true;
    PoolStatus s;
    if (registered == 0)
      s = (!pool.ever_registered && booting) ? PoolStatus::kPending : PoolStatus::kEmpty;
    else
      s = claimed > 0 ? PoolStatus::kRunning : PoolStatus::kIdle;
    set_status(pool, s);
  }
}

}  // namespace raydog::ydsim
