// The per-account request budget (controller/yellowdog/budget.hpp): a token bucket whose rate halves on
// 429 and climbs back, and a pause every request of the account honours.
#include "controller/yellowdog/budget.hpp"

#include <doctest/doctest.h>

using namespace raydog::yellowdog;
using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

namespace {
const RequestBudget::TimePoint t0{};
}

TEST_CASE("budget: the burst goes at once, then one token per 1/qps") {
  RequestBudget b({10, 3}, t0);
  CHECK(b.reserve(t0) == 0ms);
  CHECK(b.reserve(t0) == 0ms);
  CHECK(b.reserve(t0) == 0ms);
  CHECK(b.reserve(t0) == 100ms);  // queued behind the burst
  CHECK(b.reserve(t0) == 200ms);
  // A second later the bucket has refilled what was borrowed and more (bounded by the burst).
  CHECK(b.reserve(t0 + 1s) == 0ms);
}

TEST_CASE("budget: a 429 pauses the whole account for Retry-After and halves the rate") {
  RequestBudget b({100, 10}, t0);
  b.throttled(Millis(2000), t0);
  CHECK(b.throttles() == 1);
  CHECK(b.rate() == doctest::Approx(50));
  REQUIRE(b.paused_until().has_value());
  CHECK(*b.paused_until() == t0 + 2s);
  CHECK(b.reserve(t0 + 500ms) >= 1500ms);  // every request, not only the one that got the 429
  // A second 429 within the same second (other requests in flight) does not halve again.
  b.throttled(Millis(1000), t0 + 100ms);
  CHECK(b.rate() == doctest::Approx(50));
  CHECK(*b.paused_until() == t0 + 2s);  // the later of the two pauses
  // After the pause the halved rate applies from the start, with no burst saved up during the pause:
  // behind the request queued at 0.5 s, one every 20 ms.
  CHECK(b.reserve(t0 + 2s) == 40ms);
  CHECK(b.reserve(t0 + 2s) == 60ms);
}

TEST_CASE("budget: without Retry-After the pause doubles from 1 s, capped at 60 s") {
  RequestBudget b({100, 10}, t0);
  RequestBudget::TimePoint now = t0;
  Millis last{0};
  for (int i = 0; i < 10; ++i) {
    b.throttled(std::nullopt, now);
    const Millis pause = std::chrono::duration_cast<Millis>(*b.paused_until() - now);
    if (i == 0) CHECK(pause == 1000ms);
    if (i > 0) CHECK(pause == std::min<Millis>(last * 2, 60000ms));
    last = pause;
    now += 2s;
  }
  CHECK(b.rate() >= 1.0);  // never below 1/s
}

TEST_CASE("budget: answers without 429 climb back by a twentieth of the ceiling per second") {
  RequestBudget b({100, 10}, t0);
  b.throttled(Millis(0), t0);
  CHECK(b.rate() == doctest::Approx(50));
  b.answered(t0 + 500ms);  // within the second of the cut: no raise yet
  CHECK(b.rate() == doctest::Approx(50));
  b.answered(t0 + 1s);
  CHECK(b.rate() == doctest::Approx(55));
  for (int s = 2; s < 30; ++s) b.answered(t0 + std::chrono::seconds(s));
  CHECK(b.rate() == doctest::Approx(100));  // back at the ceiling, never above
  CHECK_FALSE(b.paused_until().has_value());
}
