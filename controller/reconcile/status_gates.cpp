// Readiness gates: conditions an extension owns that Ready requires (the Ray view's RayReady), applied
// after the extensions contributed their status. Like a Pod's readinessGates: the core decides what it
// sees, a gate can only hold readiness back.
#include "api/conditions.hpp"
#include "controller/reconcile/status.hpp"

namespace raydog::reconcile {

namespace cond = api::condition;

namespace {

api::Condition* find_mutable(std::vector<api::Condition>& conditions, std::string_view type) {
  for (auto& c : conditions)
    if (c.type == type) return &c;
  return nullptr;
}

void set(api::RayDogClusterStatus& st, const std::optional<api::RayDogClusterStatus>& previous,
         std::string_view type, bool status, std::string reason, std::string message, const std::string& now) {
  api::Condition* c = find_mutable(st.conditions, type);
  if (!c) return;
  c->status = std::string(status ? cond::kTrue : cond::kFalse);
  c->reason = std::move(reason);
  c->message = std::move(message);
  api::stamp_transition(*c, previous ? api::find_condition(previous->conditions, type) : nullptr, now);
}

}  // namespace

void apply_readiness_gates(api::RayDogClusterStatus& st, const std::vector<std::string_view>& gates,
                           const std::optional<api::RayDogClusterStatus>& previous, TimePoint now) {
  const api::Condition* ready = api::find_condition(st.conditions, cond::kReady);
  if (!ready || ready->status != cond::kTrue) return;  // the core already holds readiness back
  const api::Condition* closed = nullptr;
  for (std::string_view gate : gates) {
    const api::Condition* c = api::find_condition(st.conditions, gate);
    if (!c || c->status != cond::kTrue) {
      closed = c;
      if (!c) return set(st, previous, cond::kReady, false, std::string(gate) + "Missing",
                         std::string(gate) + " has not been reported yet", format_rfc3339(now));
      break;
    }
  }
  if (!closed) return;
  const std::string stamp = format_rfc3339(now);
  const std::string reason = closed->reason, message = closed->type + ": " + closed->message;
  const api::Condition* was = previous ? api::find_condition(previous->conditions, cond::kProvisioned) : nullptr;
  const bool provisioned_before = was && was->status == cond::kTrue;
  st.phase = provisioned_before ? api::Phase::kDegraded : api::Phase::kProvisioning;
  if (!provisioned_before)
    set(st, previous, cond::kProvisioned, false, "NotYetProvisioned", "the cluster has not been fully ready yet",
        stamp);
  set(st, previous, "Reconciling", true, "Progressing", "converging on the spec", stamp);
  set(st, previous, cond::kReady, false, reason, message, stamp);
}

}  // namespace raydog::reconcile
