#pragma once
// status: the pure computation of RayDogCluster.status from what was observed and what act did
// (design.md §4). The loop PATCHes /status only when status_changed(previous, computed).
//
// Rules:
// - observedGeneration = metadata.generation, on the status and on every condition.
// - Conditions Ready, Synced, HeadReady, WorkersReady, Provisioned, plus kstatus' Reconciling (True while
//   converging) and Stalled (True when no progress is possible without a spec/credential change).
// - A condition's lastTransitionTime is carried over from `previous` while its status is unchanged, and
//   set to `now` when its status changes (or it is new).
// - Provisioned becomes True the first time everything was ready and stays True.
#include <optional>

#include "api/types.hpp"
#include "controller/reconcile/actions.hpp"
#include "controller/reconcile/observed.hpp"
#include "controller/util/time.hpp"

namespace raydog::reconcile {

api::RayDogClusterStatus compute_status(const Observed& observed, const ActOutcome& outcome,
                                        const std::optional<api::RayDogClusterStatus>& previous,
                                        TimePoint now);

// Readiness gates (extension.hpp ExtensionPass::readiness_gates): conditions Ready requires besides what
// compute_status judged, like a Pod's readinessGates. While the first gate that is not True (or missing)
// holds, Ready is False with that condition's reason and "<Type>: <message>", a Running phase becomes
// Degraded (the cluster was fully ready before: Provisioned) or Provisioning (Provisioned stays False), and
// Reconciling says Progressing. Does nothing when Ready is not True already. lastTransitionTime follows
// the usual rule against `previous`.
void apply_readiness_gates(api::RayDogClusterStatus& status, const std::vector<std::string_view>& gates,
                           const std::optional<api::RayDogClusterStatus>& previous, TimePoint now);

// True when `a` and `b` differ in anything but conditions' lastTransitionTime (what decides whether a
// status write is needed).
bool status_changed(const api::RayDogClusterStatus& a, const api::RayDogClusterStatus& b);
bool status_changed(const std::optional<api::RayDogClusterStatus>& a, const api::RayDogClusterStatus& b);

}  // namespace raydog::reconcile
