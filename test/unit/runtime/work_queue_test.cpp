#include <doctest/doctest.h>

#include <utility>  // before Asio (Boost 1.74 awaitable.hpp needs std::exchange)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>
#include <vector>

#include "controller/runtime/work_queue.hpp"
#include "test/support/fake_clock.hpp"

using namespace raydog::runtime;
using namespace std::chrono_literals;

namespace {

struct CountingMetrics final : QueueMetrics {
  int adds = 0, retries = 0, queued = 0, worked = 0;
  std::size_t last_depth = 0;
  double unfinished_total = -1, longest = -1;
  void added() override { ++adds; }
  void depth(std::size_t d) override { last_depth = d; }
  void queued_for(double) override { ++queued; }
  void worked_for(double) override { ++worked; }
  void retried() override { ++retries; }
  void unfinished(double t, double l) override {
    unfinished_total = t;
    longest = l;
  }
};

std::unique_ptr<RateLimiter> exp_limiter() {
  return std::make_unique<ItemExponentialRateLimiter>();
}

// Drains every ready key (processing them immediately), in order.
std::vector<std::string> drain(WorkQueue& q) {
  std::vector<std::string> out;
  while (auto k = q.try_get()) {
    out.push_back(*k);
    q.done(*k);
  }
  return out;
}

}  // namespace

TEST_CASE("work queue: table of add/get/done sequences") {
  // Each step: op, key, and the expected ready queue length afterwards.
  struct Step {
    const char* op;  // "add", "get", "done"
    const char* key;
    std::size_t len;
    const char* got = nullptr;  // for "get": expected key (nullptr: none)
  };
  struct Case {
    const char* name;
    std::vector<Step> steps;
  };
  const std::vector<Case> cases = {
      {"dedup before processing",
       {{"add", "a", 1}, {"add", "a", 1}, {"add", "b", 2}, {"get", "", 1, "a"}, {"get", "", 0, "b"}}},
      {"never two workers on one key; re-add while processing comes back after done",
       {{"add", "a", 1},
        {"get", "", 0, "a"},
        {"add", "a", 0},  // dirty, not queued: "a" is processing
        {"add", "a", 0},  // still one pending
        {"get", "", 0, nullptr},
        {"done", "a", 1},
        {"get", "", 0, "a"},
        {"done", "a", 0},
        {"get", "", 0, nullptr}}},
      {"fifo order and done without re-add",
       {{"add", "x", 1}, {"add", "y", 2}, {"get", "", 1, "x"}, {"done", "x", 1}, {"get", "", 0, "y"}}},
      {"done of an unknown key is harmless", {{"done", "zzz", 0}, {"add", "a", 1}, {"get", "", 0, "a"}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    FakeClock clock;
    WorkQueue q(clock, exp_limiter());
    int i = 0;
    for (const auto& s : c.steps) {
      CAPTURE(i++);
      const std::string op = s.op;
      if (op == "add") {
        q.add(s.key);
      } else if (op == "done") {
        q.done(s.key);
      } else {
        auto got = q.try_get();
        if (s.got) {
          REQUIRE(got.has_value());
          CHECK(*got == s.got);
        } else {
          CHECK_FALSE(got.has_value());
        }
      }
      CHECK(q.len() == s.len);
    }
  }
}

TEST_CASE("work queue: add_after fires at the due time, the earliest of several delays wins") {
  FakeClock clock;
  CountingMetrics m;
  WorkQueue q(clock, exp_limiter(), &m);
  q.add_after("a", 100ms);
  q.add_after("a", 50ms);   // earlier: replaces
  q.add_after("a", 500ms);  // later: ignored
  q.add_after("b", 0ms);    // immediate
  CHECK(q.len() == 1);
  CHECK(q.waiting() == 1);
  clock.advance(49ms);
  CHECK(drain(q) == std::vector<std::string>{"b"});
  clock.advance(1ms);
  CHECK(drain(q) == std::vector<std::string>{"a"});
  clock.advance(1s);
  CHECK(drain(q).empty());  // the ignored 500 ms add does not come back
  CHECK(q.waiting() == 0);
  CHECK(m.retries == 4);  // client-go counts every AddAfter as a retry
  CHECK(m.adds == 2);
}

TEST_CASE("work queue: add_rate_limited backs off exponentially, forget resets") {
  FakeClock clock;
  WorkQueue q(clock, exp_limiter());
  const std::chrono::milliseconds expected[] = {5ms, 10ms, 20ms, 40ms};
  for (auto delay : expected) {
    q.add_rate_limited("a");
    clock.advance(delay - 1ms);
    CHECK(q.try_get() == std::nullopt);
    clock.advance(1ms);
    auto k = q.try_get();
    REQUIRE(k);
    q.done(*k);
  }
  CHECK(q.num_requeues("a") == 4);
  q.forget("a");
  CHECK(q.num_requeues("a") == 0);
  q.add_rate_limited("a");
  clock.advance(5ms);
  CHECK(q.try_get() == std::optional<std::string>("a"));
}

TEST_CASE("work queue: shutdown drops adds and pending delays, stops handing out keys") {
  FakeClock clock;
  WorkQueue q(clock, exp_limiter());
  q.add("a");
  q.add_after("b", 10ms);
  q.shutdown();
  CHECK(q.shutting_down());
  q.add("c");
  clock.advance(1s);
  CHECK(q.try_get() == std::nullopt);
  CHECK(clock.pending() == 0);
}

TEST_CASE("work queue: metrics for depth, latency, work duration, unfinished work") {
  FakeClock clock;
  CountingMetrics m;
  WorkQueue q(clock, exp_limiter(), &m);
  q.add("a");
  q.add("b");
  CHECK(m.last_depth == 2);
  auto a = q.try_get();
  CHECK(m.queued == 1);
  CHECK(m.last_depth == 1);
  clock.advance(3s);
  auto b = q.try_get();
  clock.advance(1s);
  q.update_unfinished_work();
  CHECK(m.unfinished_total == doctest::Approx(5.0));
  CHECK(m.longest == doctest::Approx(4.0));
  q.done(*a);
  q.done(*b);
  CHECK(m.worked == 2);
}

TEST_CASE("work queue: coroutine workers never share a key, and drain on shutdown") {
  boost::asio::io_context ioc;
  SteadyClock clock(ioc.get_executor());
  WorkQueue q(clock, exp_limiter());
  std::set<std::string> in_flight;
  int processed = 0, overlaps = 0, workers_ended = 0;
  auto worker = [&]() -> boost::asio::awaitable<void> {
    for (;;) {
      auto key = co_await q.get();
      if (!key) break;
      if (!in_flight.insert(*key).second) ++overlaps;
      co_await sleep_for(clock, 1ms);  // hold the key across a suspension
      // Re-adding while processing must not hand the key to another worker.
      if (processed < 20) q.add(*key);
      in_flight.erase(*key);
      ++processed;
      q.done(*key);
    }
    ++workers_ended;
  };
  for (int i = 0; i < 4; ++i) boost::asio::co_spawn(ioc, worker(), boost::asio::detached);
  bool drained = false;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        q.add("a");
        q.add("b");
        q.add("c");
        while (processed < 20) co_await sleep_for(clock, 1ms);
        drained = co_await q.shutdown_with_drain(5s);
      },
      boost::asio::detached);
  ioc.run_for(30s);
  CHECK(overlaps == 0);
  CHECK(processed >= 20);
  CHECK(drained);
  CHECK(workers_ended == 4);
  CHECK(q.processing() == 0);
}

TEST_CASE("work queue: a drain that exceeds its grace period reports false") {
  boost::asio::io_context ioc;
  FakeClock clock;
  WorkQueue q(clock, exp_limiter());
  q.add("stuck");
  auto key = q.try_get();  // processing, never done
  REQUIRE(key);
  std::optional<bool> drained;
  boost::asio::co_spawn(
      ioc, [&]() -> boost::asio::awaitable<void> { drained = co_await q.shutdown_with_drain(10s); },
      boost::asio::detached);
  ioc.poll();
  CHECK_FALSE(drained.has_value());
  clock.advance(9s);
  ioc.poll();
  CHECK_FALSE(drained.has_value());
  clock.advance(1s);
  ioc.poll();
  REQUIRE(drained.has_value());
  CHECK_FALSE(*drained);
}
