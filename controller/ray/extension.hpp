#pragma once
// The Ray view as an extension of the RayDogCluster loop (controller/reconcile/extension.hpp):
//   begin:             every valid cluster not being deleted whose spec.headAccess is not None (otherwise
//                      withdraw_status() drops status.ray, rayNodes and RayReady, and the key is forgotten)
//   observe:           once the head task is EXECUTING, one GetClusterResourceState on the head's GCS
//                      (the address spec.headAccess names, port 6379) through a client made for this
//                      reconcile, the cluster id kept per head (so a steady poll is one call); the Ray
//                      version from the dashboard once per GCS session
//   adjust_actions:    the decisions of decisions.hpp (drained scale-down, healing) and the DrainNode calls
//                      they ask for; a head that answered before and now does not holds every scale-down,
//                      and after headUnresponsiveTimeout is replaced (HeadUnresponsive) unless more than
//                      half of the watched heads (and at least 3) went quiet at once: then the operator
//                      suspects its own network and replaces none (Warning once per cluster, and
//                      raydog_ray_head_replacements_suppressed_total)
//   contribute_status: ray_status() (status.ray, rayNodes, RayReady); RayReady is a readiness gate of Ready
// A steady cluster costs one GCS call per full reconcile (one a minute with the default requeue), made just
// before that reconcile is due (prefetch.hpp) so the reconcile finds it answered.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "controller/http/proxy.hpp"
#include "controller/ray/decisions.hpp"
#include "controller/ray/prefetch.hpp"
#include "controller/ray/reading.hpp"
#include "controller/reconcile/extension.hpp"

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace raydog::ray {

struct RayExtensionOptions {
  http::EgressProxies egress;                             // proxies for the GCS and the dashboard
  std::chrono::milliseconds deadline{std::chrono::seconds(5)};  // per GCS or dashboard call
  int gcs_port = 6379;
  int dashboard_port = 8265;
  PrefetchOptions prefetch;  // the steady reconcile's head read, made just before it is due
};

// What the extension keeps per cluster between reconciles.
struct HeadMemory {
  std::string head_task;   // the head task id this is about (a new head starts afresh)
  std::string address;     // ip:port the cluster id belongs to
  std::string cluster_id;  // hex, from the last handshake with `address`
  std::string session;     // GCS session of the last answer
  std::string version;     // Ray version of that session
  bool answered = false;
  std::optional<TimePoint> unreachable_since;
  bool suspicion_reported = false;
  std::map<std::string, TimePoint> draining_since;
};

class RayExtension final : public reconcile::Extension {
 public:
  explicit RayExtension(RayExtensionOptions options = {});
  ~RayExtension() override;

  std::string_view name() const override { return "ray"; }
  std::unique_ptr<reconcile::ExtensionPass> begin(const reconcile::ReconcileScope& scope) override;
  void withdraw_status(api::RayDogClusterStatus& status) const override;
  void forget(const std::string& key) override;

  // What this reconcile of `key` read from the head (reading.hpp), from the Ray pass's observe() until the
  // pass ends; null otherwise (headAccess None, the head task not running, YellowDog not read).
  const RayReading* reading(const std::string& key) const {
    auto it = readings_.find(key);
    return it == readings_.end() ? nullptr : it->second;
  }

  // raydog_ray_gcs_calls_total, raydog_ray_drains_total{result}, raydog_ray_head_replacements_suppressed_total.
  void bind_metrics(prometheus::Registry& registry);

  // Internals the passes share (not for other callers).
  struct Metrics;
  HeadMemory& memory(const std::string& key) { return memory_[key]; }
  const HeadMemory* find_memory(const std::string& key) const {
    auto it = memory_.find(key);
    return it == memory_.end() ? nullptr : &it->second;
  }
  // More than half of the heads that answered before (and at least 3) do not answer now.
  std::optional<std::string> network_suspected() const;
  const RayExtensionOptions& options() const { return options_; }
  Metrics* metrics() { return metrics_.get(); }
  HeadPrefetch& prefetch() { return prefetch_; }
  void publish(const std::string& key, const RayReading* reading) {
    if (reading)
      readings_[key] = reading;
    else
      readings_.erase(key);
  }

 private:
  RayExtensionOptions options_;
  std::map<std::string, HeadMemory> memory_;
  std::map<std::string, const RayReading*> readings_;  // of the passes in progress
  std::unique_ptr<Metrics> metrics_;
  HeadPrefetch prefetch_;  // after metrics_: its callbacks use them, so it goes first
};

}  // namespace raydog::ray
