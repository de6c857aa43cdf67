#include "controller/runtime/work_queue.hpp"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

namespace raydog::runtime {

namespace {
double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
}  // namespace

// Suspended get() callers and a suspended drain: each waits on a timer that never expires by itself and is
// cancelled to wake it (Asio 1.74 has no channels).
struct WorkQueue::Waiters {
  std::deque<std::shared_ptr<net::steady_timer>> getters;
  std::shared_ptr<net::steady_timer> drain;
};

WorkQueue::WorkQueue(Clock& clock, std::unique_ptr<RateLimiter> limiter, QueueMetrics* metrics)
    : clock_(clock), limiter_(std::move(limiter)), metrics_(metrics), waiters_(std::make_shared<Waiters>()) {}

WorkQueue::~WorkQueue() {
  if (waiting_timer_) clock_.cancel(*waiting_timer_);
}

void WorkQueue::wake_one() {
  if (waiters_->getters.empty()) return;
  auto t = std::move(waiters_->getters.front());
  waiters_->getters.pop_front();
  t->cancel();
}

void WorkQueue::add(const std::string& key) {
  if (shutting_down_) return;
  if (dirty_.count(key)) return;  // already queued (or queued again behind its processing)
  if (metrics_) metrics_->added();
  dirty_.insert(key);
  if (processing_.count(key)) return;  // done() puts it back
  queue_.push_back(key);
  added_at_[key] = clock_.now();
  if (metrics_) metrics_->depth(queue_.size());
  wake_one();
}

void WorkQueue::add_after(const std::string& key, Clock::duration delay) {
  if (shutting_down_) return;
  if (metrics_) metrics_->retried();
  if (delay <= Clock::duration::zero()) {
    add(key);
    return;
  }
  const auto due = clock_.now() + delay;
  auto it = waiting_by_key_.find(key);
  if (it != waiting_by_key_.end()) {
    if (it->second <= due) return;  // an earlier add is already pending
    waiting_.erase({it->second, key});
    it->second = due;
  } else {
    waiting_by_key_.emplace(key, due);
  }
  waiting_.insert({due, key});
  schedule_waiting();
}

void WorkQueue::add_rate_limited(const std::string& key) {
  add_after(key, limiter_->when(key));
}

void WorkQueue::forget(const std::string& key) {
  limiter_->forget(key);
}

int WorkQueue::num_requeues(const std::string& key) const {
  return limiter_->num_requeues(key);
}

void WorkQueue::schedule_waiting() {
  if (waiting_.empty()) {
    if (waiting_timer_) clock_.cancel(*waiting_timer_);
    waiting_timer_.reset();
    return;
  }
  const auto earliest = waiting_.begin()->first;
  if (waiting_timer_ && waiting_timer_due_ == earliest) return;
  if (waiting_timer_) clock_.cancel(*waiting_timer_);
  waiting_timer_due_ = earliest;
  waiting_timer_ = clock_.call_at(earliest, [this] { on_waiting_timer(); });
}

void WorkQueue::on_waiting_timer() {
  waiting_timer_.reset();
  const auto now = clock_.now();
  std::vector<std::string> due;
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    due.push_back(waiting_.begin()->second);
    waiting_by_key_.erase(waiting_.begin()->second);
    waiting_.erase(waiting_.begin());
  }
  for (const auto& key : due) add(key);
  schedule_waiting();
}

std::optional<std::string> WorkQueue::try_get() {
  if (shutting_down_ || queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  const auto now = clock_.now();
  if (auto it = added_at_.find(key); it != added_at_.end()) {
    if (metrics_) metrics_->queued_for(seconds(now - it->second));
    added_at_.erase(it);
  }
  processing_[key] = now;
  dirty_.erase(key);
  if (metrics_) metrics_->depth(queue_.size());
  return key;
}

net::awaitable<std::optional<std::string>> WorkQueue::get() {
  auto waiters = waiters_;
  for (;;) {
    if (shutting_down_) co_return std::nullopt;
    if (auto key = try_get()) co_return key;
    auto ex = co_await net::this_coro::executor;
    auto signal = std::make_shared<net::steady_timer>(ex, net::steady_timer::time_point::max());
    waiters->getters.push_back(signal);
    boost::system::error_code ec;
    co_await signal->async_wait(net::redirect_error(net::use_awaitable, ec));
    // Woken by add/done/shutdown (already removed) or spuriously: make sure we are not listed twice.
    auto& g = waiters->getters;
    g.erase(std::remove(g.begin(), g.end(), signal), g.end());
  }
}

void WorkQueue::done(const std::string& key) {
  auto it = processing_.find(key);
  if (it == processing_.end()) return;
  const auto now = clock_.now();
  if (metrics_) metrics_->worked_for(seconds(now - it->second));
  processing_.erase(it);
  if (dirty_.count(key) && !shutting_down_) {
    queue_.push_back(key);
    added_at_[key] = now;
    if (metrics_) metrics_->depth(queue_.size());
    wake_one();
  }
  if (processing_.empty() && waiters_->drain) waiters_->drain->cancel();
}

void WorkQueue::shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  waiting_.clear();
  waiting_by_key_.clear();
  schedule_waiting();
  auto getters = std::move(waiters_->getters);
  waiters_->getters.clear();
  for (auto& t : getters) t->cancel();
}

net::awaitable<bool> WorkQueue::shutdown_with_drain(Clock::duration grace) {
  shutdown();
  if (processing_.empty()) co_return true;
  auto ex = co_await net::this_coro::executor;
  auto signal = std::make_shared<net::steady_timer>(ex, net::steady_timer::time_point::max());
  waiters_->drain = signal;
  const auto id = clock_.call_after(grace, [signal] { signal->cancel(); });
  boost::system::error_code ec;
  co_await signal->async_wait(net::redirect_error(net::use_awaitable, ec));
  clock_.cancel(id);
  waiters_->drain.reset();
  co_return processing_.empty();
}

void WorkQueue::update_unfinished_work() {
  if (!metrics_) return;
  const auto now = clock_.now();
  double total = 0, longest = 0;
  for (const auto& [key, start] : processing_) {
    const double s = seconds(now - start);
    total += s;
    longest = std::max(longest, s);
  }
  metrics_->unfinished(total, longest);
}

}  // namespace raydog::runtime
