// yellowdog-sim --ray: the Ray model (see ray_model.hpp and README.md "--ray").
#include "test/yellowdog-sim/ray_model.hpp"

#include <algorithm>
#include <unordered_set>

#include "api/names.hpp"
#include "controller/util/strings.hpp"

namespace raydog::ydsim {

namespace {

using test::RayResources;

constexpr const char* kHeadIpEnv = "RAY_HEAD_IP";
constexpr const char* kInstanceIdEnv = "RAY_CLOUD_INSTANCE_ID";
constexpr const char* kNodeTypeEnv = "RAY_NODE_TYPE_NAME";
constexpr const char* kHeadResource = "node:__internal_head__";
constexpr std::int64_t kMaxRequestsPerHead = 100'000;  // units of single requests and gang bundles

std::int64_t ms_of(TimePoint t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

// Deterministic bytes from a seed (FNV-1a, then splitmix64): Ray-sized ids that a test can predict.
std::string derive_bytes(std::string_view seed, std::size_t n) {
  std::uint64_t state = 0xcbf29ce484222325ULL;
  for (unsigned char c : seed) {
    state ^= c;
    state *= 0x100000001b3ULL;
  }
  std::string out;
  while (out.size() < n) {
    state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int i = 0; i < 8 && out.size() < n; ++i) out.push_back(static_cast<char>(z >> (8 * i)));
  }
  return out;
}

bool fits(const RayResources& free, const RayResources& shape) {
  for (const auto& [k, v] : shape) {
    if (v <= 0) continue;
    const auto it = free.find(k);
    if (it == free.end() || it->second + 1e-9 < v) return false;
  }
  return true;
}
void take(RayResources& free, const RayResources& shape) {
  for (const auto& [k, v] : shape) free[k] -= v;
}

// Equal shapes counted together, in first-seen order (GCS aggregates demand by shape).
std::vector<test::FakeDemand> by_shape(const std::vector<const RayResources*>& shapes) {
  std::vector<test::FakeDemand> out;
  for (const RayResources* s : shapes) {
    auto it = std::find_if(out.begin(), out.end(), [&](const test::FakeDemand& d) { return d.shape == *s; });
    if (it == out.end())
      out.push_back(test::FakeDemand{*s, 1});
    else
      ++it->count;
  }
  return out;
}

ApiResponse json_reply(int status, const json& body) {
  return ApiResponse{status, body.dump(), {}};
}
ApiResponse bad(const std::string& message) {
  return error_response(invalid_request(message));
}

// A resource shape: a JSON object of non-negative numbers. nullopt (and `why`) when it is not one.
std::optional<RayResources> shape_of(const json& j, const std::string& field, std::string& why) {
  if (!j.is_object() || j.empty()) {
    why = field + " must be a non-empty object of resource amounts, e.g. {\"CPU\": 4}";
    return std::nullopt;
  }
  RayResources out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_number() || v.get<double>() < 0) {
      why = field + "." + k + " must be a non-negative number";
      return std::nullopt;
    }
    out[k] = v.get<double>();
  }
  return out;
}

std::optional<std::int64_t> non_negative_integer(const json& j) {
  if (j.is_number_unsigned()) return static_cast<std::int64_t>(std::min<std::uint64_t>(j.get<std::uint64_t>(), INT64_MAX));
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) return j.get<std::int64_t>();
  return std::nullopt;
}

std::optional<std::string> unknown_key(const json& body, std::initializer_list<const char*> known) {
  for (const auto& [k, v] : body.items()) {
    (void)v;
    if (std::none_of(known.begin(), known.end(), [&](const char* n) { return k == n; })) return k;
  }
  return std::nullopt;
}

json resources_json(const RayResources& r) {
  json out = json::object();
  for (const auto& [k, v] : r) out[k] = v;
  return out;
}

}  // namespace

// ---- RayCallLog -----------------------------------------------------------------------------------------

RayCallLog::RayCallLog(std::uint64_t seed) : rng_(seed ^ 0x5261794743534641ULL) {}

RayCallLog::Faults RayCallLog::faults() const {
  std::lock_guard lock(mu_);
  Faults f = faults_;
  f.fail_nth = countdown_;  // what is left of it
  f.head_fail_nth = head_countdown_;
  return f;
}

void RayCallLog::set_faults(Faults f) {
  std::lock_guard lock(mu_);
  countdown_ = f.fail_nth;
  head_countdown_ = f.head_fail_nth;
  std::erase_if(head_countdown_, [](const auto& kv) { return kv.second <= 0; });
  faults_ = std::move(f);
}

int RayCallLog::decide(const std::string& head) {
  std::lock_guard lock(mu_);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double fail = u(rng_), which = u(rng_);
  bool failing = countdown_ > 0 && --countdown_ == 0;
  if (auto it = head_countdown_.find(head); it != head_countdown_.end() && --it->second == 0) {
    failing = true;
    head_countdown_.erase(it);
  }
  failing = failing || fail < faults_.fail_rate;
  if (!failing || faults_.codes.empty()) return 0;
  const auto n = faults_.codes.size();
  const auto idx = std::min(static_cast<std::size_t>(which * static_cast<double>(n)), n - 1);
  return test::grpc_code_of(faults_.codes[idx]).value_or(14);
}

void RayCallLog::record(const std::string& head, const test::FakeGcsCall& call) {
  std::lock_guard lock(mu_);
  calls_.push_back(Call{head, call});
  if (calls_.size() > kMaxCalls) {
    calls_.pop_front();
    ++dropped_;
  }
}

void RayCallLog::violation(const std::string& head, const std::string& what) {
  std::lock_guard lock(mu_);
  violations_.push_back(Violation{head, what});
}

std::vector<RayCallLog::Call> RayCallLog::calls() const {
  std::lock_guard lock(mu_);
  return {calls_.begin(), calls_.end()};
}

std::vector<RayCallLog::Violation> RayCallLog::violations() const {
  std::lock_guard lock(mu_);
  return violations_;
}

std::uint64_t RayCallLog::dropped_calls() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

// ---- the model ------------------------------------------------------------------------------------------

test::RayResources ray_node_resources(const Task& t, bool head) {
  if (head) return {{kHeadResource, 1.0}};
  RayResources out{{"CPU", 1.0}};
  const auto env = t.spec.find("environment");
  if (env == t.spec.end() || !env->is_object()) return out;
  auto number = [&](const char* key, const char* resource) {
    const auto v = env->find(key);
    if (v == env->end() || !v->is_string()) return;
    try {
      out[resource] = std::stod(v->get<std::string>());
    } catch (const std::exception&) {  // not a number: what `ray start` would refuse; keep the default
    }
  };
  number("RAYDOG_NUM_CPUS", "CPU");
  number("RAYDOG_NUM_GPUS", "GPU");
  number("RAYDOG_MEMORY", "memory");
  number("RAYDOG_OBJECT_STORE_MEMORY", "object_store_memory");
  const auto custom = env->find("RAYDOG_RAY_RESOURCES");
  if (custom != env->end() && custom->is_string()) {
    const json parsed = json::parse(custom->get<std::string>(), nullptr, false);
    if (parsed.is_object())
      for (auto it = parsed.begin(); it != parsed.end(); ++it)
        if (it.value().is_number()) out[it.key()] = it.value().get<double>();
  }
  return out;
}

RaySim::RaySim(Simulator& sim, RayConfig config)
    : sim_(sim),
      config_(std::move(config)),
      log_(config_.seed),
      jobs_(RayJobsConfig{config_.job_duration, config_.job_stop_delay, config_.seed}),
      now_(sim.now()) {
  sim_.track_task_changes();
}

std::string RaySim::node_id_of(const std::string& task_id) {
  return derive_bytes("ray-node:" + task_id, 28);
}

std::optional<std::string> RaySim::task_of_node(const std::string& node_id) const {
  const auto it = node_task_.find(node_id);
  if (it == node_task_.end()) return std::nullopt;
  return it->second;
}

const RaySim::TaskEnv& RaySim::env_of(const Task& t) {
  auto [it, fresh] = env_memo_.try_emplace(&t);
  if (!fresh) return it->second;
  TaskEnv& e = it->second;
  // The operator names its head group "head-node" plus a revision suffix ("head-node-1a2b3c").
  if (t.group) {
    const std::string& group = t.group->name();
    const std::string_view head = api::names::kHeadTaskGroup;
    e.head_group = group == head || (group.size() > head.size() && group.starts_with(head) && group[head.size()] == '-');
  }
  const auto env = t.spec.find("environment");
  if (env != t.spec.end() && env->is_object()) {
    auto str = [&](const char* key) {
      const auto v = env->find(key);
      return v != env->end() && v->is_string() ? v->get<std::string>() : std::string();
    };
    e.head_ip = str(kHeadIpEnv);
    e.instance_id = str(kInstanceIdEnv);
    e.type = str(kNodeTypeEnv);
  }
  return e;
}

void RaySim::tick(TimePoint now) {
  if (now > now_) now_ = now;
  bool every_head = std::exchange(touched_, false);
  std::vector<Task*> changed = sim_.take_changed_tasks();
  if (rescan_) {
    rescan_ = false;
    scan();
    every_head = true;
  } else if (!changed.empty()) {
    follow_tasks(std::move(changed));
  }
  std::vector<std::pair<std::string, std::optional<TimePoint>>> to_end;
  auto visit = [&](Head& h) {
    if (h.dirty) step(h);
    progress_drains(h, to_end);
    if (h.dirty) step(h);
  };
  if (every_head) {
    draining_.clear();
    for (auto& [id, h] : heads_) {
      visit(h);
      if (h.draining) draining_.insert(id);
    }
  } else {
    // Nothing was asked: only the heads whose tasks changed, and a drain's delay or deadline, move a head.
    for (const auto& id : touched_heads_)
      if (auto h = heads_.find(id); h != heads_.end() && !draining_.count(id)) {
        visit(h->second);
        if (h->second.draining) draining_.insert(id);
      }
    for (auto it = draining_.begin(); it != draining_.end();) {
      auto h = heads_.find(*it);
      if (h != heads_.end()) visit(h->second);
      it = h == heads_.end() || !h->second.draining ? draining_.erase(it) : std::next(it);
    }
  }
  touched_heads_.clear();
  // A drained raylet is gone: `ray start --block` returns and the task script ends (exit 0, see README).
  for (const auto& [task_id, started] : to_end) {
    auto t = sim_.find_task(task_id);
    if (t && in_progress((*t)->status) && (*t)->started == started) (void)sim_.task_exit(task_id, 0);
  }
}

void RaySim::end_jobs(const Head& h) {
  if (h.incarnation) jobs_.end_incarnation(h.incarnation, now_);
}

void RaySim::start_incarnation(Head& h) {
  end_jobs(h);  // the previous incarnation's (already gone when its GCS went down)
  ++incarnations_;
  h.incarnation = incarnations_;
  // Ray's shape: session_<date>_<time>_<micros>_<pid>; here the simulated time and the incarnation.
  std::string stamp = format_timestamp(now_);  // 2026-01-02T03:04:05.678Z
  for (char& c : stamp) c = c == 'T' ? '_' : c == ':' ? '-' : c == '.' ? '_' : c;
  if (!stamp.empty() && stamp.back() == 'Z') stamp.pop_back();
  h.session = "session_" + stamp + "_" + std::to_string(h.incarnation);
  h.cluster_id = derive_bytes("ray-cluster:" + h.task_id + "#" + std::to_string(h.incarnation), 28);
}

bool RaySim::runs(const Task& t) {
  return t.status == TaskStatus::kExecuting && t.worker && t.worker->node && t.worker->node->instance;
}

void RaySim::scan() {
  ++revision_;
  workers_of_ip_.clear();
  for (const Task* t : sim_.tasks())
    if (runs(*t) && !env_of(*t).head_group && !env_of(*t).head_ip.empty())
      workers_of_ip_[env_of(*t).head_ip].insert(t);
  // Heads: EXECUTING tasks of "head-node" groups, on a node whose instance has an address.
  std::map<std::string, const Task*> head_tasks;
  for (const Task* t : sim_.tasks()) {
    if (t->status != TaskStatus::kExecuting || !env_of(*t).head_group) continue;
    if (!t->worker || !t->worker->node || !t->worker->node->instance) continue;
    head_tasks[t->id] = t;
  }
  for (auto it = heads_.begin(); it != heads_.end();) {
    if (!head_tasks.count(it->first)) {
      unplace_all(it->first);
      end_jobs(it->second);
      it = heads_.erase(it);
    } else {
      ++it;
    }
  }
  std::map<std::string, Head*> by_ip;
  std::map<Head*, std::vector<const Task*>> members;
  for (const auto& [id, t] : head_tasks) {
    auto [it, fresh] = heads_.try_emplace(id);
    Head& h = it->second;
    if (!fresh && h.task_started != t->started) {  // the task ran again: a new head
      unplace_all(id);
      end_jobs(h);
      h = Head{};
      fresh = true;
    }
    if (fresh) {
      const Instance& inst = *t->worker->node->instance;
      h.task_id = id;
      h.private_ip = inst.private_ip;
      h.public_ip = inst.public_ip;
      h.task_started = t->started;
      h.work_requirement_id = t->group && t->group->wr ? t->group->wr->id : "";
      const auto c = controls_.find(id);
      h.gcs_up = c == controls_.end() || !c->second.gcs_down;
      if (h.gcs_up) start_incarnation(h);
    }
    by_ip[h.private_ip] = &h;
    members[&h].push_back(t);  // the head's own node first
  }
  // Workers: EXECUTING tasks whose RAY_HEAD_IP is a live head's private IP, in creation order.
  for (const Task* t : sim_.tasks()) {
    if (t->status != TaskStatus::kExecuting) continue;
    const TaskEnv& env = env_of(*t);
    if (env.head_group || env.head_ip.empty() || !t->worker || !t->worker->node || !t->worker->node->instance)
      continue;
    const auto it = by_ip.find(env.head_ip);
    if (it != by_ip.end()) members[it->second].push_back(t);
  }
  for (auto& [hp, tasks] : members) {
    Head& h = *hp;
    std::unordered_map<std::string, std::size_t> at;  // task id -> index in h.nodes (join only appends)
    for (std::size_t i = 0; i < h.nodes.size(); ++i) at[h.nodes[i].task_id] = i;
    std::unordered_set<std::string> want, absent;
    for (const Task* t : tasks) {
      const auto c = controls_.find(t->id);
      const auto n = at.find(t->id);
      if (c != controls_.end() && c->second.sticky == Control::Sticky::kAbsent) {
        if (n != at.end()) absent.insert(t->id);
        continue;
      }
      want.insert(t->id);
      if (n != at.end() && h.nodes[n->second].task_started == t->started) continue;
      join(h, *t, n != at.end() ? &h.nodes[n->second] : nullptr);
    }
    if (!absent.empty()) {
      std::erase_if(h.nodes, [&](const Node& x) { return absent.count(x.task_id) > 0; });
      h.dirty = true;
    }
    // The head's own node first (the listings' order; GCS itself promises none).
    std::stable_partition(h.nodes.begin(), h.nodes.end(), [](const Node& x) { return x.head; });
    for (Node& n : h.nodes)
      if (!want.count(n.task_id) && n.life != Life::kDead) set_dead(h, n);  // its task stopped
  }
  head_at_ip_.clear();
  for (const auto& [id, h] : heads_) head_at_ip_[h.private_ip] = id;
}

void RaySim::follow_tasks(std::vector<Task*> changed) {
  std::sort(changed.begin(), changed.end(), [](const Task* a, const Task* b) { return a->seq < b->seq; });
  // The workers' index first: a head that starts now finds the workers that run already.
  for (const Task* t : changed) {
    const TaskEnv& env = env_of(*t);
    if (env.head_group || env.head_ip.empty()) continue;
    if (runs(*t))
      workers_of_ip_[env.head_ip].insert(t);
    else if (auto w = workers_of_ip_.find(env.head_ip);
             w != workers_of_ip_.end() && w->second.erase(t) && w->second.empty())
      workers_of_ip_.erase(w);
  }
  for (const Task* t : changed) {
    if (!env_of(*t).head_group) continue;
    auto it = heads_.find(t->id);
    if (it != heads_.end() && (!runs(*t) || it->second.task_started != t->started)) {
      remove_head(it);  // its task stopped, or ran again: a new head
      it = heads_.end();
    }
    if (it == heads_.end() && runs(*t)) add_head(*t);
  }
  for (const Task* t : changed) {
    const TaskEnv& env = env_of(*t);
    if (env.head_group || env.head_ip.empty()) continue;
    const auto at = head_at_ip_.find(env.head_ip);
    if (at == head_at_ip_.end()) continue;
    follow_member(heads_.at(at->second), *t, runs(*t));
    touched_heads_.insert(at->second);
  }
}

void RaySim::remove_head(std::map<std::string, Head>::iterator it) {
  ++revision_;
  unplace_all(it->first);
  if (auto at = head_at_ip_.find(it->second.private_ip); at != head_at_ip_.end() && at->second == it->first)
    head_at_ip_.erase(at);
  touched_heads_.erase(it->first);
  end_jobs(it->second);
  heads_.erase(it);
}

void RaySim::add_head(const Task& t) {
  ++revision_;
  Head& h = heads_[t.id];
  end_jobs(h);  // a head still listed under this task (follow_tasks removes it first): its jobs end
  h = Head{};
  const Instance& inst = *t.worker->node->instance;
  h.task_id = t.id;
  h.private_ip = inst.private_ip;
  h.public_ip = inst.public_ip;
  h.task_started = t.started;
  h.work_requirement_id = t.group && t.group->wr ? t.group->wr->id : "";
  const auto c = controls_.find(t.id);
  h.gcs_up = c == controls_.end() || !c->second.gcs_down;
  if (h.gcs_up) start_incarnation(h);
  head_at_ip_[h.private_ip] = t.id;
  touched_heads_.insert(t.id);
  // Its own node first, then the workers that name it, in creation order (as scan() joins them).
  follow_member(h, t, true);
  if (const auto w = workers_of_ip_.find(h.private_ip); w != workers_of_ip_.end()) {
    std::vector<const Task*> members(w->second.begin(), w->second.end());
    std::sort(members.begin(), members.end(), [](const Task* a, const Task* b) { return a->seq < b->seq; });
    for (const Task* m : members) follow_member(h, *m, true);
  }
}

// One task of a head (its own or a worker's) as scan() treats it: an ABSENT control keeps it out, a run
// not yet joined joins (anew when it ran again), a stopped one is DEAD.
void RaySim::follow_member(Head& h, const Task& t, bool running) {
  const auto c = controls_.find(t.id);
  auto n = std::find_if(h.nodes.begin(), h.nodes.end(), [&](const Node& x) { return x.task_id == t.id; });
  if (!running) {
    if (n != h.nodes.end() && n->life != Life::kDead) set_dead(h, *n);
    return;
  }
  if (c != controls_.end() && c->second.sticky == Control::Sticky::kAbsent) {
    if (n != h.nodes.end()) {
      h.nodes.erase(n);
      h.dirty = true;
    }
    return;
  }
  if (n != h.nodes.end() && n->task_started == t.started) return;
  join(h, t, n != h.nodes.end() ? &*n : nullptr);
}

void RaySim::join(Head& h, const Task& t, Node* existing) {
  const TaskEnv& env = env_of(t);
  Node n;
  n.task_id = t.id;
  n.node_id = node_id_of(t.id);
  node_task_[n.node_id] = t.id;
  n.head = env.head_group;
  n.instance_id = env.instance_id.empty() ? t.id : env.instance_id;
  n.type = !env.type.empty() ? env.type : n.head ? "head" : "";
  n.ip = t.worker->node->instance->private_ip;
  n.task_started = t.started;
  n.total = ray_node_resources(t, n.head);
  n.idle_since = now_;
  if (auto c = controls_.find(t.id); c != controls_.end()) {
    n.forced_busy = c->second.running;
    if (c->second.idle_since) {
      n.idle_since = *c->second.idle_since;
      c->second.idle_since.reset();
    }
    if (c->second.sticky == Control::Sticky::kDead) n.life = Life::kDead;
  }
  if (existing)
    *existing = std::move(n);  // a new raylet: what ran on the old one is pending again (step)
  else
    h.nodes.push_back(std::move(n));  // scan() puts the head's node first
  // Work placed on an earlier run of this task is unplaced by the step (the node it names restarted).
  Demand& d = demand_[h.task_id];
  for (Unit& u : d.units)
    if (u.node == t.id) u.node.clear();
  for (Gang& g : d.gangs)
    if (g.placed && std::any_of(g.bundles.begin(), g.bundles.end(), [&](const Unit& b) { return b.node == t.id; })) {
      g.placed = false;
      for (Unit& b : g.bundles) b.node.clear();
    }
  h.dirty = true;
}

void RaySim::set_dead(Head& h, Node& n) {
  n.life = Life::kDead;
  n.busy = false;
  h.dirty = true;  // the step returns its work to pending
}

void RaySim::unplace_all(const std::string& head_task) {
  auto it = demand_.find(head_task);
  if (it == demand_.end()) return;
  for (Unit& u : it->second.units) u.node.clear();
  for (Gang& g : it->second.gangs) {
    g.placed = false;
    for (Unit& b : g.bundles) b.node.clear();
  }
}

void RaySim::step(Head& h) {
  ++revision_;
  Demand& d = demand_[h.task_id];
  std::map<std::string, const Node*> holding;  // nodes that keep placed work: alive or draining
  for (const Node& n : h.nodes)
    if (n.life != Life::kDead) holding[n.task_id] = &n;
  // Work on nodes that are gone is pending again (a gang as a whole).
  for (Unit& u : d.units)
    if (!u.node.empty() && !holding.count(u.node)) u.node.clear();
  for (Gang& g : d.gangs)
    if (g.placed &&
        std::any_of(g.bundles.begin(), g.bundles.end(), [&](const Unit& b) { return !holding.count(b.node); })) {
      g.placed = false;
      for (Unit& b : g.bundles) b.node.clear();
    }
  std::map<std::string, RayResources> free;
  for (const auto& [id, n] : holding) free[id] = n->total;
  for (const Unit& u : d.units)
    if (!u.node.empty()) take(free[u.node], u.shape);
  for (const Gang& g : d.gangs)
    if (g.placed)
      for (const Unit& b : g.bundles) take(free[b.node], b.shape);
  // First fit on live nodes, in node order.
  for (Unit& u : d.units) {
    if (!u.node.empty()) continue;
    for (const Node& n : h.nodes) {
      if (n.life != Life::kAlive || !fits(free[n.task_id], u.shape)) continue;
      take(free[n.task_id], u.shape);
      u.node = n.task_id;
      break;
    }
  }
  for (Gang& g : d.gangs) {
    if (g.placed) continue;
    std::map<std::string, RayResources> trial = free;
    std::vector<std::string> chosen;
    if (g.strategy == "STRICT_PACK") {
      RayResources all;
      for (const Unit& b : g.bundles)
        for (const auto& [k, v] : b.shape) all[k] += v;
      for (const Node& n : h.nodes)
        if (n.life == Life::kAlive && fits(trial[n.task_id], all)) {
          chosen.assign(g.bundles.size(), n.task_id);
          take(trial[n.task_id], all);
          break;
        }
    } else {  // STRICT_SPREAD: one bundle per node
      for (const Unit& b : g.bundles) {
        bool placed = false;
        for (const Node& n : h.nodes) {
          if (n.life != Life::kAlive || std::count(chosen.begin(), chosen.end(), n.task_id) > 0 ||
              !fits(trial[n.task_id], b.shape))
            continue;
          take(trial[n.task_id], b.shape);
          chosen.push_back(n.task_id);
          placed = true;
          break;
        }
        if (!placed) break;
      }
    }
    if (chosen.size() != g.bundles.size()) continue;
    for (std::size_t i = 0; i < chosen.size(); ++i) g.bundles[i].node = chosen[i];
    g.placed = true;
    free = std::move(trial);
  }
  std::set<std::string> working;
  for (const Unit& u : d.units)
    if (!u.node.empty()) working.insert(u.node);
  for (const Gang& g : d.gangs)
    if (g.placed)
      for (const Unit& b : g.bundles) working.insert(b.node);
  for (Node& n : h.nodes) {
    const bool busy = n.life != Life::kDead && (n.forced_busy || working.count(n.task_id) > 0);
    if (n.busy && !busy) n.idle_since = now_;
    n.busy = busy;
  }
  h.dirty = false;
  ++h.generation;
}

void RaySim::progress_drains(Head& h, std::vector<std::pair<std::string, std::optional<TimePoint>>>& to_end) {
  if (!h.draining) return;
  const std::int64_t now_ms = ms_of(now_);
  bool still = false;
  for (Node& n : h.nodes) {
    if (n.life == Life::kDraining) still = true;
    if (n.life != Life::kDraining || now_ < n.drain_at + config_.drain_delay) continue;
    const bool deadline_passed = n.drain_deadline_ms > 0 && now_ms >= n.drain_deadline_ms;
    if (n.busy && !deadline_passed) continue;  // a preempted busy node waits for its work (or the deadline)
    set_dead(h, n);
    to_end.emplace_back(n.task_id, n.task_started);
  }
  h.draining = still;
}

void RaySim::drained(const std::string& head_task, const test::FakeDrain& drain) {
  auto it = heads_.find(head_task);
  if (it == heads_.end()) return;
  Head& h = it->second;
  for (Node& n : h.nodes) {
    if (n.node_id != drain.node_id || n.life != Life::kAlive) continue;
    n.life = Life::kDraining;
    h.draining = true;
    draining_.insert(head_task);  // the next tick steps it
    n.drain_at = drain.at_ms > 0 ? TimePoint(Millis(drain.at_ms)) : now_;
    n.drain_deadline_ms = drain.deadline_ms;
    h.dirty = true;
  }
}

RaySim::Head* RaySim::head_of_node_task(const std::string& task_id, Node** node) {
  for (auto& [id, h] : heads_)
    for (Node& n : h.nodes)
      if (n.task_id == task_id) {
        *node = &n;
        return &h;
      }
  *node = nullptr;
  return nullptr;
}

test::FakeClusterState RaySim::state_of(const Head& h) const {
  test::FakeClusterState st;
  std::map<std::string, RayResources> used;
  std::vector<const RayResources*> pending;
  const auto d = demand_.find(h.task_id);
  if (d != demand_.end()) {
    for (const Unit& u : d->second.units) {
      if (u.node.empty())
        pending.push_back(&u.shape);
      else
        take(used[u.node], u.shape);
    }
    for (const Gang& g : d->second.gangs) {
      if (g.placed) {
        for (const Unit& b : g.bundles) take(used[b.node], b.shape);
        continue;
      }
      test::FakeGang fg;
      fg.pg_id = g.pg_id;
      fg.strategy = g.strategy;
      for (const Unit& b : g.bundles) fg.bundles.push_back(b.shape);
      st.gangs.push_back(std::move(fg));
    }
    std::vector<const RayResources*> constraints;
    for (const auto& c : d->second.constraints) constraints.push_back(&c);
    st.constraints = by_shape(constraints);
  }
  st.pending = by_shape(pending);
  for (const Node& n : h.nodes) {
    test::FakeRayNode f;
    f.node_id = n.node_id;
    f.instance_id = n.instance_id;
    f.node_type = n.type;
    f.ip = n.ip;
    f.total = n.total;
    f.status = n.life == Life::kDead ? "DEAD" : n.life == Life::kDraining ? "DRAINING" : n.busy ? "RUNNING" : "IDLE";
    f.idle_ms = f.status == "IDLE" ? std::max<std::int64_t>(0, ms_of(now_) - ms_of(n.idle_since)) : 0;
    RayResources available = n.total;
    if (const auto u = used.find(n.task_id); u != used.end())
      for (const auto& [k, v] : u->second) available[k] += v;  // `used` holds negative amounts (take)
    f.available = std::move(available);
    const auto c = controls_.find(n.task_id);
    f.reject_drain = c != controls_.end() && c->second.reject_drain;
    f.busy = n.busy;
    st.nodes.push_back(std::move(f));
  }
  return st;
}

// ---- /_sim/ray/ -----------------------------------------------------------------------------------------

json RaySim::node_json(const Head& h, const Node& n, const test::FakeRayNode& f) const {
  return {{"head", h.task_id},          {"task", n.task_id},    {"nodeId", hex_encode(n.node_id)},
          {"instanceId", n.instance_id}, {"type", n.type},       {"ip", n.ip},
          {"isHead", n.head},            {"state", f.status},    {"idleMs", f.idle_ms},
          {"total", resources_json(n.total)}, {"available", resources_json(f.available.value_or(n.total))},
          {"rejectDrain", f.reject_drain}};
}

json RaySim::nodes_json(const Head& h) const {
  // The GCS view of the head's nodes (state_of keeps their order), so the listing and the GCS never disagree.
  const test::FakeClusterState st = state_of(h);
  json out = json::array();
  for (std::size_t i = 0; i < h.nodes.size(); ++i) out.push_back(node_json(h, h.nodes[i], st.nodes[i]));
  return out;
}

json RaySim::head_json(const Head& h) const {
  std::int64_t pending = 0;
  if (const auto d = demand_.find(h.task_id); d != demand_.end())
    for (const Unit& u : d->second.units) pending += u.node.empty() ? 1 : 0;
  return {{"task", h.task_id},
          {"privateIp", h.private_ip},
          {"publicIp", h.public_ip.empty() ? json(nullptr) : json(h.public_ip)},
          {"gcs", h.gcs_up ? "up" : "down"},
          {"incarnation", h.incarnation},
          {"session", h.session},
          {"clusterId", hex_encode(h.cluster_id)},
          {"gcsAddress", h.private_ip + ":" + std::to_string(kGcsPort)},
          {"dashboardUrl", "http://" + h.private_ip + ":" + std::to_string(kDashboardPort)},
          {"rayVersion", config_.ray_version},
          {"nodes", h.nodes.size()},
          {"pendingRequests", pending}};
}

DashboardAnswer RaySim::jobs_request(const std::string& head_task, std::uint64_t incarnation, const std::string& method,
                                     const std::string& target, const std::string& body, TimePoint now) {
  const auto it = heads_.find(head_task);
  if (it == heads_.end() || !it->second.gcs_up || it->second.incarnation != incarnation)
    return DashboardAnswer{503, "text/plain; charset=utf-8", "", Millis(0), true};
  const Head& h = it->second;
  const JobHead head{h.task_id, h.incarnation, h.session, h.private_ip, hex_encode(node_id_of(h.task_id)),
                     h.work_requirement_id};
  return jobs_.dashboard(head, method, target, body, now);
}

ApiResponse RaySim::handle(const std::string& m, const std::vector<std::string>& s, const std::string& body) {
  // The jobs' endpoints change no GCS: answered before the walk every other control asks for.
  if (auto r = jobs_.handle_sim(m, s, body, now_, [this](const std::string& task) { return heads_.count(task) > 0; }))
    return *r;
  touched_ = true;  // the next tick looks at every head
  ++revision_;      // control_head changes what a GCS shows without a step
  const auto n = s.size();
  // Every body is a JSON object.
  auto parse = [&](json& out) -> std::optional<ApiResponse> {
    if (body.empty()) return bad("a JSON object body is required");
    out = json::parse(body, nullptr, false);
    if (out.is_discarded()) return bad("malformed JSON body");
    if (!out.is_object()) return bad("the body must be a JSON object");
    return std::nullopt;
  };
  json b;
  if (n == 3 && s[2] == "nodes" && m == "GET") {
    json out = json::array();
    for (const auto& [id, h] : heads_)
      for (auto& node : nodes_json(h)) out.push_back(std::move(node));
    return json_reply(200, out);
  }
  if (n == 3 && s[2] == "heads" && m == "GET") {
    json out = json::array();
    for (const auto& [id, h] : heads_) out.push_back(head_json(h));
    return json_reply(200, out);
  }
  if (n == 3 && s[2] == "calls" && m == "GET") {
    json out = json::array();
    for (const auto& c : log_.calls()) {
      const bool drain = c.call.method == "DrainNode";
      const auto task = drain ? task_of_node(c.call.node_id) : std::nullopt;
      out.push_back({{"head", c.head},
                     {"method", c.call.method},
                     {"nodeTask", task ? json(*task) : json(nullptr)},
                     {"nodeId", drain ? json(hex_encode(c.call.node_id)) : json(nullptr)},
                     {"reason", drain ? json(c.call.reason) : json(nullptr)},
                     {"accepted", c.call.accepted ? json(*c.call.accepted) : json(nullptr)},
                     {"fault", c.call.fault.empty() ? json(nullptr) : json(c.call.fault)}});
    }
    return json_reply(200, out);
  }
  if (n == 3 && s[2] == "violations" && m == "GET") {
    json out = json::array();
    for (const auto& v : log_.violations()) out.push_back({{"head", v.head}, {"violation", v.what}});
    return json_reply(200, out);
  }
  if (n == 3 && s[2] == "faults" && (m == "GET" || m == "PUT")) {
    if (m == "PUT") {
      if (auto err = parse(b)) return *err;
      if (auto err = put_faults(b); err.status != 200) return err;
    }
    const auto f = log_.faults();
    return json_reply(200, {{"failRate", f.fail_rate}, {"failNth", f.fail_nth}, {"codes", f.codes},
                            {"heads", f.head_fail_nth}});
  }
  if (n >= 4 && n <= 5 && (s[2] == "nodes" || s[2] == "heads") && m == "POST") {
    if (auto err = parse(b)) return *err;
    const std::string& id = s[3];
    if (auto t = sim_.find_task(id); !t) return error_response(t.error());
    rescan_ = true;  // a node may join or leave on the next tick
    if (s[2] == "nodes" && n == 4) return control_node(id, b);
    if (s[2] == "nodes" && s[4] == "reject-drain") return control_reject(id, b);
    if (s[2] == "heads" && n == 4) return control_head(id, b);
    if (s[2] == "heads" && s[4] == "demand") return control_demand(id, b);
  }
  std::string path;
  for (std::size_t i = 0; i < n; ++i) path += "/" + s[i];
  return error_response(ApiError{404, "NotFoundException", "No simulator endpoint " + m + " " + path});
}

ApiResponse RaySim::control_node(const std::string& task_id, const json& b) {
  if (auto k = unknown_key(b, {"state", "idleMs"})) return bad("unknown field " + *k + " (state, idleMs)");
  const std::string state = b.contains("state") && b["state"].is_string() ? b["state"].get<std::string>() : "";
  if (state != "IDLE" && state != "RUNNING" && state != "DEAD" && state != "ABSENT")
    return bad("state must be one of IDLE, RUNNING, DEAD, ABSENT");
  std::int64_t idle_ms = 0;
  if (b.contains("idleMs")) {
    const auto v = non_negative_integer(b["idleMs"]);
    if (!v) return bad("idleMs must be a non-negative integer (milliseconds)");
    if (state != "IDLE") return bad("idleMs goes with state IDLE only");
    idle_ms = *v;
  }
  Control& c = controls_[task_id];
  Node* node = nullptr;
  Head* h = head_of_node_task(task_id, &node);
  if (state == "IDLE") {
    c.sticky = Control::Sticky::kNone;
    c.running = false;
    const TimePoint since = now_ - Millis(idle_ms);
    if (node) {
      // Its work is done: what ran on it leaves the demand (a gang loses the bundles it had there).
      Demand& d = demand_[h->task_id];
      std::erase_if(d.units, [&](const Unit& u) { return u.node == task_id; });
      for (Gang& g : d.gangs)
        if (g.placed) std::erase_if(g.bundles, [&](const Unit& u) { return u.node == task_id; });
      std::erase_if(d.gangs, [](const Gang& g) { return g.bundles.empty(); });
      node->forced_busy = false;
      node->busy = false;
      node->life = Life::kAlive;
      node->idle_since = since;
      h->dirty = true;
    } else {
      c.idle_since = since;
    }
  } else if (state == "RUNNING") {
    c.sticky = Control::Sticky::kNone;
    c.running = true;
    c.idle_since.reset();
    if (node) {
      node->forced_busy = true;
      node->life = Life::kAlive;
      h->dirty = true;
    }
  } else if (state == "DEAD") {
    c.sticky = Control::Sticky::kDead;
    c.running = false;
    if (node && node->life != Life::kDead) set_dead(*h, *node);  // the task keeps running
  } else {
    c.sticky = Control::Sticky::kAbsent;
    c.running = false;
    if (node) {
      std::erase_if(h->nodes, [&](const Node& x) { return x.task_id == task_id; });
      h->dirty = true;
    }
  }
  for (auto& [id, head] : heads_)
    if (head.dirty) step(head);
  json listed = nullptr;
  h = head_of_node_task(task_id, &node);
  if (h)
    for (const auto& j : nodes_json(*h))
      if (j["task"] == task_id) listed = j;
  return json_reply(200, {{"task", task_id}, {"state", state}, {"node", listed}});
}

ApiResponse RaySim::control_reject(const std::string& task_id, const json& b) {
  if (auto k = unknown_key(b, {"reject"})) return bad("unknown field " + *k + " (reject)");
  if (!b.contains("reject") || !b["reject"].is_boolean()) return bad("reject must be true or false");
  controls_[task_id].reject_drain = b["reject"].get<bool>();
  Node* node = nullptr;
  if (Head* h = head_of_node_task(task_id, &node)) h->dirty = true;
  return json_reply(200, {{"task", task_id}, {"rejectDrain", controls_[task_id].reject_drain}});
}

ApiResponse RaySim::control_head(const std::string& task_id, const json& b) {
  if (auto k = unknown_key(b, {"gcs"})) return bad("unknown field " + *k + " (gcs)");
  const std::string gcs = b.contains("gcs") && b["gcs"].is_string() ? b["gcs"].get<std::string>() : "";
  if (gcs != "up" && gcs != "down") return bad("gcs must be \"up\" or \"down\"");
  const Task& t = **sim_.find_task(task_id);
  if (!env_of(t).head_group)
    return bad("task " + task_id + " is not in a " + std::string(api::names::kHeadTaskGroup) + " task group");
  controls_[task_id].gcs_down = gcs == "down";
  auto it = heads_.find(task_id);
  if (it == heads_.end()) return json_reply(200, {{"task", task_id}, {"gcs", gcs}, {"head", nullptr}});
  Head& h = it->second;
  if (gcs == "down" && h.gcs_up) {
    h.gcs_up = false;
    end_jobs(h);  // the head's processes died: a later "up" is a new job table
    ++h.generation;
  } else if (gcs == "up" && !h.gcs_up) {
    h.gcs_up = true;
    start_incarnation(h);  // a new GCS: new session, new cluster id, versions from 0
    ++h.generation;
  }
  return json_reply(200, {{"task", task_id}, {"gcs", gcs}, {"head", head_json(h)}});
}

ApiResponse RaySim::control_demand(const std::string& task_id, const json& b) {
  if (auto k = unknown_key(b, {"pending", "gangs", "constraints"}))
    return bad("unknown field " + *k + " (pending, gangs, constraints)");
  const Task& t = **sim_.find_task(task_id);
  if (!env_of(t).head_group)
    return bad("task " + task_id + " is not in a " + std::string(api::names::kHeadTaskGroup) + " task group");
  Demand d;
  std::string why;
  std::int64_t total = 0;
  const auto array_of = [&](const char* field) -> std::optional<json> {
    if (!b.contains(field)) return json::array();
    if (!b[field].is_array()) return std::nullopt;
    return b[field];
  };
  const auto pending = array_of("pending");
  if (!pending) return bad("pending must be an array of {\"shape\": {...}, \"count\": N}");
  for (std::size_t i = 0; i < pending->size(); ++i) {
    const json& p = (*pending)[i];
    const std::string field = "pending[" + std::to_string(i) + "]";
    if (!p.is_object() || !p.contains("shape")) return bad(field + ".shape is required");
    auto shape = shape_of(p["shape"], field + ".shape", why);
    if (!shape) return bad(why);
    const auto count = p.contains("count") ? non_negative_integer(p["count"]) : std::optional<std::int64_t>(1);
    if (!count) return bad(field + ".count must be a non-negative integer");
    total += *count;
    if (total > kMaxRequestsPerHead) return bad("pending: at most " + std::to_string(kMaxRequestsPerHead) + " requests");
    for (std::int64_t k = 0; k < *count; ++k) d.units.push_back(Unit{*shape, ""});
  }
  const auto gangs = array_of("gangs");
  if (!gangs) return bad("gangs must be an array of {\"strategy\": ..., \"bundles\": [...]}");
  ++demand_serial_;
  for (std::size_t i = 0; i < gangs->size(); ++i) {
    const json& g = (*gangs)[i];
    const std::string field = "gangs[" + std::to_string(i) + "]";
    if (!g.is_object()) return bad(field + " must be an object");
    const std::string strategy = g.contains("strategy") && g["strategy"].is_string() ? g["strategy"].get<std::string>() : "";
    if (strategy != "STRICT_SPREAD" && strategy != "STRICT_PACK")
      return bad(field + ".strategy must be STRICT_SPREAD or STRICT_PACK");
    if (!g.contains("bundles") || !g["bundles"].is_array() || g["bundles"].empty())
      return bad(field + ".bundles must be a non-empty array of shapes");
    Gang gang;
    gang.strategy = strategy;
    gang.pg_id = hex_encode(derive_bytes(
        "ray-pg:" + task_id + "#" + std::to_string(demand_serial_) + "#" + std::to_string(i), 18));
    for (std::size_t k = 0; k < g["bundles"].size(); ++k) {
      auto shape = shape_of(g["bundles"][k], field + ".bundles[" + std::to_string(k) + "]", why);
      if (!shape) return bad(why);
      gang.bundles.push_back(Unit{*shape, ""});
    }
    total += static_cast<std::int64_t>(gang.bundles.size());
    if (total > kMaxRequestsPerHead) return bad("gangs: at most " + std::to_string(kMaxRequestsPerHead) + " requests");
    d.gangs.push_back(std::move(gang));
  }
  const auto constraints = array_of("constraints");
  if (!constraints) return bad("constraints must be an array of shapes");
  for (std::size_t i = 0; i < constraints->size(); ++i) {
    auto shape = shape_of((*constraints)[i], "constraints[" + std::to_string(i) + "]", why);
    if (!shape) return bad(why);
    d.constraints.push_back(std::move(*shape));
  }
  demand_[task_id] = std::move(d);  // replaces the previous demand and what it had placed
  json out = {{"task", task_id}, {"requests", total}, {"head", nullptr}};
  if (auto it = heads_.find(task_id); it != heads_.end()) {
    step(it->second);
    out["head"] = head_json(it->second);
  }
  return json_reply(200, out);
}

ApiResponse RaySim::put_faults(const json& b) {
  if (auto k = unknown_key(b, {"failRate", "failNth", "codes", "head"}))
    return bad("unknown field " + *k + " (failRate, failNth, codes, head)");
  RayCallLog::Faults f = log_.faults();
  if (b.contains("head")) {
    // One head's own n-th call: only failNth goes with it.
    if (!b["head"].is_string() || !heads_.count(b["head"].get<std::string>()))
      return bad("head must be the task id of a live head");
    if (!b.contains("failNth") || b.contains("failRate") || b.contains("codes"))
      return bad("head goes with failNth only");
    const auto v = non_negative_integer(b["failNth"]);
    if (!v) return bad("failNth must be a non-negative integer (0: none)");
    f.head_fail_nth[b["head"].get<std::string>()] = *v;
    log_.set_faults(std::move(f));
    return json_reply(200, json::object());
  }
  if (b.contains("failRate")) {
    if (!b["failRate"].is_number() || b["failRate"].get<double>() < 0 || b["failRate"].get<double>() > 1)
      return bad("failRate must be a number in [0, 1]");
    f.fail_rate = b["failRate"].get<double>();
  }
  if (b.contains("failNth")) {
    const auto v = non_negative_integer(b["failNth"]);
    if (!v) return bad("failNth must be a non-negative integer (0: none)");
    f.fail_nth = *v;
  }
  if (b.contains("codes")) {
    if (!b["codes"].is_array() || b["codes"].empty()) return bad("codes must be a non-empty array of gRPC code names");
    f.codes.clear();
    for (const auto& c : b["codes"]) {
      if (!c.is_string() || !test::grpc_code_of(c.get<std::string>()))
        return bad("codes: " + c.dump() + " is not a gRPC status code name (UNAVAILABLE, DEADLINE_EXCEEDED, ...)");
      f.codes.push_back(c.get<std::string>());
    }
  }
  log_.set_faults(std::move(f));
  return json_reply(200, json::object());
}

}  // namespace raydog::ydsim
