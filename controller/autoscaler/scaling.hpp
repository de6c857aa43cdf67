#pragma once
// One autoscaling decision of one cluster, pure: from what the reconcile observed (the YellowDog view and
// the Ray view of the head's answer, controller/ray/reading.hpp) to the planner's input (planner.hpp), and
// from its plan to what the core plan reads: a target size per pool (Observed::desired_nodes_override) and
// the victims to drain first (Observed::scale_down_victims). Execution is the Ray view's drained scale-down.
//
// The target is recomputed every cycle from observed state (ray-gcs.md §4.4), never kept: a crash
// anywhere resumes from what YellowDog and Ray show.
//   - Ray answered: per pool, its live tasks are joined (a RUNNING or IDLE Ray node), pending (no Ray node
//     yet) or leaving (DRAINING or DEAD: a victim in flight or a lost node). Pending is at least what the
//     previous target committed to beyond the joined and leaving nodes: worker tasks are only added once
//     the head has an address, and a task that failed is replaced. target = joined + pending + launches -
//     drains - cancelled launches; leaving tasks are outside it, so the core plan's surplus cancel takes
//     them (and the planner's victims) first.
//   - Held (no answer, a new GCS session, an unsupported Ray version): no scale-down and no demand-driven
//     growth; target = the previous target (status.workerPools[].desiredNodes) or the live tasks, whichever
//     is larger, within [minNodes, maxNodes]. A pool never seen before starts at `nodes`.
//   - A pool with neither a previous target nor tasks (a new cluster, a pool just added) starts at `nodes`
//     (within [minNodes, maxNodes]); the planner takes it from the next poll.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/types.hpp"
#include "controller/autoscaler/planner.hpp"
#include "controller/ray/reading.hpp"
#include "controller/reconcile/view.hpp"

namespace raydog::autoscaler {

// The oldest Ray version whose autoscaler-state service and DrainNode behave as ray-gcs.md describes.
inline constexpr int kMinRayMajor = 2, kMinRayMinor = 10;
// False only for a version known to be older than kMinRay*; an unknown version is not held against the
// head (its answer to GetClusterResourceState proves the service exists).
bool ray_version_supported(const std::string& version);

// Why sizes are held this cycle (the AutoscalingReady reason and message).
struct Hold {
  std::string reason;  // HeadPending | HeadUnreachable | HeadRestarted | UnsupportedRayVersion
  std::string message;
};

// A victim between DrainNode and its task's end.
struct Leaving {
  std::string task_id;
  std::string task_name;
  std::string node_hex;
  bool dead = false;  // the node is DEAD (lost, or drained and gone) while its task is still live
};

// What one pool looked like, and what was decided for it.
struct PoolScaling {
  std::string pool;
  int min_nodes = 0, max_nodes = 0;
  int joined = 0, pending = 0;
  std::vector<Leaving> leaving;
  bool starting = false;         // at `nodes`, not planned this cycle
  std::int64_t target = 0;       // Observed::desired_nodes_override
  std::optional<PoolPlan> plan;  // when the planner ran for this pool
};

struct Scaling {
  std::vector<PoolScaling> pools;  // spec order
  std::set<std::string> victims;   // Observed::scale_down_victims
  std::map<std::string, std::string> task_names;  // task id -> name, of the joined nodes (for events)
  std::optional<Hold> hold;
  std::vector<Infeasible> infeasible;  // demand no pool's shape holds
  int pending_requests = 0;            // pending resource requests and gang bundles Ray reported
};

// The pool `name`'s entry in the status `previous`, or null.
const api::WorkerPoolStatus* previous_pool(const std::optional<api::RayDogClusterStatus>& previous,
                                           const std::string& name);

// The node shape of `ray_resources` (quantities parsed; memory in bytes), as the planner counts it.
Resources shape_of(const std::map<std::string, std::string>& ray_resources);

// `reading`: the Ray pass's, null when the head was not read this cycle. `previous`: the cluster's
// previous status (the previous targets). `decided`: the targets this process decided last, by pool; they
// win over `previous`, which comes from an informer cache that may not have seen their status write yet
// (planning from an older target counts the tasks of nodes drained since as launches still owed, and
// launches them again). Only for a cluster with spec.autoscaling.enabled.
Scaling scale(const api::RayDogClusterSpec& spec, const std::optional<api::RayDogClusterStatus>& previous,
              const reconcile::View& view, const ray::RayReading* reading,
              const std::map<std::string, std::int64_t>& decided = {});

}  // namespace raydog::autoscaler
