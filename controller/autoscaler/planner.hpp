#pragma once
// The autoscaler's decisions (issue 20), pure: from the worker pools, what Ray's GCS reports
// (GetClusterResourceState) and what is in flight, how many nodes to launch and which to drain, per pool.
// No I/O and no clock of its own: everything it reads is in PlannerInput, so every rule is unit-tested
// (test/unit/autoscaler). The rules (ray-gcs.md §4.4; Ray's v2 scheduler and KubeRay where they agree):
//
//  - Hold: a reading that cannot be trusted (head unreachable or stale, a new GCS session, an unsupported
//    Ray version) changes nothing: no launch, no drain. Never scale down blind.
//  - minNodes first: a pool below it launches up to it (capped by maxNodes only).
//  - Capacity: live nodes (not DRAINING) offer what Ray says is available; launches not yet joined offer
//    their pool's whole shape. Demand is placed first-fit on that capacity, then on new nodes.
//  - request_resources constraints are placed on capacity "as if empty" (total resources): they launch
//    what is missing and protect the nodes they use from idle scale-down.
//  - Gangs: STRICT_PACK needs all bundles on one node, STRICT_SPREAD each bundle on its own node; a strict
//    gang is placed whole or not at all. PACK and SPREAD are placed bundle by bundle.
//  - A new node comes from the pool whose shape holds the bundle with the least left over (the share of
//    each of the shape's resources the bundle leaves unused, summed); a pool with GPUs is taken for a
//    bundle that asks for none only when no GPU-less pool holds it; ties go to the pool listed first.
//  - Launches per pool per cycle: with upscalingMode Conservative at most max(1, pending+live) (Ray's
//    upscaling_speed 1 in v2's _compute_to_launch), otherwise not limited (KubeRay's Default and
//    Aggressive); never above maxNodes.
//    Demand a pool could hold but may not launch for now is "capped"; demand no pool's shape can hold is
//    "infeasible": reported, never launched for.
//  - Scale-down: IDLE nodes idle longer than their pool's timeout, that no constraint needs and that got
//    no demand in this plan, longest idle first, never below minNodes, and none in a pool that still has a
//    drain in flight (KubeRay v2's rule: one scale-down at a time per pool; scale-up stays allowed).
//  - maxNodes lowered below the pool's size: launches not yet joined go first, then idle nodes, then busy
//    ones (PREEMPTION), until the pool fits.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace raydog::autoscaler {

// Ray resource name -> quantity (memory in bytes), as Ray spells the names: CPU, GPU, memory, custom ones.
using Resources = std::map<std::string, double>;
std::string to_string(const Resources& r);  // "{CPU: 4, GPU: 1}"

enum class UpscalingMode { kDefault, kAggressive, kConservative };
// New nodes a pool of `size` (live + pending) may launch in one cycle.
int launch_limit(UpscalingMode mode, int size);

struct PoolState {
  std::string name;
  Resources shape;  // one node's logical resources (the pool's rayResources)
  int min_nodes = 0;
  int max_nodes = 0;
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};  // the pool's override or the cluster's
  int pending = 0;               // tasks requested on YellowDog that are not a Ray node yet
  bool drain_in_flight = false;  // one of its victims is between DrainNode and its task's end
};

enum class NodeState { kRunning, kIdle, kDraining };

// A Ray worker node matched to a task of one of the pools. The head and nodes that map to no task are not
// given to the planner: they are never victims, and their capacity is not the pools' to count.
struct WorkerNode {
  std::string pool;
  std::string task_id;
  NodeState state = NodeState::kRunning;
  std::int64_t idle_ms = 0;
  Resources total;
  Resources available;
};

struct ResourceRequest {
  Resources shape;
  int count = 1;
};

enum class GangStrategy { kStrictPack, kStrictSpread, kPack, kSpread };
struct GangRequest {
  GangStrategy strategy = GangStrategy::kStrictPack;
  std::vector<Resources> bundles;
};

struct PlannerInput {
  std::vector<PoolState> pools;  // in spec order: ties go to the first
  std::vector<WorkerNode> nodes;
  std::vector<ResourceRequest> pending;      // pending resource requests
  std::vector<GangRequest> gangs;            // pending gang requests (placement groups)
  std::vector<ResourceRequest> constraints;  // request_resources()
  UpscalingMode mode = UpscalingMode::kDefault;
  std::optional<std::string> hold;  // why this reading cannot be trusted: then nothing changes
};

struct PoolPlan {
  std::string pool;
  int launch = 0;                         // new tasks to add
  std::vector<std::string> drain;         // idle victims (DrainNode IDLE_TERMINATION), longest idle first
  std::vector<std::string> preempt;       // busy victims over maxNodes (DrainNode PREEMPTION)
  int cancel_pending = 0;                 // launches not yet joined to cancel (over maxNodes)
  int desired = 0;                        // the pool's size once this plan is done (status desiredNodes)
  int capped = 0;                         // requests (bundles) it could hold but may not launch for (maxNodes, speed)
  std::string reason;                     // why it scales, for the events and lastScaleReason; empty: it does not
};

struct Infeasible {
  Resources shape;
  int count = 0;
};

struct Plan {
  std::vector<PoolPlan> pools;  // one per input pool, in the same order
  std::vector<Infeasible> infeasible;
  std::optional<std::string> held;  // the input's hold reason when nothing was decided
};

Plan plan(const PlannerInput& input);

}  // namespace raydog::autoscaler
