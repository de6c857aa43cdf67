#pragma once
// Time as an interface, so that queues, rate limiters and retry loops can be tested table-driven without
// sleeping: SteadyClock is the real one (Asio timers on the io_context); tests use FakeClock
// (test/support/fake_clock.hpp), which moves only when a test calls advance().
// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

namespace raydog::runtime {

namespace net = boost::asio;

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;
  using TimerId = std::uint64_t;

  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  // Runs `fn` once, at or after `when` (never inline from call_at). Returns an id for cancel().
  virtual TimerId call_at(time_point when, std::function<void()> fn) = 0;
  // Cancels a pending call (a no-op when it already ran or was cancelled).
  virtual void cancel(TimerId id) = 0;
  TimerId call_after(duration d, std::function<void()> fn) { return call_at(now() + d, std::move(fn)); }
};

// Suspends the calling coroutine until `when` by `clock` (works with FakeClock too: the coroutine resumes
// once a test advanced past `when` and the io_context runs).
net::awaitable<void> sleep_until(Clock& clock, Clock::time_point when);
net::awaitable<void> sleep_for(Clock& clock, Clock::duration d);

// The real clock: std::chrono::steady_clock and Asio timers on `ex` (one io_context thread).
class SteadyClock final : public Clock {
 public:
  explicit SteadyClock(net::any_io_executor ex);
  ~SteadyClock() override;
  time_point now() const override { return std::chrono::steady_clock::now(); }
  TimerId call_at(time_point when, std::function<void()> fn) override;
  void cancel(TimerId id) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace raydog::runtime
