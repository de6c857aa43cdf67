#pragma once
// A controllable Clock for hermetic tests (design §6: no sleeps where time matters). It lives here, not in
// controller/runtime/, because the product never runs on it.
#include <functional>
#include <map>
#include <utility>

#include "controller/runtime/clock.hpp"

namespace raydog::runtime {

// A clock for tests. Starts at an arbitrary fixed point; advance() runs every call that falls due.
class FakeClock final : public Clock {
 public:
  FakeClock();
  time_point now() const override { return now_; }
  TimerId call_at(time_point when, std::function<void()> fn) override;
  void cancel(TimerId id) override;
  // Moves time forward by `d`, running due calls in (time, scheduling) order; calls scheduled by those
  // calls run too when they fall within the new time.
  void advance(duration d);
  std::size_t pending() const { return calls_.size(); }
  // When the next pending call is due (now() when none).
  time_point next_due() const;

 private:
  time_point now_;
  TimerId next_id_ = 1;
  std::map<std::pair<time_point, TimerId>, std::function<void()>> calls_;
  std::map<TimerId, time_point> by_id_;
};

}  // namespace raydog::runtime
