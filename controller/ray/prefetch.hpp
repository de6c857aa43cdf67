#pragma once
// Steady reconciles find their head read already made (the no-op reconcile goal, issue 23): a full
// reconcile of a cluster whose head answered and that requeues itself for a steady interval arms a timer
// that starts the next GCS read (an EarlyRead) `lead` before that reconcile is due. The reconcile's
// start_reads takes it when it is fresh and about the same head task and address; a reconcile that comes
// earlier (woken by a change) or later than `fresh` after the read started reads afresh as before, and the
// timer or read is dropped. So the steady poll stays one GCS call a minute, made outside the reconcile's
// critical path instead of inside it.
//
// Everything runs on the controller's io_context thread (timers, takes), like the passes.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "controller/ray/early_read.hpp"

namespace raydog::ray {

struct PrefetchOptions {
  std::chrono::milliseconds lead{std::chrono::milliseconds(500)};  // read this long before the reconcile
  std::chrono::milliseconds fresh{std::chrono::seconds(3)};        // an older answer is read again
  std::chrono::milliseconds min_requeue{std::chrono::seconds(5)};  // shorter requeues read in the reconcile
};

class HeadPrefetch {
 public:
  // `started(calls)` counts the GCS calls a prefetch makes (2 with the handshake, else 1); `ended(used)`
  // each prefetched read taken by its reconcile (true) or dropped unused (false).
  explicit HeadPrefetch(PrefetchOptions options = {}, std::function<void(int)> started = {},
                        std::function<void(bool)> ended = {});
  ~HeadPrefetch();
  HeadPrefetch(const HeadPrefetch&) = delete;
  HeadPrefetch& operator=(const HeadPrefetch&) = delete;

  // The next reconcile of `key` is due in `after`: read `head_task`'s GCS at `address` `lead` before.
  // Replaces what was scheduled for the key. Nothing when `after` is below min_requeue.
  void schedule(boost::asio::any_io_executor ex, const std::string& key, std::string head_task,
                std::string address, HeadClientOptions options, std::chrono::milliseconds after);
  // The prefetched read for this reconcile of `key`, or null (none, another head or address, too old);
  // whatever was scheduled for the key ends here either way.
  std::shared_ptr<EarlyRead> take(const std::string& key, const std::string& head_task, const std::string& address);
  void forget(const std::string& key);

  std::size_t pending() const { return entries_.size(); }

 private:
  struct Entry {
    std::unique_ptr<boost::asio::steady_timer> timer;
    std::string head_task, address;
    HeadClientOptions options;
    std::shared_ptr<EarlyRead> read;
    std::chrono::steady_clock::time_point read_started;
    std::uint64_t generation = 0;
  };

  PrefetchOptions options_;
  void ended(bool used) {
    if (ended_) ended_(used);
  }

  std::function<void(int)> started_;
  std::function<void(bool)> ended_;
  std::map<std::string, Entry> entries_;
  std::uint64_t next_generation_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace raydog::ray
