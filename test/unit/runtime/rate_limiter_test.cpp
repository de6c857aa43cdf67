#include <doctest/doctest.h>

#include "controller/runtime/rate_limiter.hpp"
#include "test/support/fake_clock.hpp"

using namespace raydog::runtime;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

TEST_CASE("item exponential: 5ms doubling to the 1000s cap, per item, forget resets") {
  ItemExponentialRateLimiter l;
  const ms expected[] = {5ms, 10ms, 20ms, 40ms, 80ms, 160ms, 320ms, 640ms, 1280ms, 2560ms};
  for (auto e : expected) CHECK(std::chrono::duration_cast<ms>(l.when("a")) == e);
  CHECK(l.num_requeues("a") == 10);
  CHECK(l.when("b") == 5ms);  // independent per item
  for (int i = 0; i < 100; ++i) (void)l.when("a");
  CHECK(l.when("a") == 1000s);  // capped, no overflow after many failures
  l.forget("a");
  CHECK(l.num_requeues("a") == 0);
  CHECK(l.when("a") == 5ms);
}

TEST_CASE("bucket: burst 100 free, then 10 qps, refills with time") {
  FakeClock clock;
  BucketRateLimiter l(clock, 10.0, 100);
  for (int i = 0; i < 100; ++i) REQUIRE(l.when("x") == 0s);
  CHECK(std::chrono::duration_cast<ms>(l.when("x")) == 100ms);
  CHECK(std::chrono::duration_cast<ms>(l.when("y")) == 200ms);  // shared across items
  clock.advance(1s);                                            // 10 tokens back, 2 owed
  for (int i = 0; i < 8; ++i) REQUIRE(l.when("z") == 0s);
  CHECK(std::chrono::duration_cast<ms>(l.when("z")) == 100ms);
  clock.advance(1h);  // never more than the burst
  for (int i = 0; i < 100; ++i) REQUIRE(l.when("z") == 0s);
  CHECK(l.when("z") > 0s);
  CHECK(l.num_requeues("z") == 0);
}

TEST_CASE("max-of: the default controller limiter") {
  FakeClock clock;
  auto l = default_controller_rate_limiter(clock);
  CHECK(l->when("a") == 5ms);
  CHECK(l->when("a") == 10ms);
  CHECK(l->num_requeues("a") == 2);
  // Drain the bucket with other items: the bucket delay then dominates a fresh item's 5 ms.
  for (int i = 0; i < 200; ++i) (void)l->when("k" + std::to_string(i));
  CHECK(l->when("fresh") > 5ms);
  l->forget("a");
  CHECK(l->num_requeues("a") == 0);
}
