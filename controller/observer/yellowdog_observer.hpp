#pragma once
// The YellowDog observer (`--yellowdog-observe search`, the default): turns changes on YellowDog into
// work-queue keys, so a steady cluster costs no YellowDog call per reconcile and a lost node is noticed
// within about one interval instead of at the cluster's next poll.
//
// One scan loop per account (API URL + key id) that some followed cluster uses: every `interval`, the
// searches ledger.hpp describes (one account-wide task search and one work requirement search per
// YellowDog namespace, each usually one call). A change wakes the owning cluster's key. A failed scan is
// retried with backoff (interval doubling up to `max_backoff`) and the next successful one covers the gap
// (its window starts where the last good one ended); while an account's scans fail for longer than
// `stale_after`, its clusters are not vouched for and poll as without an observer. A server that refuses
// the searches themselves (400/404: filters it does not know) gets `unsupported_retry` before the next
// try, and its clusters poll meanwhile. The reconciler's full re-read every --resync-period stays as the
// safety net. Runs on the controller's io_context thread, like everything else.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "controller/observer/ledger.hpp"
#include "controller/reconcile/change_feed.hpp"

namespace prometheus {
class Registry;
template <class T>
class Family;
class Counter;
class Gauge;
}  // namespace prometheus

namespace raydog::observer {

struct ObserverOptions {
  Millis interval{std::chrono::seconds(2)};  // --yellowdog-observe-interval
  Millis max_backoff{std::chrono::seconds(30)};
  Millis unsupported_retry{std::chrono::minutes(10)};
  LedgerOptions ledger;
  std::function<TimePoint()> now = [] { return reconcile::Clock::now(); };
};

class YellowDogObserver final : public reconcile::ChangeFeed {
 public:
  // `wake(key)` puts a cluster's key on the work queue.
  YellowDogObserver(boost::asio::any_io_executor ex, ObserverOptions options,
                    std::function<void(const std::string&)> wake);
  ~YellowDogObserver() override;

  void follow(const std::string& key, reconcile::FollowedCluster cluster) override;
  void unfollow(const std::string& key) override;
  bool unchanged_since(const std::string& key, TimePoint since) const override;
  bool report_starts(const std::string& key, bool awaiting) override;

  void bind_metrics(prometheus::Registry& registry);
  // Scan loops end at their next wake-up.
  void stop();

  const Ledger& ledger() const { return ledger_; }

 private:
  struct Metrics;
  boost::asio::awaitable<void> scan_loop(std::string account);
  // One scan: true when every search answered.
  boost::asio::awaitable<bool> scan(const std::string& account, bool& unsupported);

  boost::asio::any_io_executor ex_;
  ObserverOptions options_;
  std::function<void(const std::string&)> wake_;
  Ledger ledger_;
  std::set<std::string> running_;  // accounts with a scan loop
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<Metrics> metrics_;
  std::string last_error_;  // logged once per distinct message
};

}  // namespace raydog::observer
