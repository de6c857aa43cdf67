#include "controller/observer/yellowdog_observer.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "controller/runtime/log.hpp"
#include "controller/yellowdog/api.hpp"

namespace raydog::observer {

namespace net = boost::asio;
namespace yd = raydog::yellowdog;

namespace {

const log::Logger& logger() {
  static const log::Logger l = log::root().with({{"component", "yellowdog-observer"}});
  return l;
}

// The account as logs may show it: the API URL without the key id (ids are not secret, but nothing gains
// from printing them).
std::string shown(const std::string& account) {
  const auto space = account.find(' ');
  return space == std::string::npos ? account : account.substr(0, space);
}

}  // namespace

struct YellowDogObserver::Metrics {
  prometheus::Counter* scans_ok = nullptr;
  prometheus::Counter* scans_failed = nullptr;
  prometheus::Counter* searches = nullptr;
  prometheus::Counter* changes = nullptr;
  prometheus::Gauge* followed = nullptr;
};

YellowDogObserver::YellowDogObserver(net::any_io_executor ex, ObserverOptions options,
                                     std::function<void(const std::string&)> wake)
    : ex_(std::move(ex)), options_(std::move(options)), wake_(std::move(wake)), ledger_(options_.ledger) {}

YellowDogObserver::~YellowDogObserver() {
  stop();
}

void YellowDogObserver::stop() {
  *alive_ = false;
}

void YellowDogObserver::bind_metrics(prometheus::Registry& registry) {
  metrics_ = std::make_unique<Metrics>();
  auto& scans = prometheus::BuildCounter()
                    .Name("raydog_yellowdog_observer_scans_total")
                    .Help("Scans of a YellowDog account by the observer, by result")
                    .Register(registry);
  metrics_->scans_ok = &scans.Add({{"result", "ok"}});
  metrics_->scans_failed = &scans.Add({{"result", "error"}});
  metrics_->searches = &prometheus::BuildCounter()
                            .Name("raydog_yellowdog_observer_searches_total")
                            .Help("YellowDog searches made by the observer (one call each unless the answer "
                                  "spans several slices)")
                            .Register(registry)
                            .Add({});
  metrics_->changes = &prometheus::BuildCounter()
                           .Name("raydog_yellowdog_observer_changes_total")
                           .Help("Clusters woken by a change the observer saw on YellowDog")
                           .Register(registry)
                           .Add({});
  metrics_->followed = &prometheus::BuildGauge()
                            .Name("raydog_yellowdog_observer_followed_clusters")
                            .Help("Clusters whose YellowDog objects the observer follows")
                            .Register(registry)
                            .Add({});
}

void YellowDogObserver::follow(const std::string& key, reconcile::FollowedCluster cluster) {
  const std::string account = cluster.account;
  ledger_.follow(key, cluster, options_.now());
  if (metrics_) metrics_->followed->Set(static_cast<double>(ledger_.followed()));
  if (!*alive_ || running_.contains(account)) return;
  running_.insert(account);
  logger().info("observing YellowDog account", {{"apiURL", shown(account)},
                                                 {"intervalMs", options_.interval.count()}});
  net::co_spawn(ex_, scan_loop(account), net::detached);
}

void YellowDogObserver::unfollow(const std::string& key) {
  ledger_.unfollow(key);
  if (metrics_) metrics_->followed->Set(static_cast<double>(ledger_.followed()));
}

bool YellowDogObserver::unchanged_since(const std::string& key, TimePoint since) const {
  return ledger_.unchanged_since(key, since, options_.now());
}

bool YellowDogObserver::report_starts(const std::string& key, bool awaiting) {
  const TimePoint now = options_.now();
  return ledger_.await_starts(key, awaiting, now) && ledger_.current(key, now);
}

net::awaitable<void> YellowDogObserver::scan_loop(std::string account) {
  const auto alive = alive_;  // the observer may be gone when a timer fires
  Millis wait = options_.interval;
  bool failing = false;
  for (;;) {
    net::steady_timer timer(ex_, wait);
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (!*alive) co_return;
    if (!ledger_.following(account)) {
      running_.erase(account);
      logger().info("no cluster uses the YellowDog account any more: scans stop", {{"apiURL", shown(account)}});
      co_return;
    }
    bool unsupported = false;
    const bool ok = co_await scan(account, unsupported);
    if (!*alive) co_return;
    if (metrics_) (ok ? metrics_->scans_ok : metrics_->scans_failed)->Increment();
    if (ok) {
      if (failing) logger().info("YellowDog scans resumed", {{"apiURL", shown(account)}});
      failing = false;
      last_error_.clear();
      wait = options_.interval;
    } else {
      failing = true;
      wait = unsupported ? options_.unsupported_retry : std::min(options_.max_backoff, wait * 2);
    }
  }
}

net::awaitable<bool> YellowDogObserver::scan(const std::string& account, bool& unsupported) {
  const auto alive = alive_;  // checked after every wait: the observer may be gone when the answer comes
  auto client = ledger_.client(account);
  if (!client) co_return true;
  const TimePoint started = options_.now();
  const ScanPlan plan = ledger_.plan(account, started);
  const std::string since = yd::format_timestamp(plan.window_start);

  // Each answer is counted; a failed one ends the scan and leaves the ledger as it was (its window start
  // stays, so the next good scan covers the gap).
  const auto failed = [&](const yd::YdError& e) {
    unsupported = e.kind == yd::YdErrorKind::kInvalidRequest || e.kind == yd::YdErrorKind::kNotFound;
    const std::string message = std::string(yd::to_string(e.kind)) + ": " + e.message;
    if (message != last_error_) {
      last_error_ = message;
      logger().warn(unsupported ? "YellowDog refused the observer's searches: its clusters poll instead"
                                : "YellowDog scan failed: its clusters poll until scans succeed again",
                    {{"apiURL", shown(account)}, {"operation", e.operation}, {"error", message}});
    }
  };
  const auto usable = [&](const auto& answer) {
    if (metrics_) metrics_->searches->Increment();
    if (!answer) failed(answer.error());
    return answer.ok();
  };

  yd::TaskSearch tasks;
  tasks.finished_time_min = since;
  auto finished = co_await client->search_tasks(tasks);
  if (!*alive || !usable(finished)) co_return false;
  const auto server_time = client->server_time();  // the Date of (about) the scan's first answer

  std::vector<yd::Task> began;
  if (plan.starts) {
    yd::TaskSearch starts;
    starts.started_time_min = since;
    auto found = co_await client->search_tasks(starts);
    if (!*alive || !usable(found)) co_return false;
    began = std::move(*found);
  }

  std::vector<yd::WorkRequirementSummary> changed;
  for (const auto& ns : plan.namespaces) {
    yd::WorkRequirementSearch wrs;
    wrs.namespace_ = ns;
    wrs.status_changed_time_min = since;
    auto found = co_await client->search_work_requirements(wrs);
    if (!*alive || !usable(found)) co_return false;
    for (auto& s : *found) changed.push_back(std::move(s));
  }

  const auto changes = ledger_.scanned(account, *finished, began, changed, server_time, started, options_.now());
  for (const auto& c : changes) {
    logger().debug("YellowDog change", {{"object", c.key}, {"change", c.what}});
    wake_(c.key);
  }
  if (metrics_ && !changes.empty()) metrics_->changes->Increment(static_cast<double>(changes.size()));
  co_return true;
}

}  // namespace raydog::observer
