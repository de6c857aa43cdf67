#pragma once
// One reconcile of one RayDogCluster key: observe -> plan (pure) -> act -> status (pure) -> PATCH /status
// only when it changed, as an ordered list of named steps (reconciler.cpp); extensions (extension.hpp) are
// called at fixed points between them. Returns what the work queue should do next. Logs carry object +
// reconcileID.
//
// Per key, the reconciler remembers at most one thing across reconciles: the last full observation of a
// steady cluster (Snapshot), so a steady reconcile costs one YellowDog call. Losing it (restart) costs a
// full observe, never correctness: every decision is made from what observe finds by name.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "controller/kube/rest.hpp"
#include "controller/reconcile/act.hpp"
#include "controller/reconcile/change_feed.hpp"
#include "controller/reconcile/credentials.hpp"
#include "controller/reconcile/extension.hpp"
#include "controller/reconcile/observe.hpp"
#include "controller/reconcile/packed_snapshot.hpp"
#include "controller/util/merge_patch.hpp"
#include "controller/yellowdog/allowed_urls.hpp"

namespace raydog::reconcile {

struct ReconcilerOptions {
  PlanOptions plan;
  // Resync period: a full observe that reuses nothing (snapshot, node addresses, settled pools) at least
  // this often per cluster (--resync-period).
  Millis snapshot_max_age = std::chrono::hours(10);
  Millis credentials_cache_ttl = std::chrono::minutes(5);
  Millis conflict_requeue{200};
  bool steady_snapshots = true;
  // Where keys may go (--yellowdog-allowed-urls); the default: https://api.yellowdog.ai only.
  yellowdog::AllowedUrls allowed_api_urls;
  // The YellowDog observer (--yellowdog-observe search; change_feed.hpp): followed with every cluster's
  // objects, and asked before a steady reconcile reads YellowDog. Null (poll): every steady reconcile reads
  // the work requirement.
  ChangeFeed* changes = nullptr;
};

struct ReconcileResult {
  enum class Next {
    kDone,          // nothing scheduled (the watch will bring the next change)
    kRequeueAfter,  // reconcile again after `after`
    kRateLimited,   // transient error: requeue with the queue's per-item backoff
  };
  Next next = Next::kDone;
  Millis after{0};
  std::optional<Error> error;
  int yellowdog_calls = 0;
  bool status_written = false;
  // True when this reconcile changed something (any planned action besides waiting, or a status write):
  // the metrics split reconcile time into no-op and acting reconciles with it.
  bool acted = false;
};

// A steady requeue of `d`, stretched by up to 10% (client-go's wait.Jitter(d, 0.1)) so a fleet of clusters
// does not poll YellowDog in lockstep. Never shorter than `d`: --requeue-steady bounds a steady cluster's
// polls to one per period.
Millis jittered(Millis d, std::mt19937& rng);

class Reconciler {
 public:
  // The cluster object by key from the informer cache (nullopt: deleted).
  using Lookup = std::function<std::optional<nlohmann::json>(const std::string& key)>;
  // `extensions` are called in order at the loop's fixed points; they must outlive the reconciler.
  Reconciler(kube::Api& kube, Lookup lookup, ClientCache& clients, EventSink* events,
             ReconcilerOptions options, Extensions extensions = {});

  net::awaitable<ReconcileResult> reconcile(std::string key);

  // Time source (tests may move time forward).
  std::function<TimePoint()> now = [] { return Clock::now(); };
  std::size_t snapshots() const { return snapshots_.size(); }

 private:
  struct Cycle;  // one reconcile in progress (reconciler.cpp)

  // The steps of reconcile(), in order.
  void forget(const std::string& key);
  void decode(Cycle& c, const nlohmann::json& object);
  void validate(Cycle& c);
  void begin_extensions(Cycle& c);
  net::awaitable<bool> side_work(Cycle& c);
  net::awaitable<void> read_credentials(Cycle& c);
  net::awaitable<void> observe(Cycle& c);
  void plan_actions(Cycle& c);
  net::awaitable<void> adjust_actions(Cycle& c);
  net::awaitable<void> act_on(Cycle& c);
  void follow_changes(Cycle& c);
  void apply_learned(Cycle& c);
  void remember_snapshot(Cycle& c);
  api::RayDogClusterStatus status_of(Cycle& c);
  net::awaitable<bool> write_status_step(Cycle& c);
  void decide_requeue(Cycle& c);

  void report_extensions(Cycle& c);
  net::awaitable<std::optional<Error>> write_status(const api::RayDogCluster& cluster,
                                                    const std::optional<api::RayDogClusterStatus>& previous,
                                                    const api::RayDogClusterStatus& status);

  kube::Api& kube_;
  Lookup lookup_;
  ClientCache& clients_;
  EventSink* events_;
  ReconcilerOptions options_;
  std::map<std::string, PackedSnapshot> snapshots_;  // steady observations, packed
  std::map<std::string, KnownAddresses> addresses_;  // head/observability node addresses per key
  std::map<std::string, TimePoint> resynced_;        // last observe that reused nothing, per key
  // The spec's errors by key, for the uid and generation they were computed for: a spec (and the name
  // and namespace validation also reads) only changes with the generation, and validating it again on
  // every poll (regular expressions per field) was the largest part of a steady reconcile's CPU.
  struct ValidatedSpec {
    std::string uid;
    std::int64_t generation = 0;
    api::FieldErrors errors;
  };
  std::map<std::string, ValidatedSpec> validated_;
  CredentialsCache credentials_;
  Extensions extensions_;
  std::mt19937 rng_{std::random_device{}()};
  std::uint64_t reconcile_serial_ = 0;
};

using raydog::merge_patch_between;  // controller/util/merge_patch.hpp

}  // namespace raydog::reconcile
