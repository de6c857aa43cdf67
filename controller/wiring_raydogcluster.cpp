// The RayDogCluster controller: the Reconciler (controller/reconcile) with its extensions, the YellowDog
// client cache, and the operator's own metrics. Which extensions run is decided here.
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <set>

#include "api/names.hpp"
#include "controller/access/extension.hpp"
#include "controller/autoscaler/extension.hpp"
#include "controller/daliuge/extension.hpp"
#include "controller/observer/yellowdog_observer.hpp"
#include "controller/ray/extension.hpp"
#include "controller/reconcile/reconciler.hpp"
#include "controller/wiring.hpp"
#include "controller/yellowdog/client.hpp"

namespace raydog::wiring {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using reconcile::Millis;

constexpr const char* kControllerName = "raydogcluster";

// Fine enough to tell a 1 ms no-op reconcile from a 5 ms one (controller-runtime's buckets start at 5 ms),
// and a p99 under the 2 ms goal at 10,000 clusters from one just over it (half-millisecond steps to 3 ms).
const prometheus::Histogram::BucketBoundaries kReconcileKindBuckets{
    0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// The operator's own series, next to controller-runtime's in the same registry. The benchmarks read
// raydog_reconcile_time_seconds{controller,kind}: keep names and labels stable.
struct OperatorMetrics {
  explicit OperatorMetrics(prometheus::Registry& registry)
      : time_family(prometheus::BuildHistogram()
                        .Name("raydog_reconcile_time_seconds")
                        .Help("Length of time per reconciliation, by whether it changed something (acting) "
                              "or not (noop)")
                        .Register(registry)),
        noop(time_family.Add({{"controller", kControllerName}, {"kind", "noop"}}, kReconcileKindBuckets)),
        acting(time_family.Add({{"controller", kControllerName}, {"kind", "acting"}}, kReconcileKindBuckets)),
        yellowdog_calls(prometheus::BuildCounter()
                            .Name("raydog_yellowdog_calls_total")
                            .Help("YellowDog API calls made by reconciles")
                            .Register(registry)
                            .Add({{"controller", kControllerName}})) {}
  prometheus::Family<prometheus::Histogram>& time_family;
  prometheus::Histogram& noop;
  prometheus::Histogram& acting;
  prometheus::Counter& yellowdog_calls;
};

reconcile::ReconcilerOptions reconciler_options(const cli::ControllerOptions& options,
                                               reconcile::ChangeFeed* changes) {
  reconcile::ReconcilerOptions ro;
  ro.plan.cleanup_timeout = options.cleanup_timeout;
  ro.plan.requeue_converging = options.requeue_converging;
  ro.plan.requeue_steady = options.requeue_steady;
  ro.snapshot_max_age = options.resync_period;
  ro.credentials_cache_ttl = options.credentials_cache_ttl;
  ro.allowed_api_urls = options.yellowdog_allowed_urls;
  ro.changes = changes;
  ro.plan.credentials_retry =
      std::min<Millis>(std::chrono::seconds(30), std::max(options.requeue_steady, Millis(1000)));
  return ro;
}

class ClusterController final : public KindController {
 public:
  ClusterController(Shared& shared, reconcile::Reconciler::Lookup lookup,
                    std::function<void(const std::string&)> wake)
      : metrics_(shared.metrics.registry()),
        events_(shared.recorder),
        clients_([this, &shared](const std::string& url, const reconcile::Credentials& c) {
          return make_client(shared, url, c, budget_of(shared.options, url, c.key_id));
        }),
        observer_(make_observer(shared, std::move(wake))),
        daliuge_(registrar_options(shared.options)),
        ray_(ray_options(shared.options)),
        autoscaler_(ray_),
        head_service_(shared.api),
        // The Ray view first: it decides which workers a scale-down cancels (after draining them), the
        // autoscaler sizes the pools from what it read, and DALiuGE deregisters the NMs of exactly the
        // cancelled workers before act runs. The head Service last: it only follows the head's address.
        reconciler_(shared.api, std::move(lookup), clients_, &events_,
                    reconciler_options(shared.options, observer_.get()),
                    reconcile::Extensions{&ray_, &autoscaler_, &daliuge_, &head_service_}) {
    // DALiuGE and Ray counters live in the same registry as everything else on /metrics.
    daliuge_.registrar().bind_metrics(shared.metrics.registry());
    ray_.bind_metrics(shared.metrics.registry());
    autoscaler_.bind_metrics(shared.metrics.registry());
    if (observer_) observer_->bind_metrics(shared.metrics.registry());
  }
  ~ClusterController() override {
    if (observer_) observer_->stop();
  }

  // One reconcile through the Reconciler, translated into what the runtime's Controller does with the
  // key. The Reconciler logs its own failures (with object and reconcileID), so the outcome carries the
  // message only for the error counters.
  asio::awaitable<runtime::ReconcileOutcome> reconcile(std::string key) override {
    const auto start = std::chrono::steady_clock::now();
    reconcile::ReconcileResult r = co_await reconciler_.reconcile(key);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    (r.acted ? metrics_.acting : metrics_.noop).Observe(seconds);
    if (r.yellowdog_calls > 0) metrics_.yellowdog_calls.Increment(static_cast<double>(r.yellowdog_calls));

    runtime::ReconcileOutcome outcome;
    switch (r.next) {
      case reconcile::ReconcileResult::Next::kDone:
        break;
      case reconcile::ReconcileResult::Next::kRequeueAfter:
        // A slow retry the reconciler chose (credentials missing, waiting for YellowDog): its condition
        // carries any error, the queue just comes back later.
        if (r.after > Millis(0))
          outcome.requeue_after = r.after;
        else
          outcome.requeue = true;
        break;
      case reconcile::ReconcileResult::Next::kRateLimited:
        outcome.error = r.error ? r.error->message : std::string("transient error");
        break;
    }
    co_return outcome;
  }

 private:
  static daliuge::RegistrarOptions registrar_options(const cli::ControllerOptions& options) {
    daliuge::RegistrarOptions o;
    o.egress = options.egress;
    return o;
  }

  static ray::RayExtensionOptions ray_options(const cli::ControllerOptions& options) {
    ray::RayExtensionOptions o;
    o.egress = options.egress;
    return o;
  }

  // --yellowdog-observe search: the observer that wakes clusters on YellowDog changes (null: poll).
  static std::unique_ptr<observer::YellowDogObserver> make_observer(Shared& shared,
                                                                    std::function<void(const std::string&)> wake) {
    if (shared.options.yellowdog_observe != "search") return nullptr;
    observer::ObserverOptions o;
    o.interval = shared.options.yellowdog_observe_interval;
    // Vouch only while the searches keep up: a few intervals, never less than 30 s (a slow account).
    o.ledger.stale_after = std::max<Millis>(std::chrono::seconds(30), 5 * o.interval);
    return std::make_unique<observer::YellowDogObserver>(shared.io.get_executor(), std::move(o), std::move(wake));
  }

  // One request budget per account (API URL and key id), shared by the clients of every Secret that holds
  // the same key.
  std::shared_ptr<yellowdog::RequestBudget> budget_of(const cli::ControllerOptions& options,
                                                      const std::string& url, const std::string& key_id) {
    auto& b = budgets_[{url, key_id}];
    if (!b) {
      yellowdog::BudgetOptions bo;
      bo.qps = options.yellowdog_qps;
      bo.burst = options.yellowdog_burst;
      b = std::make_shared<yellowdog::RequestBudget>(bo);
    }
    return b;
  }

  static std::shared_ptr<yellowdog::YellowDogApi> make_client(Shared& shared, const std::string& url,
                                                              const reconcile::Credentials& c,
                                                              std::shared_ptr<yellowdog::RequestBudget> budget) {
    const cli::ControllerOptions& options = shared.options;
    yellowdog::YellowDogClientOptions yo;
    yo.base_url = url;
    yo.credentials = {c.key_id, c.key_secret};
    yo.retry.base = options.yellowdog_retry_base;
    yo.retry.cap = std::max(options.yellowdog_retry_base, std::chrono::milliseconds(60s));
    yo.retry.max_retries = options.yellowdog_max_retries;
    yo.request_timeout = options.yellowdog_request_timeout;
    yo.ca_pem = options.yellowdog_ca_pem;
    yo.egress = options.egress;
    yo.budget = std::move(budget);
    std::shared_ptr<yellowdog::YellowDogApi> client =
        std::make_shared<yellowdog::YellowDogClient>(shared.io.get_executor(), std::move(yo));
    return options.wrap_client ? options.wrap_client(std::move(client)) : client;
  }

  OperatorMetrics metrics_;
  reconcile::RecorderEventSink events_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<yellowdog::RequestBudget>> budgets_;
  reconcile::ClientCache clients_;
  std::unique_ptr<observer::YellowDogObserver> observer_;
  // The extensions of the RayDogCluster loop, in the order the loop calls them.
  daliuge::MembershipExtension daliuge_;
  ray::RayExtension ray_;
  autoscaler::AutoscalerExtension autoscaler_;
  access::HeadServiceExtension head_service_;
  reconcile::Reconciler reconciler_;
};

// The ConfigMaps a cluster's nodes read their userdata or task script from (spec.*.userDataFrom and
// startScriptFrom): their names in the cluster object `cluster`.
std::set<std::string> config_maps_named(const nlohmann::json& cluster) {
  std::set<std::string> out;
  const auto spec = cluster.find("spec");
  if (spec == cluster.end() || !spec->is_object()) return out;
  const auto from_node = [&](const nlohmann::json& node) {
    if (!node.is_object()) return;
    for (const char* field : {"userDataFrom", "startScriptFrom"}) {
      const auto src = node.find(field);
      if (src == node.end() || !src->is_object()) continue;
      const auto ref = src->find("configMapKeyRef");
      if (ref != src->end() && ref->is_object() && ref->contains("name") && (*ref)["name"].is_string())
        out.insert((*ref)["name"].get<std::string>());
    }
  };
  for (const char* node : {"head", "observability"})
    if (spec->contains(node)) from_node((*spec)[node]);
  if (const auto pools = spec->find("workerPools"); pools != spec->end() && pools->is_array())
    for (const auto& pool : *pools) from_node(pool);
  return out;
}

// ConfigMaps: an edit reconciles the clusters of its namespace that name it, whose pool revisions hash the
// content they read (reconcile/desired.hpp), so exactly the pools using it roll. Only the name, namespace,
// resourceVersion and a digest of the data are cached, so unrelated ConfigMaps cost little; the reconcile
// reads the content itself (a GET by name, as RBAC allowed before).
Registration::Watch config_map_watch() {
  Registration::Watch w;
  w.resource = kube::resources::kConfigMaps;
  w.transform = [](nlohmann::json& cm) {
    nlohmann::json kept = name_only(cm);
    std::string data;
    for (const char* field : {"data", "binaryData"})
      if (cm.contains(field)) data += cm[field].dump();
    kept["dataDigest"] = api::names::hash8(data);
    cm = std::move(kept);
  };
  w.map = [](const std::string& key, const std::vector<std::string>& keys,
             const std::function<std::optional<nlohmann::json>(const std::string&)>& cluster) {
    std::vector<std::string> out;
    const std::string name = key.substr(key.find('/') + 1);
    for (const auto& k : keys)  // the clusters of the ConfigMap's namespace
      if (auto c = cluster(k); c && config_maps_named(*c).count(name)) out.push_back(k);
    return out;
  };
  return w;
}

}  // namespace

Registration raydogcluster_controller() {
  Registration r;
  r.name = kControllerName;
  r.resource = kube::resources::kRayDogClusters;
  r.readyz_check = "informer-sync";
  r.not_synced_message = "the RayDogCluster informer has not synced yet";
  r.make = [](Shared& shared, std::function<std::optional<nlohmann::json>(const std::string&)> lookup,
              std::function<void(const std::string&)> wake) -> std::unique_ptr<KindController> {
    return std::make_unique<ClusterController>(shared, std::move(lookup), std::move(wake));
  };
  r.watches.push_back(config_map_watch());
  return r;
}

}  // namespace raydog::wiring
