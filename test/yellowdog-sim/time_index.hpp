#pragma once
// Objects ordered by a time the simulator stamps on them (a task's finishedTime, a work requirement's
// statusChangedTime), so that a search "stamped since T" costs a binary search plus its answer instead of a
// walk over every object (the operator's observer asks for what finished in the last seconds, every few
// seconds, of 70,000 tasks).
//
// The simulated clock never goes back, so stamps arrive in time order and the index is a vector that only
// grows at the end. An object stamped again gets a new entry; its earlier one goes stale (the object's key
// member names its one valid entry, 0 = none) and is skipped, and dropped by a compaction once stale
// entries are the majority. Keys only grow and are never reused, so a key is a stable search cursor
// (a search's nextSliceId) across compactions.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "test/yellowdog-sim/time_util.hpp"

namespace raydog::ydsim {

template <class T, std::uint64_t T::*Key>
class TimeIndex {
 public:
  struct Entry {
    TimePoint at;  // millisecond precision: what the wire shows, so inclusive bounds match the JSON
    std::uint64_t key;
    T* obj;
  };

  // `o` is now stamped `at` (never earlier than an earlier stamp of any object).
  void stamp(T& o, TimePoint at) {
    at = std::chrono::floor<Millis>(at);
    if (!entries_.empty() && at < entries_.back().at) at = entries_.back().at;  // keeps the order
    if (o.*Key != 0)
      ++stale_;
    else
      ++live_;
    o.*Key = ++last_key_;
    entries_.push_back(Entry{at, o.*Key, &o});
    compact_if_worth_it();
  }
  // `o` has no stamp any more (a task whose started time was cleared for a retry).
  void clear(T& o) {
    if (o.*Key == 0) return;
    o.*Key = 0;
    --live_;
    ++stale_;
    compact_if_worth_it();
  }

  const std::vector<Entry>& entries() const { return entries_; }
  static bool valid(const Entry& e) { return e.obj->*Key == e.key; }
  std::size_t size() const { return live_; }

  // Positions in entries(): the first entry stamped at or after `t`, after `t`, with a key above `k`, with
  // a key at or above `k`.
  std::size_t first_at_or_after(TimePoint t) const {
    return std::partition_point(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.at < t; }) -
           entries_.begin();
  }
  std::size_t first_after(TimePoint t) const {
    return std::partition_point(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.at <= t; }) -
           entries_.begin();
  }
  std::size_t first_key_above(std::uint64_t k) const {
    return std::partition_point(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return e.key <= k; }) -
           entries_.begin();
  }
  std::size_t first_key_from(std::uint64_t k) const {
    return std::partition_point(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key < k; }) -
           entries_.begin();
  }

 private:
  void compact_if_worth_it() {
    if (stale_ < 1024 || stale_ < live_) return;
    std::erase_if(entries_, [](const Entry& e) { return !valid(e); });
    stale_ = 0;
  }

  std::vector<Entry> entries_;
  std::uint64_t last_key_ = 0;
  std::size_t live_ = 0, stale_ = 0;
};

}  // namespace raydog::ydsim
