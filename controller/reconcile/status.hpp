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

// True when `a` and `b` differ in anything but conditions' lastTransitionTime (what decides whether a
// status write is needed).
bool status_changed(const api::RayDogClusterStatus& a, const api::RayDogClusterStatus& b);
bool status_changed(const std::optional<api::RayDogClusterStatus>& a, const api::RayDogClusterStatus& b);

}  // namespace raydog::reconcile
