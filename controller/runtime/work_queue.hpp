#pragma once
// A work queue of string keys ("namespace/name") with client-go's semantics:
// - dedup: a key added many times before it is processed is processed once;
// - a key is never handed to two workers at once; re-added while processing, it is processed again
//   after done();
// - add_after() delays an add (the earliest of several pending delays wins); add_rate_limited() delays by
//   the rate limiter (per-item backoff, overall bucket); forget() ends an item's backoff;
// - shutdown(): adds are dropped and get() returns nullopt at once (stop taking work: unlike client-go,
//   queued keys are not handed out any more); shutdown_with_drain() also waits (bounded) until every key
//   being processed is done.
// Everything runs on the io_context's single thread (design §2): no locks.
// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "controller/runtime/clock.hpp"
#include "controller/runtime/rate_limiter.hpp"

namespace raydog::runtime {

// Observations for workqueue_* metrics (implemented in metrics.cpp; tests may count).
class QueueMetrics {
 public:
  virtual ~QueueMetrics() = default;
  virtual void added() = 0;                     // workqueue_adds_total
  virtual void depth(std::size_t depth) = 0;    // workqueue_depth
  virtual void queued_for(double seconds) = 0;  // workqueue_queue_duration_seconds
  virtual void worked_for(double seconds) = 0;  // workqueue_work_duration_seconds
  virtual void retried() = 0;                   // workqueue_retries_total
  // workqueue_unfinished_work_seconds, workqueue_longest_running_processor_seconds (sampled by scrapes)
  virtual void unfinished(double total_seconds, double longest_seconds) = 0;
};

class WorkQueue {
 public:
  WorkQueue(Clock& clock, std::unique_ptr<RateLimiter> limiter, QueueMetrics* metrics = nullptr);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void add_after(const std::string& key, Clock::duration delay);
  void add_rate_limited(const std::string& key);
  void forget(const std::string& key);
  int num_requeues(const std::string& key) const;

  // The next key (marked processing), nullopt when none is ready. Never blocks.
  std::optional<std::string> try_get();
  // Waits for the next key; nullopt once shut down. For coroutine workers on the queue's io_context.
  net::awaitable<std::optional<std::string>> get();
  // The worker finished `key` (success or not). Must follow every key returned by get()/try_get().
  void done(const std::string& key);

  void shutdown();
  // shutdown(), then waits until nothing is processing or `grace` passed (by the queue's clock). Returns
  // true when everything in flight finished.
  net::awaitable<bool> shutdown_with_drain(Clock::duration grace);
  bool shutting_down() const { return shutting_down_; }

  std::size_t len() const { return queue_.size(); }  // ready keys
  std::size_t processing() const { return processing_.size(); }
  std::size_t waiting() const { return waiting_by_key_.size(); }  // delayed keys
  bool is_dirty(const std::string& key) const { return dirty_.count(key) != 0; }

  // Refreshes the unfinished-work gauges (call before a scrape).
  void update_unfinished_work();

 private:
  struct Waiters;
  void wake_one();
  void schedule_waiting();
  void on_waiting_timer();

  Clock& clock_;
  std::unique_ptr<RateLimiter> limiter_;
  QueueMetrics* metrics_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_map<std::string, Clock::time_point> processing_;  // key -> start
  std::unordered_map<std::string, Clock::time_point> added_at_;    // key -> when it became ready
  // Delayed adds: earliest due time per key, and the same ordered by time.
  std::unordered_map<std::string, Clock::time_point> waiting_by_key_;
  std::set<std::pair<Clock::time_point, std::string>> waiting_;
  std::optional<Clock::TimerId> waiting_timer_;
  Clock::time_point waiting_timer_due_{};
  bool shutting_down_ = false;
  std::shared_ptr<Waiters> waiters_;
};

}  // namespace raydog::runtime
