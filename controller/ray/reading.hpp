#pragma once
// What one reconcile's Ray pass read from the head, for extensions that build on the Ray view (the
// autoscaler). RayExtension::reading(key) publishes it from the Ray pass's observe() until that pass ends,
// so an extension registered after the Ray view sees it in adjust_desired, adjust_actions and
// contribute_status of the same reconcile. Read-only for them.
#include <map>
#include <optional>
#include <string>

#include "controller/ray/head_client.hpp"
#include "controller/ray/ray_view.hpp"
#include "controller/reconcile/view.hpp"

namespace raydog::ray {

struct RayReading {
  const reconcile::View* view = nullptr;  // the YellowDog view the Ray view matched (observe's, no override)
  const ClusterState* state = nullptr;    // the GCS answer; null when there was none
  const RayView* ray = nullptr;           // `state` matched to the tasks; null without `state`
  std::optional<HeadError> error;         // why there is no answer (null while the head task does not run)
  bool session_changed = false;           // this answer came from a new GCS incarnation
  std::string version;                    // the head's Ray version, empty when unknown
  bool answered_before = false;           // this head task's GCS answered at least once
  // Victims between DrainNode and their task's end (task id -> since when), as adjust_actions left them.
  const std::map<std::string, reconcile::TimePoint>* draining_since = nullptr;
};

}  // namespace raydog::ray
