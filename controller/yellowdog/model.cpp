#include "controller/yellowdog/model.hpp"

#include "controller/yellowdog/json_fields.hpp"

// Each object's JSON properties are listed once, in Fields<T>::visit below; json_fields.hpp reads and writes
// them (absent optionals omitted, unknown properties kept in `extra`).
namespace raydog::yellowdog {
namespace json_fields {

template <>
struct Fields<TaskSummary> {
  static constexpr const char* kName = "TaskSummary";
  static void visit(auto& io, auto& v) {
    io("statusCounts", v.status_counts);
    io("taskCount", v.task_count);
    io("lastUpdatedTime", v.last_updated_time);
  }
};

template <>
struct Fields<NumericRange> {
  static constexpr const char* kName = "Range";
  static void visit(auto& io, auto& v) {
    io("min", v.min);
    io("max", v.max);
  }
};

template <>
struct Fields<RunSpecification> {
  static constexpr const char* kName = "RunSpecification";
  static void visit(auto& io, auto& v) {
    io("taskTypes", v.task_types);
    io("workerTags", v.worker_tags);
    io("namespaces", v.namespaces);
    io("taskTimeout", v.task_timeout);
    io("maximumTaskRetries", v.maximum_task_retries);
    io("minWorkers", v.min_workers);
    io("maxWorkers", v.max_workers);
    io("tasksPerWorker", v.tasks_per_worker);
    io("vcpus", v.vcpus);
    io("ram", v.ram);
    io("instanceTypes", v.instance_types);
    io("providers", v.providers);
    io("regions", v.regions);
  }
};

template <>
struct Fields<TaskGroup> {
  static constexpr const char* kName = "TaskGroup";
  static void visit(auto& io, auto& v) {
    io("id", v.id);
    io("status", v.status);
    io("statusChangedTime", v.status_changed_time);
    io("taskSummary", v.task_summary);
    io("name", v.name);
    io("runSpecification", v.run_specification);
    io("tag", v.tag);
    io.number("priority", v.priority);
    io("dependencies", v.dependencies);
    io("starved", v.starved);
    io("waitingOnDependency", v.waiting_on_dependency);
    io("finishIfAllTasksFinished", v.finish_if_all_tasks_finished);
    io("finishIfAnyTaskFailed", v.finish_if_any_task_failed);
    io("completedTaskTtl", v.completed_task_ttl);
  }
};

template <>
struct Fields<WorkRequirement> {
  static constexpr const char* kName = "WorkRequirement";
  static void visit(auto& io, auto& v) {
    io("id", v.id);
    io("createdTime", v.created_time);
    io("status", v.status);
    io("statusChangedTime", v.status_changed_time);
    io("namespace", v.namespace_);
    io("name", v.name);
    io("tag", v.tag);
    io.number("priority", v.priority);
    io("taskGroups", v.task_groups);
  }
};

template <>
struct Fields<WorkRequirementSummary> {
  static constexpr const char* kName = "WorkRequirementSummary";
  static void visit(auto& io, auto& v) {
    io("id", v.id);
    io("namespace", v.namespace_);
    io("name", v.name);
    io("tag", v.tag);
    io("createdTime", v.created_time);
    io("statusChangedTime", v.status_changed_time);
    io.number("priority", v.priority);
    io("completedTaskCount", v.completed_task_count);
    io("totalTaskCount", v.total_task_count);
    io("status", v.status);
    io("healthy", v.healthy);
  }
};

template <>
struct Fields<TaskError> {
  static constexpr const char* kName = "TaskError";
  static void visit(auto& io, auto& v) {
    io("timestamp", v.timestamp);
    io("error", v.error);
    io("nodeId", v.node_id);
    io("workerId", v.worker_id);
    io("errorType", v.error_type);
    io("statusAtFailure", v.status_at_failure);
    io("processExitCode", v.process_exit_code);
    io("causedFailure", v.caused_failure);
  }
};

template <>
struct Fields<Task> {
  static constexpr const char* kName = "Task";
  static void visit(auto& io, auto& v) {
    io("id", v.id);
    io("status", v.status);
    io("retryCount", v.retry_count);
    io("taskGroupId", v.task_group_id);
    io("nodeId", v.node_id);
    io("workerId", v.worker_id);
    io.nonempty("errors", v.errors);
    io("startedTime", v.started_time);
    io("finishedTime", v.finished_time);
    io("abortRequestedTime", v.abort_requested_time);
    io("name", v.name);
    io("tag", v.tag);
    io("taskType", v.task_type);
    io.nonempty("arguments", v.arguments);
    io("taskData", v.task_data);
    io.nonempty("environment", v.environment);
    io("timeout", v.timeout);
  }
};

template <>
struct Fields<ComputeRequirementTemplateUsage> {
  static constexpr const char* kName = "ComputeRequirementTemplateUsage";
  static void visit(auto& io, auto& v) {
    io("templateId", v.template_id);
    io("requirementName", v.requirement_name);
    io("requirementNamespace", v.requirement_namespace);
    io("requirementTag", v.requirement_tag);
    io("targetInstanceCount", v.target_instance_count);
    io("imagesId", v.images_id);
    io("userData", v.user_data);
    io.nonempty("instanceTags", v.instance_tags);
    io("maintainInstanceCount", v.maintain_instance_count);
  }
};

template <>
struct Fields<NodeWorkersTarget> {
  static constexpr const char* kName = "NodeWorkersTarget";
  static void visit(auto& io, auto& v) {
    io("targetType", v.target_type);
    io.number("targetCount", v.target_count);
    io("customTargetCommand", v.custom_target_command);
  }
};

template <>
struct Fields<AutoShutdown> {
  static constexpr const char* kName = "AutoShutdown";
  static void visit(auto& io, auto& v) {
    io("enabled", v.enabled);
    io("timeout", v.timeout);
  }
};

template <>
struct Fields<ProvisionedWorkerPoolProperties> {
  static constexpr const char* kName = "ProvisionedWorkerPoolProperties";
  static void visit(auto& io, auto& v) {
    io("createNodeWorkers", v.create_node_workers);
    io("minNodes", v.min_nodes);
    io("maxNodes", v.max_nodes);
    io("nodeBootTimeout", v.node_boot_timeout);
    io("idleNodeShutdown", v.idle_node_shutdown);
    io("idlePoolShutdown", v.idle_pool_shutdown);
    io("workerTag", v.worker_tag);
    io("metricsEnabled", v.metrics_enabled);
  }
};

template <>
struct Fields<ProvisionRequest> {
  static constexpr const char* kName = "ProvisionRequest";
  static void visit(auto& io, auto& v) {
    io("requirementTemplateUsage", v.requirement_template_usage);
    io("provisionedProperties", v.provisioned_properties);
  }
};

template <>
struct Fields<StatusCounts> {
  static constexpr const char* kName = "StatusCounts";
  static void visit(auto& io, auto& v) { io("statusCounts", v.status_counts); }
};

template <>
struct Fields<WorkerPool> {
  static constexpr const char* kName = "WorkerPool";
  static void visit(auto& io, auto& v) {
    io("type", v.type);
    io("id", v.id);
    io("name", v.name);
    io("namespace", v.namespace_);
    io("createdTime", v.created_time);
    io("status", v.status);
    io("statusChangedTime", v.status_changed_time);
    io("expectedNodeCount", v.expected_node_count);
    io("awaitingNodes", v.awaiting_nodes);
    io("workerSummary", v.worker_summary);
    io("nodeSummary", v.node_summary);
    io("properties", v.properties);
    io("computeRequirementId", v.compute_requirement_id);
  }
};

template <>
struct Fields<WorkerPoolSummary> {
  static constexpr const char* kName = "WorkerPoolSummary";
  static void visit(auto& io, auto& v) {
    io("id", v.id);
    io("name", v.name);
    io("namespace", v.namespace_);
    io("type", v.type);
    io("createdTime", v.created_time);
    io("statusChangedTime", v.status_changed_time);
    io("registeredNodeCount", v.registered_node_count);
    io("registeredWorkerCount", v.registered_worker_count);
    io("claimedWorkerCount", v.claimed_worker_count);
    io("workingWorkerCount", v.working_worker_count);
    io("status", v.status);
    io("healthy", v.healthy);
  }
};

template <>
struct Fields<NodeDetails> {
  static constexpr const char* kName = "NodeDetails";
  static void visit(auto& io, auto& v) {
    io("instanceId", v.instance_id);
    io("provider", v.provider);
    io("region", v.region);
    io("sourceName", v.source_name);
    io("instanceType", v.instance_type);
    io("hostname", v.hostname);
    io("privateIpAddress", v.private_ip_address);
    io("publicIpAddress", v.public_ip_address);
    io("vcpus", v.vcpus);
    io("ram", v.ram);
    io.nonempty("supportedTaskTypes", v.supported_task_types);
    io("workerTag", v.worker_tag);
    io("nodeType", v.node_type);
  }
};

template <>
struct Fields<Worker> {
  static constexpr const char* kName = "Worker";
  static void visit(auto& io, auto& v) {
    io("id", v.id);
    io("status", v.status);
    io("taskGroupId", v.task_group_id);
    io("registeredTime", v.registered_time);
  }
};

template <>
struct Fields<Node> {
  static constexpr const char* kName = "Node";
  static void visit(auto& io, auto& v) {
    io("id", v.id);
    io("workerPoolId", v.worker_pool_id);
    io("details", v.details);
    io("status", v.status);
    io("statusChangedTime", v.status_changed_time);
    io("registeredTime", v.registered_time);
    io("workers", v.workers);
  }
};

template <>
struct Fields<InstanceId> {
  static constexpr const char* kName = "InstanceId";
  static void visit(auto& io, auto& v) {
    io("sourceId", v.source_id);
    io("instanceId", v.instance_id);
  }
};

template <>
struct Fields<Instance> {
  static constexpr const char* kName = "Instance";
  static void visit(auto& io, auto& v) {
    io("type", v.type);
    io("id", v.id);
    io("createdTime", v.created_time);
    io("provider", v.provider);
    io("instanceType", v.instance_type);
    io("region", v.region);
    io("imageId", v.image_id);
    io("hostname", v.hostname);
    io("privateIpAddress", v.private_ip_address);
    io("publicIpAddress", v.public_ip_address);
    io("spot", v.spot);
    io("status", v.status);
    io("statusChangedTime", v.status_changed_time);
  }
};

template <>
struct Fields<ComputeRequirement> {
  static constexpr const char* kName = "ComputeRequirement";
  static void visit(auto& io, auto& v) {
    io("id", v.id);
    io("namespace", v.namespace_);
    io("name", v.name);
    io("tag", v.tag);
    io("createdTime", v.created_time);
    io("statusChangedTime", v.status_changed_time);
    io("createdFromId", v.created_from_id);
    io("status", v.status);
    io("nextStatus", v.next_status);
    io("targetInstanceCount", v.target_instance_count);
    io("expectedInstanceCount", v.expected_instance_count);
  }
};

}  // namespace json_fields

namespace {
std::int64_t count_of(const std::map<std::string, std::int64_t>& counts, std::string_view status) {
  auto it = counts.find(std::string(status));
  return it == counts.end() ? 0 : it->second;
}
}  // namespace

std::int64_t TaskSummary::count(std::string_view status) const {
  return count_of(status_counts, status);
}
std::int64_t StatusCounts::count(std::string_view status) const {
  return count_of(status_counts, status);
}
const TaskGroup* WorkRequirement::find_group(std::string_view group_name) const {
  for (const auto& g : task_groups)
    if (g.name == group_name) return &g;
  return nullptr;
}

// The nlohmann hooks model.hpp declares, all alike.
#define RAYDOG_YD_JSON(T)               \
  void to_json(Json& j, const T& v) {   \
    j = json_fields::write(v);          \
  }                                     \
  void from_json(const Json& j, T& v) { \
    json_fields::read(j, v);            \
  }
RAYDOG_YD_OBJECTS(RAYDOG_YD_JSON)
#undef RAYDOG_YD_JSON

}  // namespace raydog::yellowdog
