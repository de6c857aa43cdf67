#pragma once
// Client-side pacing of Kubernetes requests: client-go's flowcontrol.NewTokenBucketRateLimiter(qps, burst)
// (golang.org/x/time/rate underneath). A client holds `burst` tokens, refilled at `qps` per second; every
// request takes one before it is sent (each retry too; a watch takes one to open, none while it streams).
// Past the burst, callers queue in arrival order, each for its own token, waiting on the io_context (a
// timer, never a blocked thread). --kube-api-qps / --kube-api-burst set it; the wiring gives the Event
// recorder and the Lease their own buckets (controller-runtime's recorder and leader election use clients of
// their own), so a burst of Events cannot delay a finalizer or status write, nor a Lease renewal.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <chrono>

#include "controller/runtime/clock.hpp"
#include "controller/runtime/rate_limiter.hpp"

namespace raydog::kube {

struct RateLimit {
  double qps = 0;  // <= 0: no pacing
  int burst = 1;
  bool enabled() const { return qps > 0 && burst >= 1; }
};

class RequestRateLimiter {
 public:
  // `clock` must outlive the limiter (the process's SteadyClock; a FakeClock in tests).
  RequestRateLimiter(runtime::Clock& clock, RateLimit limit);

  // Takes the next token; returns how long its holder must wait before sending (zero within the burst).
  runtime::Clock::duration reserve();
  // reserve(), then waits that long on the clock. Returns the time waited (what
  // rest_client_rate_limiter_duration_seconds observes).
  boost::asio::awaitable<runtime::Clock::duration> wait();

  const RateLimit& limit() const { return limit_; }

 private:
  runtime::Clock& clock_;
  RateLimit limit_;
  runtime::BucketRateLimiter bucket_;  // the x/time/rate arithmetic the work queue uses too
};

}  // namespace raydog::kube
