#pragma once
// metav1.Condition rules shared by every writer of status.conditions (reconcile's status steps and each
// extension's own condition), so lastTransitionTime means the same thing whoever sets the condition.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.hpp"

namespace raydog::api {

// The condition of `type` in `conditions`, or nullptr.
inline const Condition* find_condition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const auto& c : conditions)
    if (c.type == type) return &c;
  return nullptr;
}

// lastTransitionTime changes only when status changes: `before` (the same type in the previous status, or
// nullptr) keeps its time while its status equals c's; otherwise c gets `now` (RFC 3339).
inline void stamp_transition(Condition& c, const Condition* before, const std::string& now) {
  const bool unchanged = before && before->status == c.status && !before->last_transition_time.empty();
  c.last_transition_time = unchanged ? before->last_transition_time : now;
}

// Sets the condition `type` in `st` (replacing any of that type), observedGeneration from `st`, its
// lastTransitionTime kept from `previous` while its status is unchanged, else `now` (RFC 3339). Any status
// with `conditions` and `observed_generation` (RayDogClusterStatus, RayDogJobStatus).
template <class Status>
void put_condition(Status& st, const std::optional<Status>& previous, std::string_view type, bool ok,
                   std::string reason, std::string message, const std::string& now) {
  Condition c;
  c.type = std::string(type);
  c.status = std::string(ok ? condition::kTrue : condition::kFalse);
  c.reason = std::move(reason);
  c.message = std::move(message);
  c.observed_generation = st.observed_generation;
  stamp_transition(c, previous ? find_condition(previous->conditions, type) : nullptr, now);
  std::erase_if(st.conditions, [&](const Condition& x) { return x.type == type; });
  st.conditions.push_back(std::move(c));
}

}  // namespace raydog::api
