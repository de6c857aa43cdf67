#pragma once
// The simulator's object model (YellowDog API §5): work requirement -> task groups -> tasks; provisioned
// worker pool -> compute requirement -> instances -> nodes -> workers. Objects live for the whole run (the
// simulator never forgets anything: `/_sim/objects` must show leaks) and point at each other directly.
// Submitted JSON is kept verbatim in `spec` so fields the simulator does not model are echoed back.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "test/yellowdog-sim/time_util.hpp"

namespace raydog::ydsim {

using json = nlohmann::json;

enum class WrStatus { kRunning, kHeld, kFinishing, kCompleted, kFailed, kCancelling, kCancelled };
enum class TgStatus {
  kPending,
  kRunning,
  kHeld,
  kFinishing,
  kCompleted,
  kFailing,
  kFailed,
  kCancelling,
  kCancelled
};
enum class TaskStatus {
  kPending,
  kReady,
  kAllocated,
  kDownloading,
  kExecuting,
  kUploading,
  kCompleted,
  kFailed,
  kAborted,
  kCancelled,
  kDiscarded,
  kResubmitted
};
enum class PoolStatus { kPending, kConfiguring, kEmpty, kIdle, kRunning, kShutdown, kTerminated };
enum class CrStatus {
  kNew,
  kProvisioning,
  kStarting,
  kRunning,
  kStopping,
  kStopped,
  kTerminating,
  kTerminated
};
enum class NodeStatus { kRunning, kLate, kLost, kDeregistered, kTerminated };
enum class InstanceStatus {
  kPending,
  kRunning,
  kStopping,
  kStopped,
  kTerminating,
  kTerminated,
  kUnavailable,
  kUnknown
};
enum class WorkerStatus { kStarting, kRunning, kStopped, kLate, kLost, kShutdown };

// Exact wire strings (§6) and their inverse (nullopt for an unknown string).
std::string_view to_string(WrStatus s);
std::string_view to_string(TgStatus s);
std::string_view to_string(TaskStatus s);
std::string_view to_string(PoolStatus s);
std::string_view to_string(CrStatus s);
std::string_view to_string(NodeStatus s);
std::string_view to_string(InstanceStatus s);
std::string_view to_string(WorkerStatus s);
std::optional<WrStatus> parse_wr_status(std::string_view s);
std::optional<TaskStatus> parse_task_status(std::string_view s);

bool finished(WrStatus s);       // COMPLETED, FAILED, CANCELLED
bool terminal(TgStatus s);       // COMPLETED, FAILED, CANCELLED
bool waiting(TaskStatus s);      // PENDING, READY
bool in_progress(TaskStatus s);  // ALLOCATED .. UPLOADING
bool finished(TaskStatus s);     // the rest
bool finished(PoolStatus s);     // SHUTDOWN, TERMINATED
bool gone(NodeStatus s);         // LOST, DEREGISTERED, TERMINATED

struct WorkRequirement;
struct TaskGroup;
struct Task;
struct WorkerPool;
struct ComputeRequirement;
struct Instance;
struct Node;
struct Worker;

struct Task {
  std::string id;
  json spec;  // as submitted (read-only fields removed)
  TaskGroup* group = nullptr;
  int index = 0;        // 1-based within the group
  std::size_t seq = 0;  // position in Simulator::tasks(), the creation order searches answer in
  TaskStatus status = TaskStatus::kReady;
  TimePoint created, status_changed;
  int retry_count = 0;
  json errors = json::array();
  Worker* worker = nullptr;  // while allocated; the ids stay after release
  std::string node_id, worker_id;
  std::optional<TimePoint> started, finished, abort_requested;
  TimePoint step_at;  // when ALLOCATED/DOWNLOADING moves on
  // Keys of the task's entries in the simulator's started/finished time indexes (0: none), so that a
  // startedTime/finishedTime search does not walk every task (Simulator::started_index()).
  std::uint64_t started_key = 0, finished_key = 0;
  bool change_listed = false;  // in Simulator::take_changed_tasks() already

  std::string name() const { return spec.value("name", std::string()); }
  std::string task_type() const;  // own or the group's taskTemplate's
  // The parsed timeout (own or the group's taskTimeout), memoized: checked every tick per executing task,
  // and neither spec changes after creation.
  mutable std::optional<std::optional<std::chrono::milliseconds>> timeout_memo;
};

struct TaskGroup {
  std::string id;
  json spec;  // as submitted: name, runSpecification, flags, unknown fields
  WorkRequirement* wr = nullptr;
  int index = 0;        // 1-based within the WR
  std::size_t seq = 0;  // 0, 1, ... over all groups in creation order: the scheduler's per-tick tallies
  TgStatus status = TgStatus::kPending;
  TimePoint status_changed, last_updated;
  std::vector<Task*> tasks;
  bool starved = false;

  std::string name() const { return spec.value("name", std::string()); }
  const json& run_spec() const;
  bool finish_if_all_tasks_finished() const { return spec.value("finishIfAllTasksFinished", true); }
  bool finish_if_any_task_failed() const { return spec.value("finishIfAnyTaskFailed", false); }
  // The group's run specification as Simulator::matches() needs it, parsed once: the scheduler asks every
  // tick for every pool, and a group's spec never changes after creation. nullopt lists allow anything.
  struct MatchSpec {
    bool static_ok = true;  // task types, instance types, providers, regions, vcpus, ram
    std::optional<std::vector<std::string>> worker_tags, namespaces;
  };
  mutable std::optional<MatchSpec> match_memo;
};

struct WorkRequirement {
  std::string id;
  std::string uuid;  // shared by its groups' and tasks' ids
  json spec;         // as submitted minus taskGroups and read-only fields
  WrStatus status = WrStatus::kRunning;
  bool abort_on_cancel = false;
  TimePoint created, status_changed;
  std::uint64_t changed_key = 0;  // its entry in Simulator::status_changed_index()
  std::vector<std::unique_ptr<TaskGroup>> groups;

  std::string name() const { return spec.value("name", std::string()); }
  std::string ns() const { return spec.value("namespace", std::string()); }
};

struct Worker {
  std::string id;
  Node* node = nullptr;
  WorkerStatus status = WorkerStatus::kStopped;
  TaskGroup* claimed_by = nullptr;
  Task* task = nullptr;
  TimePoint registered, status_changed;
};

struct Node {
  std::string id;
  WorkerPool* pool = nullptr;
  Instance* instance = nullptr;
  NodeStatus status = NodeStatus::kRunning;
  TimePoint registered, status_changed;
  std::optional<TimePoint> deregistered;
  std::optional<TimePoint> idle_since;  // unset while busy()
  std::vector<std::unique_ptr<Worker>> workers;
  bool busy() const;  // a worker is claimed or runs a task
};

struct Instance {
  std::string instance_id;  // cloud-style id, e.g. "i-0a1b2c..."
  ComputeRequirement* cr = nullptr;
  int number = 0;                               // global instance counter (IP allocation)
  std::string hostname, private_ip, public_ip;  // public_ip empty: private-only VM
  InstanceStatus status = InstanceStatus::kPending;
  TimePoint created, status_changed;
  TimePoint boot_at, register_at, terminate_at;
  bool fail_boot = false;
  Node* node = nullptr;
};

struct ComputeRequirement {
  std::string id, source_id, name, ns, tag, template_id, images_id;
  CrStatus status = CrStatus::kNew;
  TimePoint created, status_changed;
  int target_instance_count = 0;
  bool maintain_instance_count = false;
  std::vector<Instance*> instances;
  WorkerPool* pool = nullptr;
  bool public_ips = true;
};

struct WorkerPool {
  std::string id, name, ns;
  std::size_t seq = 0;  // position in Simulator::pools()
  json usage;       // requirementTemplateUsage as submitted
  json properties;  // provisionedProperties, durations normalised to the PT form
  PoolStatus status = PoolStatus::kPending;
  TimePoint created, status_changed;
  ComputeRequirement* cr = nullptr;
  std::vector<Node*> nodes;
  int min_nodes = 0, max_nodes = 0, workers_per_node = 1;
  std::string worker_tag;
  std::optional<Millis> idle_node_timeout, idle_pool_timeout, node_boot_timeout;
  std::optional<TimePoint> idle_since;  // unset while a node is busy or booting or a task could run
  std::optional<TimePoint> last_claimed, last_released;
  bool fail_provisioning = false;
  bool refuse_shutdown = false;  // /_sim/workerPools/{id}/refuse-shutdown: DELETE and CR terminate answer 500
  bool ever_registered = false;
};

}  // namespace raydog::ydsim
