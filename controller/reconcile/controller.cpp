// The operator process: the runtime's pieces (controller/runtime, controller/kube) wired around the
// RayDogCluster Reconciler. Flags are in controller_flags.cpp.
#include "controller/reconcile/controller.hpp"

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>

#include "controller/kube/config.hpp"
#include "controller/kube/events.hpp"
#include "controller/kube/informer.hpp"
#include "controller/kube/leader_election.hpp"
#include "controller/kube/rest_client.hpp"
#include "controller/reconcile/reconciler.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/runtime/controller.hpp"
#include "controller/runtime/health.hpp"
#include "controller/runtime/log.hpp"
#include "controller/runtime/metrics.hpp"
#include "controller/runtime/rate_limiter.hpp"
#include "controller/runtime/signals.hpp"
#include "controller/runtime/work_queue.hpp"
#include "controller/yellowdog/client.hpp"

namespace raydog::reconcile {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr const char* kControllerName = "raydogcluster";

// Fine enough to tell a 1 ms no-op reconcile from a 5 ms one (controller-runtime's buckets start at 5 ms).
const prometheus::Histogram::BucketBoundaries kReconcileKindBuckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

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

// One reconcile through the Reconciler, translated into what the runtime's Controller does with the key.
// The Reconciler logs its own failures (with object and reconcileID), so the outcome carries the message
// only for the error counters.
asio::awaitable<runtime::ReconcileOutcome> reconcile_key(Reconciler& reconciler, OperatorMetrics& metrics,
                                                         std::string key) {
  const auto start = std::chrono::steady_clock::now();
  ReconcileResult r = co_await reconciler.reconcile(key);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  (r.acted ? metrics.acting : metrics.noop).Observe(seconds);
  if (r.yellowdog_calls > 0) metrics.yellowdog_calls.Increment(static_cast<double>(r.yellowdog_calls));

  runtime::ReconcileOutcome outcome;
  switch (r.next) {
    case ReconcileResult::Next::kDone:
      break;
    case ReconcileResult::Next::kRequeueAfter:
      // A slow retry the reconciler chose (credentials missing, waiting for YellowDog): its condition
      // carries any error, the queue just comes back later.
      if (r.after > Millis(0))
        outcome.requeue_after = r.after;
      else
        outcome.requeue = true;
      break;
    case ReconcileResult::Next::kRateLimited:
      outcome.error = r.error ? r.error->message : std::string("transient error");
      break;
  }
  co_return outcome;
}

}  // namespace

int run_controller(const ControllerOptions& options) {
  log::Level level = log::Level::kInfo;
  log::Format format = log::Format::kJson;
  log::parse_level(options.log_level, level);
  log::parse_format(options.log_format, format);
  log::configure(level, format);
  const auto& log = log::root();

  kube::LoadOptions load;
  load.kubeconfig = options.kubeconfig;
  load.context = options.context;
  auto config = kube::load_config(load);
  if (!config) {
    log.error("cannot load the Kubernetes configuration", {{"error", config.error().message}});
    return 2;
  }
  const std::string own_namespace = config->namespace_name;

  asio::io_context io;
  runtime::SteadyClock clock(io.get_executor());
  runtime::Metrics metrics;
  OperatorMetrics operator_metrics(metrics.registry());
  auto& controller_metrics = metrics.controller(kControllerName);
  controller_metrics.set_max_concurrent_reconciles(options.max_concurrent_reconciles);

  kube::RestOptions rest_options;
  rest_options.on_request = [&metrics](const kube::RequestMetric& m) {
    metrics.observe_rest_request(m.method, m.host, m.code, m.latency.count());
  };
  auto rest = kube::RestClient::create(io.get_executor(), *config, rest_options);
  if (!rest) {
    log.error("cannot create the Kubernetes client", {{"error", rest.error().message}});
    return 2;
  }
  kube::Api& api = **rest;
  log.info("starting", {{"server", config->server},
                        {"origin", config->origin},
                        {"namespace", options.watch_namespace.empty() ? "*" : options.watch_namespace}});

  kube::EventRecorder recorder(io.get_executor(), api);
  RecorderEventSink events(recorder);

  ClientCache clients([&](const std::string& url, const Credentials& c) {
    yellowdog::YellowDogClientOptions yo;
    yo.base_url = url;
    yo.credentials = {c.key_id, c.key_secret};
    yo.retry.base = options.yellowdog_retry_base;
    yo.retry.cap = std::max(options.yellowdog_retry_base, std::chrono::milliseconds(60s));
    yo.retry.max_retries = options.yellowdog_max_retries;
    yo.request_timeout = options.yellowdog_request_timeout;
    std::shared_ptr<yellowdog::YellowDogApi> client =
        std::make_shared<yellowdog::YellowDogClient>(io.get_executor(), std::move(yo));
    return options.wrap_client ? options.wrap_client(std::move(client)) : client;
  });

  kube::InformerOptions informer_options;
  informer_options.transform = kube::strip_managed_fields;  // never read; often half of an object
  informer_options.resource = kube::resources::kRayDogClusters;
  informer_options.ns = options.watch_namespace;
  kube::Informer informer(io.get_executor(), api, informer_options);

  runtime::WorkQueue queue(clock, runtime::default_controller_rate_limiter(clock),
                           &metrics.queue(kControllerName));
  metrics.on_scrape([&queue] { queue.update_unfinished_work(); });

  ReconcilerOptions ro;
  ro.plan.cleanup_timeout = options.cleanup_timeout;
  ro.plan.requeue_converging = options.requeue_converging;
  ro.plan.requeue_steady = options.requeue_steady;
  ro.snapshot_max_age = options.resync_period;
  ro.credentials_cache_ttl = options.credentials_cache_ttl;
  ro.plan.credentials_retry =
      std::min<Millis>(std::chrono::seconds(30), std::max(options.requeue_steady, Millis(1000)));
  Reconciler reconciler(
      api, [&informer](const std::string& key) { return informer.get(key); }, clients, &events, ro);
  // DALiuGE registration counters live in the same registry as everything else on /metrics.
  reconciler.daliuge_registrar().bind_metrics(metrics.registry());

  runtime::ControllerOptions co;
  co.name = kControllerName;
  co.max_concurrent_reconciles = options.max_concurrent_reconciles;
  co.log_errors = false;
  runtime::Controller controller(
      co, queue,
      [&reconciler, &operator_metrics](const std::string& key, const log::Logger&) {
        return reconcile_key(reconciler, operator_metrics, key);
      },
      &controller_metrics);

  bool stopping = false;
  bool workers_started = false;
  std::unique_ptr<kube::LeaderElector> elector;

  // Keys reach the queue only once this process reconciles (a standby keeps an empty queue); becoming
  // leader enqueues everything the cache holds.
  // The echo of a status write (ours, almost always) is not a reason to reconcile: every reconcile that
  // expects more to happen asks for a requeue, so skipping it saves a full YellowDog observation per
  // status write. Spec, metadata (finalizers, deletionTimestamp, annotations) and deletes still enqueue.
  informer.add_handler([&](kube::InformerEvent event, const std::string& key) {
    if (workers_started && event != kube::InformerEvent::kStatusUpdated) queue.add(key);
  });
  auto start_workers = [&] {
    if (workers_started || stopping) return;
    workers_started = true;
    controller.start(io.get_executor());
    for (const auto& key : informer.keys()) queue.add(key);
  };

  runtime::HealthServer health(io, options.health_probe_bind_address);
  health.add_readyz_check("informer-sync", [&informer]() -> std::optional<std::string> {
    if (informer.has_synced()) return std::nullopt;
    return std::string("the RayDogCluster informer has not synced yet");
  });
  runtime::MetricsServer metrics_server(io, metrics, options.metrics_bind_address);

  // SIGTERM/SIGINT: stop taking work, let in-flight reconciles finish within the grace period, stop the
  // informer, release the Lease, flush queued Events, then end the loop (exit 0). A second signal exits
  // at once.
  std::unique_ptr<runtime::ShutdownSignals> signals;
  auto shutdown = [&](std::string reason) -> asio::awaitable<void> {
    log.info("shutting down", {{"reason", reason}});
    bool drained = true;
    if (workers_started) {
      const runtime::Clock::duration grace = options.shutdown_grace;
      drained = co_await controller.stop(grace);
    } else {
      queue.shutdown();
    }
    if (!drained) log.warn("shutdown grace expired with reconciles in flight");
    informer.stop();
    if (elector) {
      elector->stop();  // a leader releases the Lease on its way out
      const auto deadline = clock.now() + std::max<runtime::Clock::duration>(options.renew_deadline, 2s);
      while (elector->running() && clock.now() < deadline) co_await runtime::sleep_for(clock, 20ms);
      if (elector->running()) log.warn("the Lease release did not finish in time");
    }
    // Queued Events are best-effort: a moment to send them.
    const auto events_deadline = clock.now() + 1s;
    while (recorder.pending() > 0 && clock.now() < events_deadline) co_await runtime::sleep_for(clock, 20ms);
    health.stop();
    metrics_server.stop();
    if (signals) signals->cancel();
    // Idle keep-alive connections or a half-closed watch must not keep the process alive.
    io.stop();
  };
  auto begin_shutdown = [&](const std::string& reason) {
    if (stopping) return;
    stopping = true;
    asio::co_spawn(io, shutdown(reason), asio::detached);
  };
  signals = std::make_unique<runtime::ShutdownSignals>(
      io.get_executor(), [&](int signo) { begin_shutdown(signo == SIGTERM ? "SIGTERM" : "SIGINT"); },
      [&](int signo) {
        log.error("second signal: exiting without waiting", {{"signal", signo}});
        std::fflush(nullptr);
        std::_Exit(1);
      });

  try {
    health.start();
    metrics_server.start();
  } catch (const std::exception& e) {
    log.error("cannot listen", {{"error", e.what()}});
    return 2;
  }
  if (health.enabled()) log.info("serving health probes", {{"address", health.base_url()}});
  if (metrics_server.enabled()) log.info("serving metrics", {{"address", metrics_server.base_url()}});
  if (options.on_listening) options.on_listening(health.base_url(), metrics_server.base_url());

  informer.start();
  if (options.leader_elect) {
    kube::LeaderElectionConfig lc;
    lc.lease_namespace =
        options.leader_election_namespace.empty() ? own_namespace : options.leader_election_namespace;
    lc.lease_name = options.leader_election_id;
    lc.lease_duration = options.lease_duration;
    lc.renew_deadline = options.renew_deadline;
    lc.retry_period = options.retry_period;
    const std::string lease = lc.lease_namespace + "/" + lc.lease_name;
    lc.on_started_leading = [&, lease] {
      metrics.set_leader(options.leader_election_id, true);
      log.info("became leader", {{"lease", lease}});
      if (informer.has_synced()) start_workers();
    };
    lc.on_stopped_leading = [&] {
      metrics.set_leader(options.leader_election_id, false);
      if (stopping) return;  // our own release on shutdown
      // Another replica may be reconciling already: stop at once, as controller-runtime does (exit 1, the
      // pod restarts as a follower). In-flight reconciles are abandoned; every action is idempotent.
      queue.shutdown();
      log.error("leader election lost: exiting");
      std::fflush(nullptr);
      std::_Exit(1);
    };
    lc.on_new_leader = [&log, lease](const std::string& holder) {
      log.info("observed a new leader", {{"lease", lease}, {"holder", holder}});
    };
    metrics.set_leader(options.leader_election_id, false);
    elector = std::make_unique<kube::LeaderElector>(io.get_executor(), api, lc);
    log.info("waiting for leadership", {{"lease", lease}, {"identity", elector->identity()}});
    elector->start();
  }
  informer.on_synced([&] {
    log.info("cache synced", {{"objects", informer.size()}});
    if (!options.leader_elect || (elector && elector->is_leader())) start_workers();
  });

  io.run();
  // Lost leadership never gets here (it exits 1 at once); a signal ends with a clean drain.
  log.info("stopped", {{"exitCode", 0}});
  return 0;
}

}  // namespace raydog::reconcile
