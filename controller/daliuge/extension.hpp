#pragma once
// DALiuGE membership as an extension of the RayDogCluster loop (controller/reconcile/extension.hpp): the
// registrar (registrar.hpp) and the cluster helpers (cluster.hpp) at the loop's fixed points.
//   begin:            only for a valid cluster with spec.daliuge.enabled that is not being deleted (otherwise
//                     the registrar forgets the key and withdraw_status() drops status.daliuge and the
//                     DaliugeReady condition)
//   side work:        the DIM-only pass between steady full reconciles (every 30 s, no YellowDog call)
//   adjust_actions:   decorate() the planned tasks and pools, collect() the NMs, Registrar::sync() with the
//                     YellowDog client (node IPs), all before act: NMs are deregistered before their tasks go
//   contribute_status: merge_status() (status.daliuge, DaliugeReady with lastTransitionTime kept)
//   pace:             a steady requeue longer than 30 s becomes 30 s (Registrar::remember_steady)
#include <memory>
#include <string>
#include <string_view>

#include "controller/daliuge/registrar.hpp"
#include "controller/reconcile/extension.hpp"

namespace raydog::daliuge {

class MembershipExtension final : public reconcile::Extension {
 public:
  explicit MembershipExtension(RegistrarOptions options = {});

  std::string_view name() const override { return "daliuge"; }
  std::unique_ptr<reconcile::ExtensionPass> begin(const reconcile::ReconcileScope& scope) override;
  void withdraw_status(api::RayDogClusterStatus& status) const override;
  void forget(const std::string& key) override;

  // Metrics binding (raydog_daliuge_*), tests.
  Registrar& registrar() { return registrar_; }

 private:
  Registrar registrar_;
};

}  // namespace raydog::daliuge
