#pragma once
// Typed YellowDog objects (yellowdog-api.md §5) with their JSON form (§2.1: camelCase, absent optionals
// omitted, properties with a default always sent, enums as strings, timestamps and durations as ISO-8601
// strings). Only the fields a Ray cluster lifecycle needs are typed; every other property the server sent
// is kept in `extra` and written back, so a fetched work requirement re-submitted with PUT loses nothing.
//
// Beast-free on purpose: this is pure data, unit-tested against the document's examples.
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/util/result.hpp"
#include "controller/util/time.hpp"
#include "controller/yellowdog/enums.hpp"

namespace raydog::yellowdog {

using Json = nlohmann::json;
using StringMap = std::map<std::string, std::string>;
using Strings = std::vector<std::string>;

// ---- work ------------------------------------------------------------------------------------------

struct TaskSummary {
  std::map<std::string, std::int64_t> status_counts;  // TaskStatus name -> count
  std::int64_t task_count = 0;
  std::optional<std::string> last_updated_time;
  Json extra = Json::object();
  std::int64_t count(std::string_view status) const;
};

struct NumericRange {
  std::optional<double> min, max;
};

struct RunSpecification {
  Strings task_types;                       // required
  std::optional<Strings> worker_tags;       // absent: any worker
  std::optional<Strings> namespaces;        // absent/empty: any namespace
  std::optional<std::string> task_timeout;  // ISO-8601 duration
  std::optional<std::int64_t> maximum_task_retries;
  std::optional<std::int64_t> min_workers, max_workers, tasks_per_worker;
  std::optional<NumericRange> vcpus, ram;
  std::optional<Strings> instance_types, providers, regions;
  Json extra = Json::object();  // retryPolicy, failurePolicy, ... kept verbatim
};

struct TaskGroup {
  std::optional<std::string> id;  // read-only
  std::optional<TaskGroupStatus> status;
  std::optional<std::string> status_changed_time;
  std::optional<TaskSummary> task_summary;
  std::string name;  // required, unique within the WR
  RunSpecification run_specification;
  std::optional<std::string> tag;
  double priority = 0;
  std::optional<Strings> dependencies;
  bool starved = false;
  bool waiting_on_dependency = false;
  bool finish_if_all_tasks_finished = true;
  bool finish_if_any_task_failed = false;
  std::optional<std::string> completed_task_ttl;
  Json extra = Json::object();
};

struct WorkRequirement {
  std::optional<std::string> id;  // read-only
  std::optional<std::string> created_time;
  std::optional<WorkRequirementStatus> status;
  std::optional<std::string> status_changed_time;
  std::string namespace_;  // "namespace"
  std::string name;
  std::optional<std::string> tag;
  double priority = 0;
  std::vector<TaskGroup> task_groups;
  Json extra = Json::object();

  const TaskGroup* find_group(std::string_view group_name) const;
};

struct WorkRequirementSummary {
  std::string id, namespace_, name;
  std::optional<std::string> tag, created_time, status_changed_time;
  double priority = 0;
  std::int64_t completed_task_count = 0, total_task_count = 0;
  WorkRequirementStatus status;
  std::optional<bool> healthy;
  Json extra = Json::object();
};

struct TaskError {
  std::string timestamp;
  std::string error;
  std::optional<std::string> node_id, worker_id;
  TaskErrorType error_type = "UNKNOWN_ERROR";
  std::optional<TaskStatus> status_at_failure;
  std::optional<std::int64_t> process_exit_code;
  std::optional<bool> caused_failure;
  Json extra = Json::object();
};

struct Task {
  std::optional<std::string> id;  // read-only block
  std::optional<TaskStatus> status;
  std::optional<std::int64_t> retry_count;
  std::optional<std::string> task_group_id, node_id, worker_id;
  std::vector<TaskError> errors;
  std::optional<std::string> started_time, finished_time, abort_requested_time;
  std::optional<std::string> name;  // unique within its group
  std::optional<std::string> tag;
  std::optional<std::string> task_type;
  Strings arguments;
  std::optional<std::string> task_data;
  StringMap environment;
  std::optional<std::string> timeout;
  Json extra = Json::object();
};

// ---- worker pools, nodes, compute ------------------------------------------------------------------

struct ComputeRequirementTemplateUsage {
  std::string template_id;       // a template YDID or "namespace/name"
  std::string requirement_name;  // also the pool's and the CR's name
  std::optional<std::string> requirement_namespace;
  std::optional<std::string> requirement_tag;
  std::int64_t target_instance_count = 0;
  std::optional<std::string> images_id;
  std::optional<std::string> user_data;
  StringMap instance_tags;
  bool maintain_instance_count = false;
  Json extra = Json::object();
};

struct NodeWorkersTarget {
  NodeWorkerTargetType target_type = "PER_NODE";
  double target_count = 1;
  std::optional<std::string> custom_target_command;
};

struct AutoShutdown {
  bool enabled = false;
  std::optional<std::string> timeout;  // ISO-8601 duration
};

struct ProvisionedWorkerPoolProperties {
  std::optional<NodeWorkersTarget> create_node_workers;
  std::optional<std::int64_t> min_nodes, max_nodes;
  std::optional<std::string> node_boot_timeout;
  std::optional<AutoShutdown> idle_node_shutdown, idle_pool_shutdown;
  std::optional<std::string> worker_tag;
  std::optional<bool> metrics_enabled;
  Json extra = Json::object();
};

// Body of POST /workerPools/provisioned/template.
struct ProvisionRequest {
  ComputeRequirementTemplateUsage requirement_template_usage;
  ProvisionedWorkerPoolProperties provisioned_properties;
};

struct StatusCounts {
  std::map<std::string, std::int64_t> status_counts;
  Json extra = Json::object();  // claimedWorkerCount, lastUpdatedTime, ...
  std::int64_t count(std::string_view status) const;
};

inline constexpr std::string_view kProvisionedWorkerPoolType =
    "co.yellowdog.platform.model.ProvisionedWorkerPool";

// What GET /workerPools/{id} answers: polymorphic (`type`); the provisioned kind has a CR id.
struct WorkerPool {
  std::string type;
  std::string id;
  std::optional<std::string> name, namespace_, created_time, status_changed_time;
  WorkerPoolStatus status;
  std::optional<std::int64_t> expected_node_count;
  std::optional<bool> awaiting_nodes;
  std::optional<StatusCounts> worker_summary, node_summary;
  std::optional<ProvisionedWorkerPoolProperties> properties;
  std::optional<std::string> compute_requirement_id;
  Json extra = Json::object();
  bool provisioned() const { return type == kProvisionedWorkerPoolType; }
};
using ProvisionedWorkerPool = WorkerPool;

struct WorkerPoolSummary {
  std::string id;
  std::optional<std::string> name, namespace_, type, created_time, status_changed_time;
  std::int64_t registered_node_count = 0, registered_worker_count = 0, claimed_worker_count = 0,
               working_worker_count = 0;
  WorkerPoolStatus status;
  std::optional<bool> healthy;
  Json extra = Json::object();
};

struct NodeDetails {
  std::optional<std::string> instance_id, provider, region, source_name, instance_type, hostname;
  std::optional<std::string> private_ip_address, public_ip_address;  // public: no longer populated (§4.9)
  std::optional<double> vcpus, ram;
  Strings supported_task_types;
  std::optional<std::string> worker_tag, node_type;
  Json extra = Json::object();
};

struct Worker {
  std::string id;
  WorkerStatus status;
  std::optional<std::string> task_group_id, registered_time;
  Json extra = Json::object();
};

struct Node {
  std::string id;
  std::optional<std::string> worker_pool_id;
  NodeDetails details;
  NodeStatus status;
  std::optional<std::string> status_changed_time, registered_time;
  std::vector<Worker> workers;
  Json extra = Json::object();
};

struct InstanceId {
  std::string source_id, instance_id;
};

struct Instance {
  std::string type;
  InstanceId id;
  std::optional<std::string> created_time, provider, instance_type, region, image_id, hostname;
  std::optional<std::string> private_ip_address, public_ip_address;
  std::optional<bool> spot;
  InstanceStatus status;
  std::optional<std::string> status_changed_time;
  Json extra = Json::object();
};

struct ComputeRequirement {
  std::string id;
  std::optional<std::string> namespace_, name, tag, created_time, status_changed_time, created_from_id;
  ComputeRequirementStatus status;
  std::optional<ComputeRequirementStatus> next_status;
  std::optional<std::int64_t> target_instance_count, expected_instance_count;
  Json extra = Json::object();
};

template <class T>
struct Slice {
  std::vector<T> items;
  std::optional<std::string> next_slice_id;
};

// ---- JSON ------------------------------------------------------------------------------------------
// nlohmann ADL hooks, so vectors and nested objects compose. from_json throws nlohmann exceptions on wrong
// types; use parse<T>() at a boundary to get an error value instead.
// Every object with a JSON form, once: the declarations below and the definitions in model.cpp expand it.
// clang-format off
#define RAYDOG_YD_OBJECTS(X)                                                                  \
  X(TaskSummary) X(NumericRange) X(RunSpecification) X(TaskGroup) X(WorkRequirement)         \
  X(WorkRequirementSummary) X(TaskError) X(Task)                                             \
  X(ComputeRequirementTemplateUsage) X(NodeWorkersTarget) X(AutoShutdown)                    \
  X(ProvisionedWorkerPoolProperties) X(ProvisionRequest) X(StatusCounts) X(WorkerPool)       \
  X(WorkerPoolSummary) X(NodeDetails) X(Worker) X(Node) X(InstanceId) X(Instance)            \
  X(ComputeRequirement)
// clang-format on
#define RAYDOG_YD_JSON(T)            \
  void to_json(Json& j, const T& v); \
  void from_json(const Json& j, T& v);
RAYDOG_YD_OBJECTS(RAYDOG_YD_JSON)
#undef RAYDOG_YD_JSON

template <class Traits>
void to_json(Json& j, const StringEnum<Traits>& v) {
  j = v.str();
}
template <class Traits>
void from_json(const Json& j, StringEnum<Traits>& v) {
  v = StringEnum<Traits>(j.get<std::string>());
}

template <class T>
void from_json(const Json& j, Slice<T>& v) {
  if (!j.is_object()) throw std::invalid_argument("slice: expected an object");
  v.items = j.contains("items") && !j.at("items").is_null() ? j.at("items").get<std::vector<T>>()
                                                            : std::vector<T>{};
  v.next_slice_id.reset();
  if (auto it = j.find("nextSliceId"); it != j.end() && it->is_string() && !it->get<std::string>().empty())
    v.next_slice_id = it->get<std::string>();
}

// Converts without throwing: the error names what did not fit ("TaskGroup.runSpecification: ...").
template <class T>
Result<T, std::string> parse(const Json& j) {
  try {
    T v{};
    j.get_to(v);
    return v;
  } catch (const std::exception& e) {
    return unexpected(std::string(e.what()));
  }
}
template <class T>
Result<T, std::string> parse_text(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return unexpected(std::string("body is not JSON"));
  return parse<T>(j);
}

// ---- ISO-8601 durations and timestamps (§2.1) -------------------------------------------------------
// The wire formats live once, in controller/util/time.hpp; these name YellowDog's forms.
// Accepts "P0D", "PT3M", "P1DT2H30S", "PT1.5S", "-PT1S"; weeks ("P2W"); not years/months (ambiguous).
inline std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  return parse_iso_duration(text);
}
// Canonical PT form the SDK emits: "PT0S", "PT3M", "PT1H30M", "PT1.5S", days folded into hours.
inline std::string format_duration(std::chrono::milliseconds d) {
  return format_iso_duration(d);
}
// "2026-01-02T03:04:05.678Z", any fraction, "Z" or "+hh:mm"/"-hh:mm".
inline std::optional<SystemTime> parse_timestamp(std::string_view text) {
  return parse_rfc3339(text);
}
// Millisecond precision, Z.
inline std::string format_timestamp(SystemTime t) {
  return format_rfc3339(t, 3);
}

}  // namespace raydog::yellowdog
