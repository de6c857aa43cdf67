#pragma once
// plan: the pure decision of the reconciler. (observed state, now) -> the ordered actions that move
// YellowDog (and the resource's finalizer) one step towards the spec. An ordered list of named steps
// (KubeRay style; plan.cpp lists them, planner.hpp declares them, README.md "Rules" describes them):
//   deletion -> invalid spec -> credentials -> observe failed -> suspend or failed -> finalizer
//   -> work requirement cancelling -> sources -> incarnation -> provision pools -> resize pools
//   -> work requirement -> observability task -> head task -> worker tasks -> obsolete groups
//   -> obsolete pools -> finished pools' compute requirements -> pacing
// A gate step stops the plan; the others always let it go on.
// Idempotent by construction: a create is planned only for something `observed` does not contain, so
// planning again on the state the actions produce plans no further create.
//
// view() (view.hpp) is the shared analysis plan and compute_status read; spec_errors() (spec_errors.hpp)
// the validation both report.
#include <string_view>
#include <vector>

#include "controller/reconcile/actions.hpp"
#include "controller/reconcile/observed.hpp"
#include "controller/reconcile/spec_errors.hpp"
#include "controller/reconcile/view.hpp"

namespace raydog::reconcile {

Actions plan(const Observed& observed, TimePoint now);

// The names of plan's steps, in the order they run (for logs, docs and tests).
std::vector<std::string_view> plan_step_names();

// True when YellowDog shows nothing of this cluster still running (WR finished or absent, every pool
// SHUTDOWN/TERMINATED, every observed CR TERMINATED): the condition to remove the finalizer.
bool torn_down(const Observed& observed);

}  // namespace raydog::reconcile
