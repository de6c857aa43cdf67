#pragma once
// What the Ray view changes in a reconcile's plan (pure, tested without I/O). The extension
// (extension.hpp) reads the head's GCS, calls decide(), asks Ray for the drains it lists, and applies
// rewrite() to the planned actions.
//
// Drained scale-down (a CancelTasks of reason kSurplus or kObsolete, see actions.hpp):
//   victims, in order: nodes already leaving (DRAINING, DEAD), the autoscaler's choice
//   (Observed::scale_down_victims), tasks whose node has not joined (waiting ones first), IDLE nodes
//   (longest idle first), busy nodes (newest task first). A kObsolete group gives
//   up every task.
//   - not joined, or DEAD: its task is cancelled now and (kSurplus) exactly its VM released;
//   - IDLE: DrainNode IDLE_TERMINATION (Ray refuses it if work arrived since); RUNNING: DrainNode
//     PREEMPTION with the deadline now + drainTimeout. Accepted: the node shows DRAINING, then DEAD, and the
//     next reconcile cancels and releases it; refused: the node stays, the drain is asked again next cycle;
//   - DRAINING for longer than drainTimeout: cancelled and released anyway (Warning DrainTimedOut).
//   While a group has victims in flight its pool is neither resized nor shut down (YellowDog would pick a
//   VM itself); once all are cancelled the resize runs after the releases. Every step is re-derived from
//   Ray and YellowDog each reconcile, so a crash anywhere resumes (DrainMemory only dates drains; after a
//   restart a DRAINING node is dated from when it is first seen again).
// Healing (workers of the current groups that are EXECUTING, not victims, not cancelled otherwise):
//   - Ray node DEAD while the task runs: cancelled (replaced by the next plan), Warning RayNodeLost;
//   - no Ray node rayJoinTimeout after the task started: cancelled, Warning RayJoinTimeout.
//   Never in the reconcile that saw a new session (the nodes re-register with a restarted head).
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/types.hpp"
#include "controller/ray/ray_view.hpp"
#include "controller/reconcile/actions.hpp"
#include "controller/reconcile/extension.hpp"
#include "controller/reconcile/view.hpp"

namespace raydog::ray {

using reconcile::Millis;
using reconcile::TimePoint;

// The spec's timeouts (defaults from api/defaults.hpp when absent or unreadable).
struct RayPolicy {
  Millis join_timeout{std::chrono::minutes(5)};
  Millis unresponsive_timeout{std::chrono::minutes(2)};
  Millis drain_timeout{std::chrono::minutes(10)};
  static RayPolicy of(const api::RayDogClusterSpec& spec);
};

struct DrainOrder {
  std::string task_id;
  std::string task_name;
  std::string node_id;  // binary, as GCS gave it
  DrainReason reason = DrainReason::kIdleTermination;
  std::optional<TimePoint> deadline;  // PREEMPTION only
  std::string message;                // reason_message Ray records
};

// The rewrite of one kSurplus/kObsolete CancelTasks.
struct GroupRelease {
  std::string group;
  reconcile::CancelReason reason = reconcile::CancelReason::kSurplus;
  std::vector<std::string> cancel;   // task ids whose Ray node is gone or never joined
  std::vector<std::string> release;  // their YellowDog nodes (kSurplus)
  std::size_t in_flight = 0;         // victims Ray still has to let go
};

struct RayDecisions {
  std::vector<DrainOrder> drains;
  std::vector<GroupRelease> groups;
  std::vector<std::string> heal;  // worker tasks to cancel and replace
  std::vector<reconcile::ExtensionEvent> events;
  // When each draining victim started draining (carried to the next reconcile).
  std::map<std::string, TimePoint> draining_since;
};

// `draining_since`: from the previous reconcile. `session_changed`: this answer came from a new GCS
// incarnation (no healing now).
RayDecisions decide(const reconcile::Observed& observed, const reconcile::View& view,
                    const reconcile::Actions& planned, const RayView& ray,
                    const std::map<std::string, TimePoint>& draining_since, bool session_changed,
                    const RayPolicy& policy, TimePoint now);

// Applies the decisions to the planned actions: each kSurplus/kObsolete CancelTasks becomes the group's
// ready cancels (+ ReleaseNodes), the pools of groups in flight lose their ResizePool/ShutdownPool, a
// group done now gets its ResizePool after the releases, healing cancels and the events are added, and a
// steady requeue becomes the converging one while drains are in flight. RequeueAfter stays last.
void rewrite(reconcile::Actions& actions, const RayDecisions& decisions, const reconcile::Observed& observed);

// The head cannot be read: nothing is scaled down (kSurplus/kObsolete cancels, shrinking resizes and the
// shutdown of obsolete pools are held; growth and everything else go ahead).
void hold_scale_down(reconcile::Actions& actions, const reconcile::Observed& observed);

// The task group whose tasks run on the pool `pool_id` (its worker tag is in the group's worker tags).
std::optional<std::string> group_of_pool(const reconcile::Observed& observed, const std::string& pool_id);

}  // namespace raydog::ray
