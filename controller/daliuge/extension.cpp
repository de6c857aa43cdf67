#include "controller/daliuge/extension.hpp"

#include <utility>

#include "controller/daliuge/cluster.hpp"

namespace raydog::daliuge {

namespace net = boost::asio;

namespace {

void report(const SyncResult& r, reconcile::ExtensionReport& out) {
  out.yellowdog_calls += r.yellowdog_calls;
  for (const auto& e : r.events) out.events.push_back({e.type, e.reason, e.message});
}

std::int64_t generation_of(const reconcile::ReconcileScope& scope) {
  return scope.cluster.metadata.generation.value_or(0);
}

// One reconcile of one DALiuGE cluster: holds this reconcile's sync result between act and status.
class Pass final : public reconcile::ExtensionPass {
 public:
  explicit Pass(Registrar& registrar) : registrar_(registrar) {}

  // The DIM may restart at any time, so a steady cluster's membership is re-checked every 30 s between
  // full reconciles, without a YellowDog call.
  std::optional<Millis> side_work_due(const reconcile::ReconcileScope& scope) override {
    return registrar_.due_dim_check(scope.key, generation_of(scope), scope.now);
  }

  net::awaitable<void> side_work(const reconcile::ReconcileScope& scope,
                                 api::RayDogClusterStatus& status) override {
    auto input = registrar_.last_input(scope.key);
    if (!input) co_return;
    auto dlg = co_await registrar_.sync(scope.key, std::move(*input), nullptr, scope.now);
    report(dlg, scope.report);
    const std::optional<SyncResult> got = std::move(dlg);
    merge_status(status, scope.cluster.status, got, true, scope.now);
  }

  // Task env and userdata, then the DIM's membership BEFORE act, so NMs of removed pools and cancelled
  // workers are deregistered before their tasks go.
  net::awaitable<void> adjust_actions(const reconcile::ReconcileScope& scope,
                                      const reconcile::Observed& observed,
                                      reconcile::Actions& actions) override {
    decorate(actions, scope.cluster);
    Collected collected = collect(observed, actions);
    synced_ = co_await registrar_.sync(scope.key, std::move(collected), scope.yd, scope.now);
    report(*synced_, scope.report);
  }

  // Without a sync in this reconcile (YellowDog not read) the previous status.daliuge and condition stay.
  void contribute_status(const reconcile::ReconcileScope& scope, const reconcile::Observed&,
                         api::RayDogClusterStatus& status) override {
    merge_status(status, scope.cluster.status, synced_, true, scope.now);
  }

  Millis pace(const reconcile::ReconcileScope& scope, Millis requeue) override {
    return registrar_.remember_steady(scope.key, generation_of(scope), requeue, scope.now);
  }

 private:
  Registrar& registrar_;
  std::optional<SyncResult> synced_;
};

}  // namespace

MembershipExtension::MembershipExtension(RegistrarOptions options) : registrar_(options) {}

std::unique_ptr<reconcile::ExtensionPass> MembershipExtension::begin(const reconcile::ReconcileScope& scope) {
  const bool on =
      scope.valid && !scope.cluster.metadata.deletion_timestamp.has_value() && enabled(scope.cluster);
  if (!on) {
    registrar_.forget(scope.key);
    return nullptr;
  }
  return std::make_unique<Pass>(registrar_);
}

void MembershipExtension::withdraw_status(api::RayDogClusterStatus& status) const {
  merge_status(status, std::nullopt, std::nullopt, false, TimePoint{});
}

void MembershipExtension::forget(const std::string& key) {
  registrar_.forget(key);
}

}  // namespace raydog::daliuge
