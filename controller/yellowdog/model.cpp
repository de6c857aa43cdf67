#include "controller/yellowdog/model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace raydog::yellowdog {
namespace {

// Reads the known properties of one object in place; rest() copies only the others, which become `extra`
// (written back unchanged). A null counts as absent (some servers send null for "none"). Wrong types throw
// with the property name in the message. It used to copy the whole object and erase what it read: a deep
// copy of every response, ~7% of the operator's CPU on a steady poll.
class Reader {
 public:
  Reader(const Json& j, const char* type) : j_(j), type_(type) {
    if (!j_.is_object()) throw std::invalid_argument(std::string(type) + ": expected a JSON object");
  }
  template <class T>
  void get(const char* key, T& out) {
    auto it = j_.find(key);
    if (it == j_.end()) return;
    read_.emplace_back(key);
    if (!it->is_null()) convert(key, *it, out);
  }
  template <class T>
  void get(const char* key, std::optional<T>& out) {
    auto it = j_.find(key);
    if (it == j_.end()) return;
    read_.emplace_back(key);
    if (!it->is_null()) {
      T v{};
      convert(key, *it, v);
      out = std::move(v);
    }
  }
  Json rest() const {
    Json out = Json::object();
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (std::find(read_.begin(), read_.end(), it.key()) == read_.end()) out[it.key()] = *it;
    return out;
  }

 private:
  template <class T>
  void convert(const char* key, const Json& j, T& out) {
    try {
      from_json_any(j, out);
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string(type_) + "." + key + ": " + e.what());
    }
  }
  // Numbers may arrive as floats for integer fields (a Java server never does that, a simulator might).
  static void from_json_any(const Json& j, std::int64_t& out) {
    if (j.is_number_float()) {
      out = static_cast<std::int64_t>(std::llround(j.get<double>()));
    } else {
      out = j.get<std::int64_t>();
    }
  }
  template <class T>
  static void from_json_any(const Json& j, T& out) {
    j.get_to(out);
  }
  const Json& j_;
  const char* type_;
  std::vector<std::string_view> read_;  // keys get() found
};

// Integral doubles (priority 0, targetCount 1) are written as integers, as the SDK's examples show them.
Json number(double v) {
  if (std::trunc(v) == v && std::fabs(v) < 9e15) return static_cast<std::int64_t>(v);
  return v;
}

class Writer {
 public:
  explicit Writer(const Json& extra) : j_(extra.is_object() ? extra : Json::object()) {}
  template <class T>
  void put(const char* key, const T& v) {
    j_[key] = v;
  }
  template <class T>
  void put(const char* key, const std::optional<T>& v) {
    if (v) {
      j_[key] = *v;
    } else {
      j_.erase(key);
    }
  }
  // Lists and maps: an empty one is the same as absent; omit it.
  template <class T>
  void put_nonempty(const char* key, const T& v) {
    if (!v.empty()) {
      j_[key] = v;
    } else {
      j_.erase(key);
    }
  }
  Json done() { return std::move(j_); }

 private:
  Json j_;
};

}  // namespace

std::int64_t TaskSummary::count(std::string_view status) const {
  auto it = status_counts.find(std::string(status));
  return it == status_counts.end() ? 0 : it->second;
}
std::int64_t StatusCounts::count(std::string_view status) const {
  auto it = status_counts.find(std::string(status));
  return it == status_counts.end() ? 0 : it->second;
}
const TaskGroup* WorkRequirement::find_group(std::string_view group_name) const {
  for (const auto& g : task_groups)
    if (g.name == group_name) return &g;
  return nullptr;
}

void to_json(Json& j, const TaskSummary& v) {
  Writer w(v.extra);
  w.put("statusCounts", v.status_counts);
  w.put("taskCount", v.task_count);
  w.put("lastUpdatedTime", v.last_updated_time);
  j = w.done();
}
void from_json(const Json& j, TaskSummary& v) {
  Reader r(j, "TaskSummary");
  r.get("statusCounts", v.status_counts);
  r.get("taskCount", v.task_count);
  r.get("lastUpdatedTime", v.last_updated_time);
  v.extra = r.rest();
}

void to_json(Json& j, const NumericRange& v) {
  Writer w(Json::object());
  w.put("min", v.min);
  w.put("max", v.max);
  j = w.done();
}
void from_json(const Json& j, NumericRange& v) {
  Reader r(j, "Range");
  r.get("min", v.min);
  r.get("max", v.max);
}

void to_json(Json& j, const RunSpecification& v) {
  Writer w(v.extra);
  w.put("taskTypes", v.task_types);
  w.put("workerTags", v.worker_tags);
  w.put("namespaces", v.namespaces);
  w.put("taskTimeout", v.task_timeout);
  w.put("maximumTaskRetries", v.maximum_task_retries);
  w.put("minWorkers", v.min_workers);
  w.put("maxWorkers", v.max_workers);
  w.put("tasksPerWorker", v.tasks_per_worker);
  w.put("vcpus", v.vcpus);
  w.put("ram", v.ram);
  w.put("instanceTypes", v.instance_types);
  w.put("providers", v.providers);
  w.put("regions", v.regions);
  j = w.done();
}
void from_json(const Json& j, RunSpecification& v) {
  Reader r(j, "RunSpecification");
  r.get("taskTypes", v.task_types);
  r.get("workerTags", v.worker_tags);
  r.get("namespaces", v.namespaces);
  r.get("taskTimeout", v.task_timeout);
  r.get("maximumTaskRetries", v.maximum_task_retries);
  r.get("minWorkers", v.min_workers);
  r.get("maxWorkers", v.max_workers);
  r.get("tasksPerWorker", v.tasks_per_worker);
  r.get("vcpus", v.vcpus);
  r.get("ram", v.ram);
  r.get("instanceTypes", v.instance_types);
  r.get("providers", v.providers);
  r.get("regions", v.regions);
  v.extra = r.rest();
}

void to_json(Json& j, const TaskGroup& v) {
  Writer w(v.extra);
  w.put("id", v.id);
  w.put("status", v.status);
  w.put("statusChangedTime", v.status_changed_time);
  w.put("taskSummary", v.task_summary);
  w.put("name", v.name);
  w.put("runSpecification", v.run_specification);
  w.put("tag", v.tag);
  w.put("priority", number(v.priority));
  w.put("dependencies", v.dependencies);
  w.put("starved", v.starved);
  w.put("waitingOnDependency", v.waiting_on_dependency);
  w.put("finishIfAllTasksFinished", v.finish_if_all_tasks_finished);
  w.put("finishIfAnyTaskFailed", v.finish_if_any_task_failed);
  w.put("completedTaskTtl", v.completed_task_ttl);
  j = w.done();
}
void from_json(const Json& j, TaskGroup& v) {
  Reader r(j, "TaskGroup");
  r.get("id", v.id);
  r.get("status", v.status);
  r.get("statusChangedTime", v.status_changed_time);
  r.get("taskSummary", v.task_summary);
  r.get("name", v.name);
  r.get("runSpecification", v.run_specification);
  r.get("tag", v.tag);
  r.get("priority", v.priority);
  r.get("dependencies", v.dependencies);
  r.get("starved", v.starved);
  r.get("waitingOnDependency", v.waiting_on_dependency);
  r.get("finishIfAllTasksFinished", v.finish_if_all_tasks_finished);
  r.get("finishIfAnyTaskFailed", v.finish_if_any_task_failed);
  r.get("completedTaskTtl", v.completed_task_ttl);
  v.extra = r.rest();
}

void to_json(Json& j, const WorkRequirement& v) {
  Writer w(v.extra);
  w.put("id", v.id);
  w.put("createdTime", v.created_time);
  w.put("status", v.status);
  w.put("statusChangedTime", v.status_changed_time);
  w.put("namespace", v.namespace_);
  w.put("name", v.name);
  w.put("tag", v.tag);
  w.put("priority", number(v.priority));
  w.put("taskGroups", v.task_groups);
  j = w.done();
}
void from_json(const Json& j, WorkRequirement& v) {
  Reader r(j, "WorkRequirement");
  r.get("id", v.id);
  r.get("createdTime", v.created_time);
  r.get("status", v.status);
  r.get("statusChangedTime", v.status_changed_time);
  r.get("namespace", v.namespace_);
  r.get("name", v.name);
  r.get("tag", v.tag);
  r.get("priority", v.priority);
  r.get("taskGroups", v.task_groups);
  v.extra = r.rest();
}

void to_json(Json& j, const WorkRequirementSummary& v) {
  Writer w(v.extra);
  w.put("id", v.id);
  w.put("namespace", v.namespace_);
  w.put("name", v.name);
  w.put("tag", v.tag);
  w.put("createdTime", v.created_time);
  w.put("statusChangedTime", v.status_changed_time);
  w.put("priority", number(v.priority));
  w.put("completedTaskCount", v.completed_task_count);
  w.put("totalTaskCount", v.total_task_count);
  w.put("status", v.status);
  w.put("healthy", v.healthy);
  j = w.done();
}
void from_json(const Json& j, WorkRequirementSummary& v) {
  Reader r(j, "WorkRequirementSummary");
  r.get("id", v.id);
  r.get("namespace", v.namespace_);
  r.get("name", v.name);
  r.get("tag", v.tag);
  r.get("createdTime", v.created_time);
  r.get("statusChangedTime", v.status_changed_time);
  r.get("priority", v.priority);
  r.get("completedTaskCount", v.completed_task_count);
  r.get("totalTaskCount", v.total_task_count);
  r.get("status", v.status);
  r.get("healthy", v.healthy);
  v.extra = r.rest();
}

void to_json(Json& j, const TaskError& v) {
  Writer w(v.extra);
  w.put("timestamp", v.timestamp);
  w.put("error", v.error);
  w.put("nodeId", v.node_id);
  w.put("workerId", v.worker_id);
  w.put("errorType", v.error_type);
  w.put("statusAtFailure", v.status_at_failure);
  w.put("processExitCode", v.process_exit_code);
  w.put("causedFailure", v.caused_failure);
  j = w.done();
}
void from_json(const Json& j, TaskError& v) {
  Reader r(j, "TaskError");
  r.get("timestamp", v.timestamp);
  r.get("error", v.error);
  r.get("nodeId", v.node_id);
  r.get("workerId", v.worker_id);
  r.get("errorType", v.error_type);
  r.get("statusAtFailure", v.status_at_failure);
  r.get("processExitCode", v.process_exit_code);
  r.get("causedFailure", v.caused_failure);
  v.extra = r.rest();
}

void to_json(Json& j, const Task& v) {
  Writer w(v.extra);
  w.put("id", v.id);
  w.put("status", v.status);
  w.put("retryCount", v.retry_count);
  w.put("taskGroupId", v.task_group_id);
  w.put("nodeId", v.node_id);
  w.put("workerId", v.worker_id);
  w.put_nonempty("errors", v.errors);
  w.put("startedTime", v.started_time);
  w.put("finishedTime", v.finished_time);
  w.put("abortRequestedTime", v.abort_requested_time);
  w.put("name", v.name);
  w.put("tag", v.tag);
  w.put("taskType", v.task_type);
  w.put_nonempty("arguments", v.arguments);
  w.put("taskData", v.task_data);
  w.put_nonempty("environment", v.environment);
  w.put("timeout", v.timeout);
  j = w.done();
}
void from_json(const Json& j, Task& v) {
  Reader r(j, "Task");
  r.get("id", v.id);
  r.get("status", v.status);
  r.get("retryCount", v.retry_count);
  r.get("taskGroupId", v.task_group_id);
  r.get("nodeId", v.node_id);
  r.get("workerId", v.worker_id);
  r.get("errors", v.errors);
  r.get("startedTime", v.started_time);
  r.get("finishedTime", v.finished_time);
  r.get("abortRequestedTime", v.abort_requested_time);
  r.get("name", v.name);
  r.get("tag", v.tag);
  r.get("taskType", v.task_type);
  r.get("arguments", v.arguments);
  r.get("taskData", v.task_data);
  r.get("environment", v.environment);
  r.get("timeout", v.timeout);
  v.extra = r.rest();
}

void to_json(Json& j, const ComputeRequirementTemplateUsage& v) {
  Writer w(v.extra);
  w.put("templateId", v.template_id);
  w.put("requirementName", v.requirement_name);
  w.put("requirementNamespace", v.requirement_namespace);
  w.put("requirementTag", v.requirement_tag);
  w.put("targetInstanceCount", v.target_instance_count);
  w.put("imagesId", v.images_id);
  w.put("userData", v.user_data);
  w.put_nonempty("instanceTags", v.instance_tags);
  w.put("maintainInstanceCount", v.maintain_instance_count);
  j = w.done();
}
void from_json(const Json& j, ComputeRequirementTemplateUsage& v) {
  Reader r(j, "ComputeRequirementTemplateUsage");
  r.get("templateId", v.template_id);
  r.get("requirementName", v.requirement_name);
  r.get("requirementNamespace", v.requirement_namespace);
  r.get("requirementTag", v.requirement_tag);
  r.get("targetInstanceCount", v.target_instance_count);
  r.get("imagesId", v.images_id);
  r.get("userData", v.user_data);
  r.get("instanceTags", v.instance_tags);
  r.get("maintainInstanceCount", v.maintain_instance_count);
  v.extra = r.rest();
}

void to_json(Json& j, const NodeWorkersTarget& v) {
  Writer w(Json::object());
  w.put("targetType", v.target_type);
  w.put("targetCount", number(v.target_count));
  w.put("customTargetCommand", v.custom_target_command);
  j = w.done();
}
void from_json(const Json& j, NodeWorkersTarget& v) {
  Reader r(j, "NodeWorkersTarget");
  r.get("targetType", v.target_type);
  r.get("targetCount", v.target_count);
  r.get("customTargetCommand", v.custom_target_command);
}

void to_json(Json& j, const AutoShutdown& v) {
  Writer w(Json::object());
  w.put("enabled", v.enabled);
  w.put("timeout", v.timeout);
  j = w.done();
}
void from_json(const Json& j, AutoShutdown& v) {
  Reader r(j, "AutoShutdown");
  r.get("enabled", v.enabled);
  r.get("timeout", v.timeout);
}

void to_json(Json& j, const ProvisionedWorkerPoolProperties& v) {
  Writer w(v.extra);
  w.put("createNodeWorkers", v.create_node_workers);
  w.put("minNodes", v.min_nodes);
  w.put("maxNodes", v.max_nodes);
  w.put("nodeBootTimeout", v.node_boot_timeout);
  w.put("idleNodeShutdown", v.idle_node_shutdown);
  w.put("idlePoolShutdown", v.idle_pool_shutdown);
  w.put("workerTag", v.worker_tag);
  w.put("metricsEnabled", v.metrics_enabled);
  j = w.done();
}
void from_json(const Json& j, ProvisionedWorkerPoolProperties& v) {
  Reader r(j, "ProvisionedWorkerPoolProperties");
  r.get("createNodeWorkers", v.create_node_workers);
  r.get("minNodes", v.min_nodes);
  r.get("maxNodes", v.max_nodes);
  r.get("nodeBootTimeout", v.node_boot_timeout);
  r.get("idleNodeShutdown", v.idle_node_shutdown);
  r.get("idlePoolShutdown", v.idle_pool_shutdown);
  r.get("workerTag", v.worker_tag);
  r.get("metricsEnabled", v.metrics_enabled);
  v.extra = r.rest();
}

void to_json(Json& j, const ProvisionRequest& v) {
  j = Json{{"requirementTemplateUsage", v.requirement_template_usage},
           {"provisionedProperties", v.provisioned_properties}};
}
void from_json(const Json& j, ProvisionRequest& v) {
  Reader r(j, "ProvisionRequest");
  r.get("requirementTemplateUsage", v.requirement_template_usage);
  r.get("provisionedProperties", v.provisioned_properties);
}

void to_json(Json& j, const StatusCounts& v) {
  Writer w(v.extra);
  w.put("statusCounts", v.status_counts);
  j = w.done();
}
void from_json(const Json& j, StatusCounts& v) {
  Reader r(j, "StatusCounts");
  r.get("statusCounts", v.status_counts);
  v.extra = r.rest();
}

void to_json(Json& j, const WorkerPool& v) {
  Writer w(v.extra);
  w.put("type", v.type);
  w.put("id", v.id);
  w.put("name", v.name);
  w.put("namespace", v.namespace_);
  w.put("createdTime", v.created_time);
  w.put("status", v.status);
  w.put("statusChangedTime", v.status_changed_time);
  w.put("expectedNodeCount", v.expected_node_count);
  w.put("awaitingNodes", v.awaiting_nodes);
  w.put("workerSummary", v.worker_summary);
  w.put("nodeSummary", v.node_summary);
  w.put("properties", v.properties);
  w.put("computeRequirementId", v.compute_requirement_id);
  j = w.done();
}
void from_json(const Json& j, WorkerPool& v) {
  Reader r(j, "WorkerPool");
  r.get("type", v.type);
  r.get("id", v.id);
  r.get("name", v.name);
  r.get("namespace", v.namespace_);
  r.get("createdTime", v.created_time);
  r.get("status", v.status);
  r.get("statusChangedTime", v.status_changed_time);
  r.get("expectedNodeCount", v.expected_node_count);
  r.get("awaitingNodes", v.awaiting_nodes);
  r.get("workerSummary", v.worker_summary);
  r.get("nodeSummary", v.node_summary);
  r.get("properties", v.properties);
  r.get("computeRequirementId", v.compute_requirement_id);
  v.extra = r.rest();
}

void to_json(Json& j, const WorkerPoolSummary& v) {
  Writer w(v.extra);
  w.put("id", v.id);
  w.put("name", v.name);
  w.put("namespace", v.namespace_);
  w.put("type", v.type);
  w.put("createdTime", v.created_time);
  w.put("statusChangedTime", v.status_changed_time);
  w.put("registeredNodeCount", v.registered_node_count);
  w.put("registeredWorkerCount", v.registered_worker_count);
  w.put("claimedWorkerCount", v.claimed_worker_count);
  w.put("workingWorkerCount", v.working_worker_count);
  w.put("status", v.status);
  w.put("healthy", v.healthy);
  j = w.done();
}
void from_json(const Json& j, WorkerPoolSummary& v) {
  Reader r(j, "WorkerPoolSummary");
  r.get("id", v.id);
  r.get("name", v.name);
  r.get("namespace", v.namespace_);
  r.get("type", v.type);
  r.get("createdTime", v.created_time);
  r.get("statusChangedTime", v.status_changed_time);
  r.get("registeredNodeCount", v.registered_node_count);
  r.get("registeredWorkerCount", v.registered_worker_count);
  r.get("claimedWorkerCount", v.claimed_worker_count);
  r.get("workingWorkerCount", v.working_worker_count);
  r.get("status", v.status);
  r.get("healthy", v.healthy);
  v.extra = r.rest();
}

void to_json(Json& j, const NodeDetails& v) {
  Writer w(v.extra);
  w.put("instanceId", v.instance_id);
  w.put("provider", v.provider);
  w.put("region", v.region);
  w.put("sourceName", v.source_name);
  w.put("instanceType", v.instance_type);
  w.put("hostname", v.hostname);
  w.put("privateIpAddress", v.private_ip_address);
  w.put("publicIpAddress", v.public_ip_address);
  w.put("vcpus", v.vcpus);
  w.put("ram", v.ram);
  w.put_nonempty("supportedTaskTypes", v.supported_task_types);
  w.put("workerTag", v.worker_tag);
  w.put("nodeType", v.node_type);
  j = w.done();
}
void from_json(const Json& j, NodeDetails& v) {
  Reader r(j, "NodeDetails");
  r.get("instanceId", v.instance_id);
  r.get("provider", v.provider);
  r.get("region", v.region);
  r.get("sourceName", v.source_name);
  r.get("instanceType", v.instance_type);
  r.get("hostname", v.hostname);
  r.get("privateIpAddress", v.private_ip_address);
  r.get("publicIpAddress", v.public_ip_address);
  r.get("vcpus", v.vcpus);
  r.get("ram", v.ram);
  r.get("supportedTaskTypes", v.supported_task_types);
  r.get("workerTag", v.worker_tag);
  r.get("nodeType", v.node_type);
  v.extra = r.rest();
}

void to_json(Json& j, const Worker& v) {
  Writer w(v.extra);
  w.put("id", v.id);
  w.put("status", v.status);
  w.put("taskGroupId", v.task_group_id);
  w.put("registeredTime", v.registered_time);
  j = w.done();
}
void from_json(const Json& j, Worker& v) {
  Reader r(j, "Worker");
  r.get("id", v.id);
  r.get("status", v.status);
  r.get("taskGroupId", v.task_group_id);
  r.get("registeredTime", v.registered_time);
  v.extra = r.rest();
}

void to_json(Json& j, const Node& v) {
  Writer w(v.extra);
  w.put("id", v.id);
  w.put("workerPoolId", v.worker_pool_id);
  w.put("details", v.details);
  w.put("status", v.status);
  w.put("statusChangedTime", v.status_changed_time);
  w.put("registeredTime", v.registered_time);
  w.put("workers", v.workers);
  j = w.done();
}
void from_json(const Json& j, Node& v) {
  Reader r(j, "Node");
  r.get("id", v.id);
  r.get("workerPoolId", v.worker_pool_id);
  r.get("details", v.details);
  r.get("status", v.status);
  r.get("statusChangedTime", v.status_changed_time);
  r.get("registeredTime", v.registered_time);
  r.get("workers", v.workers);
  v.extra = r.rest();
}

void to_json(Json& j, const InstanceId& v) {
  j = Json{{"sourceId", v.source_id}, {"instanceId", v.instance_id}};
}
void from_json(const Json& j, InstanceId& v) {
  Reader r(j, "InstanceId");
  r.get("sourceId", v.source_id);
  r.get("instanceId", v.instance_id);
}

void to_json(Json& j, const Instance& v) {
  Writer w(v.extra);
  w.put("type", v.type);
  w.put("id", v.id);
  w.put("createdTime", v.created_time);
  w.put("provider", v.provider);
  w.put("instanceType", v.instance_type);
  w.put("region", v.region);
  w.put("imageId", v.image_id);
  w.put("hostname", v.hostname);
  w.put("privateIpAddress", v.private_ip_address);
  w.put("publicIpAddress", v.public_ip_address);
  w.put("spot", v.spot);
  w.put("status", v.status);
  w.put("statusChangedTime", v.status_changed_time);
  j = w.done();
}
void from_json(const Json& j, Instance& v) {
  Reader r(j, "Instance");
  r.get("type", v.type);
  r.get("id", v.id);
  r.get("createdTime", v.created_time);
  r.get("provider", v.provider);
  r.get("instanceType", v.instance_type);
  r.get("region", v.region);
  r.get("imageId", v.image_id);
  r.get("hostname", v.hostname);
  r.get("privateIpAddress", v.private_ip_address);
  r.get("publicIpAddress", v.public_ip_address);
  r.get("spot", v.spot);
  r.get("status", v.status);
  r.get("statusChangedTime", v.status_changed_time);
  v.extra = r.rest();
}

void to_json(Json& j, const ComputeRequirement& v) {
  Writer w(v.extra);
  w.put("id", v.id);
  w.put("namespace", v.namespace_);
  w.put("name", v.name);
  w.put("tag", v.tag);
  w.put("createdTime", v.created_time);
  w.put("statusChangedTime", v.status_changed_time);
  w.put("createdFromId", v.created_from_id);
  w.put("status", v.status);
  w.put("nextStatus", v.next_status);
  w.put("targetInstanceCount", v.target_instance_count);
  w.put("expectedInstanceCount", v.expected_instance_count);
  j = w.done();
}
void from_json(const Json& j, ComputeRequirement& v) {
  Reader r(j, "ComputeRequirement");
  r.get("id", v.id);
  r.get("namespace", v.namespace_);
  r.get("name", v.name);
  r.get("tag", v.tag);
  r.get("createdTime", v.created_time);
  r.get("statusChangedTime", v.status_changed_time);
  r.get("createdFromId", v.created_from_id);
  r.get("status", v.status);
  r.get("nextStatus", v.next_status);
  r.get("targetInstanceCount", v.target_instance_count);
  r.get("expectedInstanceCount", v.expected_instance_count);
  v.extra = r.rest();
}

// ---- durations and timestamps ------------------------------------------------------------------------

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.size() < 2 || (s.front() != 'P' && s.front() != 'p')) return std::nullopt;
  s.remove_prefix(1);
  double total_ms = 0;
  bool in_time = false, any = false;
  while (!s.empty()) {
    if (s.front() == 'T' || s.front() == 't') {
      if (in_time) return std::nullopt;
      in_time = true;
      s.remove_prefix(1);
      continue;
    }
    std::size_t n = 0;
    bool dot = false;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.' || s[n] == ',')) {
      if (s[n] == '.' || s[n] == ',') {
        if (dot) return std::nullopt;
        dot = true;
      }
      ++n;
    }
    if (n == 0 || n == s.size()) return std::nullopt;
    std::string number(s.substr(0, n));
    for (auto& c : number)
      if (c == ',') c = '.';
    double value = std::strtod(number.c_str(), nullptr);
    char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(s[n])));
    s.remove_prefix(n + 1);
    double unit_ms = 0;
    if (!in_time) {
      if (unit == 'W') {
        unit_ms = 7 * 86400e3;
      } else if (unit == 'D') {
        unit_ms = 86400e3;
      } else {
        return std::nullopt;  // years and months have no fixed length
      }
    } else if (unit == 'H') {
      unit_ms = 3600e3;
    } else if (unit == 'M') {
      unit_ms = 60e3;
    } else if (unit == 'S') {
      unit_ms = 1e3;
    } else {
      return std::nullopt;
    }
    total_ms += value * unit_ms;
    any = true;
  }
  if (!any) return std::nullopt;
  auto ms = std::chrono::milliseconds(std::llround(total_ms));
  return negative ? -ms : ms;
}

std::string format_duration(std::chrono::milliseconds d) {
  std::string out = d.count() < 0 ? "-PT" : "PT";
  long long ms = d.count() < 0 ? -d.count() : d.count();
  long long h = ms / 3600000, m = (ms / 60000) % 60, s = (ms / 1000) % 60, frac = ms % 1000;
  if (h) out += std::to_string(h) + "H";
  if (m) out += std::to_string(m) + "M";
  if (s || frac || (!h && !m)) {
    out += std::to_string(s);
    if (frac) {
      char buf[8];
      std::snprintf(buf, sizeof buf, ".%03lld", frac);
      std::string f(buf);
      while (f.back() == '0') f.pop_back();
      out += f;
    }
    out += "S";
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view s) {
  int year, mon, day, hour, min, sec;
  if (s.size() < 19) return std::nullopt;
  std::string head(s.substr(0, 19));
  if (std::sscanf(head.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &mon, &day, &hour, &min, &sec) != 6 &&
      std::sscanf(head.c_str(), "%4d-%2d-%2dt%2d:%2d:%2d", &year, &mon, &day, &hour, &min, &sec) != 6)
    return std::nullopt;
  std::string_view rest = s.substr(19);
  double frac = 0;
  if (!rest.empty() && (rest.front() == '.' || rest.front() == ',')) {
    std::size_t n = 1;
    while (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n]))) ++n;
    if (n == 1) return std::nullopt;
    frac = std::strtod(("0." + std::string(rest.substr(1, n - 1))).c_str(), nullptr);
    rest.remove_prefix(n);
  }
  long offset_s = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_s = (oh * 3600L + om * 60L) * (rest[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return std::nullopt;
  using namespace std::chrono;
  auto days = sys_days(year_month_day(std::chrono::year(year), month(static_cast<unsigned>(mon)),
                                      std::chrono::day(static_cast<unsigned>(day))));
  auto tp = system_clock::time_point(days) + hours(hour) + minutes(min) + seconds(sec) - seconds(offset_s);
  return tp + duration_cast<system_clock::duration>(duration<double>(frac));
}

std::string format_timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = time_point_cast<milliseconds>(t);
  auto days = floor<std::chrono::days>(ms);
  year_month_day ymd(days);
  hh_mm_ss hms(ms - days);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

}  // namespace raydog::yellowdog
