#pragma once
// The simulator's core: the YellowDog scheduler and compute layer as a pure state machine (no sockets, no
// Beast), driven by a clock the caller controls. Every API operation applies at `now()`, the time of the
// last tick; tick(now) advances the platform: instances boot, nodes register, groups claim workers, tasks
// are allocated and start, pools grow and idle timers fire (YellowDog API §7, matching rule §7.1).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "controller/util/result.hpp"
#include "test/yellowdog-sim/model.hpp"

namespace raydog::ydsim {

struct SimConfig {
  Millis boot_delay{1000};        // instance PENDING -> RUNNING
  Millis register_delay{1000};    // instance RUNNING -> its node registers
  Millis task_start_delay{1000};  // task ALLOCATED -> DOWNLOADING (half) -> EXECUTING (full)
  Millis terminate_delay{0};      // instance TERMINATING -> TERMINATED
  bool public_ips = true;         // instances get a public IP (templates naming "private" never do)
  // The loopback block 127.N.0.0/16 of node addresses: private 127.N.x.y (x 0..127), public
  // 127.N.(128+x).y. The HTTP server claims a free block (ip_block.hpp) and sets it before any instance
  // exists; the in-memory core (unit tests, nothing bound) keeps 1.
  int ip_block = 1;
  bool strict_repeat = false;     // repeated pool DELETE / CR terminate on finished objects -> 403
  std::uint64_t seed = 1;         // ids are drawn from a PRNG seeded with this
};

// An API error as the platform reports it (§8.1).
struct ApiError {
  int status = 500;
  std::string error_type;
  std::string message;
};
template <class T>
using SimResult = Result<T, ApiError>;

ApiError not_found(std::string_view what, std::string_view id);
ApiError invalid_request(std::string message);

class Simulator {
 public:
  explicit Simulator(SimConfig config = {}, TimePoint start = Clock::now());

  const SimConfig& config() const { return config_; }
  void set_ip_block(int n) { config_.ip_block = n; }  // before the first instance (addresses are not moved)
  // Counts state changes (every status change, registration, claim): lets an observer (the Ray model)
  // skip its walk over the tasks while nothing moved.
  std::uint64_t changes() const { return changes_; }
  TimePoint now() const { return now_; }
  // Advances the platform to `now` (ignored when earlier than the current time). A tick after one that
  // changed nothing, with no API mutation since and no timer due, only moves the clock: a settled
  // simulation of thousands of objects costs O(1) per tick instead of a walk over all of them.
  void tick(TimePoint now);
  // Ticks that walked the objects (for tests and /_sim/stats).
  std::uint64_t full_ticks() const { return full_ticks_; }

  // Worker pools (§4.2, §4.10).
  SimResult<WorkerPool*> provision_pool(const json& body);
  SimResult<WorkerPool*> find_pool(const std::string& id);
  SimResult<WorkerPool*> find_pool_by_name(const std::string& ns, const std::string& name);
  SimResult<WorkerPool*> shutdown_pool(const std::string& id);
  SimResult<WorkerPool*> resize_pool(const std::string& id, int size);
  SimResult<Node*> find_node(const std::string& id);
  SimResult<Node*> node_of_worker(const std::string& worker_id);
  SimResult<Node*> shutdown_node(const std::string& id);

  // Work (§4.3-§4.8).
  SimResult<WorkRequirement*> create_work_requirement(const json& body);
  SimResult<WorkRequirement*> update_work_requirement(const json& body);
  SimResult<WorkRequirement*> find_work_requirement(const std::string& id);
  SimResult<WorkRequirement*> find_work_requirement_by_name(const std::string& ns, const std::string& name);
  SimResult<WorkRequirement*> transition_work_requirement(const std::string& id, const std::string& target,
                                                          bool abort);
  SimResult<TaskGroup*> find_task_group(const std::string& id);
  SimResult<TaskGroup*> find_task_group_by_names(const std::string& ns, const std::string& wr_name,
                                                 const std::string& tg_name);
  SimResult<std::vector<Task*>> add_tasks(const std::string& task_group_id, const json& body);
  SimResult<Task*> find_task(const std::string& id);
  SimResult<Task*> cancel_task(const std::string& id, bool abort);

  // Compute (§4.10).
  SimResult<ComputeRequirement*> find_compute_requirement(const std::string& id);
  SimResult<ComputeRequirement*> terminate_compute_requirement(const std::string& id);

  // Control hooks (the /_sim/ API).
  SimResult<Task*> task_exit(const std::string& id, int code);
  SimResult<Node*> lose_node(const std::string& id);
  SimResult<Instance*> lose_instance(const std::string& instance_id);
  SimResult<WorkerPool*> fail_provisioning(const std::string& pool_id);
  // The pool can no longer be shut down: DELETE of it and terminating its compute requirement answer 500
  // (InternalServerException) and change nothing, until `refuse` is false again.
  SimResult<WorkerPool*> refuse_shutdown(const std::string& pool_id, bool refuse);

  // Everything, in creation order (searches filter these).
  const std::vector<std::unique_ptr<WorkRequirement>>& work_requirements() const { return wrs_; }
  const std::vector<Task*>& tasks() const { return tasks_; }
  const std::vector<std::unique_ptr<WorkerPool>>& pools() const { return pools_; }
  const std::vector<std::unique_ptr<ComputeRequirement>>& compute_requirements() const { return crs_; }
  const std::vector<std::unique_ptr<Instance>>& instances() const { return instances_; }
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }

  // The §7.1 rule: may workers of `pool` run tasks of `group`?
  static bool matches(const TaskGroup& group, const WorkerPool& pool);
  static bool matches_memo(const TaskGroup& group, const WorkerPool& pool);  // spec parsed once per group

  // A task enters EXECUTING / leaves an in-progress state for any reason but task_exit (abort, cancel,
  // node loss, timeout). Used by --execute-tasks to start and SIGTERM real processes.
  std::function<void(const Task&)> on_task_executing;
  std::function<void(const Task&)> on_task_stopped;

 private:
  std::string new_uuid();
  std::string new_instance_id();
  void set_status(Task& t, TaskStatus s);
  void set_status(TaskGroup& g, TgStatus s);
  void set_status(WorkRequirement& wr, WrStatus s);
  void set_status(WorkerPool& p, PoolStatus s);
  void set_status(ComputeRequirement& cr, CrStatus s);
  void set_status(Instance& i, InstanceStatus s);
  void set_status(Node& n, NodeStatus s);
  void set_status(Worker& w, WorkerStatus s);
  SimResult<TaskGroup*> add_group(WorkRequirement& wr, json spec);

  void add_instances(ComputeRequirement& cr, int count);
  void register_node(Instance& inst);
  void release_worker(Worker& w);
  // Ends an in-progress or waiting task: finished status, optional TaskError, worker freed, retries.
  void finish_task(Task& t, TaskStatus status, const char* error_type = nullptr, std::string error = {},
                   std::optional<int> exit_code = std::nullopt);
  void node_gone(Node& n, NodeStatus status);
  void begin_terminate(ComputeRequirement& cr);

  // Called first by every API operation that may change state: ends a quiet spell (see tick()).
  void wake();
  // The earliest time a timer of the current state fires (boot, registration, task steps and
  // timeouts, idle shutdowns); TimePoint::max() when none is armed.
  TimePoint next_timer() const;

  // Active groups with READY tasks and how many, in first-task order.
  std::vector<std::pair<TaskGroup*, int>> waiting_by_group() const;
  void step_instances();
  void step_tasks();
  void step_claims();
  void step_allocation();
  void step_growth();
  void step_idle();
  void step_groups();
  void step_work_requirements();
  void step_pools_and_crs();

  SimConfig config_;
  TimePoint now_;
  // Quiet spell: the last full tick changed nothing (changes_ did not move) and no API operation came
  // since; ticks before wake_at_ (the next timer) skip the steps.
  std::uint64_t changes_ = 0;
  bool quiet_ = false;
  TimePoint wake_at_;
  std::uint64_t full_ticks_ = 0;
  std::mt19937_64 rng_;
  int instance_counter_ = 0;

  std::vector<std::unique_ptr<WorkRequirement>> wrs_;
  // By namespace and name, in creation order (names never change): a GET by name is what every steady
  // poll of the operator asks, and a scan of 1,000 work requirements' specs per call was most of its cost.
  std::map<std::pair<std::string, std::string>, std::vector<WorkRequirement*>> wrs_by_name_;
  std::vector<Task*> tasks_;
  std::vector<std::unique_ptr<Task>> task_storage_;
  std::vector<std::unique_ptr<WorkerPool>> pools_;
  std::vector<std::unique_ptr<ComputeRequirement>> crs_;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<std::unique_ptr<Node>> nodes_;

  std::unordered_map<std::string, WorkRequirement*> wr_by_id_;
  std::unordered_map<std::string, TaskGroup*> tg_by_id_;
  std::unordered_map<std::string, Task*> task_by_id_;
  std::unordered_map<std::string, WorkerPool*> pool_by_id_;
  std::unordered_map<std::string, ComputeRequirement*> cr_by_id_;
  std::unordered_map<std::string, Instance*> instance_by_id_;
  std::unordered_map<std::string, Node*> node_by_id_;
  std::unordered_map<std::string, Worker*> worker_by_id_;
};

// Name rule (§2.3): [a-z0-9_-], starts with a letter, at most 60 characters.
bool valid_name(std::string_view name);

}  // namespace raydog::ydsim
