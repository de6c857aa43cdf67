#include "controller/yellowdog/budget.hpp"

#include <algorithm>

namespace raydog::yellowdog {

namespace {
constexpr std::chrono::seconds kSecond{1};
constexpr std::chrono::seconds kMaxPause{60};
}  // namespace

RequestBudget::RequestBudget(BudgetOptions options, TimePoint now)
    : options_(options),
      rate_(std::max(options.qps, 1e-3)),
      tokens_(std::max(options.burst, 1)),
      last_(now),
      last_raise_(now) {}

// Tokens accrue at the current rate, but not while the account is paused: after a 429 the halved rate
// applies from the pause's end, without a burst saved up during it.
void RequestBudget::refill(TimePoint now) {
  if (now <= last_) return;
  TimePoint from = last_;
  if (paused_until_ && *paused_until_ > from) from = std::min(now, *paused_until_);
  const double elapsed = std::chrono::duration<double>(now - from).count();
  tokens_ = std::min(static_cast<double>(std::max(options_.burst, 1)), tokens_ + elapsed * rate_);
  last_ = now;
}

RequestBudget::Millis RequestBudget::reserve(TimePoint now) {
  refill(now);
  tokens_ -= 1.0;
  // A negative balance is the queue of earlier reservations: each waits behind those before it.
  auto wait = tokens_ >= 0.0 ? Millis(0)
                             : std::chrono::duration_cast<Millis>(std::chrono::duration<double>(-tokens_ / rate_));
  if (paused_until_ && *paused_until_ > now)
    wait = std::max(wait, std::chrono::duration_cast<Millis>(*paused_until_ - now));
  return wait;
}

void RequestBudget::throttled(std::optional<Millis> retry_after, TimePoint now) {
  ++throttles_;
  backoff_ = backoff_.count() == 0 ? Millis(kSecond) : std::min<Millis>(backoff_ * 2, kMaxPause);
  const Millis pause = std::min<Millis>(retry_after.value_or(backoff_), kMaxPause);
  const TimePoint until = now + pause;
  if (!paused_until_ || *paused_until_ < until) paused_until_ = until;
  if (!last_cut_ || now - *last_cut_ >= kSecond) {
    refill(now);
    rate_ = std::max(1.0, rate_ / 2);
    tokens_ = std::min(tokens_, 0.0);  // no burst right after the pause: the halved rate from the start
    last_cut_ = now;
  }
  last_raise_ = now;
}

void RequestBudget::answered(TimePoint now) {
  if (paused_until_ && *paused_until_ <= now) paused_until_.reset();
  if (rate_ >= options_.qps) {
    backoff_ = Millis(0);
    return;
  }
  if (now - last_raise_ < kSecond) return;
  refill(now);
  rate_ = std::min(options_.qps, rate_ + options_.qps / 20);
  last_raise_ = now;
  if (rate_ >= options_.qps) backoff_ = Millis(0);
}

}  // namespace raydog::yellowdog
