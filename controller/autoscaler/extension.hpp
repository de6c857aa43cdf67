#pragma once
// The autoscaler as an extension of the RayDogCluster loop (controller/reconcile/extension.hpp), built on
// the Ray view (it must come after controller/ray's extension in the loop's order):
//   begin:             clusters with spec.autoscaling.enabled (valid, not deleted, not suspended, headAccess
//                      not None); otherwise withdraw_status() drops the autoscaler status and condition
//   adjust_desired:    scale() (scaling.hpp) on the Ray pass's reading of this reconcile: a target per pool
//                      (Observed::desired_nodes_override) and the victims to drain first
//                      (Observed::scale_down_victims); the core plan then adds tasks or asks for a surplus
//                      cancel, which the Ray view turns into DrainNode, then cancel and release
//   adjust_actions:    the ScaledUp / ScaledDown events and the metrics
//   contribute_status: status.workerPools[].autoscaler and AutoscalingReady (status.hpp)
//   pace:              the next reconcile within spec.autoscaling.pollInterval (one GCS read per poll)
// Nothing is kept that the cluster's state does not show again, except the launch times the join-time
// histogram measures from.
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "controller/ray/extension.hpp"
#include "controller/reconcile/extension.hpp"

namespace prometheus {
class Registry;
}

namespace raydog::autoscaler {

class AutoscalerExtension final : public reconcile::Extension {
 public:
  explicit AutoscalerExtension(const ray::RayExtension& ray);
  ~AutoscalerExtension() override;

  std::string_view name() const override { return "autoscaler"; }
  std::unique_ptr<reconcile::ExtensionPass> begin(const reconcile::ReconcileScope& scope) override;
  void withdraw_status(api::RayDogClusterStatus& status) const override;
  void forget(const std::string& key) override;

  // raydog_autoscaler_decisions_total{pool,direction}, raydog_autoscaler_pending_requests,
  // raydog_autoscaler_infeasible_requests, raydog_autoscaler_join_seconds.
  void bind_metrics(prometheus::Registry& registry);

  // Internals the passes share (not for other callers).
  struct Metrics;
  struct PoolMemory {
    std::deque<reconcile::TimePoint> launches;  // when each launch not joined yet was decided, oldest first
    int joined = 0;                             // joined nodes at the previous decision
    std::optional<std::int64_t> target;         // the target decided last (scale()'s `decided`)
  };
  struct ClusterMemory {
    std::map<std::string, PoolMemory> pools;
    int pending_requests = 0, infeasible_requests = 0;
  };
  const ray::RayExtension& ray() const { return ray_; }
  ClusterMemory& memory(const std::string& key) { return memory_[key]; }
  Metrics* metrics() { return metrics_.get(); }
  // Sets the demand gauges to the sums over every autoscaled cluster.
  void publish_demand();

 private:
  const ray::RayExtension& ray_;
  std::map<std::string, ClusterMemory> memory_;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace raydog::autoscaler
