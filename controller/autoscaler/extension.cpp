#include "controller/autoscaler/extension.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "api/defaults.hpp"
#include "controller/autoscaler/scaling.hpp"
#include "controller/autoscaler/status.hpp"

namespace raydog::autoscaler {

namespace net = boost::asio;
using reconcile::Millis;

struct AutoscalerExtension::Metrics {
  prometheus::Family<prometheus::Counter>* decisions = nullptr;
  prometheus::Gauge* pending = nullptr;
  prometheus::Gauge* infeasible = nullptr;
  prometheus::Histogram* join = nullptr;
};

namespace {

Millis poll_interval_of(const api::RayDogClusterSpec& spec) {
  const auto& a = spec.autoscaling;
  if (a && a->poll_interval && a->poll_interval->parsed() && a->poll_interval->parsed()->count() > 0)
    return std::chrono::duration_cast<Millis>(*a->poll_interval->parsed());
  return std::chrono::duration_cast<Millis>(*api::Duration(api::kDefaultPollInterval).parsed());
}

class Pass final : public reconcile::ExtensionPass {
 public:
  Pass(AutoscalerExtension& ext, Millis poll) : ext_(ext), poll_(poll) {}

  net::awaitable<void> observe(const reconcile::ReconcileScope&, const reconcile::Observed&) override {
    yellowdog_read_ = true;
    co_return;
  }

  void adjust_desired(const reconcile::ReconcileScope& scope, reconcile::Observed& observed) override {
    if (!yellowdog_read_) return;  // plan does nothing without YellowDog's state
    reading_ = ext_.ray().reading(scope.key);
    const reconcile::View* view = reading_ ? reading_->view : nullptr;
    std::optional<reconcile::View> own;
    if (!view) view = &own.emplace(reconcile::view(observed, scope.now));
    std::map<std::string, std::int64_t> decided;
    for (const auto& [pool, pm] : ext_.memory(scope.key).pools)
      if (pm.target) decided[pool] = *pm.target;
    scaling_ = scale(scope.cluster.spec, scope.cluster.status, *view, reading_, decided);
    for (const auto& p : scaling_->pools) observed.desired_nodes_override[p.pool] = p.target;
    observed.scale_down_victims = scaling_->victims;
  }

  net::awaitable<void> adjust_actions(const reconcile::ReconcileScope& scope, const reconcile::Observed&,
                                      reconcile::Actions&) override {
    if (!scaling_) co_return;
    for (auto& e : scale_events(*scaling_)) scope.report.events.push_back(std::move(e));
    record(scope);
  }

  void contribute_status(const reconcile::ReconcileScope& scope, const reconcile::Observed&,
                         api::RayDogClusterStatus& status) override {
    if (!scaling_) return keep_autoscaler_status(status, scope.cluster.status);
    autoscaler_status(status, scope.cluster.status, *scaling_, reading_ ? reading_->draining_since : nullptr,
                      scope.now);
  }

  // Ray's demand is read once per pollInterval, however steady the YellowDog side is.
  Millis pace(const reconcile::ReconcileScope&, Millis requeue) override { return std::min(requeue, poll_); }

 private:
  // Metrics: decisions by pool and direction, the demand gauges, and the time from a launch's decision to
  // its node joining (launches join in the order they were decided, as far as the histogram can tell).
  void record(const reconcile::ReconcileScope& scope) {
    AutoscalerExtension::Metrics* m = ext_.metrics();
    AutoscalerExtension::ClusterMemory& mem = ext_.memory(scope.key);
    for (const auto& p : scaling_->pools) {
      AutoscalerExtension::PoolMemory& pm = mem.pools[p.pool];
      pm.target = p.target;
      if (!p.plan) {
        pm.joined = p.joined;
        continue;
      }
      for (int joined = pm.joined; joined < p.joined && !pm.launches.empty(); ++joined) {
        if (m && m->join)
          m->join->Observe(std::chrono::duration<double>(scope.now - pm.launches.front()).count());
        pm.launches.pop_front();
      }
      pm.joined = p.joined;
      for (int i = 0; i < p.plan->cancel_pending && !pm.launches.empty(); ++i) pm.launches.pop_back();
      for (int i = 0; i < p.plan->launch; ++i) pm.launches.push_back(scope.now);
      const int down = static_cast<int>(p.plan->drain.size() + p.plan->preempt.size()) + p.plan->cancel_pending;
      if (m && m->decisions) {
        if (p.plan->launch > 0) m->decisions->Add({{"pool", p.pool}, {"direction", "up"}}).Increment(p.plan->launch);
        if (down > 0) m->decisions->Add({{"pool", p.pool}, {"direction", "down"}}).Increment(down);
      }
    }
    int infeasible = 0;
    for (const auto& i : scaling_->infeasible) infeasible += i.count;
    mem.pending_requests = scaling_->pending_requests;
    mem.infeasible_requests = infeasible;
    ext_.publish_demand();
  }

  AutoscalerExtension& ext_;
  Millis poll_;
  bool yellowdog_read_ = false;
  const ray::RayReading* reading_ = nullptr;
  std::optional<Scaling> scaling_;
};

}  // namespace

AutoscalerExtension::AutoscalerExtension(const ray::RayExtension& ray) : ray_(ray) {}
AutoscalerExtension::~AutoscalerExtension() = default;

std::unique_ptr<reconcile::ExtensionPass> AutoscalerExtension::begin(const reconcile::ReconcileScope& scope) {
  const auto& spec = scope.cluster.spec;
  const bool enabled = spec.autoscaling && spec.autoscaling->enabled.value_or(false);
  if (!scope.valid || !enabled || scope.cluster.metadata.deletion_timestamp || spec.suspend.value_or(false) ||
      spec.head_access.value_or(api::kDefaultHeadAccess) == api::HeadAccess::kNone) {
    forget(scope.key);
    return nullptr;
  }
  return std::make_unique<Pass>(*this, poll_interval_of(spec));
}

void AutoscalerExtension::withdraw_status(api::RayDogClusterStatus& status) const {
  withdraw_autoscaler_status(status);
}

void AutoscalerExtension::forget(const std::string& key) {
  if (memory_.erase(key)) publish_demand();
}

void AutoscalerExtension::publish_demand() {
  if (!metrics_) return;
  double pending = 0, infeasible = 0;
  for (const auto& [key, m] : memory_) {
    pending += m.pending_requests;
    infeasible += m.infeasible_requests;
  }
  metrics_->pending->Set(pending);
  metrics_->infeasible->Set(infeasible);
}

void AutoscalerExtension::bind_metrics(prometheus::Registry& registry) {
  metrics_ = std::make_unique<Metrics>();
  metrics_->decisions = &prometheus::BuildCounter()
                             .Name("raydog_autoscaler_decisions_total")
                             .Help("Nodes the autoscaler decided to add (up) or remove (down), by pool name")
                             .Register(registry);
  metrics_->pending = &prometheus::BuildGauge()
                           .Name("raydog_autoscaler_pending_requests")
                           .Help("Pending Ray resource requests and gang bundles over every autoscaled cluster, "
                                 "at each cluster's last poll")
                           .Register(registry)
                           .Add({});
  metrics_->infeasible = &prometheus::BuildGauge()
                              .Name("raydog_autoscaler_infeasible_requests")
                              .Help("Pending Ray resource requests no pool's rayResources can hold, over every "
                                    "autoscaled cluster")
                              .Register(registry)
                              .Add({});
  metrics_->join = &prometheus::BuildHistogram()
                        .Name("raydog_autoscaler_join_seconds")
                        .Help("Time from the autoscaler's decision to launch a node to that node joining Ray")
                        .Register(registry)
                        .Add({}, prometheus::Histogram::BucketBoundaries{5, 10, 20, 30, 60, 120, 300, 600, 1200});
}

}  // namespace raydog::autoscaler
