#pragma once
// The head Service as an extension of the RayDogCluster loop (controller/reconcile/extension.hpp):
//   begin:            every valid cluster, and every cluster being deleted (its Service must go first)
//   adjust_actions:   the Service and its EndpointSlice applied (server-side apply, field manager
//                     raydog-operator) when what they should hold changed: the head moved, ports, type,
//                     annotations; deleted when spec.headService.enabled is false or the cluster is
//                     suspended. A cache per cluster of what was applied keeps a steady reconcile free of
//                     Kubernetes writes; a GET of both every hour re-creates what someone deleted.
//   finalize:         both deleted before the finalizer goes (owner references would let the garbage
//                     collector do it, but only after the resource is gone: no stale endpoint in between)
//   contribute_status: status.head.serviceName and status.endpoints.inCluster
// Failures (RBAC, invalid objects) are logged, reported once per distinct message as Warning
// HeadServiceFailed, and retried on the next reconcile; they never hold the cluster back.
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "controller/kube/rest.hpp"
#include "controller/reconcile/extension.hpp"

namespace raydog::access {

class HeadServiceExtension final : public reconcile::Extension {
 public:
  explicit HeadServiceExtension(kube::Api& api) : api_(api) {}

  std::string_view name() const override { return "headService"; }
  std::unique_ptr<reconcile::ExtensionPass> begin(const reconcile::ReconcileScope& scope) override;
  void withdraw_status(api::RayDogClusterStatus& status) const override;
  void forget(const std::string& key) override { applied_.erase(key); }

  // What is known to be in Kubernetes for a cluster.
  struct Applied {
    std::string digest;  // of the applied Service and EndpointSlice bodies; "" = known absent
    reconcile::TimePoint verified;  // when it was last applied or read back
    std::string last_error;
  };

 private:
  class Pass;
  kube::Api& api_;
  std::map<std::string, Applied> applied_;
};

}  // namespace raydog::access
