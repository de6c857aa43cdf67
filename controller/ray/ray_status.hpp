#pragma once
// status.ray, status.workerPools[].rayNodes and the RayReady condition (pure).
//
// RayReady:
//   True  RayReady          the GCS answered and every EXECUTING worker task has a live Ray node
//   False HeadPending       the head task is not EXECUTING yet (nothing to ask)
//   False HeadUnreachable   the GCS did not answer: the message names the address, spec.headAccess and the
//                           error; for a head that answered before, since when and what happens next
//   False WorkersNotJoined  EXECUTING worker tasks without a Ray node (named, with their time against
//                           rayJoinTimeout)
//   False RayNodesLost      worker tasks whose Ray node is DEAD while the task runs (named)
// Ready requires RayReady (a readiness gate, status.hpp apply_readiness_gates).
#include <optional>
#include <string>

#include "api/types.hpp"
#include "controller/ray/decisions.hpp"
#include "controller/ray/head_client.hpp"
#include "controller/ray/ray_view.hpp"
#include "controller/reconcile/view.hpp"

namespace raydog::ray {

// What one reconcile learnt from the head.
struct HeadRead {
  bool attempted = false;              // the head task ran and the GCS was asked
  std::string address;                 // "ip:6379"
  std::optional<ClusterState> state;   // its answer
  std::optional<HeadError> error;      // or why there is none
  std::optional<std::string> version;  // Ray version (dashboard), when known
};

// How the head has been answering, across reconciles.
struct HeadHealth {
  bool answered_before = false;                 // this head task's GCS answered at least once
  std::optional<TimePoint> unreachable_since;   // first failure after an answer
  bool replacing = false;                       // the head is being replaced now (HeadUnresponsive)
  std::optional<std::string> suspended;         // why no head is replaced now (the operator's network)
};

// Writes status.ray, each pool's rayNodes and RayReady into `status` (the core's status of this reconcile).
// Without an attempt (the head task does not run) RayReady says HeadPending; when the reconcile did not
// reach the point of asking (YellowDog unread) the previous status.ray and RayReady are kept.
void ray_status(api::RayDogClusterStatus& status, const std::optional<api::RayDogClusterStatus>& previous,
                const reconcile::View& view, bool yellowdog_read, const HeadRead& read, const RayView* ray,
                const HeadHealth& health, const RayPolicy& policy, api::HeadAccess access, TimePoint now);

// Removes what ray_status() writes (headAccess None, or the cluster is not reconciled with the Ray view).
void withdraw_ray_status(api::RayDogClusterStatus& status);

}  // namespace raydog::ray
