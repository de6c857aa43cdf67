#include "controller/kube/rate_limit.hpp"

namespace raydog::kube {

RequestRateLimiter::RequestRateLimiter(runtime::Clock& clock, RateLimit limit)
    : clock_(clock),
      limit_(limit),
      bucket_(clock, limit.enabled() ? limit.qps : 1.0, limit.enabled() ? limit.burst : 1) {}

runtime::Clock::duration RequestRateLimiter::reserve() {
  if (!limit_.enabled()) return runtime::Clock::duration::zero();
  return bucket_.when({});
}

boost::asio::awaitable<runtime::Clock::duration> RequestRateLimiter::wait() {
  const auto delay = reserve();
  if (delay > runtime::Clock::duration::zero()) co_await runtime::sleep_for(clock_, delay);
  co_return delay;
}

}  // namespace raydog::kube
