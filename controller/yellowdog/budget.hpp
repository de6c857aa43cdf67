#pragma once
// A request budget per YellowDog account (--yellowdog-qps, --yellowdog-burst): every request of every
// client using the account's key waits for a token. YellowDog publishes no rate limit; it answers 429 when
// a client goes too fast (yellowdog-api.md §8.1). On a 429 the whole account backs off, not just the
// request that got it: every request waits until the server's Retry-After (without one: 1 s, doubling to
// 60 s while 429s continue), and the rate halves (at most once a second, never below 1/s); each second
// without a 429 then adds back a twentieth of the configured rate (additive increase, multiplicative
// decrease, as TCP and client-go's adaptive limiters do). The per-request retry of retry.hpp still applies
// on top: the request that got the 429 is retried after its own delay.
//
// Pure and single-threaded: time comes in as arguments, the client sleeps for what reserve() returns.
#include <chrono>
#include <cstdint>
#include <optional>

namespace raydog::yellowdog {

struct BudgetOptions {
  double qps = 1000;  // the ceiling the rate climbs back to; > 0
  int burst = 2000;   // >= 1
};

class RequestBudget {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Millis = std::chrono::milliseconds;

  explicit RequestBudget(BudgetOptions options, TimePoint now = std::chrono::steady_clock::now());

  // Takes the next token: how long the request must wait before it is sent (0: at once).
  Millis reserve(TimePoint now);
  // The server answered 429, with its Retry-After when it sent one.
  void throttled(std::optional<Millis> retry_after, TimePoint now);
  // The server answered something else (the account is not being throttled).
  void answered(TimePoint now);

  double rate() const { return rate_; }
  std::uint64_t throttles() const { return throttles_; }
  std::optional<TimePoint> paused_until() const { return paused_until_; }

 private:
  void refill(TimePoint now);

  BudgetOptions options_;
  double rate_;
  double tokens_;
  TimePoint last_;
  std::optional<TimePoint> paused_until_;
  std::optional<TimePoint> last_cut_;  // the last halving (at most one per second)
  TimePoint last_raise_;
  Millis backoff_{0};  // the pause without Retry-After, doubled per 429 in a row
  std::uint64_t throttles_ = 0;
};

}  // namespace raydog::yellowdog
