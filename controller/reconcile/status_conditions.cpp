// compute_status steps for the phase and the conditions (Synced, Ready, HeadReady, WorkersReady,
// Provisioned, kstatus Reconciling/Stalled).
#include "api/conditions.hpp"
#include "controller/reconcile/plan.hpp"
#include "controller/reconcile/status_steps.hpp"
#include "controller/util/enum_names.hpp"

namespace raydog::reconcile::status_steps {

namespace cond = api::condition;

namespace {

const api::Condition* find(const PreviousStatus& s, std::string_view type) {
  return s ? api::find_condition(s->conditions, type) : nullptr;
}

// The Synced/Ready reason for an error of each kind.
std::string error_reason(ErrorKind k) {
  static constexpr EnumName<ErrorKind> kReasons[] = {
      {ErrorKind::kTransient, "TransientError"},  {ErrorKind::kNotAuthorised, "NotAuthorised"},
      {ErrorKind::kInvalid, "YellowDogRejected"}, {ErrorKind::kConflict, "Conflict"},
      {ErrorKind::kNotFound, "ObjectGone"},       {ErrorKind::kUnknown, "ReconcileError"}};
  return name_of(kReasons, k, "ReconcileError");
}

std::string workers_ready_text(const Readiness& r) {
  return std::to_string(r.ready_workers) + "/" + std::to_string(r.desired_workers) + " workers ready";
}

}  // namespace

api::Phase phase_of(const Observed& o, const View& v, const Readiness& ready, bool degraded,
                    const ActOutcome& outcome, const PreviousStatus& previous) {
  switch (v.lifecycle) {
    case Lifecycle::kDeleting:
      return api::Phase::kDeleting;
    case Lifecycle::kFailed:
      return api::Phase::kFailed;
    case Lifecycle::kSuspended:
      return api::Phase::kSuspended;
    case Lifecycle::kInvalidSpec:
    case Lifecycle::kApiUrlNotAllowed:
    case Lifecycle::kNoCredentials:
    case Lifecycle::kObserveFailed:
      return previous && previous->phase ? *previous->phase : api::Phase::kPending;
    case Lifecycle::kRunning:
      break;
  }
  const bool anything = (o.work_requirement && !v.bump) || v.head->pool;
  if (ready.all) return api::Phase::kRunning;
  if (degraded || (ready.was_provisioned && !v.bump)) return api::Phase::kDegraded;
  if (anything || outcome.executed > 0) return api::Phase::kProvisioning;
  return api::Phase::kPending;
}

Judgement synced_condition(const Observed& o, const View& v, const ActOutcome& outcome,
                           const PreviousStatus& previous) {
  const bool deleting = v.lifecycle == Lifecycle::kDeleting;
  if (!deleting && v.lifecycle == Lifecycle::kInvalidSpec) {
    const std::string errors = api::to_string(v.spec_errors);
    return {{false, "InvalidSpec", errors}, Stall{"InvalidSpec", errors}};
  }
  if (!deleting && v.lifecycle == Lifecycle::kApiUrlNotAllowed)
    return {{false, "ApiURLNotAllowed", *o.api_url_refusal}, Stall{"ApiURLNotAllowed", *o.api_url_refusal}};
  if (!deleting && v.lifecycle == Lifecycle::kNoCredentials) {
    if (o.credentials.state == CredentialsState::kUnknown)
      return {{false, "CredentialsPending", "YellowDog credentials not read yet"}, std::nullopt};
    std::string reason =
        o.credentials.state == CredentialsState::kNotAuthorised ? "NotAuthorised" : "CredentialsNotFound";
    return {{false, reason, o.credentials.message}, Stall{reason, o.credentials.message}};
  }
  if (o.observe_error) {
    Judgement j{{false, error_reason(o.observe_error->kind), o.observe_error->message}, std::nullopt};
    if (o.observe_error->kind == ErrorKind::kNotAuthorised)
      j.stall = Stall{"NotAuthorised", o.observe_error->message};
    return j;
  }
  if (!deleting && v.source_error)
    return {{false, "ConfigMapNotFound", *v.source_error}, Stall{"ConfigMapNotFound", *v.source_error}};
  if (outcome.error && outcome.error->kind == ErrorKind::kConflict) {
    // A Kubernetes 409 is routine (a newer version exists): requeue, do not flap Synced.
    if (const api::Condition* before = find(previous, cond::kSynced))
      return {{before->status == cond::kTrue, before->reason, before->message}, std::nullopt};
    return {{true, "Reconciled", ""}, std::nullopt};
  }
  if (outcome.error) {
    std::string message = outcome.failed_action ? *outcome.failed_action + ": " + outcome.error->message
                                                : outcome.error->message;
    Judgement j{{false, error_reason(outcome.error->kind), message}, std::nullopt};
    if (outcome.error->kind == ErrorKind::kInvalid) j.stall = Stall{"YellowDogRejected", message};
    if (outcome.error->kind == ErrorKind::kNotAuthorised) j.stall = Stall{"NotAuthorised", message};
    return j;
  }
  return {{true, "Reconciled", ""}, std::nullopt};
}

Judgement ready_condition(api::Phase phase, const Observed& o, const View& v, const Readiness& ready,
                          const std::optional<std::string>& degradation, const PreviousStatus& previous) {
  const auto& c = o.cluster;
  switch (phase) {
    case api::Phase::kRunning:
      return {{true, "Running", "head " + v.head_ip.value_or("") + ", " + workers_ready_text(ready)},
              std::nullopt};
    case api::Phase::kDeleting:
      return {{false, "Deleting", "cleaning up YellowDog objects before the resource goes"}, std::nullopt};
    case api::Phase::kSuspended:
      return {{false, "Suspended", "spec.suspend is true"}, std::nullopt};
    case api::Phase::kFailed: {
      const api::Condition* prev_ready = find(previous, cond::kReady);
      if (v.failure == Failure::kLifetimeExpired ||
          (v.failure == Failure::kNone && prev_ready && prev_ready->reason == "LifetimeExpired"))
        return {{false, "LifetimeExpired",
                 "spec.lifetime " + c.spec.lifetime.value_or("") +
                     " is over: the cluster was torn down; change the spec to rebuild"},
                Stall{"LifetimeExpired", "the cluster's lifetime is over; change the spec to rebuild"}};
      return {{false, "BuildTimeout",
               "the head task was not EXECUTING within buildTimeout " + c.spec.build_timeout.value_or("10m") +
                   "; change the spec to retry"},
              Stall{"BuildTimeout", "the head did not start within buildTimeout; change the spec to retry"}};
    }
    case api::Phase::kDegraded:
      return {
          {false, "Degraded",
           degradation ? *degradation : workers_ready_text(ready) + (ready.head ? "" : ", head not ready")},
          std::nullopt};
    case api::Phase::kProvisioning:
      return {{false, "Provisioning", ready.head ? workers_ready_text(ready) : "waiting for the head node"},
              std::nullopt};
    case api::Phase::kPending:
      return {{false, "Pending",
               v.lifecycle == Lifecycle::kInvalidSpec ? "the spec is invalid" : "nothing provisioned yet"},
              std::nullopt};
  }
  return {};
}

Verdict head_ready_condition(const View& v, bool live_view, const Readiness& ready) {
  if (ready.head)
    return {true, "HeadExecuting", "head task " + v.head_task->name.value_or("") + " on " + *v.head_ip};
  if (live_view && v.head_task)
    return {false, "HeadStarting",
            "head task " + v.head_task->name.value_or("") + " is " +
                (v.head_task->status ? v.head_task->status->str() : std::string("submitted"))};
  if (live_view && !v.head->last_error.empty()) return {false, "HeadFailed", v.head->last_error};
  return {false, "HeadPending", "no head task yet"};
}

Verdict workers_ready_condition(const Readiness& ready) {
  const bool all = ready.workers && ready.head;
  return {all, all ? "WorkersReady" : "WorkersPending",
          std::to_string(ready.ready_workers) + "/" + std::to_string(ready.desired_workers) +
              " Ray worker nodes ready"};
}

Verdict provisioned_condition(const Readiness& ready) {
  if (ready.was_provisioned || ready.all) return {true, "Provisioned", "the cluster has been fully ready"};
  return {false, "NotYetProvisioned", "the cluster has not been fully ready yet"};
}

Verdict reconciling_condition(const Observed& o, const View& v, const Readiness& ready, bool stalled) {
  std::string reason = "Steady";
  if (!stalled) {
    if (v.lifecycle == Lifecycle::kDeleting)
      reason = "Deleting";
    else if (v.lifecycle == Lifecycle::kSuspended && !torn_down(o))
      reason = "Suspending";
    else if (v.lifecycle == Lifecycle::kRunning && !ready.all)
      reason = "Progressing";
    else if (v.lifecycle == Lifecycle::kObserveFailed || v.lifecycle == Lifecycle::kNoCredentials)
      reason = "Retrying";
  }
  const bool on = reason != "Steady";
  return {on, reason, on ? "converging on the spec" : ""};
}

Verdict stalled_condition(const std::optional<Stall>& stall) {
  if (!stall) return {false, "NotStalled", ""};
  return {true, stall->reason, stall->message};
}

}  // namespace raydog::reconcile::status_steps
