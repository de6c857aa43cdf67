// The Kubernetes client's token bucket (--kube-api-qps/--kube-api-burst) on a FakeClock: the burst goes at
// once, then one token per 1/qps; callers queue, each for its own token; idle time refills up to the burst
// and no further; waiting is a suspended coroutine, not a blocked thread.
#include "controller/kube/rate_limit.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <vector>

#include "test/support/fake_clock.hpp"

using raydog::kube::RateLimit;
using raydog::kube::RequestRateLimiter;
using raydog::runtime::FakeClock;
using namespace std::chrono_literals;

namespace {

long ms(raydog::runtime::Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

}  // namespace

TEST_CASE("kube rate limit: burst at once, then one token per 1/qps, queued in arrival order") {
  FakeClock clock;
  RequestRateLimiter limiter(clock, RateLimit{10, 3});
  CHECK(ms(limiter.reserve()) == 0);
  CHECK(ms(limiter.reserve()) == 0);
  CHECK(ms(limiter.reserve()) == 0);
  CHECK(ms(limiter.reserve()) == 100);  // the 4th waits for the next token ...
  CHECK(ms(limiter.reserve()) == 200);  // ... and the 5th behind it
  clock.advance(200ms);                 // both tokens came: the queue is empty again, none to spare
  CHECK(ms(limiter.reserve()) == 100);
  clock.advance(10s);  // a long idle refills the burst, not more
  for (int i = 0; i < 3; ++i) CHECK(ms(limiter.reserve()) == 0);
  CHECK(ms(limiter.reserve()) == 100);
}

TEST_CASE("kube rate limit: a fractional qps and a burst of one") {
  FakeClock clock;
  RequestRateLimiter limiter(clock, RateLimit{0.5, 1});
  CHECK(ms(limiter.reserve()) == 0);
  CHECK(ms(limiter.reserve()) == 2000);
  clock.advance(1500ms);
  CHECK(ms(limiter.reserve()) == 2500);  // the previous token is due in 500 ms, this one 2 s later
}

TEST_CASE("kube rate limit: qps 0 is unpaced") {
  FakeClock clock;
  const RateLimit off{0, 1};
  CHECK_FALSE(off.enabled());
  RequestRateLimiter limiter(clock, off);
  for (int i = 0; i < 10000; ++i) REQUIRE(limiter.reserve() == raydog::runtime::Clock::duration::zero());
}

TEST_CASE("kube rate limit: wait() suspends on the clock and reports the time waited") {
  boost::asio::io_context io;
  FakeClock clock;
  RequestRateLimiter limiter(clock, RateLimit{100, 1});
  std::vector<long> waited;
  for (int i = 0; i < 3; ++i)
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          auto d = co_await limiter.wait();
          waited.push_back(ms(d));
        },
        boost::asio::detached);
  io.run_for(20ms);
  CHECK(waited == std::vector<long>{0});  // the others sleep: the io_context is free meanwhile
  clock.advance(10ms);
  io.restart();
  io.run_for(20ms);
  CHECK(waited == std::vector<long>{0, 10});
  clock.advance(10ms);
  io.restart();
  io.run_for(20ms);
  CHECK(waited == std::vector<long>{0, 10, 20});
}
