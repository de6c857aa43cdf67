#pragma once
// yellowdog-sim --ray, the model: Ray clusters played on top of the platform (README.md "--ray"). Pure
// (no sockets, no gRPC): it runs on the simulator's thread, follows the Simulator's tasks and clock, and
// builds per head the state its fake GCS serves (test/ray-fake/cluster_state.hpp). The fake heads
// themselves (gRPC and dashboard servers) are ray_heads.hpp.
//
// - A head = an EXECUTING task of a task group named "head-node" (api/names.hpp kHeadTaskGroup, also with
//   the operator's "-<revision>" suffix); its GCS
//   serves on the head node's private IP (and public IP) port 6379 while the task executes and the GCS
//   is up. Each start of a GCS is a new incarnation: session name, cluster id, version counter 0.
// - Ray nodes of a head: the head itself and every EXECUTING task whose environment has RAY_HEAD_IP equal
//   to the head's private IP. node_id: 28 bytes derived from the task id; instance_id: the task's
//   RAY_CLOUD_INSTANCE_ID, else the task id; type: RAY_NODE_TYPE_NAME (the head: "head" when unset).
// - Demand per head (POST /_sim/ray/heads/{id}/demand): single requests placed first-fit on live
//   (not DRAINING/DEAD) nodes' free resources; gangs all-or-nothing (STRICT_PACK on one node,
//   STRICT_SPREAD on distinct nodes); constraints only reported. A node with placed work (or told RUNNING)
//   is RUNNING, else IDLE since it last had work or joined.
// - Drains accepted by a head's GCS come back here (drained()): DRAINING for drain_delay (and, busy, until
//   its work is gone or the PREEMPTION deadline passed), then DEAD, and its YellowDog task exits 0
//   (COMPLETED), as `ray start --block` returns once the raylet is gone.
//
// Threads: everything here belongs to the simulator's thread except RayCallLog, which the fake heads'
// gRPC threads call (its own mutex).
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "test/ray-fake/cluster_state.hpp"
#include "test/yellowdog-sim/api.hpp"
#include "test/yellowdog-sim/ray_jobs.hpp"

namespace raydog::ydsim {

struct RayConfig {
  std::string ray_version = "2.49.2";  // what the dashboard's /api/version says
  Millis drain_delay{1000};            // DRAINING -> DEAD after an accepted drain (simulated time)
  Millis job_duration{2000};           // a Ray job's submit -> SUCCEEDED (ray_jobs.hpp; simulated time)
  Millis job_stop_delay{200};          // a Ray job's stop -> STOPPED (simulated time)
  std::uint64_t seed = 1;              // GCS fault decisions
};

inline constexpr int kGcsPort = 6379;
inline constexpr int kDashboardPort = 8265;

// The GCS calls every fake head received, the protocol violations they saw, and injected GCS faults.
// Thread-safe: called from gRPC's threads and read on the simulator's.
class RayCallLog {
 public:
  explicit RayCallLog(std::uint64_t seed);

  struct Faults {
    double fail_rate = 0;      // probability per GCS call
    std::int64_t fail_nth = 0;  // the n-th call from when this was set fails once (0: none)
    std::vector<std::string> codes{"UNAVAILABLE"};  // gRPC code names, picked uniformly
    // Per head (task id): its n-th call from when this was set fails once, counted over its calls only (so
    // runs against several heads of one simulator each get their own n-th call).
    std::map<std::string, std::int64_t> head_fail_nth;
  };
  Faults faults() const;
  void set_faults(Faults f);
  // The failure for a call to `head` arriving now: a gRPC code, 0 for none. Every call draws two numbers
  // from one PRNG seeded with --seed, in arrival order, whatever the settings.
  int decide(const std::string& head);

  struct Call {
    std::string head;  // the head's task id
    test::FakeGcsCall call;
  };
  struct Violation {
    std::string head;
    std::string what;
  };
  void record(const std::string& head, const test::FakeGcsCall& call);
  void violation(const std::string& head, const std::string& what);
  std::vector<Call> calls() const;
  std::vector<Violation> violations() const;
  std::uint64_t dropped_calls() const;

  static constexpr std::size_t kMaxCalls = 200'000;  // the oldest go first beyond this

 private:
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  Faults faults_;
  std::int64_t countdown_ = 0;
  std::map<std::string, std::int64_t> head_countdown_;
  std::deque<Call> calls_;
  std::uint64_t dropped_ = 0;
  std::vector<Violation> violations_;
};

// The resources a Ray node offers: the head {node:__internal_head__: 1} (no CPU, as a head started with
// --num-cpus=0); a worker what its task's environment gives `ray start` (the operator's RAYDOG_NUM_CPUS,
// RAYDOG_NUM_GPUS, RAYDOG_MEMORY, RAYDOG_OBJECT_STORE_MEMORY, RAYDOG_RAY_RESOURCES from the pool's
// rayResources), {CPU: 1} where it gives no CPU count (a real Ray would count the VM's CPUs).
test::RayResources ray_node_resources(const Task& task, bool head);

class RaySim {
 public:
  RaySim(Simulator& sim, RayConfig config);

  struct Unit {  // one request of a demand (a count of N is N units) or one bundle of a gang
    test::RayResources shape;
    std::string node;  // the task id of the node it is placed on; empty: pending
  };
  struct Gang {
    std::string pg_id;     // hex, 18 bytes as Ray's placement group ids
    std::string strategy;  // STRICT_SPREAD | STRICT_PACK
    std::vector<Unit> bundles;
    bool placed = false;
  };
  struct Demand {
    std::vector<Unit> units;
    std::vector<Gang> gangs;
    std::vector<test::RayResources> constraints;
  };

  enum class Life { kAlive, kDraining, kDead };
  struct Node {
    std::string task_id;
    std::string node_id;  // binary, 28 bytes
    std::string instance_id, type, ip;
    bool head = false;
    std::optional<TimePoint> task_started;  // the run of the task this node belongs to
    test::RayResources total;
    Life life = Life::kAlive;
    bool forced_busy = false;  // told RUNNING
    bool busy = false;         // forced or with placed work (as of the last step)
    TimePoint idle_since;      // last had work, or joined
    TimePoint drain_at;
    std::int64_t drain_deadline_ms = 0;
  };
  struct Head {
    std::string task_id;
    std::string private_ip, public_ip;
    std::optional<TimePoint> task_started;
    bool gcs_up = true;
    std::uint64_t incarnation = 0;  // changes with every start of its GCS (process-wide counter)
    std::string session, cluster_id;  // of the incarnation; cluster_id binary, 28 bytes
    std::string work_requirement_id;  // of its task (the jobs listing names it)
    std::vector<Node> nodes;          // the head first, then workers in joining order; DEAD ones stay
    std::uint64_t generation = 0;     // bumped by every change its GCS shows
    bool dirty = true;                // placement and busy flags need a step
    bool draining = false;            // some node may be DRAINING (ticks skip the others' drain check)
  };

  // Simulator thread. A tick after which nothing was asked or changed (no control, drain or YellowDog
  // change) only moves the draining heads along: a steady simulation of 1,000 heads costs next to nothing.
  void tick(TimePoint now);
  // Bumped whenever what some head's GCS shows may have changed (a head came, went, or stepped): the fake
  // heads re-read heads() only then.
  std::uint64_t revision() const { return revision_; }
  // A drain the head's GCS accepted (the fake heads hand them over before each tick).
  void drained(const std::string& head_task, const test::FakeDrain& drain);
  const std::map<std::string, Head>& heads() const { return heads_; }
  test::FakeClusterState state_of(const Head& head) const;
  // GET/POST/PUT /_sim/ray/...: `segments` start with "_sim", "ray".
  ApiResponse handle(const std::string& method, const std::vector<std::string>& segments, const std::string& body);
  // A request under /api/jobs to the dashboard of `head_task`'s incarnation `incarnation`, at `now` (the
  // simulated clock; the dashboards answer between ticks). A head that is no longer that incarnation (a
  // request from a helper racing the head's end) is answered by closing the connection, as a dead head.
  DashboardAnswer jobs_request(const std::string& head_task, std::uint64_t incarnation, const std::string& method,
                               const std::string& target, const std::string& body, TimePoint now);
  RayJobs& jobs() { return jobs_; }

  RayCallLog& log() { return log_; }
  const RayConfig& config() const { return config_; }
  // The task id of a node id any head ever had (calls name drained nodes by task).
  std::optional<std::string> task_of_node(const std::string& node_id) const;

  static std::string node_id_of(const std::string& task_id);  // 28 bytes, deterministic

 private:
  struct Control {
    enum class Sticky { kNone, kDead, kAbsent } sticky = Sticky::kNone;
    bool running = false;                  // RUNNING: busy until changed
    std::optional<TimePoint> idle_since;   // IDLE asked before the node joined
    bool reject_drain = false;
    bool gcs_down = false;                 // heads only
  };
  struct TaskEnv {  // read once per task (a task's spec never changes)
    bool head_group = false;
    std::string head_ip, instance_id, type;
  };

  const TaskEnv& env_of(const Task& t);
  // The full walk over every task (at the start and after a control); otherwise only the tasks whose
  // status changed since the last tick are followed (follow_tasks), touching only their heads.
  void scan();
  void follow_tasks(std::vector<Task*> changed);
  void add_head(const Task& t);  // a head task that (again) EXECUTES: a fresh head, its workers join
  void remove_head(std::map<std::string, Head>::iterator it);
  void follow_member(Head& h, const Task& t, bool runs);
  static bool runs(const Task& t);  // EXECUTING on a node whose instance has an address
  void start_incarnation(Head& h);
  void end_jobs(const Head& h);  // its incarnation's Ray jobs are gone (a head restart without GCS FT)
  void join(Head& h, const Task& t, Node* existing);
  void set_dead(Head& h, Node& n);
  void step(Head& h);
  void progress_drains(Head& h, std::vector<std::pair<std::string, std::optional<TimePoint>>>& to_end);
  Head* head_of_node_task(const std::string& task_id, Node** node);
  void unplace_all(const std::string& head_task);

  json node_json(const Head& h, const Node& n, const test::FakeRayNode& served) const;
  json nodes_json(const Head& h) const;  // every node of the head, as its GCS shows them
  json head_json(const Head& h) const;
  ApiResponse control_node(const std::string& task_id, const json& body);
  ApiResponse control_reject(const std::string& task_id, const json& body);
  ApiResponse control_head(const std::string& task_id, const json& body);
  ApiResponse control_demand(const std::string& task_id, const json& body);
  ApiResponse put_faults(const json& body);

  Simulator& sim_;
  RayConfig config_;
  RayCallLog log_;
  RayJobs jobs_;
  TimePoint now_;
  bool rescan_ = true;
  std::set<std::string> touched_heads_;  // heads follow_tasks() changed: the tick visits them
  // Heads by private IP, and the EXECUTING worker tasks by the RAY_HEAD_IP they name (whether or not that
  // head runs), so a head that starts finds its workers without a walk.
  std::unordered_map<std::string, std::string> head_at_ip_;
  std::unordered_map<std::string, std::set<const Task*>> workers_of_ip_;
  bool touched_ = true;              // a control or drain since the last tick: every head is looked at
  std::uint64_t revision_ = 0;
  std::set<std::string> draining_;   // heads with Head::draining, as of the last tick
  std::uint64_t incarnations_ = 0;
  std::uint64_t demand_serial_ = 0;
  std::map<std::string, Head> heads_;                // live heads by task id
  std::map<std::string, Demand> demand_;             // by head task id (kept when the head is not live)
  std::map<std::string, Control> controls_;          // by task id
  std::unordered_map<std::string, std::string> node_task_;  // node id -> task id, never forgotten
  std::unordered_map<const Task*, TaskEnv> env_memo_;
};

}  // namespace raydog::ydsim
