#include "controller/access/extension.hpp"

#include "api/names.hpp"
#include "controller/access/head_service.hpp"

namespace raydog::access {

namespace {

constexpr auto kVerifyEvery = std::chrono::hours(1);

const kube::ResourceRef kServices{"", "v1", "services", true, "Service"};
const kube::ResourceRef kEndpointSlices{"discovery.k8s.io", "v1", "endpointslices", true, "EndpointSlice"};

}  // namespace

class HeadServiceExtension::Pass final : public reconcile::ExtensionPass {
 public:
  Pass(HeadServiceExtension& ext, const reconcile::ReconcileScope& scope) : ext_(ext), key_(scope.key) {}

  reconcile::net::awaitable<void> adjust_actions(const reconcile::ReconcileScope& scope, const reconcile::Observed& o,
                                      reconcile::Actions&) override {
    const api::RayDogCluster& c = scope.cluster;
    ran_ = true;
    if (c.metadata.deletion_timestamp) co_return;  // finalize() removes them
    auto& applied = ext_.applied_[key_];
    if (!wanted(c)) {
      if (applied.digest.empty() && applied.verified != reconcile::TimePoint{}) co_return;  // known absent
      if (co_await remove(scope, applied)) applied = {"", scope.now, ""};
      co_return;
    }
    const auto address = head_address(c.spec, o.head ? o.head->private_ip : std::nullopt,
                                      o.head ? o.head->public_ip : std::nullopt);
    // Nothing to route to yet: the Service and its EndpointSlice are created once the head has an address
    // (two writes less per cluster while a fleet is built, when every cluster's first reconcile competes
    // for the Kubernetes client's budget). Once applied, they stay while the head is replaced.
    if (!address && applied.digest.empty()) co_return;
    const json svc = service(c), slice = endpoint_slice(c, address);
    const std::string digest = api::names::hash8(svc.dump() + slice.dump());
    const std::string ns = c.metadata.namespace_name.value_or("default"), name = service_name(c.metadata.name);
    if (applied.digest == digest) {
      if (scope.now - applied.verified < kVerifyEvery) {
        present_ = true;
        co_return;
      }
      // Read back now and then: someone may have deleted them.
      auto s = co_await ext_.api_.get(kServices, ns, name, "");
      auto e = co_await ext_.api_.get(kEndpointSlices, ns, name, "");
      if (s && e) {
        applied.verified = scope.now;
        present_ = true;
        co_return;
      }
    }
    kube::WriteOptions w;
    w.field_manager = std::string(kFieldManager);
    w.force = true;
    auto s = co_await ext_.api_.patch(kServices, ns, name, kube::PatchType::kApply, svc, "", w);
    if (!s) {
      failed(scope, applied, "Service " + name, s.error().message);
      co_return;
    }
    auto e = co_await ext_.api_.patch(kEndpointSlices, ns, name, kube::PatchType::kApply, slice, "", w);
    if (!e) {
      failed(scope, applied, "EndpointSlice " + name, e.error().message);
      co_return;
    }
    if (applied.digest != digest)
      scope.log.info("head Service applied",
                     {{"service", name}, {"address", address.value_or("none yet")}});
    applied = {digest, scope.now, ""};
    present_ = true;
  }

  reconcile::net::awaitable<void> finalize(const reconcile::ReconcileScope& scope) override {
    auto& applied = ext_.applied_[key_];
    if (co_await remove(scope, applied)) applied = {"", scope.now, ""};
  }

  void contribute_status(const reconcile::ReconcileScope& scope, const reconcile::Observed&,
                         api::RayDogClusterStatus& status) override {
    if (!ran_) {  // YellowDog was not observed (a transient error): keep what the last status said
      const auto& prev = scope.cluster.status;
      if (status.head && prev && prev->head) status.head->service_name = prev->head->service_name;
      if (status.endpoints && prev && prev->endpoints) status.endpoints->in_cluster = prev->endpoints->in_cluster;
      return;
    }
    if (!present_) {
      ext_.withdraw_status(status);
      return;
    }
    if (status.head) status.head->service_name = service_name(scope.cluster.metadata.name);
    if (status.endpoints) status.endpoints->in_cluster = in_cluster(scope.cluster);
  }

 private:
  // Deletes both (absent counts as deleted). True when neither is left.
  reconcile::net::awaitable<bool> remove(const reconcile::ReconcileScope& scope, Applied& applied) {
    const std::string ns = scope.cluster.metadata.namespace_name.value_or("default");
    const std::string name = service_name(scope.cluster.metadata.name);
    bool ok = true;
    const kube::DeleteOptions options;  // named: GCC 12 mishandles a braced temporary argument of co_await
    for (const auto* ref : {&kEndpointSlices, &kServices}) {
      auto r = co_await ext_.api_.remove(*ref, ns, name, options);
      if (!r && r.error().kind != kube::ApiError::Kind::kNotFound) {
        failed(scope, applied, ref->kind + " " + name, r.error().message);
        ok = false;
      }
    }
    if (ok && !applied.digest.empty()) scope.log.info("head Service removed", {{"service", name}});
    co_return ok;
  }

  void failed(const reconcile::ReconcileScope& scope, Applied& applied, const std::string& what,
              const std::string& message) {
    const std::string text = what + ": " + message;
    scope.log.warn("head Service not written", {{"error", text}});
    if (applied.last_error != text)
      scope.report.events.push_back({"Warning", "HeadServiceFailed", "Cannot write the head " + text});
    applied.digest = "?";  // unknown: write again on the next reconcile
    applied.last_error = text;
  }

  HeadServiceExtension& ext_;
  std::string key_;
  bool ran_ = false;      // adjust_actions ran: YellowDog was observed in this reconcile
  bool present_ = false;  // the Service and its slice are known to be in place
};

std::unique_ptr<reconcile::ExtensionPass> HeadServiceExtension::begin(const reconcile::ReconcileScope& scope) {
  if (!scope.valid && !scope.cluster.metadata.deletion_timestamp) return nullptr;
  return std::make_unique<Pass>(*this, scope);
}

void HeadServiceExtension::withdraw_status(api::RayDogClusterStatus& status) const {
  if (status.head) status.head->service_name.reset();
  if (status.endpoints) status.endpoints->in_cluster.reset();
}

}  // namespace raydog::access
