#include "controller/reconcile/controller.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <set>
#include <sstream>

#include "api/duration.hpp"
#include "controller/http/server.hpp"
#include "controller/kube/config.hpp"
#include "controller/kube/events.hpp"
#include "controller/kube/informer.hpp"
#include "controller/kube/leader_election.hpp"
#include "controller/kube/rest_client.hpp"
#include "controller/reconcile/reconciler.hpp"
#include "controller/runtime/log.hpp"
#include "controller/yellowdog/client.hpp"

namespace raydog::reconcile {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------------
// Work queue with client-go semantics: a key is queued at most once, never processed by two workers at
// once, and a key added while being processed is processed again after done(). Per-key exponential
// backoff for failures; delayed adds for requeues. Single-threaded (the io thread): no locks.
class KeyQueue {
 public:
  explicit KeyQueue(asio::any_io_executor ex) : ex_(ex), wake_(ex) {
    wake_.expires_at(asio::steady_timer::time_point::max());
  }

  void add(const std::string& key) {
    if (shutdown_ || dirty_.count(key)) return;
    dirty_.insert(key);
    ++adds_;
    if (processing_.count(key)) return;
    queue_.push_back(key);
    wake_.cancel_one();
  }

  void add_after(const std::string& key, Millis delay) {
    if (shutdown_) return;
    if (delay <= Millis(0)) return add(key);
    auto deadline = std::chrono::steady_clock::now() + delay;
    auto it = delayed_.find(key);
    if (it != delayed_.end() && it->second <= deadline) return;  // an earlier wake-up is pending
    delayed_[key] = deadline;
    auto timer = std::make_shared<asio::steady_timer>(ex_, delay);
    timers_.insert(timer);
    asio::co_spawn(
        ex_,
        [this, key, timer, deadline]() -> asio::awaitable<void> {
          boost::system::error_code ec;
          co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
          timers_.erase(timer);
          if (ec) co_return;
          auto it = delayed_.find(key);
          if (it != delayed_.end() && it->second == deadline) delayed_.erase(it);
          add(key);
        },
        asio::detached);
  }

  // Per-key backoff: 200ms doubling to 5 minutes.
  void add_rate_limited(const std::string& key) {
    int n = failures_[key]++;
    Millis d = 200ms * (1LL << std::min(n, 11));
    add_after(key, std::min<Millis>(d, std::chrono::minutes(5)));
    ++retries_;
  }
  void forget(const std::string& key) { failures_.erase(key); }

  asio::awaitable<std::optional<std::string>> get() {
    while (queue_.empty() && !shutdown_) {
      boost::system::error_code ec;
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (shutdown_) co_return std::nullopt;
    std::string key = std::move(queue_.front());
    queue_.pop_front();
    dirty_.erase(key);
    processing_.insert(key);
    co_return key;
  }

  void done(const std::string& key) {
    processing_.erase(key);
    if (dirty_.count(key) && !shutdown_) {
      queue_.push_back(key);
      wake_.cancel_one();
    }
  }

  void shutdown() {
    shutdown_ = true;
    wake_.cancel();
    for (auto& t : timers_) t->cancel();
  }

  std::size_t depth() const { return queue_.size(); }
  std::uint64_t adds() const { return adds_; }
  std::uint64_t retries() const { return retries_; }

 private:
  asio::any_io_executor ex_;
  asio::steady_timer wake_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_, processing_;
  std::map<std::string, int> failures_;
  std::map<std::string, std::chrono::steady_clock::time_point> delayed_;
  std::set<std::shared_ptr<asio::steady_timer>> timers_;
  bool shutdown_ = false;
  std::uint64_t adds_ = 0, retries_ = 0;
};

// ":8080" -> "0.0.0.0:8080"; "0" or "" -> disabled.
std::optional<std::string> listen_address(const std::string& bind) {
  if (bind.empty() || bind == "0") return std::nullopt;
  if (bind.front() == ':') return "0.0.0.0" + bind;
  return bind;
}

struct Metrics {
  std::uint64_t reconcile_success = 0, reconcile_error = 0, reconcile_requeue_after = 0;
  std::uint64_t yellowdog_calls = 0;
  double reconcile_seconds_sum = 0;
  std::uint64_t reconcile_seconds_count = 0;
  int active_workers = 0;
  bool leader = false;
};

std::string render_metrics(const Metrics& m, const KeyQueue& q, int max_workers, bool leader_elect) {
  std::ostringstream o;
  const char* c = "controller=\"raydogcluster\"";
  o << "# TYPE controller_runtime_reconcile_total counter\n";
  o << "controller_runtime_reconcile_total{" << c << ",result=\"success\"} " << m.reconcile_success << "\n";
  o << "controller_runtime_reconcile_total{" << c << ",result=\"error\"} " << m.reconcile_error << "\n";
  o << "controller_runtime_reconcile_total{" << c << ",result=\"requeue_after\"} "
    << m.reconcile_requeue_after << "\n";
  o << "# TYPE controller_runtime_reconcile_errors_total counter\n";
  o << "controller_runtime_reconcile_errors_total{" << c << "} " << m.reconcile_error << "\n";
  o << "# TYPE controller_runtime_reconcile_time_seconds summary\n";
  o << "controller_runtime_reconcile_time_seconds_sum{" << c << "} " << m.reconcile_seconds_sum << "\n";
  o << "controller_runtime_reconcile_time_seconds_count{" << c << "} " << m.reconcile_seconds_count << "\n";
  o << "# TYPE controller_runtime_max_concurrent_reconciles gauge\n";
  o << "controller_runtime_max_concurrent_reconciles{" << c << "} " << max_workers << "\n";
  o << "# TYPE controller_runtime_active_workers gauge\n";
  o << "controller_runtime_active_workers{" << c << "} " << m.active_workers << "\n";
  o << "# TYPE workqueue_depth gauge\nworkqueue_depth{name=\"raydogcluster\"} " << q.depth() << "\n";
  o << "# TYPE workqueue_adds_total counter\nworkqueue_adds_total{name=\"raydogcluster\"} " << q.adds()
    << "\n";
  o << "# TYPE workqueue_retries_total counter\nworkqueue_retries_total{name=\"raydogcluster\"} "
    << q.retries() << "\n";
  if (leader_elect)
    o << "# TYPE leader_election_master_status gauge\nleader_election_master_status{name=\"raydogcluster\"} "
      << (m.leader ? 1 : 0) << "\n";
  o << "# TYPE raydog_yellowdog_calls_total counter\nraydog_yellowdog_calls_total " << m.yellowdog_calls
    << "\n";
  return o.str();
}

bool parse_duration_flag(const std::string& v, std::chrono::milliseconds& out) {
  auto d = api::parse_go_duration(v);
  if (!d || d->count() < 0) return false;
  out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  return true;
}

}  // namespace

std::string controller_usage() {
  return R"(raydog-operator run [flags]
  --kubeconfig PATH                  kubeconfig file (default: KUBECONFIG, in-cluster, ~/.kube/config)
  --context NAME                     kubeconfig context
  --namespace NS                     watch only this namespace (default: all)
  --max-concurrent-reconciles N      parallel reconciles (default 4)
  --leader-elect                     use a Lease so only one replica reconciles
  --leader-election-namespace NS     (default: the pod's / context's namespace)
  --leader-election-id NAME          Lease name (default raydog-operator-leader)
  --leader-election-lease-duration D (default 15s)
  --leader-election-renew-deadline D (default 10s)
  --leader-election-retry-period D   (default 2s)
  --health-probe-bind-address ADDR   /healthz, /readyz (default :8081; 0 disables)
  --metrics-bind-address ADDR        /metrics (default :8080; 0 disables)
  --log-format json|text             (default json)
  --log-level debug|info|warn|error  (default info)
  --requeue-converging D             YellowDog poll interval while converging (default 2s)
  --requeue-steady D                 poll interval when steady, jittered +-10% (default 60s)
  --cleanup-timeout D                give up YellowDog clean-up on delete after D (default 10m)
  --shutdown-grace D                 drain time on SIGTERM (default 30s)
  --yellowdog-retry-base D           first retry backoff of YellowDog reads (default 10s)
  --yellowdog-max-retries N          (default 3)
  --yellowdog-request-timeout D      (default 60s)
)";
}

Result<ControllerOptions, std::string> parse_controller_flags(const std::vector<std::string>& args) {
  ControllerOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_value = false;
    if (auto eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    if (flag == "--help" || flag == "-h") return unexpected(controller_usage());
    if (flag == "--leader-elect") {
      o.leader_elect = !has_value || value == "true" || value == "1";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return unexpected(flag + ": missing value");
      value = args[++i];
    }
    auto dur = [&](std::chrono::milliseconds& out) -> std::optional<std::string> {
      if (!parse_duration_flag(value, out)) return flag + ": not a duration: " + value;
      return std::nullopt;
    };
    auto num = [&](int& out) -> std::optional<std::string> {
      try {
        std::size_t pos = 0;
        out = std::stoi(value, &pos);
        if (pos != value.size() || out < 0) throw std::invalid_argument(value);
      } catch (...) {
        return flag + ": not a non-negative integer: " + value;
      }
      return std::nullopt;
    };
    std::optional<std::string> err;
    if (flag == "--kubeconfig")
      o.kubeconfig = value;
    else if (flag == "--context")
      o.context = value;
    else if (flag == "--namespace")
      o.watch_namespace = value;
    else if (flag == "--max-concurrent-reconciles") {
      err = num(o.max_concurrent_reconciles);
      if (!err && o.max_concurrent_reconciles < 1) err = flag + ": must be >= 1";
    } else if (flag == "--leader-election-namespace")
      o.leader_election_namespace = value;
    else if (flag == "--leader-election-id")
      o.leader_election_id = value;
    else if (flag == "--leader-election-lease-duration")
      err = dur(o.lease_duration);
    else if (flag == "--leader-election-renew-deadline")
      err = dur(o.renew_deadline);
    else if (flag == "--leader-election-retry-period")
      err = dur(o.retry_period);
    else if (flag == "--health-probe-bind-address")
      o.health_probe_bind_address = value;
    else if (flag == "--metrics-bind-address")
      o.metrics_bind_address = value;
    else if (flag == "--log-format") {
      log::Format f;
      if (!log::parse_format(value, f)) err = flag + ": must be json or text";
      o.log_format = value;
    } else if (flag == "--log-level") {
      log::Level l;
      if (!log::parse_level(value, l)) err = flag + ": must be debug, info, warn or error";
      o.log_level = value;
    } else if (flag == "--requeue-converging")
      err = dur(o.requeue_converging);
    else if (flag == "--requeue-steady")
      err = dur(o.requeue_steady);
    else if (flag == "--cleanup-timeout")
      err = dur(o.cleanup_timeout);
    else if (flag == "--shutdown-grace")
      err = dur(o.shutdown_grace);
    else if (flag == "--yellowdog-retry-base")
      err = dur(o.yellowdog_retry_base);
    else if (flag == "--yellowdog-max-retries")
      err = num(o.yellowdog_max_retries);
    else if (flag == "--yellowdog-request-timeout")
      err = dur(o.yellowdog_request_timeout);
    else
      return unexpected("unknown flag " + flag + " (see --help)");
    if (err) return unexpected(*err);
  }
  return o;
}

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
  auto rest = kube::RestClient::create(io.get_executor(), *config);
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

  kube::InformerOptions io_opts;
  io_opts.resource = kube::resources::kRayDogClusters;
  io_opts.ns = options.watch_namespace;
  kube::Informer informer(io.get_executor(), api, io_opts);
  KeyQueue queue(io.get_executor());
  informer.add_handler([&](kube::InformerEvent, const std::string& key) { queue.add(key); });

  ReconcilerOptions ro;
  ro.plan.cleanup_timeout = options.cleanup_timeout;
  ro.plan.requeue_converging = options.requeue_converging;
  ro.plan.requeue_steady = options.requeue_steady;
  ro.plan.credentials_retry =
      std::min<Millis>(std::chrono::seconds(30), std::max(options.requeue_steady, Millis(1000)));
  Reconciler reconciler(
      api, [&](const std::string& key) { return informer.get(key); }, clients, &events, ro);

  Metrics metrics;
  int exit_code = 0;
  bool stopping = false;
  int workers_running = 0;
  std::unique_ptr<kube::LeaderElector> elector;
  std::unique_ptr<http::Server> health, metrics_server;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer drain_timer(io);

  auto worker = [&]() -> asio::awaitable<void> {
    ++workers_running;
    while (true) {
      auto key = co_await queue.get();
      if (!key) break;
      ++metrics.active_workers;
      auto started = std::chrono::steady_clock::now();
      ReconcileResult r;
      try {
        r = co_await reconciler.reconcile(*key);
      } catch (const std::exception& e) {
        log.error("reconcile threw", {{"object", *key}, {"error", e.what()}});
        r.next = ReconcileResult::Next::kRateLimited;
        r.error = Error{ErrorKind::Unknown, e.what()};
      }
      --metrics.active_workers;
      metrics.reconcile_seconds_sum +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      ++metrics.reconcile_seconds_count;
      metrics.yellowdog_calls += static_cast<std::uint64_t>(r.yellowdog_calls);
      switch (r.next) {
        case ReconcileResult::Next::kRateLimited:
          ++metrics.reconcile_error;
          queue.add_rate_limited(*key);
          break;
        case ReconcileResult::Next::kRequeueAfter:
          ++metrics.reconcile_requeue_after;
          if (!r.error) queue.forget(*key);
          queue.add_after(*key, r.after);
          break;
        case ReconcileResult::Next::kDone:
          ++metrics.reconcile_success;
          queue.forget(*key);
          break;
      }
      queue.done(*key);
    }
    --workers_running;
  };

  bool workers_started = false;
  auto start_workers = [&] {
    if (workers_started || stopping) return;
    workers_started = true;
    metrics.leader = true;
    log.info("starting workers", {{"count", options.max_concurrent_reconciles}});
    for (int i = 0; i < options.max_concurrent_reconciles; ++i) asio::co_spawn(io, worker(), asio::detached);
    for (const auto& key : informer.keys()) queue.add(key);
  };

  auto begin_shutdown = [&](const char* why) {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", {{"reason", why}});
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          queue.shutdown();  // workers finish their current reconcile, then return
          auto deadline = std::chrono::steady_clock::now() + options.shutdown_grace;
          while (workers_running > 0 && std::chrono::steady_clock::now() < deadline) {
            drain_timer.expires_after(20ms);
            {
              boost::system::error_code ec;
              co_await drain_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
          }
          if (workers_running > 0) log.warn("shutdown grace expired with reconciles in flight");
          informer.stop();
          if (elector) elector->stop();  // releases the lease
          if (health) health->stop();
          if (metrics_server) metrics_server->stop();
          signals.cancel();
          // Give the recorder a moment to flush queued Events (best-effort).
          for (int i = 0; i < 50 && recorder.pending() > 0; ++i) {
            drain_timer.expires_after(20ms);
            {
              boost::system::error_code ec;
              co_await drain_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
          }
          // The lease release runs in the elector's coroutine: let it finish, then end the loop even if an
          // idle keep-alive connection or a watch would keep the io_context alive.
          for (int i = 0; i < 150 && elector && elector->running(); ++i) {
            drain_timer.expires_after(20ms);
            boost::system::error_code ec;
            co_await drain_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          }
          io.stop();
        },
        asio::detached);
  };

  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    begin_shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  });

  try {
    if (auto addr = listen_address(options.health_probe_bind_address)) {
      http::ServerOptions so;
      so.listen = *addr;
      health = std::make_unique<http::Server>(io, so, [&](http::Exchange& ex) -> asio::awaitable<void> {
        auto& req = ex.request();
        std::string target(req.target());
        if (target == "/healthz" || target.rfind("/healthz?", 0) == 0) {
          co_await ex.respond(http::make_response(req, http::bhttp::status::ok, "ok", "text/plain"));
        } else if (target == "/readyz" || target.rfind("/readyz?", 0) == 0) {
          bool ready = informer.has_synced() && !stopping;
          co_await ex.respond(http::make_response(
              req, ready ? http::bhttp::status::ok : http::bhttp::status::service_unavailable,
              ready ? "ok" : "informer not synced", "text/plain"));
        } else {
          co_await ex.respond(
              http::make_response(req, http::bhttp::status::not_found, "not found", "text/plain"));
        }
      });
      health->start();
    }
    if (auto addr = listen_address(options.metrics_bind_address)) {
      http::ServerOptions so;
      so.listen = *addr;
      metrics_server =
          std::make_unique<http::Server>(io, so, [&](http::Exchange& ex) -> asio::awaitable<void> {
            auto& req = ex.request();
            if (std::string(req.target()).rfind("/metrics", 0) == 0) {
              co_await ex.respond(http::make_response(
                  req, http::bhttp::status::ok,
                  render_metrics(metrics, queue, options.max_concurrent_reconciles, options.leader_elect),
                  "text/plain; version=0.0.4"));
            } else {
              co_await ex.respond(
                  http::make_response(req, http::bhttp::status::not_found, "not found", "text/plain"));
            }
          });
      metrics_server->start();
    }
  } catch (const std::exception& e) {
    log.error("cannot listen", {{"error", e.what()}});
    return 2;
  }
  if (options.on_listening)
    options.on_listening(health ? health->base_url() : "", metrics_server ? metrics_server->base_url() : "");

  informer.start();
  if (options.leader_elect) {
    kube::LeaderElectionConfig lc;
    lc.lease_namespace =
        options.leader_election_namespace.empty() ? own_namespace : options.leader_election_namespace;
    lc.lease_name = options.leader_election_id;
    lc.lease_duration = options.lease_duration;
    lc.renew_deadline = options.renew_deadline;
    lc.retry_period = options.retry_period;
    lc.on_started_leading = [&] {
      log.info("became leader");
      if (informer.has_synced()) start_workers();
    };
    lc.on_stopped_leading = [&] {
      metrics.leader = false;
      if (!stopping) {
        log.error("lost leadership: exiting so a follower takes over");
        exit_code = 1;
        begin_shutdown("lost leadership");
      }
    };
    elector = std::make_unique<kube::LeaderElector>(io.get_executor(), api, lc);
    elector->start();
  }
  informer.on_synced([&] {
    log.info("cache synced", {{"objects", informer.size()}});
    if (!options.leader_elect || (elector && elector->is_leader())) start_workers();
  });

  io.run();
  log.info("stopped", {{"exitCode", exit_code}});
  return exit_code;
}

}  // namespace raydog::reconcile
