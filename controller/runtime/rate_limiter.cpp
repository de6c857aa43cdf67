#include "controller/runtime/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace raydog::runtime {

ItemExponentialRateLimiter::ItemExponentialRateLimiter(duration base, duration max_delay)
    : base_(base), max_(max_delay) {}

RateLimiter::duration ItemExponentialRateLimiter::when(const std::string& item) {
  const int exp = failures_[item]++;
  // In floating point first: 2^exp overflows any integer duration long before the cap is reached.
  const double backoff = static_cast<double>(base_.count()) * std::pow(2.0, exp);
  if (backoff >= static_cast<double>(max_.count())) return max_;
  return duration(static_cast<duration::rep>(backoff));
}

void ItemExponentialRateLimiter::forget(const std::string& item) {
  failures_.erase(item);
}

int ItemExponentialRateLimiter::num_requeues(const std::string& item) const {
  auto it = failures_.find(item);
  return it == failures_.end() ? 0 : it->second;
}

BucketRateLimiter::BucketRateLimiter(Clock& clock, double qps, int burst)
    : clock_(clock), qps_(qps), burst_(burst), tokens_(burst), last_(clock.now()) {}

RateLimiter::duration BucketRateLimiter::when(const std::string&) {
  const auto now = clock_.now();
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1.0;
  if (tokens_ >= 0.0) return duration::zero();
  // Tokens may go negative: each later reservation waits behind the earlier ones.
  return std::chrono::duration_cast<duration>(std::chrono::duration<double>(-tokens_ / qps_));
}

MaxOfRateLimiter::MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters)
    : limiters_(std::move(limiters)) {}

RateLimiter::duration MaxOfRateLimiter::when(const std::string& item) {
  duration longest = duration::zero();
  for (auto& l : limiters_) longest = std::max(longest, l->when(item));  // every limiter records the failure
  return longest;
}

void MaxOfRateLimiter::forget(const std::string& item) {
  for (auto& l : limiters_) l->forget(item);
}

int MaxOfRateLimiter::num_requeues(const std::string& item) const {
  int n = 0;
  for (const auto& l : limiters_) n = std::max(n, l->num_requeues(item));
  return n;
}

std::unique_ptr<RateLimiter> default_controller_rate_limiter(Clock& clock) {
  std::vector<std::unique_ptr<RateLimiter>> limiters;
  limiters.push_back(std::make_unique<ItemExponentialRateLimiter>());
  limiters.push_back(std::make_unique<BucketRateLimiter>(clock));
  return std::make_unique<MaxOfRateLimiter>(std::move(limiters));
}

}  // namespace raydog::runtime
