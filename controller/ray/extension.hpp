#pragma once
// The Ray view as an extension of the RayDogCluster loop (controller/reconcile/extension.hpp):
//   begin:             every valid cluster not being deleted whose spec.headAccess is not None (otherwise
//                      withdraw_status() drops status.ray, rayNodes and RayReady, and the key is forgotten)
//   observe:           once the head task is EXECUTING (and unless the cluster is steady: then the answer of
//                      its watcher is used, see README "Watcher"), one GetClusterResourceState on the head's GCS
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
// A steady cluster costs one GCS call per steady poll (one a minute by default), made by its watcher.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <optional>
#include <string>
#include <string_view>

#include "controller/http/proxy.hpp"
#include "controller/ray/decisions.hpp"
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

  // The last read of `address` (a reconcile's or the watcher's) and when: a steady reconcile uses it instead
  // of asking (controller/ray/README.md "Watcher"). `fingerprint`: session and node states, to tell changes.
  std::optional<ClusterState> cached;  // absent: the last read failed
  TimePoint cached_at{};
  std::string fingerprint;
  Millis poll{std::chrono::seconds(60)};  // the steady requeue: how often the watcher reads
  std::uint64_t generation = 0;           // of this memory; a watcher of an older one stops
  bool watched = false;
};

class RayExtension final : public reconcile::Extension {
 public:
  explicit RayExtension(RayExtensionOptions options = {});
  ~RayExtension() override;

  std::string_view name() const override { return "ray"; }
  std::unique_ptr<reconcile::ExtensionPass> begin(const reconcile::ReconcileScope& scope) override;
  void withdraw_status(api::RayDogClusterStatus& status) const override;
  void forget(const std::string& key) override;

  // raydog_ray_gcs_calls_total, raydog_ray_drains_total{result}, raydog_ray_head_replacements_suppressed_total.
  void bind_metrics(prometheus::Registry& registry);
  // How a watcher asks for a reconcile of its cluster when the head's answer changed.
  void set_wake(std::function<void(const std::string&)> wake) { wake_ = std::move(wake); }
  // Ends every watcher (shutdown).
  void stop();

  // Internals the passes share (not for other callers).
  struct Metrics;
  HeadMemory& memory(const std::string& key) { return memory_[key]; }
  // More than half of the heads that answered before (and at least 3) do not answer now.
  std::optional<std::string> network_suspected() const;
  const RayExtensionOptions& options() const { return options_; }
  Metrics* metrics() { return metrics_.get(); }
  void count_calls(int n);
  // Records a read of the head in `m` (cache, fingerprint).
  static void remember(HeadMemory& m, const std::optional<ClusterState>& state, TimePoint now);
  // Starts the watcher of `key` once its head answered (no-op when one runs, or after stop()).
  void start_watcher(const std::string& key, boost::asio::any_io_executor ex);
  // A fresh generation for a new HeadMemory.
  std::uint64_t next_generation() { return ++generation_; }

 private:
  boost::asio::awaitable<void> watch(std::string key, std::uint64_t generation);
  HeadMemory* watched(const std::string& key, std::uint64_t generation);

  RayExtensionOptions options_;
  std::map<std::string, HeadMemory> memory_;
  std::unique_ptr<Metrics> metrics_;
  std::function<void(const std::string&)> wake_;
  std::map<std::string, std::shared_ptr<boost::asio::steady_timer>> timers_;  // each watcher's timer
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // watchers check it after every wait
  bool stopped_ = false;
  std::uint64_t generation_ = 0;
  std::minstd_rand jitter_{20261206};
};

}  // namespace raydog::ray
