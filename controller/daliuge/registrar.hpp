#pragma once
// The registrar: the only writer of a cluster's DIM node list (daliuge-integration.md §4.9). One sync():
//   1. resolve each collected NM's private IP (worker -> node, cached: a node's IP never changes),
//   2. probe each NM (GET http://ip:nm/api), desired = wanted and answering,
//   3. up to kMaxRounds rounds of: GET /api/nodes, plan_membership(), the writes one at a time, stopping
//      at the first one that does not answer 200; every round starts with a fresh GET, so no write ever
//      follows an uncertain one without a read in between,
//   4. the status (status.daliuge), the DaliugeReady condition, Events and metrics.
// WhenIdle: planned changes wait while GET /api/sessions shows an active session, at most maxDeferral from
// the first wait (remembered per cluster in memory; an operator restart starts the wait again).
//
// It also paces the DIM checks between full reconciles (every kDimCheckInterval): see due_dim_check().
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/types.hpp"
#include "controller/daliuge/cluster.hpp"
#include "controller/daliuge/membership.hpp"
#include "controller/http/proxy.hpp"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace raydog::yellowdog {
class YellowDogApi;
}

namespace raydog::daliuge {

inline constexpr Millis kDimCheckInterval{std::chrono::seconds(30)};
inline constexpr int kMaxRounds = 4;

struct RegistrarOptions {
  http::EgressProxies egress;  // the DIM and NM probes honour HTTP_PROXY/NO_PROXY like every client
  Millis dim_timeout{std::chrono::seconds(5)};
  Millis nm_timeout{std::chrono::seconds(2)};
  Millis dim_check_interval = kDimCheckInterval;
};

struct EventOut {
  std::string type;  // Normal | Warning
  std::string reason;
  std::string message;
};

struct SyncResult {
  api::DaliugeStatus status;
  bool ready = false;
  std::string reason;   // DaliugeReady's reason
  std::string message;  // and message
  std::vector<EventOut> events;
  std::vector<Write> performed;  // writes answered 200
  int errors = 0;                // writes or reads that failed
  int yellowdog_calls = 0;       // node lookups for IPs not cached yet
};

class Registrar {
 public:
  explicit Registrar(RegistrarOptions options = {});
  ~Registrar();

  // One membership pass for cluster `key`. `yd` may be null (no IP lookups then).
  boost::asio::awaitable<SyncResult> sync(std::string key, Collected input, yellowdog::YellowDogApi* yd,
                                          TimePoint now);

  // Between full reconciles: when a full reconcile ends with a requeue longer than the DIM check interval,
  // remember_steady() records it and returns the shorter requeue; due_dim_check() then says whether the
  // next reconcile of the key (same generation, before the full one is due) may be a DIM-only pass, which
  // re-runs sync() on the last collected input without any YellowDog call.
  Millis remember_steady(const std::string& key, std::int64_t generation, Millis requeue, TimePoint now);
  std::optional<Millis> due_dim_check(const std::string& key, std::int64_t generation, TimePoint now);
  std::optional<Collected> last_input(const std::string& key) const;
  void forget(const std::string& key);

  // Counters raydog_daliuge_registrations_total{action=add|remove} and raydog_daliuge_errors_total in the
  // operator's registry (optional: without it they are only kept here).
  void bind_metrics(prometheus::Registry& registry);
  std::uint64_t added() const { return added_; }
  std::uint64_t removed() const { return removed_; }
  std::uint64_t errors() const { return errors_; }

 private:
  struct PerCluster {
    std::optional<Collected> input;
    std::optional<TimePoint> pending_since;  // WhenIdle: first time a planned change was held back
    std::optional<TimePoint> full_due;       // next full reconcile (steady requeue end)
    std::int64_t generation = 0;
  };
  void count(const Write& w);
  void count_error();

  RegistrarOptions options_;
  std::map<std::string, PerCluster> clusters_;
  std::map<std::string, std::string> ip_by_worker_;
  std::uint64_t added_ = 0, removed_ = 0, errors_ = 0;
  prometheus::Counter* added_metric_ = nullptr;
  prometheus::Counter* removed_metric_ = nullptr;
  prometheus::Counter* errors_metric_ = nullptr;
};

// Puts the sync result into a freshly computed status: status.daliuge and the DaliugeReady condition
// (lastTransitionTime kept while its status is unchanged). Without a result (this reconcile could not run
// a pass) the previous status.daliuge and condition are carried over. Disabled: both are removed.
void merge_status(api::RayDogClusterStatus& status, const std::optional<api::RayDogClusterStatus>& previous,
                  const std::optional<SyncResult>& result, bool enabled, TimePoint now);

}  // namespace raydog::daliuge
