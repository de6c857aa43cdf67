// Steady requeues: jittered upwards only, so --requeue-steady bounds the polls per steady cluster.
#include <doctest/doctest.h>

#include "controller/reconcile/reconciler.hpp"

using namespace raydog::reconcile;

TEST_CASE("steady requeues are stretched by 0-10%, never shortened, and spread") {
  std::mt19937 rng(7);
  const Millis period = std::chrono::seconds(60);
  Millis lo = Millis::max(), hi = Millis::zero();
  double sum = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    const Millis d = jittered(period, rng);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    sum += static_cast<double>(d.count());
  }
  CHECK(lo >= period);
  CHECK(hi < Millis(66000));
  CHECK(hi - lo > Millis(5000));  // spread over most of the 6 s
  CHECK(sum / n == doctest::Approx(63000).epsilon(0.01));
}
