// The operator process: the runtime's pieces (controller/runtime, controller/kube) wired around every
// registered controller. Which controllers run is registrations(); which extensions the RayDogCluster
// loop calls is wiring_raydogcluster.cpp.
#include "controller/wiring.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "controller/kube/config.hpp"
#include "controller/kube/informer.hpp"
#include "controller/kube/leader_election.hpp"
#include "controller/kube/rest_client.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/runtime/health.hpp"
#include "controller/runtime/log.hpp"
#include "controller/runtime/rate_limiter.hpp"
#include "controller/runtime/signals.hpp"
#include "controller/runtime/work_queue.hpp"
#include "controller/util/allocator/allocator.hpp"

namespace raydog::wiring {

nlohmann::json name_only(const nlohmann::json& object) {
  nlohmann::json kept = {{"metadata", nlohmann::json::object()}};
  if (const auto meta = object.find("metadata"); meta != object.end() && meta->is_object())
    for (const char* field : {"name", "resourceVersion"})
      if (meta->contains(field)) kept["metadata"][field] = (*meta)[field];
  return kept;
}

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// The controllers of this process. A second resource kind (RayDogJob) is one more line here, with
// crd_required = false so the operator still starts where its CRD is not installed.
std::vector<Registration> registrations() {
  std::vector<Registration> all;
  all.push_back(raydogcluster_controller());
  all.push_back(raydogjob_controller());
  return all;
}

// One registered controller, running: its informer, queue and workers.
struct Running {
  Registration registration;
  std::unique_ptr<kube::Informer> informer;
  std::vector<std::unique_ptr<kube::Informer>> watched;  // registration.watches, in order
  std::unique_ptr<runtime::WorkQueue> queue;
  std::unique_ptr<KindController> kind;
  std::unique_ptr<runtime::Controller> workers;
  bool workers_started = false;
};

// Everything run_controller() wires, with the process-wide decisions (leadership, shutdown) as methods.
class Operator {
 public:
  explicit Operator(const cli::ControllerOptions& options)
      : options_(options),
        clock_(io_.get_executor()),
        health_(io_, options.health_probe_bind_address),
        metrics_server_(io_, metrics_, options.metrics_bind_address) {}

  // The Kubernetes client (its requests counted in this process's registry) and the Event recorder on it.
  // False: logged, the process exits 2.
  bool connect(const kube::RestConfig& config);
  void add(Registration registration);
  int run();

 private:
  void start_workers(Running& c);
  void start_workers_of_synced();
  void begin_shutdown(const std::string& reason);
  asio::awaitable<void> shutdown(std::string reason);
  void start_leader_election();
  bool may_work() const { return !options_.leader_elect || (elector_ && elector_->is_leader()); }

  const cli::ControllerOptions& options_;
  std::string own_namespace_;
  asio::io_context io_;
  runtime::SteadyClock clock_;
  runtime::Metrics metrics_;
  std::unique_ptr<kube::RestClient> api_;
  // The same connections with buckets of their own (--kube-api-qps each): Events never delay a finalizer
  // or status write, and a saturated bucket never delays a Lease renewal past the renew deadline.
  std::unique_ptr<kube::RestClient> events_api_;
  std::unique_ptr<kube::RestClient> lease_api_;
  std::unique_ptr<kube::EventRecorder> recorder_;
  std::optional<Shared> shared_;
  runtime::HealthServer health_;
  runtime::MetricsServer metrics_server_;
  std::vector<std::unique_ptr<Running>> controllers_;
  std::unique_ptr<kube::LeaderElector> elector_;
  std::unique_ptr<runtime::ShutdownSignals> signals_;
  bool stopping_ = false;
};

bool Operator::connect(const kube::RestConfig& config) {
  kube::RestOptions rest_options;
  rest_options.egress = options_.egress;
  rest_options.on_request = [this](const kube::RequestMetric& m) {
    metrics_.observe_rest_request(m.method, m.host, m.code, m.latency.count());
    if (options_.on_kube_request) options_.on_kube_request(m.method, m.target, m.code);
  };
  // Client pacing: one token bucket per client, as client-go's QPS/Burst (kube/rate_limit.hpp).
  const kube::RateLimit pace{options_.kube_api_qps, options_.kube_api_burst};
  auto bucket = [&]() -> std::shared_ptr<kube::RequestRateLimiter> {
    if (!pace.enabled()) return nullptr;
    return std::make_shared<kube::RequestRateLimiter>(clock_, pace);
  };
  rest_options.limiter = bucket();
  rest_options.on_rate_limited = [this](const kube::RateLimiterMetric& m) {
    metrics_.observe_rate_limiter(m.method, m.host, m.waited.count());
  };
  auto rest = kube::RestClient::create(io_.get_executor(), config, rest_options);
  if (!rest) {
    log::root().error("cannot create the Kubernetes client", {{"error", rest.error().message}});
    return false;
  }
  api_ = std::move(*rest);
  events_api_ = api_->with_limiter(bucket());
  lease_api_ = api_->with_limiter(bucket());
  own_namespace_ = config.namespace_name;
  log::root().info("starting",
                   {{"server", config.server},
                    {"origin", config.origin},
                    {"namespace", options_.watch_namespace.empty() ? "*" : options_.watch_namespace},
                    {"shardSelector", options_.shard_selector.empty() ? "*" : options_.shard_selector},
                    {"lease", options_.leader_elect ? options_.leader_election_id : std::string("-")},
                    {"kubeApiQps", options_.kube_api_qps},
                    {"kubeApiBurst", options_.kube_api_burst},
                    {"kubernetesProxy", config.proxy ? config.proxy->display() : std::string("from the environment")},
                    {"egress", options_.egress.describe()},
                    {"allocator", allocator::describe()}});
  recorder_ = std::make_unique<kube::EventRecorder>(io_.get_executor(), *events_api_);
  shared_.emplace(Shared{io_, *api_, *recorder_, metrics_, options_});
  return true;
}

void Operator::add(Registration registration) {
  auto c = std::make_unique<Running>();
  c->registration = std::move(registration);
  const Registration& reg = c->registration;
  auto& controller_metrics = metrics_.controller(reg.name);
  controller_metrics.set_max_concurrent_reconciles(options_.max_concurrent_reconciles);

  kube::InformerOptions informer_options;
  informer_options.transform = kube::strip_managed_fields;  // never read; often half of an object
  informer_options.resource = reg.resource;
  informer_options.ns = options_.watch_namespace;
  // --shard-selector: the API server sends only this shard's objects; one whose labels stop matching
  // arrives as DELETED (its reconcile then only forgets it) and one that starts matching as ADDED.
  // Watched kinds (ConfigMaps ...) are not filtered: their map reaches only keys this cache holds.
  informer_options.label_selector = options_.shard_selector;
  c->informer = std::make_unique<kube::Informer>(io_.get_executor(), *api_, informer_options);
  kube::Informer& informer = *c->informer;

  c->queue = std::make_unique<runtime::WorkQueue>(clock_, runtime::default_controller_rate_limiter(clock_),
                                                  &metrics_.queue(reg.name));
  metrics_.on_scrape([q = c->queue.get()] { q->update_unfinished_work(); });

  Running* running = c.get();
  c->kind = reg.make(
      *shared_, [&informer](const std::string& key) { return informer.get(key); },
      [running](const std::string& key) {
        if (running->workers_started) running->queue->add(key);
      });
  runtime::ControllerOptions co;
  co.name = reg.name;
  co.max_concurrent_reconciles = options_.max_concurrent_reconciles;
  co.log_errors = false;
  c->workers = std::make_unique<runtime::Controller>(
      co, *c->queue,
      [kind = c->kind.get()](const std::string& key, const log::Logger&) { return kind->reconcile(key); },
      &controller_metrics);

  // Keys reach the queue only once this process reconciles (a standby keeps an empty queue); becoming
  // leader enqueues everything the cache holds.
  // The echo of a status write (ours, almost always) is not a reason to reconcile: every reconcile that
  // expects more to happen asks for a requeue, so skipping it saves a full YellowDog observation per
  // status write. Spec, metadata (finalizers, deletionTimestamp, annotations) and deletes still enqueue.
  informer.add_handler([running](kube::InformerEvent event, const std::string& key) {
    if (running->workers_started && event != kube::InformerEvent::kStatusUpdated) running->queue->add(key);
  });
  // Watched kinds: a change enqueues the objects their map names (once this process reconciles; the
  // initial list of a watched kind adds nothing, every object is enqueued when the workers start).
  for (const auto& watch : reg.watches) {
    kube::InformerOptions wo;
    wo.resource = watch.resource;
    wo.ns = options_.watch_namespace;
    wo.transform = watch.transform;
    auto w = std::make_unique<kube::Informer>(io_.get_executor(), *api_, wo);
    w->add_handler([running, &watch, &informer](kube::InformerEvent, const std::string& key) {
      if (!running->workers_started) return;
      const auto lookup = [&informer](const std::string& k) { return informer.get(k); };
      // A watched object's namespace only: objects churning elsewhere cost no walk of every key.
      const auto slash = key.find('/');
      const std::string ns = slash == std::string::npos ? std::string() : key.substr(0, slash);
      if (ns.empty()) return;
      for (const auto& k : watch.map(key, informer.keys(ns), lookup)) running->queue->add(k);
    });
    c->watched.push_back(std::move(w));
  }
  if (reg.crd_required && !reg.readyz_check.empty())
    health_.add_readyz_check(reg.readyz_check,
                             [&informer, message = reg.not_synced_message]() -> std::optional<std::string> {
                               if (informer.has_synced()) return std::nullopt;
                               return message;
                             });
  informer.on_synced([this, running] {
    log::root().info("cache synced", {{"objects", running->informer->size()}});
    // A kind whose CRD may be missing watches nothing else until it is served: where RayDogJob is not
    // installed, its controller costs no second RayDogCluster watch (under load the API server's watch
    // fan-out is what delays our own status echoes).
    if (!running->registration.crd_required && !stopping_)
      for (auto& w : running->watched)
        if (!w->running()) w->start();
    if (may_work()) start_workers(*running);
  });
  controllers_.push_back(std::move(c));
}

void Operator::start_workers(Running& c) {
  if (c.workers_started || stopping_) return;
  c.workers_started = true;
  c.workers->start(io_.get_executor());
  for (const auto& key : c.informer->keys()) c.queue->add(key);
}

void Operator::start_workers_of_synced() {
  for (auto& c : controllers_)
    if (c->informer->has_synced()) start_workers(*c);
}

// SIGTERM/SIGINT: stop taking work, let in-flight reconciles finish within the grace period, stop the
// informers, release the Lease, flush queued Events, then end the loop (exit 0). A second signal exits
// at once.
asio::awaitable<void> Operator::shutdown(std::string reason) {
  const auto& log = log::root();
  log.info("shutting down", {{"reason", reason}});
  bool drained = true;
  const auto grace_end = clock_.now() + runtime::Clock::duration(options_.shutdown_grace);
  for (auto& c : controllers_) {
    if (c->workers_started) {
      const runtime::Clock::duration grace = std::max(runtime::Clock::duration(0), grace_end - clock_.now());
      drained = co_await c->workers->stop(grace) && drained;
    } else {
      c->queue->shutdown();
    }
  }
  if (!drained) log.warn("shutdown grace expired with reconciles in flight");
  for (auto& c : controllers_) {
    c->informer->stop();
    for (auto& w : c->watched) w->stop();
  }
  if (elector_) {
    elector_->stop();  // a leader releases the Lease on its way out
    const auto deadline = clock_.now() + std::max<runtime::Clock::duration>(options_.renew_deadline, 2s);
    while (elector_->running() && clock_.now() < deadline) co_await runtime::sleep_for(clock_, 20ms);
    if (elector_->running()) log.warn("the Lease release did not finish in time");
  }
  // Queued Events are best-effort: a moment to send them.
  const auto events_deadline = clock_.now() + 1s;
  while (recorder_->pending() > 0 && clock_.now() < events_deadline)
    co_await runtime::sleep_for(clock_, 20ms);
  health_.stop();
  metrics_server_.stop();
  if (signals_) signals_->cancel();
  // Idle keep-alive connections or a half-closed watch must not keep the process alive.
  io_.stop();
}

void Operator::begin_shutdown(const std::string& reason) {
  if (stopping_) return;
  stopping_ = true;
  asio::co_spawn(io_, shutdown(reason), asio::detached);
}

void Operator::start_leader_election() {
  const auto& log = log::root();
  kube::LeaderElectionConfig lc;
  lc.lease_namespace =
      options_.leader_election_namespace.empty() ? own_namespace_ : options_.leader_election_namespace;
  lc.lease_name = options_.leader_election_id;
  lc.lease_duration = options_.lease_duration;
  lc.renew_deadline = options_.renew_deadline;
  lc.retry_period = options_.retry_period;
  const std::string lease = lc.lease_namespace + "/" + lc.lease_name;
  lc.on_started_leading = [this, lease] {
    metrics_.set_leader(options_.leader_election_id, true);
    log::root().info("became leader", {{"lease", lease}});
    start_workers_of_synced();
  };
  lc.on_stopped_leading = [this] {
    metrics_.set_leader(options_.leader_election_id, false);
    if (stopping_) return;  // our own release on shutdown
    // Another replica may be reconciling already: stop at once, as controller-runtime does (exit 1, the
    // pod restarts as a follower). In-flight reconciles are abandoned; every action is idempotent.
    for (auto& c : controllers_) c->queue->shutdown();
    log::root().error("leader election lost: exiting");
    std::fflush(nullptr);
    std::_Exit(1);
  };
  lc.on_new_leader = [lease](const std::string& holder) {
    log::root().info("observed a new leader", {{"lease", lease}, {"holder", holder}});
  };
  metrics_.set_leader(options_.leader_election_id, false);
  elector_ = std::make_unique<kube::LeaderElector>(io_.get_executor(), *lease_api_, lc);
  log.info("waiting for leadership", {{"lease", lease}, {"identity", elector_->identity()}});
  elector_->start();
}

int Operator::run() {
  const auto& log = log::root();
  signals_ = std::make_unique<runtime::ShutdownSignals>(
      io_.get_executor(), [this](int signo) { begin_shutdown(signo == SIGTERM ? "SIGTERM" : "SIGINT"); },
      [&log](int signo) {
        log.error("second signal: exiting without waiting", {{"signal", signo}});
        std::fflush(nullptr);
        std::_Exit(1);
      });
  try {
    health_.start();
    metrics_server_.start();
  } catch (const std::exception& e) {
    log.error("cannot listen", {{"error", e.what()}});
    return 2;
  }
  if (health_.enabled()) log.info("serving health probes", {{"address", health_.base_url()}});
  if (metrics_server_.enabled()) log.info("serving metrics", {{"address", metrics_server_.base_url()}});
  if (options_.on_listening) options_.on_listening(health_.base_url(), metrics_server_.base_url());

  for (auto& c : controllers_) {
    c->informer->start();
    if (c->registration.crd_required)
      for (auto& w : c->watched) w->start();
  }
  if (options_.leader_elect) start_leader_election();

  io_.run();
  // Lost leadership never gets here (it exits 1 at once); a signal ends with a clean drain.
  log.info("stopped", {{"exitCode", 0}});
  return 0;
}

}  // namespace

int run_controller(const cli::ControllerOptions& flags) {
  log::Level level = log::Level::kInfo;
  log::Format format = log::Format::kJson;
  log::parse_level(flags.log_level, level);
  log::parse_format(flags.log_format, format);
  log::configure(level, format);
  const auto& log = log::root();

  // The proxy environment is read once, here, and checked like a flag: a malformed one stops the process
  // with a message naming the variable rather than sending keys somewhere nobody meant.
  auto egress = http::EgressProxies::from_environment();
  if (!egress.error.empty()) {
    log.error("cannot use the proxy environment", {{"error", egress.error}});
    return 2;
  }
  cli::ControllerOptions options = flags;
  options.egress = egress.proxies;

  kube::LoadOptions load;
  load.kubeconfig = options.kubeconfig;
  load.context = options.context;
  auto config = kube::load_config(load);
  if (!config) {
    log.error("cannot load the Kubernetes configuration", {{"error", config.error().message}});
    return 2;
  }
  Operator op(options);
  if (!op.connect(*config)) return 2;
  for (auto& registration : registrations()) op.add(std::move(registration));
  return op.run();
}

}  // namespace raydog::wiring
