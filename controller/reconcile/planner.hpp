#pragma once
// The plan's working state and its steps (internal to raydog_reconcile_core; plan.hpp is the public face).
//
// plan() runs an ordered list of named steps over one Planner (KubeRay's list of reconcile functions is
// the model): each step reads the observation and the view, appends actions, and answers whether the
// plan goes on or stops here (a gate such as deletion or an invalid spec). plan.cpp holds the list; each
// plan_*.cpp file holds the steps of one responsibility.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/reconcile/actions.hpp"
#include "controller/reconcile/view.hpp"

namespace raydog::reconcile {

struct Planner {
  const Observed& o;
  const View& v;
  TimePoint now;
  Actions out;
  bool converging = false;     // something changes or is not ready: poll fast
  // Nothing acted, but tasks of the cluster have yet to start (EXECUTING): the one wait a ChangeFeed can
  // report. Only used when nothing set `converging`.
  bool awaiting_start = false;
  std::optional<Millis> wake;  // earliest backoff expiry

  const api::RayDogCluster& c() const { return o.cluster; }

  void event(std::string type, std::string reason, std::string message);
  void requeue(Millis after, bool until_tasks_start = false) {
    out.push_back(RequeueAfter{after, until_tasks_start});
  }
  // True while the role waits out its replacement backoff (and remembers when it ends, for pacing).
  bool in_backoff(const RoleView& r);
  void add_tasks(const RoleView& r, std::vector<yellowdog::Task> tasks);
  // The role's task script (the sources were checked by view: a missing one stopped the plan earlier).
  std::string script(const RoleView& r) const;
};

// What a step tells plan(): go on with the next step, or the plan is complete.
enum class Flow { kContinue, kStop };

struct PlanStep {
  std::string_view name;
  Flow (*run)(Planner&);
};

// ---- shared by the steps --------------------------------------------------------------------------

// Gate events are emitted once per generation (the Synced condition remembers the reason), not on every
// retry.
bool needs_event(const api::RayDogCluster& c, std::string_view reason);
// Cancel the WR, shut every live pool down, terminate every CR not yet terminating. `ids` collects what
// is still alive (for the CleanupTimedOut event).
Actions teardown(const Observed& o, const yellowdog::WorkRequirement* wr,
                 std::vector<std::string>* ids = nullptr);

// ---- the steps, in plan order (plan.cpp lists them) -----------------------------------------------

// plan_teardown.cpp
Flow deletion(Planner& p);  // deletionTimestamp: Orphan, teardown, CleanedUp or CleanupTimedOut
// plan_gates.cpp
Flow invalid_spec(Planner& p);  // Warning InvalidSpec once per generation; no YellowDog call
Flow api_url_not_allowed(
    Planner& p);                  // Warning ApiURLNotAllowed once per generation; no Secret read, no call
Flow credentials(Planner& p);     // CredentialsNotFound/NotAuthorised once per generation; slow retry
Flow observe_failed(Planner& p);  // no plan: the work queue backs off
// plan_teardown.cpp
Flow suspend_or_failed(Planner& p);  // suspend, build timeout, lifetime over: tear down and hold
// plan_gates.cpp
Flow finalizer(Planner& p);      // our finalizer before any create
Flow wr_cancelling(Planner& p);  // wait for the old WR to finish before a new incarnation
Flow sources(Planner& p);        // a ConfigMap source is missing: nothing is created
Flow incarnation(Planner& p);    // a new incarnation is recorded before its creates
// plan_pools.cpp
Flow provision_pools(Planner& p);  // every node kind's pool, early (VMs boot in parallel)
Flow resize_pools(Planner& p);     // worker pools whose desired node count changed
// plan_work.cpp
Flow work_requirement_and_groups(Planner& p);  // the WR with every group, or the groups it lacks
// plan_tasks.cpp
Flow observability_task(Planner& p);  // one live observability task
Flow head_task(Planner& p);           // one live head task, restarted when observability moved
Flow worker_tasks(Planner& p);        // `desired` live workers pointed at the current head
// plan_drain.cpp
Flow obsolete_groups(Planner& p);    // tasks of groups no role owns, once their replacement runs
Flow obsolete_pools(Planner& p);     // live pools no role claims, once their replacement runs
Flow finished_pool_crs(Planner& p);  // compute requirements still running under shut-down pools
// plan.cpp
Flow pacing(Planner& p);  // the requeue: fast while converging, steady otherwise

}  // namespace raydog::reconcile
