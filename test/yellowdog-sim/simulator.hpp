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
#include "test/yellowdog-sim/time_index.hpp"

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
  // Instances whose addresses one block holds (private and public: 128 x 254); then the next block.
  // Smaller only in tests.
  int instances_per_block = 128 * 254;
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
  // A block holds the addresses of config().instances_per_block instances. The next ones come from another
  // block, asked of this hook when the first instance beyond the blocks held is created (the HTTP server
  // claims a free one, ip_block.hpp); 0 from it (none free) makes addresses repeat from the first block.
  // Without a hook (the in-memory core) blocks are numbered on from config().ip_block.
  std::function<int()> claim_ip_block;
  const std::vector<int>& ip_blocks() const { return ip_blocks_; }  // the first is config().ip_block
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
  // Tasks whose status changed since the last take, each once, from track_task_changes() on: the Ray model
  // follows these instead of walking 50,000 tasks whenever anything changed.
  void track_task_changes() { track_task_changes_ = true; }
  std::vector<Task*> take_changed_tasks();

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

  // Time indexes for the searches' time-range filters (time_index.hpp): tasks by startedTime (an entry per
  // run: a retried task's earlier run goes stale) and by finishedTime, work requirements by
  // statusChangedTime (creation included).
  using TaskTimeIndex = TimeIndex<Task, &Task::started_key>;
  using TaskFinishIndex = TimeIndex<Task, &Task::finished_key>;
  using WrTimeIndex = TimeIndex<WorkRequirement, &WorkRequirement::changed_key>;
  const TaskTimeIndex& started_index() const { return started_index_; }
  const TaskFinishIndex& finished_index() const { return finished_index_; }
  const WrTimeIndex& status_changed_index() const { return wr_changed_index_; }

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
  // A task's startedTime and finishedTime, kept in their indexes.
  void set_started(Task& t);
  void clear_started(Task& t);
  void set_finished(Task& t);
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
  void tally_waiting();  // waiting_ and pool_waiting_, once per tick
  std::vector<std::pair<TaskGroup*, int>> waiting_;
  std::vector<int> pool_waiting_;  // by WorkerPool::seq: READY tasks of active groups that match it
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
  bool track_task_changes_ = false;
  std::vector<Task*> changed_tasks_;
  std::mt19937_64 rng_;
  int instance_counter_ = 0;
  std::vector<int> ip_blocks_;        // beyond the first: claimed as instances need them
  bool ip_blocks_exhausted_ = false;  // a claim found none free: not asked again
  int ip_block_for(int instance_number);

  std::vector<std::unique_ptr<WorkRequirement>> wrs_;
  // By namespace and name, in creation order (names never change): a GET by name is what every steady
  // poll of the operator asks, and a scan of 1,000 work requirements' specs per call was most of its cost.
  std::map<std::pair<std::string, std::string>, std::vector<WorkRequirement*>> wrs_by_name_;
  std::vector<Task*> tasks_;
  std::vector<std::unique_ptr<Task>> task_storage_;
  std::vector<std::unique_ptr<WorkerPool>> pools_;
  std::vector<std::unique_ptr<ComputeRequirement>> crs_;
  // By namespace and name, in creation order, as wrs_by_name_ (a provision checks for a live twin, 10,000
  // clusters have 30,000 pools), and pools by workerTag (what a group's workerTags constraint names).
  std::map<std::pair<std::string, std::string>, std::vector<WorkerPool*>> pools_by_name_;
  std::map<std::pair<std::string, std::string>, std::vector<ComputeRequirement*>> crs_by_name_;
  std::unordered_map<std::string, std::vector<WorkerPool*>> pools_by_tag_;
  std::size_t group_count_ = 0;
  // The pools whose workers a group may claim, in creation order (the tag index when the group names
  // worker tags, else every pool): the §7.1 rule still decides, this only skips pools it cannot pass.
  std::vector<WorkerPool*> candidate_pools(const TaskGroup& g) const;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<std::unique_ptr<Node>> nodes_;

  TaskTimeIndex started_index_;
  TaskFinishIndex finished_index_;
  WrTimeIndex wr_changed_index_;

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
