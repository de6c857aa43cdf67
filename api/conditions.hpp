#pragma once
// metav1.Condition rules shared by every writer of status.conditions (reconcile's status steps and each
// extension's own condition), so lastTransitionTime means the same thing whoever sets the condition.
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

}  // namespace raydog::api
