// Plan steps that decide whether the cluster may converge at all: the spec, the credentials, the
// observation, the finalizer, a work requirement still cancelling, the ConfigMap sources, and the move to
// a new incarnation.
#include "controller/reconcile/planner.hpp"

namespace raydog::reconcile {

Flow invalid_spec(Planner& p) {
  if (p.v.lifecycle != Lifecycle::kInvalidSpec) return Flow::kContinue;
  // Terminal until the spec changes: no YellowDog call, no requeue (the watch brings the next edit).
  if (needs_event(p.c(), "InvalidSpec")) p.event("Warning", "InvalidSpec", api::to_string(p.v.spec_errors));
  return Flow::kStop;
}

Flow api_url_not_allowed(Planner& p) {
  if (p.v.lifecycle != Lifecycle::kApiUrlNotAllowed) return Flow::kContinue;
  // Terminal until the spec or the operator's flags change (a restart re-reads every cluster): the keys
  // never leave for a server the admin did not list, so there is nothing to retry.
  if (needs_event(p.c(), "ApiURLNotAllowed")) p.event("Warning", "ApiURLNotAllowed", *p.o.api_url_refusal);
  return Flow::kStop;
}

Flow credentials(Planner& p) {
  if (p.v.lifecycle != Lifecycle::kNoCredentials) return Flow::kContinue;
  const auto& creds = p.o.credentials;
  const char* reason =
      creds.state == CredentialsState::kNotAuthorised ? "NotAuthorised" : "CredentialsNotFound";
  if (creds.state != CredentialsState::kUnknown && needs_event(p.c(), reason))
    p.event("Warning", reason, creds.message);
  p.requeue(creds.state == CredentialsState::kUnknown ? p.o.options.requeue_converging
                                                      : p.o.options.credentials_retry);
  return Flow::kStop;
}

Flow observe_failed(Planner& p) {
  // Nothing to plan on a partial observation: the loop retries with backoff.
  return p.v.lifecycle == Lifecycle::kObserveFailed ? Flow::kStop : Flow::kContinue;
}

Flow finalizer(Planner& p) {
  if (!p.v.has_finalizer) p.out.push_back(AddFinalizer{});
  return Flow::kContinue;
}

Flow wr_cancelling(Planner& p) {
  if (!p.v.wr_cancelling) return Flow::kContinue;
  p.requeue(p.o.options.requeue_converging);  // wait for CANCELLED, then a new incarnation
  return Flow::kStop;
}

Flow sources(Planner& p) {
  if (!p.v.source_error) return Flow::kContinue;
  if (needs_event(p.c(), "ConfigMapNotFound")) p.event("Warning", "ConfigMapNotFound", *p.v.source_error);
  p.requeue(p.o.options.credentials_retry);
  return Flow::kStop;
}

Flow incarnation(Planner& p) {
  const auto& v = p.v;
  if (!v.bump) return Flow::kContinue;
  // The old incarnation's WR is finished (or abandoned after a failed build): the cluster is rebuilt
  // under new names, recorded first so a crash before the create is adopted, not duplicated.
  if (v.wr && v.wr->id && wr_alive(*v.wr)) p.out.push_back(CancelWorkRequirement{*v.wr->id, true});
  p.out.push_back(RecordIncarnation{v.names.incarnation, v.names.work_requirement});
  p.event("Normal", "Rebuilding",
          "Starting incarnation " + std::to_string(v.names.incarnation) + " as work requirement " +
              v.names.work_requirement);
  return Flow::kContinue;
}

}  // namespace raydog::reconcile
