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

}  // namespace raydog::runtime
