#pragma once
// The named steps of compute_status (internal to raydog_reconcile_core; status.hpp is the public face).
// Each is a pure function from what it needs to the part of the status it decides; compute_status
// (status.cpp) runs them in order:
//   YellowDog fields (status_fields.cpp): work requirement -> head -> endpoints -> observability
//     -> worker pools (+ the degradation that names the failing pool or head) -> readiness
//   phase and conditions (status_conditions.cpp): phase -> Synced -> Ready -> HeadReady -> WorkersReady
//     -> Provisioned -> Reconciling/Stalled (kstatus)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/types.hpp"
#include "controller/reconcile/actions.hpp"
#include "controller/reconcile/view.hpp"

namespace raydog::reconcile::status_steps {

using PreviousStatus = std::optional<api::RayDogClusterStatus>;

// ---- YellowDog-derived fields (status_fields.cpp) --------------------------------------------------

// YellowDog could not be read (observe failed, or a deletion without credentials): its fields keep their
// last known values; while deleting, the ids stay in status, where a timed-out cleanup finds what may leak.
bool yellowdog_blind(const Observed& o, const View& v);
// The view describes what runs now: YellowDog was read, no rebuild is pending, the spec is valid.
bool live_view(const View& v, bool blind);

// The incarnation's WR: the one recorded by act first, then what YellowDog shows. Absent for an invalid
// spec (nothing may be created for it).
std::optional<api::WorkRequirementStatus> work_requirement_status(const Observed& o, const View& v,
                                                                  const ActOutcome& outcome);
// The current head task and its node (live view only).
std::optional<api::HeadStatus> head_status(const Observed& o, const View& v);
// ray://, dashboard and GCS addresses of the head (public IP when known).
std::optional<api::EndpointsStatus> endpoints_status(const View& v);
// Grafana and Prometheus on the observability node.
std::optional<api::ObservabilityStatus> observability_status(const View& v);

struct WorkerSummary {
  std::vector<api::WorkerPoolStatus> pools;
  std::int64_t desired = 0, ready = 0;
  std::optional<std::string> degradation;  // the first pool failing in backoff: "pool <name>: <error>"
};
// Per pool: ids, worker tag, desired/registered/ready/failed counts, health (Healthy, Progressing,
// Degraded while a failure's backoff runs).
WorkerSummary worker_pools_status(const View& v, bool live_view, TimePoint now);
// "head: <error>" while the head's replacement waits out a backoff.
std::optional<std::string> head_degradation(const View& v, bool live_view, TimePoint now);

struct Readiness {
  bool head = false, observability = false, workers = false;
  bool all = false;              // Running and everything above ready
  bool was_provisioned = false;  // the previous status says Provisioned=True (it stays True)
  std::int64_t desired_workers = 0, ready_workers = 0;
};
Readiness readiness(const View& v, bool live_view, const WorkerSummary& workers,
                    const PreviousStatus& previous);

// ---- phase and conditions (status_conditions.cpp) --------------------------------------------------

// A condition's value; lastTransitionTime and observedGeneration are the builder's (status.cpp).
struct Verdict {
  bool status = false;
  std::string reason, message;
};
// Why no progress is possible without a spec or credentials change (kstatus Stalled).
struct Stall {
  std::string reason, message;
};
struct Judgement {  // a condition that may also stall the cluster
  Verdict verdict;
  std::optional<Stall> stall;
};

// Deleting, Failed, Suspended from the lifecycle; invalid spec, credentials and observe errors keep the
// previous phase; otherwise Running, Degraded, Provisioning or Pending.
api::Phase phase_of(const Observed& o, const View& v, const Readiness& ready, bool degraded,
                    const ActOutcome& outcome, const PreviousStatus& previous);
// Synced: the first of invalid spec, credentials, observe error, missing ConfigMap, act's failure (a 409
// keeps the previous Synced), else Reconciled.
Judgement synced_condition(const Observed& o, const View& v, const ActOutcome& outcome,
                           const PreviousStatus& previous);
// Ready: True only when Running; the reason is the phase (BuildTimeout/LifetimeExpired when Failed).
Judgement ready_condition(api::Phase phase, const Observed& o, const View& v, const Readiness& ready,
                          const std::optional<std::string>& degradation, const PreviousStatus& previous);
Verdict head_ready_condition(const View& v, bool live_view, const Readiness& ready);
Verdict workers_ready_condition(const Readiness& ready);
Verdict provisioned_condition(const Readiness& ready);
// kstatus Reconciling: True while converging, deleting, suspending or retrying, never while stalled.
Verdict reconciling_condition(const Observed& o, const View& v, const Readiness& ready, bool stalled);
Verdict stalled_condition(const std::optional<Stall>& stall);

}  // namespace raydog::reconcile::status_steps
