#pragma once
// What `plan` (core) asks `act` (loop) to do, in order. Each action carries everything act needs; act
// never re-derives names or bodies. Act executes the list in order and STOPS at the first action that
// fails (EmitEvent and RequeueAfter never fail), so an action may rely on every action before it having
// succeeded (e.g. AddFinalizer before the first create, RecordIncarnation before the create that uses it).
//
// Idempotency: every create is planned only for something observe did not find by name; act may still
// look up by name first (a create whose response was lost is adopted on the next reconcile anyway).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "controller/reconcile/observed.hpp"
#include "controller/yellowdog/model.hpp"

namespace raydog::reconcile {

// metadata.finalizers += kFinalizer (merge patch). Never planned while deletionTimestamp is set.
struct AddFinalizer {};
// metadata.finalizers -= kFinalizer (only our entry).
struct RemoveFinalizer {};

// Write status.workRequirement.name = work_requirement_name NOW (status patch), before the WR of this
// incarnation is created: a crash in between then leads to a lookup by that name, never a duplicate.
// Planned together with (before) the creates of the new incarnation.
struct RecordIncarnation {
  int incarnation = 1;
  std::string work_requirement_name;
};

// POST /workerPools/provisioned/template. The pool's (and CR's) name is
// request.requirement_template_usage.requirement_name. `key` is the role key (role_key() in desired.hpp).
struct ProvisionPool {
  std::string key;
  yellowdog::ProvisionRequest request;
  bool builtin_user_data = false;  // the request carries scripts::builtin_user_data() (the spec gives none)
};
// PUT /workerPools/provisioned/{pool_id}?size=N
struct ResizePool {
  std::string pool_id;
  std::string pool_name;
  std::int64_t size = 0;
};
// DELETE /workerPools/{pool_id}
struct ShutdownPool {
  std::string pool_id;
  std::string pool_name;
};
// PUT /compute/requirements/{id}/transition/TERMINATED
struct TerminateComputeRequirement {
  std::string compute_requirement_id;
  std::string name;
};

// POST /work/requirements (groups created empty).
struct CreateWorkRequirement {
  yellowdog::WorkRequirement work_requirement;
};
// GET WR (by id) + append the groups not yet present (by name) + PUT WR.
struct AddTaskGroups {
  std::string work_requirement_id;
  std::vector<yellowdog::TaskGroup> groups;
};
// POST /work/taskGroups/{id}/tasks. `task_group_id` is absent when the group was created earlier in the
// same action list (CreateWorkRequirement/AddTaskGroups): act resolves it by name from the WR it got back.
struct AddTasks {
  std::string task_group_name;
  std::optional<std::string> task_group_id;
  std::vector<yellowdog::Task> tasks;
};
// Why plan cancels tasks: what an extension may do about it (the Ray extension drains surplus and
// obsolete workers' Ray nodes first and cancels them only once Ray let them go).
enum class CancelReason {
  kReplace,   // a singleton's extra or lost task (replaced at once)
  kStale,     // workers pointed at an old head or observability node (that Ray cluster is gone)
  kSurplus,   // scale-down: more live workers than desired in `group`
  kObsolete,  // every task of a group no role owns any more (pool removed, old revision)
};
// PUT /work/tasks/{id}/cancel?abort=... for each id (a task already finished is not an error).
struct CancelTasks {
  std::vector<std::string> task_ids;
  bool abort = true;
  CancelReason reason = CancelReason::kReplace;
  std::string group;  // the task group of kSurplus/kObsolete
};
// DELETE /workerPools/nodes/{id} for each id: exactly these VMs go (after their tasks were cancelled), so
// YellowDog never picks another one (a node already gone is not an error).
struct ReleaseNodes {
  std::vector<std::string> node_ids;
  std::string pool_name;  // for the event and the log
};
// PUT /work/requirements/{id}/transition/CANCELLING?abort=...
struct CancelWorkRequirement {
  std::string work_requirement_id;
  bool abort = true;
};

// A core/v1 Event on the RayDogCluster (involvedObject with uid). `type` is "Normal" or "Warning".
struct EmitEvent {
  std::string type;
  std::string reason;
  std::string message;
};

// Reconcile this key again after `after` (the loop stretches steady-state requeues by 0-10% jitter).
// Always the LAST action when present. Absent: no timed requeue (terminal gates such as InvalidSpec,
// a finished teardown, a removed finalizer); the watch brings the next change.
// `until_tasks_start`: the cluster acted on nothing and waits only for tasks of its own to start (a
// YellowDog change a ChangeFeed reports): with a feed watching the cluster, the reconciler lets the feed wake
// it and polls only as a safety net (--requeue-awaiting-start) instead of every `after`.
struct RequeueAfter {
  Millis after{0};
  bool until_tasks_start = false;
};

using Action = std::variant<AddFinalizer, RemoveFinalizer, RecordIncarnation, ProvisionPool, ResizePool,
                            ShutdownPool, TerminateComputeRequirement, CreateWorkRequirement, AddTaskGroups,
                            AddTasks, CancelTasks, ReleaseNodes, CancelWorkRequirement, EmitEvent, RequeueAfter>;
using Actions = std::vector<Action>;

// What act reports back, for compute_status.
struct ActOutcome {
  std::size_t executed = 0;                  // actions that succeeded (EmitEvent/RequeueAfter included)
  std::optional<Error> error;                // the action that failed, if any (act stopped there)
  std::optional<std::string> failed_action;  // its name, e.g. "ProvisionPool rdc-...-head-1a2b3c"
  std::optional<int> recorded_incarnation;   // a RecordIncarnation that succeeded
};

// One line per action for logs, error messages (ActOutcome::failed_action, the ActionFailed event) and
// test diagnostics: the action's kind and the names/ids it touches, e.g. "ProvisionPool <pool name>",
// "ResizePool <pool name> to 3", "CancelTasks 2 (abort): <id> <id>". Never includes secrets, scripts or
// request bodies. actions.cpp.
std::string describe(const Action& action);

}  // namespace raydog::reconcile
