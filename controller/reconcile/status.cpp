#include "controller/reconcile/status.hpp"

#include "api/conditions.hpp"

#include "controller/reconcile/status_steps.hpp"

namespace raydog::reconcile {

namespace cond = api::condition;
using namespace status_steps;

namespace {

// Builds the conditions in order, each with observedGeneration and a lastTransitionTime carried over from
// the previous status while its status is unchanged.
struct Conditions {
  const PreviousStatus& previous;
  std::int64_t generation;
  std::string now;
  std::vector<api::Condition> out;

  void set(std::string_view type, Verdict v) {
    api::Condition c;
    c.type = std::string(type);
    c.status = std::string(v.status ? cond::kTrue : cond::kFalse);
    c.reason = std::move(v.reason);
    c.message = std::move(v.message);
    c.observed_generation = generation;
    api::stamp_transition(c, previous ? api::find_condition(previous->conditions, type) : nullptr, now);
    out.push_back(std::move(c));
  }
};

}  // namespace

api::RayDogClusterStatus compute_status(const Observed& o, const ActOutcome& outcome,
                                        const PreviousStatus& previous, TimePoint now) {
  const View v = view(o, now);
  const std::int64_t generation = o.cluster.metadata.generation.value_or(0);
  api::RayDogClusterStatus st;
  const bool blind = yellowdog_blind(o, v);
  if (blind && previous) {
    st = *previous;  // the YellowDog-derived fields keep their last known values
    st.conditions.clear();
  }
  st.observed_generation = generation;
  const bool live = live_view(v, blind);

  // YellowDog-derived fields.
  if (!blind) st.work_requirement = work_requirement_status(o, v, outcome);
  if (live) {
    st.head = head_status(o, v);
    st.endpoints = endpoints_status(v);
    st.observability = observability_status(v);
  }
  WorkerSummary workers;
  if (!blind) {
    workers = worker_pools_status(v, live, now);
    st.worker_pools = workers.pools;
    st.desired_workers = static_cast<std::int32_t>(workers.desired);
    st.ready_workers = static_cast<std::int32_t>(workers.ready);
  }
  const std::optional<std::string> head_failing = head_degradation(v, live, now);
  const std::optional<std::string> degradation = head_failing ? head_failing : workers.degradation;
  const Readiness ready = readiness(v, live, workers, previous);

  // Phase and conditions.
  st.phase = phase_of(o, v, ready, degradation.has_value(), outcome, previous);
  Conditions conds{previous, generation, format_rfc3339(now), {}};
  Judgement sync = synced_condition(o, v, outcome, previous);
  Judgement ready_verdict = ready_condition(*st.phase, o, v, ready, degradation, previous);
  const std::optional<Stall> stall = sync.stall ? sync.stall : ready_verdict.stall;
  conds.set(cond::kSynced, std::move(sync.verdict));
  conds.set(cond::kReady, std::move(ready_verdict.verdict));
  conds.set(cond::kHeadReady, head_ready_condition(v, live, ready));
  conds.set(cond::kWorkersReady, workers_ready_condition(ready));
  conds.set(cond::kProvisioned, provisioned_condition(ready));
  conds.set("Reconciling", reconciling_condition(o, v, ready, stall.has_value()));
  conds.set("Stalled", stalled_condition(stall));
  st.conditions = std::move(conds.out);
  return st;
}

namespace {
api::RayDogClusterStatus without_times(api::RayDogClusterStatus s) {
  for (auto& c : s.conditions) c.last_transition_time.clear();
  return s;
}
}  // namespace

bool status_changed(const api::RayDogClusterStatus& a, const api::RayDogClusterStatus& b) {
  return !(without_times(a) == without_times(b));
}
bool status_changed(const std::optional<api::RayDogClusterStatus>& a, const api::RayDogClusterStatus& b) {
  return !a || status_changed(*a, b);
}

}  // namespace raydog::reconcile
