#include "test/yellowdog-sim/serialize.hpp"

#include <array>

namespace raydog::ydsim {

namespace {
std::string ts(TimePoint t) {
  return format_timestamp(t);
}

template <class E, std::size_t N>
json zero_counts(const std::array<E, N>& values) {
  json out = json::object();
  for (E v : values) out[std::string(to_string(v))] = 0;
  return out;
}
constexpr std::array<TaskStatus, 12> kTaskStatuses{
    TaskStatus::kPending,   TaskStatus::kReady,     TaskStatus::kAllocated, TaskStatus::kDownloading,
    TaskStatus::kExecuting, TaskStatus::kUploading, TaskStatus::kCompleted, TaskStatus::kFailed,
    TaskStatus::kAborted,   TaskStatus::kCancelled, TaskStatus::kDiscarded, TaskStatus::kResubmitted};
constexpr std::array<WorkerStatus, 6> kWorkerStatuses{WorkerStatus::kStarting, WorkerStatus::kRunning,
                                                      WorkerStatus::kStopped,  WorkerStatus::kLate,
                                                      WorkerStatus::kLost,     WorkerStatus::kShutdown};
constexpr std::array<NodeStatus, 5> kNodeStatuses{NodeStatus::kRunning, NodeStatus::kLate, NodeStatus::kLost,
                                                  NodeStatus::kDeregistered, NodeStatus::kTerminated};

bool pool_healthy(const WorkerPool& p) {
  if (p.fail_provisioning) return false;
  for (const Node* n : p.nodes)
    if (n->status == NodeStatus::kLost) return false;
  return true;
}
bool wr_healthy(const WorkRequirement& wr) {
  if (wr.status == WrStatus::kFailed) return false;
  for (const auto& g : wr.groups)
    if (g->status == TgStatus::kFailed || g->status == TgStatus::kFailing) return false;
  return true;
}
}  // namespace

json to_json(const TaskGroup& g) {
  json out = g.spec;
  out["id"] = g.id;
  out["status"] = to_string(g.status);
  out["statusChangedTime"] = ts(g.status_changed);
  if (!out.contains("priority")) out["priority"] = 0;
  if (!out.contains("finishIfAllTasksFinished")) out["finishIfAllTasksFinished"] = true;
  if (!out.contains("finishIfAnyTaskFailed")) out["finishIfAnyTaskFailed"] = false;
  out["starved"] = g.starved;
  out["waitingOnDependency"] = false;
  json counts = zero_counts(kTaskStatuses);
  for (const Task* t : g.tasks)
    counts[std::string(to_string(t->status))] = counts[std::string(to_string(t->status))].get<int>() + 1;
  out["taskSummary"] = {{"statusCounts", counts},
                        {"taskCount", static_cast<int>(g.tasks.size())},
                        {"lastUpdatedTime", ts(g.last_updated)}};
  return out;
}

json to_json(const WorkRequirement& wr) {
  json out = wr.spec;
  out["id"] = wr.id;
  out["createdTime"] = ts(wr.created);
  out["status"] = to_string(wr.status);
  out["statusChangedTime"] = ts(wr.status_changed);
  if (!out.contains("priority")) out["priority"] = 0;
  json groups = json::array();
  for (const auto& g : wr.groups) groups.push_back(to_json(*g));
  out["taskGroups"] = std::move(groups);
  return out;
}

json summary_json(const WorkRequirement& wr) {
  int total = 0, completed = 0;
  for (const auto& g : wr.groups)
    for (const Task* t : g->tasks) {
      ++total;
      if (t->status == TaskStatus::kCompleted) ++completed;
    }
  json out = {{"id", wr.id},
              {"namespace", wr.ns()},
              {"name", wr.name()},
              {"createdTime", ts(wr.created)},
              {"statusChangedTime", ts(wr.status_changed)},
              {"priority", wr.spec.value("priority", json(0))},
              {"completedTaskCount", completed},
              {"totalTaskCount", total},
              {"status", to_string(wr.status)},
              {"healthy", wr_healthy(wr)}};
  if (wr.spec.contains("tag")) out["tag"] = wr.spec["tag"];
  return out;
}

json to_json(const Task& t) {
  json out = t.spec;
  out["id"] = t.id;
  out["status"] = to_string(t.status);
  out["retryCount"] = t.retry_count;
  out["taskGroupId"] = t.group->id;
  if (!out.contains("taskType")) {
    std::string type = t.task_type();
    if (!type.empty()) out["taskType"] = type;
  }
  if (!t.node_id.empty()) out["nodeId"] = t.node_id;
  if (!t.worker_id.empty()) out["workerId"] = t.worker_id;
  if (!t.errors.empty()) out["errors"] = t.errors;
  if (t.started) out["startedTime"] = ts(*t.started);
  if (t.finished) out["finishedTime"] = ts(*t.finished);
  if (t.abort_requested) out["abortRequestedTime"] = ts(*t.abort_requested);
  return out;
}

json to_json(const WorkerPool& p) {
  json worker_counts = zero_counts(kWorkerStatuses), node_counts = zero_counts(kNodeStatuses);
  int claimed = 0, expected = 0;
  bool awaiting = false;
  for (const Node* n : p.nodes) {
    node_counts[std::string(to_string(n->status))] =
        node_counts[std::string(to_string(n->status))].get<int>() + 1;
    for (const auto& w : n->workers) {
      worker_counts[std::string(to_string(w->status))] =
          worker_counts[std::string(to_string(w->status))].get<int>() + 1;
      if (w->claimed_by) ++claimed;
    }
  }
  for (const Instance* i : p.cr->instances)
    if (i->status == InstanceStatus::kPending || i->status == InstanceStatus::kRunning) {
      ++expected;
      if (!i->node) awaiting = true;
    }
  json worker_summary = {{"statusCounts", worker_counts},
                         {"claimedWorkerCount", claimed},
                         {"lastUpdatedTime", ts(p.status_changed)}};
  if (p.last_claimed) worker_summary["lastClaimedTime"] = ts(*p.last_claimed);
  if (p.last_released) worker_summary["lastReleasedTime"] = ts(*p.last_released);
  json out = {{"type", "co.yellowdog.platform.model.ProvisionedWorkerPool"},
              {"id", p.id},
              {"name", p.name},
              {"namespace", p.ns},
              {"createdTime", ts(p.created)},
              {"status", to_string(p.status)},
              {"statusChangedTime", ts(p.status_changed)},
              {"expectedNodeCount", expected},
              {"awaitingNodes", awaiting},
              {"workerSummary", worker_summary},
              {"nodeSummary",
               {{"statusCounts", node_counts},
                {"actionQueueStatuses", json::object()},
                {"lastUpdatedTime", ts(p.status_changed)}}},
              {"properties", p.properties},
              {"computeRequirementId", p.cr->id}};
  if (p.usage.contains("requirementTag")) out["tag"] = p.usage["requirementTag"];
  return out;
}

json summary_json(const WorkerPool& p) {
  int nodes = 0, workers = 0, claimed = 0, working = 0;
  for (const Node* n : p.nodes) {
    if (n->status != NodeStatus::kRunning) continue;
    ++nodes;
    for (const auto& w : n->workers) {
      ++workers;
      if (w->claimed_by) ++claimed;
      if (w->task) ++working;
    }
  }
  return {{"id", p.id},
          {"name", p.name},
          {"namespace", p.ns},
          {"type", "co.yellowdog.platform.model.ProvisionedWorkerPool"},
          {"registeredNodeCount", nodes},
          {"registeredWorkerCount", workers},
          {"claimedWorkerCount", claimed},
          {"workingWorkerCount", working},
          {"status", to_string(p.status)},
          {"createdTime", ts(p.created)},
          {"statusChangedTime", ts(p.status_changed)},
          {"healthy", pool_healthy(p)}};
}

json to_json(const Node& n) {
  const Instance& i = *n.instance;
  // publicIpAddress is deliberately absent: the platform no longer fills it in (§4.9).
  json details = {{"instanceId", i.instance_id},
                  {"provider", "ON_PREMISE"},
                  {"region", "sim-local"},
                  {"sourceName", "yellowdog-sim"},
                  {"sourceNumber", 0},
                  {"instanceType", "sim.standard"},
                  {"hostname", i.hostname},
                  {"privateIpAddress", i.private_ip},
                  {"vcpus", 2},
                  {"ram", 4},
                  {"supportedTaskTypes", {"bash", "docker"}},
                  {"workerTag", n.pool->worker_tag},
                  {"nodeSlot", 0},
                  {"spot", false}};
  json workers = json::array();
  for (const auto& w : n.workers) {
    json wj = {{"id", w->id}, {"status", to_string(w->status)}, {"registeredTime", ts(w->registered)}};
    if (w->claimed_by) wj["taskGroupId"] = w->claimed_by->id;
    workers.push_back(std::move(wj));
  }
  json out = {{"id", n.id},
              {"workerPoolId", n.pool->id},
              {"details", details},
              {"status", to_string(n.status)},
              {"statusChangedTime", ts(n.status_changed)},
              {"registeredTime", ts(n.registered)},
              {"workers", workers},
              {"actionQueueStatus", "EMPTY"},
              {"agentVersion", "yellowdog-sim"},
              {"taskGroupTaskQueues", json::object()}};
  if (n.deregistered) out["deregisteredTime"] = ts(*n.deregistered);
  return out;
}

json to_json(const Instance& i) {
  json out = {{"type", "co.yellowdog.platform.model.SimulatorInstance"},
              {"id", {{"sourceId", i.cr->source_id}, {"instanceId", i.instance_id}}},
              {"createdTime", ts(i.created)},
              {"provider", "ON_PREMISE"},
              {"instanceType", "sim.standard"},
              {"region", "sim-local"},
              {"subregion", "sim-local-a"},
              {"hostname", i.hostname},
              {"privateIpAddress", i.private_ip},
              {"spot", false},
              {"status", to_string(i.status)},
              {"statusChangedTime", ts(i.status_changed)}};
  if (!i.cr->images_id.empty()) out["imageId"] = i.cr->images_id;
  if (!i.public_ip.empty()) out["publicIpAddress"] = i.public_ip;
  return out;
}

json to_json(const ComputeRequirement& cr) {
  int expected = 0;
  for (const Instance* i : cr.instances)
    if (i->status == InstanceStatus::kPending || i->status == InstanceStatus::kRunning) ++expected;
  json out = {
      {"id", cr.id},
      {"createdTime", ts(cr.created)},
      {"createdFromId", cr.template_id},
      {"statusChangedTime", ts(cr.status_changed)},
      {"supportedOperations", {{"canStopStart", false}, {"canScaleOut", true}, {"canReprovision", false}}},
      {"status", to_string(cr.status)},
      {"namespace", cr.ns},
      {"name", cr.name},
      {"provisionStrategy",
       {{"type", "co.yellowdog.platform.model.SingleSourceProvisionStrategy"},
        {"sources",
         {{{"type", "co.yellowdog.platform.model.SimulatorComputeSource"},
           {"id", cr.source_id},
           {"name", "yellowdog-sim"}}}}}},
      {"targetInstanceCount", cr.target_instance_count},
      {"expectedInstanceCount", expected},
      {"maintainInstanceCount", cr.maintain_instance_count}};
  if (!cr.tag.empty()) out["tag"] = cr.tag;
  return out;
}

json error_json(std::string_view error_type, std::string_view message) {
  return {{"errorType", error_type}, {"message", message}};
}

}  // namespace raydog::ydsim
