#include "test/support/fake_clock.hpp"

namespace raydog::runtime {

FakeClock::FakeClock() : now_(time_point{} + std::chrono::hours(1000)) {}

Clock::TimerId FakeClock::call_at(time_point when, std::function<void()> fn) {
  const TimerId id = next_id_++;
  calls_.emplace(std::make_pair(when, id), std::move(fn));
  by_id_.emplace(id, when);
  return id;
}

void FakeClock::cancel(TimerId id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  calls_.erase(std::make_pair(it->second, id));
  by_id_.erase(it);
}

void FakeClock::advance(duration d) {
  const time_point target = now_ + d;
  while (!calls_.empty() && calls_.begin()->first.first <= target) {
    auto node = calls_.extract(calls_.begin());
    by_id_.erase(node.key().second);
    // Time shows the call's own due time while it runs (a call that reschedules itself sees a sane now()).
    if (node.key().first > now_) now_ = node.key().first;
    node.mapped()();
  }
  now_ = target;
}

Clock::time_point FakeClock::next_due() const {
  return calls_.empty() ? now_ : calls_.begin()->first.first;
}

}  // namespace raydog::runtime
