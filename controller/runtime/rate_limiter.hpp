#pragma once
// Rate limiters for the work queue, with client-go's semantics and defaults: per-item exponential backoff
// (5 ms doubling to 1000 s), an overall token bucket (10 qps, burst 100), and the max of several.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "controller/runtime/clock.hpp"

namespace raydog::runtime {

class RateLimiter {
 public:
  using duration = Clock::duration;
  virtual ~RateLimiter() = default;
  // How long `item` should wait before it is processed again (and records one more failure).
  virtual duration when(const std::string& item) = 0;
  // The item succeeded: forget its failures (the bucket is shared and forgets nothing).
  virtual void forget(const std::string& item) = 0;
  // Failures recorded for `item` since it was last forgotten.
  virtual int num_requeues(const std::string& item) const = 0;
};

// base * 2^failures, capped at max_delay.
class ItemExponentialRateLimiter final : public RateLimiter {
 public:
  ItemExponentialRateLimiter(duration base = std::chrono::milliseconds(5),
                             duration max_delay = std::chrono::seconds(1000));
  duration when(const std::string& item) override;
  void forget(const std::string& item) override;
  int num_requeues(const std::string& item) const override;

 private:
  duration base_, max_;
  std::map<std::string, int> failures_;
};

// A token bucket over all items (golang.org/x/time/rate's Reserve().Delay()): `burst` tokens, refilled
// at `qps`; a request beyond the tokens waits for its token.
class BucketRateLimiter final : public RateLimiter {
 public:
  BucketRateLimiter(Clock& clock, double qps = 10.0, int burst = 100);
  duration when(const std::string& item) override;
  void forget(const std::string&) override {}
  int num_requeues(const std::string&) const override { return 0; }

 private:
  Clock& clock_;
  double qps_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

// The slowest of its limiters decides.
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters);
  duration when(const std::string& item) override;
  void forget(const std::string& item) override;
  int num_requeues(const std::string& item) const override;

 private:
  std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

// client-go's DefaultControllerRateLimiter: max(exponential 5 ms..1000 s, bucket 10 qps burst 100).
std::unique_ptr<RateLimiter> default_controller_rate_limiter(Clock& clock);

}  // namespace raydog::runtime
