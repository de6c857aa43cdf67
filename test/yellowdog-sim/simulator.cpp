// API operations of the core (what a REST call does to the model). The time-driven half is scheduler.cpp.
#include "test/yellowdog-sim/simulator.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

namespace raydog::ydsim {

namespace {
constexpr const char* kAccount = "000000";
constexpr int kMaxNodesPerPool = 10000;  // platform limit documented by the CLI; larger values are clamped

ApiError status_error(const char* type, std::string message) {
  return ApiError{403, type, std::move(message)};
}

// Read-only properties a client may resend (§2.1): dropped from stored specs, regenerated on output.
void strip(json& j, std::initializer_list<const char*> keys) {
  for (const char* k : keys) j.erase(k);
}

std::optional<int> int_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer() || it->is_number_unsigned()) return it->get<int>();
  if (it->is_number_float()) return static_cast<int>(it->get<double>());
  return std::nullopt;
}

// {enabled, timeout} -> timeout when enabled and positive. A zero timeout is treated as disabled: a zero
// idle timeout would reclaim a node the moment it registers, before any task could reach it.
Result<std::optional<Millis>, ApiError> idle_setting(json& props, const char* key) {
  auto it = props.find(key);
  if (it == props.end() || !it->is_object()) return std::optional<Millis>{};
  std::optional<Millis> timeout;
  if (it->contains("timeout") && (*it)["timeout"].is_string()) {
    auto d = parse_iso_duration((*it)["timeout"].get<std::string>());
    if (!d || d->count() < 0)
      return unexpected(invalid_request(std::string(key) + ".timeout is not an ISO-8601 duration"));
    (*it)["timeout"] = format_iso_duration(*d);
    timeout = d;
  }
  if (!it->value("enabled", false) || !timeout || timeout->count() == 0) return std::optional<Millis>{};
  return timeout;
}

}  // namespace

ApiError not_found(std::string_view what, std::string_view id) {
  std::string type = std::string(what) + "NotFoundException";
  return ApiError{404, type, std::string(what) + " not found: " + std::string(id)};
}
ApiError invalid_request(std::string message) {
  return ApiError{400, "InvalidRequestException", std::move(message)};
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 60) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

Simulator::Simulator(SimConfig config, TimePoint start) : config_(config), now_(start), rng_(config.seed) {}

std::string Simulator::new_uuid() {
  std::uint64_t a = rng_(), b = rng_();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", (unsigned long long)(a >> 32),
                (unsigned long long)((a >> 16) & 0xffff), (unsigned long long)(a & 0xffff),
                (unsigned long long)(b >> 48), (unsigned long long)(b & 0xffffffffffffULL));
  return buf;
}

std::string Simulator::new_instance_id() {
  char buf[32];
  std::snprintf(buf, sizeof buf, "i-0%016llx", (unsigned long long)rng_());
  return buf;
}

// ---- status setters: keep statusChangedTime honest -------------------------------------------------
#define RAYDOG_SET_STATUS(Type, Enum)           \
  void Simulator::set_status(Type& o, Enum s) { \
    if (o.status == s) return;                  \
    o.status = s;                               \
    ++changes_;                                 \
    o.status_changed = now_;                    \
  }
RAYDOG_SET_STATUS(WorkerPool, PoolStatus)
RAYDOG_SET_STATUS(ComputeRequirement, CrStatus)
RAYDOG_SET_STATUS(Instance, InstanceStatus)
RAYDOG_SET_STATUS(Node, NodeStatus)
RAYDOG_SET_STATUS(Worker, WorkerStatus)
#undef RAYDOG_SET_STATUS

void Simulator::set_status(WorkRequirement& wr, WrStatus s) {
  if (wr.status == s) return;
  wr.status = s;
  ++changes_;
  wr.status_changed = now_;
  wr_changed_index_.stamp(wr, now_);
}

void Simulator::set_started(Task& t) {
  t.started = now_;
  started_index_.stamp(t, now_);
}
void Simulator::clear_started(Task& t) {
  t.started.reset();
  started_index_.clear(t);
}
void Simulator::set_finished(Task& t) {
  t.finished = now_;
  finished_index_.stamp(t, now_);
}

void Simulator::set_status(TaskGroup& g, TgStatus s) {
  if (g.status == s) return;
  g.status = s;
  ++changes_;
  g.status_changed = now_;
  g.last_updated = now_;
}
void Simulator::set_status(Task& t, TaskStatus s) {
  if (t.status == s) return;
  t.status = s;
  ++changes_;
  t.status_changed = now_;
  if (t.group) t.group->last_updated = now_;
  if (track_task_changes_ && !t.change_listed) {
    t.change_listed = true;
    changed_tasks_.push_back(&t);
  }
}

std::vector<Task*> Simulator::take_changed_tasks() {
  std::vector<Task*> out = std::exchange(changed_tasks_, {});
  for (Task* t : out) t->change_listed = false;
  return out;
}

// ---- worker pools -----------------------------------------------------------------------------------

SimResult<WorkerPool*> Simulator::provision_pool(const json& body) {
  wake();
  if (!body.is_object() || !body.contains("requirementTemplateUsage") ||
      !body["requirementTemplateUsage"].is_object())
    return unexpected(invalid_request("requirementTemplateUsage is required"));
  json usage = body["requirementTemplateUsage"];
  json props = body.value("provisionedProperties", json::object());
  if (!props.is_object()) return unexpected(invalid_request("provisionedProperties must be an object"));
  std::string template_id = usage.value("templateId", std::string());
  if (template_id.empty())
    return unexpected(invalid_request("requirementTemplateUsage.templateId is required"));
  std::string name = usage.value("requirementName", std::string());
  if (!valid_name(name))
    return unexpected(invalid_request("requirementName '" + name +
                                      "' must match [a-z][a-z0-9_-]* and be at most 60 characters"));
  std::string ns = usage.value("requirementNamespace", std::string("default"));
  if (auto same = pools_by_name_.find({ns, name}); same != pools_by_name_.end())
    for (const WorkerPool* p : same->second)
      if (!finished(p->status))
        return unexpected(invalid_request("A worker pool named " + ns + "/" + name + " already exists"));
  if (auto same = crs_by_name_.find({ns, name}); same != crs_by_name_.end())
    for (const ComputeRequirement* cr : same->second)
      if (cr->status != CrStatus::kTerminated)
        return unexpected(
            invalid_request("A compute requirement named " + ns + "/" + name + " already exists"));

  int target = int_field(usage, "targetInstanceCount").value_or(0);
  if (target < 0) return unexpected(invalid_request("targetInstanceCount must not be negative"));
  int min_nodes = int_field(props, "minNodes").value_or(0);
  int max_nodes = int_field(props, "maxNodes").value_or(std::max(target, 1));
  if (min_nodes < 0 || max_nodes < 0 || min_nodes > max_nodes)
    return unexpected(invalid_request("minNodes/maxNodes are inconsistent"));
  max_nodes = std::min(max_nodes, kMaxNodesPerPool);
  target = std::min(target, kMaxNodesPerPool);

  int workers_per_node = 1;
  if (props.contains("createNodeWorkers") && props["createNodeWorkers"].is_object()) {
    const auto& cnw = props["createNodeWorkers"];
    int count = std::max(1, int_field(cnw, "targetCount").value_or(1));
    std::string type = cnw.value("targetType", std::string("PER_NODE"));
    workers_per_node = type == "PER_VCPU" ? count * 2 /* simulated nodes have 2 vCPUs */ : count;
  }
  auto idle_node = idle_setting(props, "idleNodeShutdown");
  if (!idle_node) return unexpected(idle_node.error());
  auto idle_pool = idle_setting(props, "idlePoolShutdown");
  if (!idle_pool) return unexpected(idle_pool.error());
  std::optional<Millis> boot_timeout;
  if (props.contains("nodeBootTimeout") && props["nodeBootTimeout"].is_string()) {
    boot_timeout = parse_iso_duration(props["nodeBootTimeout"].get<std::string>());
    if (!boot_timeout) return unexpected(invalid_request("nodeBootTimeout is not an ISO-8601 duration"));
    props["nodeBootTimeout"] = format_iso_duration(*boot_timeout);
    if (boot_timeout->count() <= 0) boot_timeout.reset();
  }

  auto cr = std::make_unique<ComputeRequirement>();
  cr->id = std::string("ydid:compreq:") + kAccount + ":" + new_uuid();
  cr->source_id = std::string("ydid:compsrc:") + kAccount + ":" + new_uuid();
  cr->name = name;
  cr->ns = ns;
  cr->tag = usage.value("requirementTag", std::string());
  cr->template_id = template_id;
  cr->images_id = usage.value("imagesId", std::string());
  cr->target_instance_count = target;
  cr->maintain_instance_count = usage.value("maintainInstanceCount", false);
  cr->public_ips = config_.public_ips && template_id.find("private") == std::string::npos;
  cr->created = cr->status_changed = now_;

  auto pool = std::make_unique<WorkerPool>();
  pool->id = std::string("ydid:wrkrpool:") + kAccount + ":" + new_uuid();
  pool->name = name;
  pool->ns = ns;
  pool->usage = usage;
  pool->properties = props;
  pool->created = pool->status_changed = now_;
  pool->cr = cr.get();
  pool->min_nodes = min_nodes;
  pool->max_nodes = max_nodes;
  pool->workers_per_node = workers_per_node;
  pool->worker_tag = props.value("workerTag", std::string());
  pool->idle_node_timeout = *idle_node;
  pool->idle_pool_timeout = *idle_pool;
  pool->node_boot_timeout = boot_timeout;
  cr->pool = pool.get();

  WorkerPool* p = pool.get();
  p->seq = pools_.size();
  pool_by_id_[p->id] = p;
  cr_by_id_[cr->id] = cr.get();
  ComputeRequirement* c = cr.get();
  pools_by_name_[{ns, name}].push_back(p);
  crs_by_name_[{ns, name}].push_back(c);
  pools_by_tag_[p->worker_tag].push_back(p);
  pools_.push_back(std::move(pool));
  crs_.push_back(std::move(cr));
  add_instances(*c, target);
  if (target == 0) set_status(*c, CrStatus::kRunning);
  return p;
}

void Simulator::add_instances(ComputeRequirement& cr, int count) {
  if (count > 0) ++changes_;
  for (int i = 0; i < count; ++i) {
    auto inst = std::make_unique<Instance>();
    inst->number = ++instance_counter_;
    inst->instance_id = new_instance_id();
    // 127.N.x.y private, 127.N.(128+x).y public: 128 x 254 = 32,512 instances per block, then the next
    // block; .0 and .255 never end an address, so the block's sentinel 127.N.255.255 is never a node.
    const int k = (inst->number - 1) % std::max(1, config_.instances_per_block);  // within its block
    const int x = k / 254 % 128, y = k % 254 + 1;
    const std::string block = "127." + std::to_string(ip_block_for(inst->number)) + ".";
    inst->private_ip = block + std::to_string(x) + "." + std::to_string(y);
    if (cr.public_ips) inst->public_ip = block + std::to_string(128 + x) + "." + std::to_string(y);
    inst->hostname = "sim-" + std::to_string(inst->number);
    inst->cr = &cr;
    inst->created = inst->status_changed = now_;
    inst->boot_at = now_ + config_.boot_delay;
    inst->register_at = inst->boot_at + config_.register_delay;
    inst->fail_boot = cr.pool && cr.pool->fail_provisioning;
    cr.instances.push_back(inst.get());
    instance_by_id_[inst->instance_id] = inst.get();
    instances_.push_back(std::move(inst));
  }
  if (count > 0 && cr.status != CrStatus::kTerminating && cr.status != CrStatus::kTerminated)
    set_status(cr, CrStatus::kProvisioning);
}

int Simulator::ip_block_for(int instance_number) {
  const auto index =
      static_cast<std::size_t>((instance_number - 1) / std::max(1, config_.instances_per_block));
  if (ip_blocks_.empty()) ip_blocks_.push_back(config_.ip_block);
  ip_blocks_[0] = config_.ip_block;
  while (ip_blocks_.size() <= index) {
    int next = 0;
    if (ip_blocks_exhausted_)
      next = 0;
    else if (claim_ip_block)
      next = claim_ip_block();
    else if (ip_blocks_.back() < 254)
      next = ip_blocks_.back() + 1;
    if (next == 0) {  // none free: addresses repeat
      ip_blocks_exhausted_ = true;
      return ip_blocks_[index % ip_blocks_.size()];
    }
    ip_blocks_.push_back(next);
  }
  return ip_blocks_[index];
}

SimResult<WorkerPool*> Simulator::find_pool(const std::string& id) {
  auto it = pool_by_id_.find(id);
  if (it == pool_by_id_.end()) return unexpected(not_found("WorkerPool", id));
  return it->second;
}

SimResult<WorkerPool*> Simulator::find_pool_by_name(const std::string& ns, const std::string& name) {
  WorkerPool* best = nullptr;  // the live one, else the newest finished one
  if (auto same = pools_by_name_.find({ns, name}); same != pools_by_name_.end())
    for (WorkerPool* p : same->second)
      if (!best || finished(best->status)) best = p;
  if (!best) return unexpected(not_found("WorkerPool", ns + "/" + name));
  return best;
}

SimResult<WorkerPool*> Simulator::shutdown_pool(const std::string& id) {
  wake();
  auto p = find_pool(id);
  if (!p) return p;
  WorkerPool& pool = **p;
  if (pool.refuse_shutdown)
    return unexpected(
        ApiError{500, "InternalServerException", "Worker pool " + id + " cannot be shut down now"});
  if (finished(pool.status)) {
    if (config_.strict_repeat)
      return unexpected(
          status_error("InvalidWorkerPoolStatusException",
                       "Worker pool " + id + " is already " + std::string(to_string(pool.status))));
    return &pool;
  }
  set_status(pool, PoolStatus::kShutdown);
  begin_terminate(*pool.cr);
  return &pool;
}

SimResult<WorkerPool*> Simulator::resize_pool(const std::string& id, int size) {
  wake();
  auto p = find_pool(id);
  if (!p) return p;
  WorkerPool& pool = **p;
  if (finished(pool.status))
    return unexpected(
        status_error("InvalidWorkerPoolStatusException", "Worker pool " + id + " is shut down"));
  if (size < 0) return unexpected(invalid_request("size must not be negative"));
  size = std::min(size, kMaxNodesPerPool);
  ComputeRequirement& cr = *pool.cr;
  cr.target_instance_count = size;
  pool.max_nodes = std::max(pool.max_nodes, size);
  std::vector<Instance*> live;
  for (Instance* i : cr.instances)
    if (i->status == InstanceStatus::kPending || i->status == InstanceStatus::kRunning) live.push_back(i);
  int have = static_cast<int>(live.size());
  if (have < size) add_instances(cr, size - have);
  // Shrinking: not yet booted instances first, then idle nodes; busy nodes are left alone.
  std::stable_partition(live.begin(), live.end(),
                        [](Instance* i) { return i->status == InstanceStatus::kPending; });
  for (Instance* i : live) {
    if (have <= size) break;
    if (i->node && !gone(i->node->status) && i->node->busy()) continue;
    if (i->node && !gone(i->node->status)) node_gone(*i->node, NodeStatus::kTerminated);
    set_status(*i, InstanceStatus::kTerminating);
    i->terminate_at = now_ + config_.terminate_delay;
    --have;
  }
  return &pool;
}

SimResult<Node*> Simulator::find_node(const std::string& id) {
  auto it = node_by_id_.find(id);
  if (it == node_by_id_.end()) return unexpected(not_found("Node", id));
  return it->second;
}

SimResult<Node*> Simulator::node_of_worker(const std::string& worker_id) {
  auto it = worker_by_id_.find(worker_id);
  if (it == worker_by_id_.end()) return unexpected(not_found("Worker", worker_id));
  return it->second->node;
}

SimResult<Node*> Simulator::shutdown_node(const std::string& id) {
  wake();
  auto n = find_node(id);
  if (!n) return n;
  Node& node = **n;
  if (!gone(node.status)) {
    node_gone(node, NodeStatus::kDeregistered);
    if (node.instance && node.instance->status != InstanceStatus::kTerminated) {
      set_status(*node.instance, InstanceStatus::kTerminating);
      node.instance->terminate_at = now_ + config_.terminate_delay;
    }
  }
  return &node;
}

// ---- work requirements --------------------------------------------------------------------------------

SimResult<TaskGroup*> Simulator::add_group(WorkRequirement& wr, json spec) {
  if (!spec.is_object()) return unexpected(invalid_request("a task group must be an object"));
  strip(spec, {"id", "status", "statusChangedTime", "taskSummary"});
  auto g = std::make_unique<TaskGroup>();
  g->wr = &wr;
  g->index = static_cast<int>(wr.groups.size()) + 1;
  g->seq = group_count_++;
  g->id = std::string("ydid:taskgrp:") + kAccount + ":" + wr.uuid + ":" + std::to_string(g->index);
  g->spec = std::move(spec);
  g->status_changed = g->last_updated = now_;
  TaskGroup* out = g.get();
  tg_by_id_[out->id] = out;
  wr.groups.push_back(std::move(g));
  if (wr.status == WrStatus::kHeld) out->status = TgStatus::kHeld;
  return out;
}

namespace {
std::optional<ApiError> validate_groups(const json& groups, std::set<std::string> names) {
  if (!groups.is_array()) return invalid_request("taskGroups must be an array");
  if (groups.size() > 1000) return invalid_request("a work requirement has at most 1000 task groups");
  for (const auto& g : groups) {
    if (!g.is_object()) return invalid_request("a task group must be an object");
    if (g.contains("id") && g["id"].is_string()) continue;  // existing group (update)
    std::string name = g.value("name", std::string());
    if (name.empty()) return invalid_request("task group name is required");
    if (!names.insert(name).second) return invalid_request("A task group named " + name + " already exists");
    const json& rs = g.value("runSpecification", json());
    if (!rs.is_object()) return invalid_request("task group " + name + ": runSpecification is required");
    const json& types = rs.value("taskTypes", json());
    if (!types.is_array() || types.empty())
      return invalid_request("task group " + name + ": runSpecification.taskTypes is required");
    if (rs.contains("taskTimeout") &&
        (!rs["taskTimeout"].is_string() || !parse_iso_duration(rs["taskTimeout"].get<std::string>())))
      return invalid_request("task group " + name + ": taskTimeout is not an ISO-8601 duration");
  }
  return std::nullopt;
}
}  // namespace

SimResult<WorkRequirement*> Simulator::create_work_requirement(const json& body) {
  wake();
  if (!body.is_object()) return unexpected(invalid_request("the body must be a work requirement object"));
  std::string ns = body.value("namespace", std::string());
  std::string name = body.value("name", std::string());
  if (ns.empty()) return unexpected(invalid_request("namespace is required"));
  if (!valid_name(name))
    return unexpected(
        invalid_request("name '" + name + "' must match [a-z][a-z0-9_-]* and be at most 60 characters"));
  if (auto same = wrs_by_name_.find({ns, name}); same != wrs_by_name_.end())
    for (const WorkRequirement* w : same->second)
      if (!finished(w->status))
        return unexpected(invalid_request("A work requirement named " + ns + "/" + name + " already exists"));
  json groups = body.value("taskGroups", json::array());
  for (const auto& g : groups)
    if (g.is_object() && g.contains("id"))
      return unexpected(invalid_request("new task groups must not have ids"));
  if (auto err = validate_groups(groups, {})) return unexpected(*err);

  auto wr = std::make_unique<WorkRequirement>();
  wr->uuid = new_uuid();
  wr->id = std::string("ydid:workreq:") + kAccount + ":" + wr->uuid;
  wr->spec = body;
  strip(wr->spec, {"id", "createdTime", "status", "statusChangedTime", "taskGroups"});
  wr->created = wr->status_changed = now_;
  wr_changed_index_.stamp(*wr, now_);
  WorkRequirement* out = wr.get();
  wr_by_id_[out->id] = out;
  wrs_by_name_[{ns, name}].push_back(out);
  wrs_.push_back(std::move(wr));
  for (const auto& g : groups) (void)add_group(*out, g);
  return out;
}

SimResult<WorkRequirement*> Simulator::update_work_requirement(const json& body) {
  wake();
  if (!body.is_object() || !body.contains("id") || !body["id"].is_string())
    return unexpected(invalid_request("the work requirement id is required"));
  auto w = find_work_requirement(body["id"].get<std::string>());
  if (!w) return w;
  WorkRequirement& wr = **w;
  if (finished(wr.status))
    return unexpected(status_error("InvalidWorkRequirementStatusException",
                                   "Work requirement " + wr.id + " is " + std::string(to_string(wr.status))));
  json groups = body.value("taskGroups", json::array());
  std::set<std::string> names;
  for (const auto& g : wr.groups) names.insert(g->name());
  if (auto err = validate_groups(groups, names)) return unexpected(*err);
  for (const auto& g : groups)
    if (g.contains("id") && g["id"].is_string()) {
      auto it = tg_by_id_.find(g["id"].get<std::string>());
      if (it == tg_by_id_.end() || it->second->wr != &wr)
        return unexpected(not_found("TaskGroup", g["id"].get<std::string>()));
    }
  // Mutable top-level fields follow the body; identity does not.
  json spec = body;
  strip(spec, {"id", "createdTime", "status", "statusChangedTime", "taskGroups"});
  spec["namespace"] = wr.ns();
  spec["name"] = wr.name();
  wr.spec = std::move(spec);
  for (const auto& g : groups)
    if (!g.contains("id") || !g["id"].is_string()) (void)add_group(wr, g);
  return &wr;
}

SimResult<WorkRequirement*> Simulator::find_work_requirement(const std::string& id) {
  auto it = wr_by_id_.find(id);
  if (it == wr_by_id_.end()) return unexpected(not_found("WorkRequirement", id));
  return it->second;
}

SimResult<WorkRequirement*> Simulator::find_work_requirement_by_name(const std::string& ns,
                                                                     const std::string& name) {
  WorkRequirement* best = nullptr;
  if (auto same = wrs_by_name_.find({ns, name}); same != wrs_by_name_.end())
    for (WorkRequirement* w : same->second)
      if (!best || finished(best->status)) best = w;
  if (!best) return unexpected(not_found("WorkRequirement", ns + "/" + name));
  return best;
}

SimResult<WorkRequirement*> Simulator::transition_work_requirement(const std::string& id,
                                                                   const std::string& target, bool abort) {
  wake();
  auto w = find_work_requirement(id);
  if (!w) return w;
  WorkRequirement& wr = **w;
  auto target_status = parse_wr_status(target);
  if (!target_status) return unexpected(invalid_request("unknown work requirement status " + target));
  auto refuse = [&] {
    return unexpected(status_error("InvalidWorkRequirementStatusException",
                                   "Cannot transition work requirement " + wr.id + " from " +
                                       std::string(to_string(wr.status)) + " to " + target));
  };
  switch (*target_status) {
    case WrStatus::kCancelling: {
      if (finished(wr.status)) return refuse();
      if (wr.status != WrStatus::kCancelling) {
        set_status(wr, WrStatus::kCancelling);
        for (auto& g : wr.groups)
          if (!terminal(g->status)) set_status(*g, TgStatus::kCancelling);
      }
      wr.abort_on_cancel = wr.abort_on_cancel || abort;
      for (auto& g : wr.groups)
        for (Task* t : g->tasks) {
          if (waiting(t->status))
            finish_task(*t, TaskStatus::kCancelled);
          else if (abort && in_progress(t->status)) {
            t->abort_requested = now_;
            finish_task(*t, TaskStatus::kAborted);
          }
        }
      return &wr;
    }
    case WrStatus::kHeld:
      if (wr.status != WrStatus::kRunning) return refuse();
      set_status(wr, WrStatus::kHeld);
      for (auto& g : wr.groups)
        if (!terminal(g->status)) set_status(*g, TgStatus::kHeld);
      return &wr;
    case WrStatus::kRunning:
      if (wr.status != WrStatus::kHeld) return refuse();
      set_status(wr, WrStatus::kRunning);
      for (auto& g : wr.groups)
        if (g->status == TgStatus::kHeld) set_status(*g, TgStatus::kPending);
      return &wr;
    case WrStatus::kFinishing:
      if (wr.status != WrStatus::kRunning) return refuse();
      set_status(wr, WrStatus::kFinishing);
      for (auto& g : wr.groups)
        if (g->status == TgStatus::kRunning || g->status == TgStatus::kPending)
          set_status(*g, TgStatus::kFinishing);
      return &wr;
    default:
      return refuse();  // CANCELLED, COMPLETED, FAILED are the platform's to decide
  }
}

SimResult<TaskGroup*> Simulator::find_task_group(const std::string& id) {
  auto it = tg_by_id_.find(id);
  if (it == tg_by_id_.end()) return unexpected(not_found("TaskGroup", id));
  return it->second;
}

SimResult<TaskGroup*> Simulator::find_task_group_by_names(const std::string& ns, const std::string& wr_name,
                                                          const std::string& tg_name) {
  auto w = find_work_requirement_by_name(ns, wr_name);
  if (!w) return unexpected(w.error());
  for (auto& g : (*w)->groups)
    if (g->name() == tg_name) return g.get();
  return unexpected(not_found("TaskGroup", ns + "/" + wr_name + "/" + tg_name));
}

SimResult<std::vector<Task*>> Simulator::add_tasks(const std::string& task_group_id, const json& body) {
  wake();
  auto gr = find_task_group(task_group_id);
  if (!gr) return unexpected(gr.error());
  TaskGroup& g = **gr;
  WorkRequirement& wr = *g.wr;
  if (wr.status != WrStatus::kRunning && wr.status != WrStatus::kHeld)
    return unexpected(status_error(
        "InvalidWorkRequirementStatusException",
        "Work requirement " + wr.id + " is " + std::string(to_string(wr.status)) + " and accepts no tasks"));
  if (terminal(g.status) || g.status == TgStatus::kFailing || g.status == TgStatus::kCancelling ||
      g.status == TgStatus::kFinishing)
    return unexpected(status_error(
        "InvalidTaskGroupStatusException",
        "Task group " + g.id + " is " + std::string(to_string(g.status)) + " and accepts no tasks"));
  if (!body.is_array()) return unexpected(invalid_request("the body must be an array of tasks"));
  std::set<std::string> names;
  for (Task* t : g.tasks)
    if (!t->name().empty()) names.insert(t->name());
  const json tmpl = g.spec.value("taskTemplate", json::object());
  for (const auto& t : body) {
    if (!t.is_object()) return unexpected(invalid_request("a task must be an object"));
    std::string name = t.value("name", std::string());
    if (!name.empty() && !names.insert(name).second)
      return unexpected(
          invalid_request("A task named " + name + " already exists in task group " + g.name()));
    bool has_type = (t.contains("taskType") && t["taskType"].is_string()) ||
                    (tmpl.is_object() && tmpl.contains("taskType"));
    if (!has_type) return unexpected(invalid_request("taskType is required"));
    if (t.contains("environment") && !t["environment"].is_object())
      return unexpected(invalid_request("environment must be an object of strings"));
    if (t.contains("timeout") &&
        (!t["timeout"].is_string() || !parse_iso_duration(t["timeout"].get<std::string>())))
      return unexpected(invalid_request("timeout is not an ISO-8601 duration"));
  }
  std::vector<Task*> out;
  for (const auto& body_task : body) {
    auto t = std::make_unique<Task>();
    t->spec = body_task;
    strip(t->spec, {"id", "status", "retryCount", "taskGroupId", "nodeId", "workerId", "errors",
                    "startedTime", "finishedTime", "abortRequestedTime", "workingTime", "resubmittedToTaskId",
                    "resubmittedFromTaskId"});
    t->group = &g;
    t->index = static_cast<int>(g.tasks.size()) + 1;
    t->id = std::string("ydid:task:") + kAccount + ":" + wr.uuid + ":" + std::to_string(g.index) + ":" +
            std::to_string(t->index);
    t->created = t->status_changed = now_;
    t->status = TaskStatus::kReady;
    t->seq = tasks_.size();
    Task* p = t.get();
    task_by_id_[p->id] = p;
    tasks_.push_back(p);
    g.tasks.push_back(p);
    task_storage_.push_back(std::move(t));
    out.push_back(p);
  }
  g.last_updated = now_;
  return out;
}

SimResult<Task*> Simulator::find_task(const std::string& id) {
  auto it = task_by_id_.find(id);
  if (it == task_by_id_.end()) return unexpected(not_found("Task", id));
  return it->second;
}

SimResult<Task*> Simulator::cancel_task(const std::string& id, bool abort) {
  wake();
  auto t = find_task(id);
  if (!t) return t;
  Task& task = **t;
  if (finished(task.status))
    return unexpected(status_error("InvalidTaskStatusException",
                                   "Task " + id + " is already " + std::string(to_string(task.status))));
  if (waiting(task.status)) {
    finish_task(task, TaskStatus::kCancelled);
  } else if (abort) {
    task.abort_requested = now_;
    finish_task(task, TaskStatus::kAborted);
  }
  // In progress without abort: the task is allowed to finish.
  return &task;
}

// ---- compute ------------------------------------------------------------------------------------------

SimResult<ComputeRequirement*> Simulator::find_compute_requirement(const std::string& id) {
  auto it = cr_by_id_.find(id);
  if (it == cr_by_id_.end()) return unexpected(not_found("ComputeRequirement", id));
  return it->second;
}

SimResult<ComputeRequirement*> Simulator::terminate_compute_requirement(const std::string& id) {
  wake();
  auto c = find_compute_requirement(id);
  if (!c) return c;
  ComputeRequirement& cr = **c;
  if (cr.pool && cr.pool->refuse_shutdown)
    return unexpected(
        ApiError{500, "InternalServerException", "Compute requirement " + id + " cannot be terminated now"});
  if (cr.status == CrStatus::kTerminating || cr.status == CrStatus::kTerminated) {
    if (config_.strict_repeat)
      return unexpected(
          status_error("InvalidComputeRequirementStatusException",
                       "Compute requirement " + id + " is already " + std::string(to_string(cr.status))));
    return &cr;
  }
  begin_terminate(cr);
  return &cr;
}

void Simulator::begin_terminate(ComputeRequirement& cr) {
  if (cr.status == CrStatus::kTerminating || cr.status == CrStatus::kTerminated) return;
  set_status(cr, CrStatus::kTerminating);
  for (Instance* i : cr.instances) {
    if (i->node && !gone(i->node->status)) node_gone(*i->node, NodeStatus::kTerminated);
    if (i->status != InstanceStatus::kTerminated && i->status != InstanceStatus::kTerminating) {
      set_status(*i, InstanceStatus::kTerminating);
      i->terminate_at = now_ + config_.terminate_delay;
    }
  }
}

// ---- control hooks -----------------------------------------------------------------------------------

SimResult<Task*> Simulator::task_exit(const std::string& id, int code) {
  wake();
  auto t = find_task(id);
  if (!t) return t;
  Task& task = **t;
  if (!in_progress(task.status))
    return unexpected(
        invalid_request("Task " + id + " is " + std::string(to_string(task.status)) + ", not running"));
  if (code == 0)
    finish_task(task, TaskStatus::kCompleted);
  else
    finish_task(task, TaskStatus::kFailed, "PROCESS_NON_ZERO_EXIT",
                "Process exited with code " + std::to_string(code), code);
  return &task;
}

SimResult<Node*> Simulator::lose_node(const std::string& id) {
  wake();
  auto n = find_node(id);
  if (!n) return n;
  if (!gone((*n)->status)) node_gone(**n, NodeStatus::kLost);
  return n;
}

SimResult<Instance*> Simulator::lose_instance(const std::string& instance_id) {
  wake();
  auto it = instance_by_id_.find(instance_id);
  if (it == instance_by_id_.end()) return unexpected(not_found("Instance", instance_id));
  Instance& inst = *it->second;
  if (inst.node && !gone(inst.node->status)) node_gone(*inst.node, NodeStatus::kLost);
  set_status(inst, InstanceStatus::kTerminated);
  return &inst;
}

SimResult<WorkerPool*> Simulator::refuse_shutdown(const std::string& pool_id, bool refuse) {
  wake();
  auto p = find_pool(pool_id);
  if (!p) return p;
  (*p)->refuse_shutdown = refuse;
  return p;
}

SimResult<WorkerPool*> Simulator::fail_provisioning(const std::string& pool_id) {
  wake();
  auto p = find_pool(pool_id);
  if (!p) return p;
  (*p)->fail_provisioning = true;
  for (Instance* i : (*p)->cr->instances)
    if (i->status == InstanceStatus::kPending) i->fail_boot = true;
  return p;
}

}  // namespace raydog::ydsim
