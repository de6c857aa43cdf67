#include "controller/runtime/clock.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <unordered_map>

namespace raydog::runtime {

net::awaitable<void> sleep_until(Clock& clock, Clock::time_point when) {
  auto ex = co_await net::this_coro::executor;
  // A timer that never expires by itself is the wake-up signal; the clock's call cancels it. The call holds
  // the timer by shared_ptr, so it stays valid if this coroutine is destroyed first.
  auto signal = std::make_shared<net::steady_timer>(ex, net::steady_timer::time_point::max());
  const auto id = clock.call_at(when, [signal] { signal->cancel(); });
  boost::system::error_code ec;
  co_await signal->async_wait(net::redirect_error(net::use_awaitable, ec));
  clock.cancel(id);
}

net::awaitable<void> sleep_for(Clock& clock, Clock::duration d) {
  co_await sleep_until(clock, clock.now() + d);
}

struct SteadyClock::Impl {
  explicit Impl(net::any_io_executor e) : ex(std::move(e)) {}
  net::any_io_executor ex;
  TimerId next_id = 1;
  std::unordered_map<TimerId, std::shared_ptr<net::steady_timer>> timers;
};

SteadyClock::SteadyClock(net::any_io_executor ex) : impl_(std::make_shared<Impl>(std::move(ex))) {}

SteadyClock::~SteadyClock() {
  for (auto& [id, timer] : impl_->timers) timer->cancel();
}

Clock::TimerId SteadyClock::call_at(time_point when, std::function<void()> fn) {
  const TimerId id = impl_->next_id++;
  auto timer = std::make_shared<net::steady_timer>(impl_->ex, when);
  impl_->timers.emplace(id, timer);
  std::weak_ptr<Impl> weak = impl_;
  timer->async_wait([weak, id, fn = std::move(fn)](boost::system::error_code ec) {
    auto impl = weak.lock();
    if (!impl) return;
    impl->timers.erase(id);
    if (!ec) fn();
  });
  return id;
}

void SteadyClock::cancel(TimerId id) {
  auto it = impl_->timers.find(id);
  if (it == impl_->timers.end()) return;
  it->second->cancel();
  impl_->timers.erase(it);
}

FakeClock::FakeClock() : now_(time_point{} + std::chrono::hours(1000)) {}

Clock::TimerId FakeClock::call_at(time_point when, std::function<void()> fn) {
  const TimerId id = next_id_++;
  calls_.emplace(std::make_pair(when, id), std::move(fn));
  by_id_.emplace(id, when);
  return id;
}

void FakeClock::cancel(TimerId id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  calls_.erase(std::make_pair(it->second, id));
  by_id_.erase(it);
}

void FakeClock::advance(duration d) {
  const time_point target = now_ + d;
  while (!calls_.empty() && calls_.begin()->first.first <= target) {
    auto node = calls_.extract(calls_.begin());
    by_id_.erase(node.key().second);
    // Time shows the call's own due time while it runs (a call that reschedules itself sees a sane now()).
    if (node.key().first > now_) now_ = node.key().first;
    node.mapped()();
  }
  now_ = target;
}

Clock::time_point FakeClock::next_due() const {
  return calls_.empty() ? now_ : calls_.begin()->first.first;
}

}  // namespace raydog::runtime
