#pragma once
// The observer's bookkeeping, pure (no I/O, no clock of its own): which cluster owns which YellowDog
// objects, how far each account's searches have read, what they already reported, and whether a cluster's
// last full observation can be trusted without reading YellowDog again (ChangeFeed::unchanged_since).
//
// How a change is seen (yellowdog_observer.hpp runs the searches): per account, every interval, one task
// search `finishedTime.min=<window start>` over the whole account (a lost node, an exit, a cancel: every
// change that matters to a running cluster ends a task) and per YellowDog namespace one work requirement
// search `statusChangedTime.min=<window start>` (cancelled, failed, finished). Each window starts `overlap`
// before the server time (the `Date` header) of the previous successful scan, so a task that finished while
// a search was in flight, or that became visible a little after its finishedTime, is in the next window;
// what the overlap returns twice is reported once (remembered by id and time until it leaves the window).
// While some cluster of the account waits for tasks to start (a converging cluster: await_starts), a third
// search `startedTime.min=<window start>` over the account reports task starts as well; a steady fleet
// makes only the first two.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller/reconcile/change_feed.hpp"
#include "controller/util/time.hpp"
#include "controller/yellowdog/model.hpp"

namespace raydog::observer {

using reconcile::TimePoint;
using Millis = std::chrono::milliseconds;

struct LedgerOptions {
  // How far each search window reaches back before the previous scan's server time (Date has 1 s
  // resolution; a finished task may become visible to searches a little after its finishedTime).
  Millis overlap{std::chrono::seconds(5)};
  // No successful scan of an account for this long: vouch for none of its clusters (they poll again).
  Millis stale_after{std::chrono::seconds(30)};
};

// What one scan found for one cluster (for the wake-up, the log and the metrics).
struct Change {
  std::string key;
  std::string what;  // "task <name> FAILED", "work requirement CANCELLED"
};

// One account's scan plan: the namespaces to search and where the windows start.
struct ScanPlan {
  std::vector<std::string> namespaces;
  SystemTime window_start;
  bool starts = false;  // search for tasks that started (some cluster awaits one)
};

class Ledger {
 public:
  explicit Ledger(LedgerOptions options = {});

  // `key` owns `cluster`'s objects from now on. New keys and changed ids count as a change at `now` (the
  // observation that called this was read before it, by a search that may have missed its groups).
  // Returns true when the account was not followed before (its scans must start).
  bool follow(const std::string& key, const reconcile::FollowedCluster& cluster, TimePoint now);
  void unfollow(const std::string& key);

  // The cluster waits for tasks to start (on) or no longer does. Turning the account's first waiter on
  // counts as a change of that cluster at `now`: the scans before did not search for starts, so an
  // observation read before now is not vouched for. Returns whether `key` is followed.
  bool await_starts(const std::string& key, bool on, TimePoint now);
  // The account's searches are current (a complete scan within stale_after of `now`).
  bool current(const std::string& key, TimePoint now) const;

  bool following(const std::string& account) const;
  // A client for the account (the one its newest follow named); null when the account is not followed.
  std::shared_ptr<yellowdog::YellowDogApi> client(const std::string& account) const;
  // The next scan of `account`: `local_now` starts the windows of a first scan (nothing is known yet; the
  // clusters followed since count as changed anyway).
  ScanPlan plan(const std::string& account, SystemTime local_now) const;

  // A complete scan of `account` (every search answered). `server_time`: the Date of the scan's first
  // answer (nullopt: the local clock at `started`). Returns the changes to report, each key once.
  // `began`: the start search's answer (empty when the plan had none).
  std::vector<Change> scanned(const std::string& account, const std::vector<yellowdog::Task>& finished,
                              const std::vector<yellowdog::Task>& began,
                              const std::vector<yellowdog::WorkRequirementSummary>& changed,
                              std::optional<SystemTime> server_time, TimePoint started, TimePoint now);
  // A failed scan is not recorded: the window start and the reported ids stay for the next successful
  // scan, and last_success ages until unchanged_since stops vouching.

  // ChangeFeed::unchanged_since at `now`.
  bool unchanged_since(const std::string& key, TimePoint since, TimePoint now) const;

  std::size_t followed() const { return clusters_.size(); }
  std::size_t remembered() const;  // reported ids kept for the overlap (a memory figure)

 private:
  struct Cluster {
    std::string account, ns, work_requirement_id;
    std::vector<std::string> task_group_ids;
    TimePoint changed_at;  // the last time a change was seen, or the follow
    bool awaits_start = false;
  };
  struct Account {
    std::shared_ptr<yellowdog::YellowDogApi> client;
    std::map<std::string, int> namespaces;  // followed clusters per YellowDog namespace
    int awaiting_start = 0;                 // followed clusters waiting for a task to start
    std::optional<SystemTime> window_start;
    std::optional<TimePoint> last_success;  // local time the last complete scan ended
    // Reported within the current window: id -> the time that made it a change (finishedTime or
    // statusChangedTime), so the overlap reports nothing twice.
    std::map<std::string, SystemTime> reported;
  };
  void release(const std::string& key, const Cluster& c);

  LedgerOptions options_;
  std::map<std::string, Cluster> clusters_;        // by cluster key
  std::map<std::string, std::string> by_object_;   // task group or work requirement id -> key
  std::map<std::string, Account> accounts_;
};

}  // namespace raydog::observer
