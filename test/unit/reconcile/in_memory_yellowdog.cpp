#include "test/unit/reconcile/in_memory_yellowdog.hpp"

#include <algorithm>

namespace raydog::reconcile::testing {

namespace yd = raydog::yellowdog;

yd::YdError yd_error(yd::YdErrorKind kind, std::string op, std::string message) {
  yd::YdError e;
  e.kind = kind;
  switch (kind) {
    case yd::YdErrorKind::kNotFound:
      e.http_status = 404;
      break;
    case yd::YdErrorKind::kInvalidRequest:
    case yd::YdErrorKind::kAlreadyExists:
      e.http_status = 400;
      break;
    case yd::YdErrorKind::kNotAuthorised:
      e.http_status = 401;
      break;
    case yd::YdErrorKind::kInvalidStatusTransition:
      e.http_status = 403;
      break;
    case yd::YdErrorKind::kThrottled:
      e.http_status = 429;
      break;
    case yd::YdErrorKind::kServerError:
      e.http_status = 500;
      break;
    case yd::YdErrorKind::kTransport:
    case yd::YdErrorKind::kProtocol:
      break;
  }
  e.message = std::move(message);
  e.operation = std::move(op);
  return e;
}

namespace {

template <class T>
T* find_by(std::vector<T>& items, auto pred) {
  auto it = std::find_if(items.begin(), items.end(), pred);
  return it == items.end() ? nullptr : &*it;
}

yd::YdError not_found(const std::string& op, const std::string& what) {
  return yd_error(yd::YdErrorKind::kNotFound, op, what + " not found");
}

}  // namespace

std::size_t InMemoryYellowDog::count(std::string_view op) const {
  return static_cast<std::size_t>(
      std::count_if(calls.begin(), calls.end(), [&](const Call& c) { return c.op == op; }));
}

void InMemoryYellowDog::fail_all(std::string op) {
  fault = [op = std::move(op)](const Call& c) -> std::optional<yd::YdError> {
    if (c.op != op) return std::nullopt;
    return yd_error(yd::YdErrorKind::kServerError, c.op, "injected HTTP 500");
  };
}

std::optional<yd::YdError> InMemoryYellowDog::enter(std::string op, std::string arg) {
  calls.push_back({std::move(op), std::move(arg)});
  if (fault) return fault(calls.back());
  return std::nullopt;
}

std::optional<yd::YdError> InMemoryYellowDog::lost() {
  if (!lose_response || !lose_response(calls.back())) return std::nullopt;
  auto e = yd_error(yd::YdErrorKind::kTransport, calls.back().op,
                    "injected: connection closed before the response");
  e.maybe_applied = true;
  return e;
}

yd::WorkRequirement InMemoryYellowDog::reported(yd::WorkRequirement wr) const {
  for (auto& g : wr.task_groups) {
    if (!g.id) continue;
    yd::TaskSummary s;
    for (const auto* t : tasks_in_group(*g.id)) {
      ++s.task_count;
      ++s.status_counts[t->status ? t->status->str() : "PENDING"];
    }
    g.task_summary = std::move(s);
  }
  return wr;
}

void InMemoryYellowDog::advance() {
  for (auto& p : pools) {
    if (yd::is_finished(p.status)) continue;
    std::int64_t target = 0;
    if (p.compute_requirement_id)
      if (auto* cr = compute_requirement(*p.compute_requirement_id)) {
        cr->status = yd::ComputeRequirementStatus("RUNNING");
        target = cr->target_instance_count.value_or(0);
      }
    p.status = yd::WorkerPoolStatus("RUNNING");
    p.node_summary.emplace();
    p.node_summary->status_counts["RUNNING"] = target;
  }
  for (const auto& w : work_requirements) {
    for (const auto& g : w.task_groups) {
      const auto& tags = g.run_specification.worker_tags;
      yd::WorkerPool* pool = nullptr;
      for (auto& p : pools)
        if (tags && p.properties && p.properties->worker_tag && !yd::is_finished(p.status) &&
            std::find(tags->begin(), tags->end(), *p.properties->worker_tag) != tags->end())
          pool = &p;
      for (auto& t : tasks) {
        if (t.task_group_id != g.id || !t.status || !yd::is_waiting(*t.status) || !pool) continue;
        const int n = next_id_++;
        yd::Node node;
        node.id = "ydid:node:" + std::to_string(n);
        node.worker_pool_id = pool->id;
        node.status = yd::NodeStatus("RUNNING");
        node.details.instance_id = "i-" + std::to_string(n);
        node.details.private_ip_address = "10.0.0." + std::to_string(n);
        yd::Worker worker;
        worker.id = "ydid:wrkr:" + std::to_string(n);
        worker.status = yd::WorkerStatus("DOING_TASK");
        node.workers.push_back(worker);
        nodes.push_back(node);
        yd::Instance instance;
        instance.id.instance_id = "i-" + std::to_string(n);
        instance.public_ip_address = "203.0.113." + std::to_string(n);
        instance.status = yd::InstanceStatus("RUNNING");
        instances[pool->compute_requirement_id.value_or("")].push_back(instance);
        t.status = yd::TaskStatus("EXECUTING");
        t.worker_id = worker.id;
        t.node_id = node.id;
        t.started_time = "2027-01-15T08:00:00.000Z";
      }
    }
  }
}

std::string InMemoryYellowDog::next_id(std::string_view kind) {
  return "ydid:" + std::string(kind) + ":" + std::to_string(next_id_++);
}

yd::WorkerPool& InMemoryYellowDog::add_pool(const std::string& ns, const std::string& name,
                                            std::int64_t nodes, std::int64_t running) {
  yd::ComputeRequirement cr;
  cr.id = next_id("cmpreq");
  cr.namespace_ = ns;
  cr.name = name;
  cr.status = yd::ComputeRequirementStatus("RUNNING");
  cr.target_instance_count = nodes;
  compute_requirements.push_back(cr);
  yd::WorkerPool p;
  p.type = std::string(yd::kProvisionedWorkerPoolType);
  p.id = next_id("wrkrpool");
  p.name = name;
  p.namespace_ = ns;
  p.status = yd::WorkerPoolStatus("RUNNING");
  p.compute_requirement_id = cr.id;
  p.node_summary.emplace();
  p.node_summary->status_counts["RUNNING"] = running;
  p.properties.emplace();
  p.properties->worker_tag = name;
  p.properties->max_nodes = nodes;
  pools.push_back(p);
  return pools.back();
}

yd::ComputeRequirement* InMemoryYellowDog::compute_requirement(const std::string& id) {
  return find_by(compute_requirements, [&](const auto& c) { return c.id == id; });
}
yd::WorkerPool* InMemoryYellowDog::pool_named(const std::string& name) {
  return find_by(pools, [&](const auto& p) { return p.name == name; });
}
yd::WorkRequirement* InMemoryYellowDog::work_requirement_named(const std::string& name) {
  return find_by(work_requirements, [&](const auto& w) { return w.name == name; });
}
std::vector<const yd::Task*> InMemoryYellowDog::tasks_in_group(const std::string& group_id) const {
  std::vector<const yd::Task*> out;
  for (const auto& t : tasks)
    if (t.task_group_id == group_id) out.push_back(&t);
  return out;
}

// ---- worker pools ----

InMemoryYellowDog::Async<yd::WorkerPool> InMemoryYellowDog::provision_worker_pool(
    yd::ProvisionRequest request) {
  const auto& usage = request.requirement_template_usage;
  if (auto e = enter("provision_worker_pool", usage.requirement_name)) co_return unexpected(*e);
  const std::string ns = usage.requirement_namespace.value_or("");
  if (find_by(pools, [&](const auto& p) { return p.name == usage.requirement_name && p.namespace_ == ns; }))
    co_return unexpected(
        yd_error(yd::YdErrorKind::kAlreadyExists, "provision_worker_pool",
                 "A worker pool named " + ns + "/" + usage.requirement_name + " already exists"));
  provision_requests.push_back(request);
  yd::ComputeRequirement cr;
  cr.id = next_id("cmpreq");
  cr.namespace_ = ns;
  cr.name = usage.requirement_name;
  cr.status = yd::ComputeRequirementStatus("NEW");
  cr.target_instance_count = usage.target_instance_count;
  compute_requirements.push_back(cr);
  yd::WorkerPool p;
  p.type = std::string(yd::kProvisionedWorkerPoolType);
  p.id = next_id("wrkrpool");
  p.name = usage.requirement_name;
  p.namespace_ = ns;
  p.status = yd::WorkerPoolStatus("PENDING");
  p.compute_requirement_id = cr.id;
  p.properties = request.provisioned_properties;
  pools.push_back(p);
  if (auto e = lost()) co_return unexpected(*e);
  co_return p;
}

InMemoryYellowDog::Async<yd::WorkerPool> InMemoryYellowDog::get_worker_pool(std::string id) {
  if (auto e = enter("get_worker_pool", id)) co_return unexpected(*e);
  if (auto* p = find_by(pools, [&](const auto& x) { return x.id == id; })) co_return *p;
  co_return unexpected(not_found("get_worker_pool", id));
}

InMemoryYellowDog::Async<yd::WorkerPool> InMemoryYellowDog::get_worker_pool_by_name(std::string ns,
                                                                                    std::string name) {
  if (auto e = enter("get_worker_pool_by_name", ns + "/" + name)) co_return unexpected(*e);
  if (auto* p = find_by(pools, [&](const auto& x) { return x.name == name && x.namespace_ == ns; }))
    co_return *p;
  co_return unexpected(not_found("get_worker_pool_by_name", ns + "/" + name));
}

InMemoryYellowDog::Async<std::vector<yd::WorkerPoolSummary>> InMemoryYellowDog::search_worker_pools(
    yd::WorkerPoolSearch search) {
  if (auto e = enter("search_worker_pools", search.namespace_.value_or(""))) co_return unexpected(*e);
  std::vector<yd::WorkerPoolSummary> out;
  for (const auto& p : pools) {
    if (search.namespace_ && p.namespace_ != search.namespace_) continue;
    yd::WorkerPoolSummary s;
    s.id = p.id;
    s.name = p.name;
    s.namespace_ = p.namespace_;
    s.type = p.type;
    s.status = p.status;
    s.created_time = p.created_time;
    out.push_back(std::move(s));
  }
  co_return out;
}

InMemoryYellowDog::Async<Done> InMemoryYellowDog::shut_down_worker_pool(std::string id) {
  if (auto e = enter("shut_down_worker_pool", id)) co_return unexpected(*e);
  auto* p = find_by(pools, [&](const auto& x) { return x.id == id; });
  if (!p) co_return unexpected(not_found("shut_down_worker_pool", id));
  p->status = yd::WorkerPoolStatus("SHUTDOWN");
  co_return Done{};
}

InMemoryYellowDog::Async<yd::WorkerPool> InMemoryYellowDog::resize_worker_pool(std::string id,
                                                                               std::int64_t size) {
  if (auto e = enter("resize_worker_pool", id)) co_return unexpected(*e);
  auto* p = find_by(pools, [&](const auto& x) { return x.id == id; });
  if (!p) co_return unexpected(not_found("resize_worker_pool", id));
  resizes.emplace_back(id, size);
  if (p->compute_requirement_id)
    if (auto* cr = compute_requirement(*p->compute_requirement_id)) cr->target_instance_count = size;
  co_return *p;
}

InMemoryYellowDog::Async<yd::Node> InMemoryYellowDog::get_node_of_worker(std::string worker_id) {
  if (auto e = enter("get_node_of_worker", worker_id)) co_return unexpected(*e);
  for (const auto& n : nodes)
    for (const auto& w : n.workers)
      if (w.id == worker_id) co_return n;
  co_return unexpected(not_found("get_node_of_worker", worker_id));
}

InMemoryYellowDog::Async<yd::Node> InMemoryYellowDog::get_node(std::string id) {
  if (auto e = enter("get_node", id)) co_return unexpected(*e);
  if (auto* n = find_by(nodes, [&](const auto& x) { return x.id == id; })) co_return *n;
  co_return unexpected(not_found("get_node", id));
}

InMemoryYellowDog::Async<yd::Node> InMemoryYellowDog::shut_down_node(std::string id) {
  if (auto e = enter("shut_down_node", id)) co_return unexpected(*e);
  auto* n = find_by(nodes, [&](const auto& x) { return x.id == id; });
  if (!n) co_return unexpected(not_found("shut_down_node", id));
  n->status = yd::NodeStatus("DEREGISTERED");
  co_return *n;
}

InMemoryYellowDog::Async<std::vector<yd::Node>> InMemoryYellowDog::search_nodes(yd::NodeSearch search) {
  if (auto e = enter("search_nodes", search.worker_pool_id.value_or(""))) co_return unexpected(*e);
  std::vector<yd::Node> out;
  for (const auto& n : nodes)
    if (!search.worker_pool_id || n.worker_pool_id == search.worker_pool_id) out.push_back(n);
  co_return out;
}

// ---- work requirements and tasks ----

InMemoryYellowDog::Async<yd::WorkRequirement> InMemoryYellowDog::create_work_requirement(
    yd::WorkRequirement wr) {
  if (auto e = enter("create_work_requirement", wr.name)) co_return unexpected(*e);
  if (find_by(work_requirements,
              [&](const auto& x) { return x.name == wr.name && x.namespace_ == wr.namespace_; }))
    co_return unexpected(
        yd_error(yd::YdErrorKind::kAlreadyExists, "create_work_requirement",
                 "A work requirement named " + wr.namespace_ + "/" + wr.name + " already exists"));
  work_requirement_writes.push_back(wr);
  wr.id = next_id("workreq");
  wr.status = yd::WorkRequirementStatus("RUNNING");
  for (auto& g : wr.task_groups) g.id = next_id("taskgrp");
  work_requirements.push_back(wr);
  if (auto e = lost()) co_return unexpected(*e);
  co_return reported(std::move(wr));
}

InMemoryYellowDog::Async<yd::WorkRequirement> InMemoryYellowDog::update_work_requirement(
    yd::WorkRequirement wr) {
  if (auto e = enter("update_work_requirement", wr.id.value_or(""))) co_return unexpected(*e);
  auto* stored = find_by(work_requirements, [&](const auto& x) { return x.id == wr.id; });
  if (!stored) co_return unexpected(not_found("update_work_requirement", wr.id.value_or("")));
  for (std::size_t i = 0; i < wr.task_groups.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (wr.task_groups[i].name == wr.task_groups[j].name)
        co_return unexpected(yd_error(yd::YdErrorKind::kAlreadyExists, "update_work_requirement",
                                      "A task group named " + wr.task_groups[i].name + " already exists"));
  work_requirement_writes.push_back(wr);
  for (auto& g : wr.task_groups)
    if (!g.id) g.id = next_id("taskgrp");
  *stored = wr;
  if (auto e = lost()) co_return unexpected(*e);
  co_return reported(std::move(wr));
}

InMemoryYellowDog::Async<yd::WorkRequirement> InMemoryYellowDog::get_work_requirement(std::string id) {
  if (auto e = enter("get_work_requirement", id)) co_return unexpected(*e);
  if (auto* w = find_by(work_requirements, [&](const auto& x) { return x.id == id; })) co_return reported(*w);
  co_return unexpected(not_found("get_work_requirement", id));
}

InMemoryYellowDog::Async<yd::WorkRequirement> InMemoryYellowDog::get_work_requirement_by_name(
    std::string ns, std::string name) {
  if (auto e = enter("get_work_requirement_by_name", ns + "/" + name)) co_return unexpected(*e);
  if (auto* w =
          find_by(work_requirements, [&](const auto& x) { return x.name == name && x.namespace_ == ns; }))
    co_return reported(*w);
  co_return unexpected(not_found("get_work_requirement_by_name", ns + "/" + name));
}

InMemoryYellowDog::Async<std::vector<yd::WorkRequirementSummary>> InMemoryYellowDog::search_work_requirements(
    yd::WorkRequirementSearch search) {
  if (auto e = enter("search_work_requirements", search.namespace_.value_or(""))) co_return unexpected(*e);
  std::vector<yd::WorkRequirementSummary> out;
  for (const auto& w : work_requirements) {
    if (search.namespace_ && w.namespace_ != *search.namespace_) continue;
    if (search.name && w.name != *search.name) continue;
    yd::WorkRequirementSummary s;
    s.id = w.id.value_or("");
    s.namespace_ = w.namespace_;
    s.name = w.name;
    if (w.status) s.status = *w.status;
    out.push_back(std::move(s));
  }
  co_return out;
}

InMemoryYellowDog::Async<yd::WorkRequirement> InMemoryYellowDog::cancel_work_requirement(std::string id,
                                                                                         bool) {
  if (auto e = enter("cancel_work_requirement", id)) co_return unexpected(*e);
  auto* w = find_by(work_requirements, [&](const auto& x) { return x.id == id; });
  if (!w) co_return unexpected(not_found("cancel_work_requirement", id));
  if (w->status && yd::is_finished(*w->status))
    co_return unexpected(yd_error(yd::YdErrorKind::kInvalidStatusTransition, "cancel_work_requirement",
                                  "work requirement " + id + " is " + w->status->str()));
  w->status = yd::WorkRequirementStatus("CANCELLED");
  co_return reported(*w);
}

InMemoryYellowDog::Async<std::vector<yd::Task>> InMemoryYellowDog::add_tasks(std::string task_group_id,
                                                                             std::vector<yd::Task> added) {
  if (auto e = enter("add_tasks", task_group_id)) co_return unexpected(*e);
  bool group_exists = false;
  for (const auto& w : work_requirements)
    for (const auto& g : w.task_groups) group_exists = group_exists || g.id == task_group_id;
  if (!group_exists) co_return unexpected(not_found("add_tasks", "task group " + task_group_id));
  for (const auto& t : added)
    for (const auto* existing : tasks_in_group(task_group_id))
      if (existing->name == t.name)
        co_return unexpected(yd_error(yd::YdErrorKind::kAlreadyExists, "add_tasks",
                                      "A task named " + t.name.value_or("") + " already exists"));
  task_adds.emplace_back(task_group_id, added);
  for (auto& t : added) {
    t.id = next_id("task");
    t.task_group_id = task_group_id;
    t.status = yd::TaskStatus("PENDING");
    tasks.push_back(t);
  }
  if (auto e = lost()) co_return unexpected(*e);
  co_return added;
}

InMemoryYellowDog::Async<yd::Task> InMemoryYellowDog::get_task(std::string id) {
  if (auto e = enter("get_task", id)) co_return unexpected(*e);
  if (auto* t = find_by(tasks, [&](const auto& x) { return x.id == id; })) co_return *t;
  co_return unexpected(not_found("get_task", id));
}

InMemoryYellowDog::Async<std::vector<yd::Task>> InMemoryYellowDog::search_tasks(yd::TaskSearch search) {
  if (auto e = enter("search_tasks", search.work_requirement_id.value_or(""))) co_return unexpected(*e);
  std::vector<std::string> groups;  // of the WR searched for
  for (const auto& w : work_requirements)
    if (!search.work_requirement_id || w.id == search.work_requirement_id)
      for (const auto& g : w.task_groups)
        if (g.id) groups.push_back(*g.id);
  std::vector<yd::Task> out;
  for (const auto& t : tasks) {
    if (!t.task_group_id || std::find(groups.begin(), groups.end(), *t.task_group_id) == groups.end())
      continue;
    if (search.task_group_id && t.task_group_id != search.task_group_id) continue;
    out.push_back(t);
  }
  co_return out;
}

InMemoryYellowDog::Async<yd::Task> InMemoryYellowDog::cancel_task(std::string id, bool abort) {
  if (auto e = enter("cancel_task", id)) co_return unexpected(*e);
  auto* t = find_by(tasks, [&](const auto& x) { return x.id == id; });
  if (!t) co_return unexpected(not_found("cancel_task", id));
  if (t->status && yd::is_finished(*t->status))
    co_return unexpected(yd_error(yd::YdErrorKind::kInvalidStatusTransition, "cancel_task",
                                  "task " + id + " is " + t->status->str()));
  t->status = yd::TaskStatus(abort ? "ABORTED" : "CANCELLED");
  co_return *t;
}

// ---- compute ----

InMemoryYellowDog::Async<yd::ComputeRequirement> InMemoryYellowDog::get_compute_requirement(std::string id) {
  if (auto e = enter("get_compute_requirement", id)) co_return unexpected(*e);
  if (auto* cr = compute_requirement(id)) co_return *cr;
  co_return unexpected(not_found("get_compute_requirement", id));
}

InMemoryYellowDog::Async<yd::ComputeRequirement> InMemoryYellowDog::terminate_compute_requirement(
    std::string id) {
  if (auto e = enter("terminate_compute_requirement", id)) co_return unexpected(*e);
  auto* cr = compute_requirement(id);
  if (!cr) co_return unexpected(not_found("terminate_compute_requirement", id));
  cr->status = yd::ComputeRequirementStatus("TERMINATED");
  co_return *cr;
}

InMemoryYellowDog::Async<std::vector<yd::Instance>> InMemoryYellowDog::search_instances(
    yd::InstanceSearch search) {
  if (auto e = enter("search_instances", search.compute_requirement_id.value_or("")))
    co_return unexpected(*e);
  std::vector<yd::Instance> out;
  for (const auto& [cr_id, of_cr] : instances)
    if (!search.compute_requirement_id || cr_id == *search.compute_requirement_id)
      out.insert(out.end(), of_cr.begin(), of_cr.end());
  co_return out;
}

// ---- update streams: not used by observe or act ----

InMemoryYellowDog::Async<std::unique_ptr<yd::UpdateStream<yd::WorkRequirement>>>
InMemoryYellowDog::watch_work_requirement(std::string id) {
  enter("watch_work_requirement", id);
  co_return unexpected(yd_error(yd::YdErrorKind::kProtocol, "watch_work_requirement", "not modelled"));
}
InMemoryYellowDog::Async<std::unique_ptr<yd::UpdateStream<yd::WorkerPool>>>
InMemoryYellowDog::watch_worker_pool(std::string id) {
  enter("watch_worker_pool", id);
  co_return unexpected(yd_error(yd::YdErrorKind::kProtocol, "watch_worker_pool", "not modelled"));
}
InMemoryYellowDog::Async<std::unique_ptr<yd::UpdateStream<yd::ComputeRequirement>>>
InMemoryYellowDog::watch_compute_requirement(std::string id) {
  enter("watch_compute_requirement", id);
  co_return unexpected(yd_error(yd::YdErrorKind::kProtocol, "watch_compute_requirement", "not modelled"));
}

}  // namespace raydog::reconcile::testing
