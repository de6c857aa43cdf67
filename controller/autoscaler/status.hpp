#pragma once
// What the autoscaler reports (pure): status.workerPools[].autoscaler, the AutoscalingReady condition and
// the ScaledUp/ScaledDown events of one decision (scaling.hpp).
//
// AutoscalingReady (with spec.autoscaling.enabled):
//   True  FollowingDemand        Ray's demand was read and every pending request fits a pool
//   False HeadPending            the head task is not running yet
//   False HeadUnreachable        the head's GCS did not answer: sizes held
//   False HeadRestarted          a new GCS session: sizes held for one poll
//   False UnsupportedRayVersion  the head's Ray is older than 2.10: sizes held
//   False InfeasibleDemand       demand no pool's shape holds, or a pool at maxNodes with demand left
// It is not a readiness gate: a cluster with demand it cannot place is still Ready.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/types.hpp"
#include "controller/autoscaler/scaling.hpp"
#include "controller/reconcile/extension.hpp"

namespace raydog::autoscaler {

// ScaledUp / ScaledDown, one per pool that changes, naming the pool, the count and why.
std::vector<reconcile::ExtensionEvent> scale_events(const Scaling& s);

// Writes each pool's autoscaler block and AutoscalingReady into `status` (this reconcile's status; the
// core wrote desiredNodes from the targets). `previous`: the status before this reconcile (lastScale* are
// kept unless this decision scaled the pool). `draining_since`: the Ray view's victims in flight.
void autoscaler_status(api::RayDogClusterStatus& status, const std::optional<api::RayDogClusterStatus>& previous,
                       const Scaling& s, const std::map<std::string, reconcile::TimePoint>* draining_since,
                       reconcile::TimePoint now);

// The previous autoscaler fields, unchanged (YellowDog was not read: nothing was decided).
void keep_autoscaler_status(api::RayDogClusterStatus& status, const std::optional<api::RayDogClusterStatus>& previous);

// Removes what autoscaler_status() writes (autoscaling disabled).
void withdraw_autoscaler_status(api::RayDogClusterStatus& status);

}  // namespace raydog::autoscaler
