#include <doctest/doctest.h>

#include <utility>  // before Asio (Boost 1.74 awaitable.hpp needs std::exchange)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "controller/runtime/controller.hpp"
#include "test/support/fake_clock.hpp"

using namespace raydog::runtime;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

struct CountingControllerMetrics final : ControllerMetrics {
  int max_concurrent = 0, active = 0, peak_active = 0, terminal = 0, panics = 0;
  std::map<ReconcileResult, int> results;
  void set_max_concurrent_reconciles(int n) override { max_concurrent = n; }
  void add_active_workers(int d) override {
    active += d;
    peak_active = std::max(peak_active, active);
  }
  void reconciled(ReconcileResult r, double) override { ++results[r]; }
  void terminal_error() override { ++terminal; }
  void panic() override { ++panics; }
};

}  // namespace

TEST_CASE("controller: outcomes drive the queue (forget, backoff, requeue_after, terminal, throw)") {
  asio::io_context ioc;
  FakeClock clock;
  WorkQueue queue(clock, std::make_unique<ItemExponentialRateLimiter>());
  CountingControllerMetrics metrics;
  std::map<std::string, int> calls;
  std::set<std::string> ids;
  Reconciler reconcile = [&](const std::string& key,
                             const raydog::log::Logger&) -> asio::awaitable<ReconcileOutcome> {
    ++calls[key];
    ReconcileOutcome out;
    if (key == "ns/fails-twice" && calls[key] <= 2) out.error = "transient";
    if (key == "ns/terminal") {
      out.error = "invalid spec";
      out.terminal = true;
    }
    if (key == "ns/periodic" && calls[key] == 1) out.requeue_after = 30s;
    if (key == "ns/throws" && calls[key] == 1) throw std::runtime_error("bug");
    co_return out;
  };
  Controller controller({.name = "test", .max_concurrent_reconciles = 2, .log_errors = true}, queue,
                        reconcile, &metrics);
  controller.start(ioc.get_executor());
  for (const char* k : {"ns/ok", "ns/fails-twice", "ns/terminal", "ns/periodic", "ns/throws"}) queue.add(k);
  ioc.poll();
  CHECK(calls["ns/ok"] == 1);
  CHECK(calls["ns/fails-twice"] == 1);
  CHECK(calls["ns/terminal"] == 1);
  CHECK(calls["ns/periodic"] == 1);
  CHECK(calls["ns/throws"] == 1);
  CHECK(queue.num_requeues("ns/fails-twice") == 1);
  CHECK(queue.num_requeues("ns/terminal") == 0);  // terminal: forgotten, not retried

  clock.advance(5ms);  // first backoff of fails-twice and throws
  ioc.poll();
  CHECK(calls["ns/fails-twice"] == 2);
  CHECK(calls["ns/throws"] == 2);
  clock.advance(10ms);  // second backoff
  ioc.poll();
  CHECK(calls["ns/fails-twice"] == 3);
  CHECK(queue.num_requeues("ns/fails-twice") == 0);  // success forgets
  clock.advance(30s);
  ioc.poll();
  CHECK(calls["ns/periodic"] == 2);
  clock.advance(1h);
  ioc.poll();
  CHECK(calls["ns/terminal"] == 1);
  CHECK(calls["ns/ok"] == 1);

  CHECK(metrics.max_concurrent == 2);
  CHECK(metrics.peak_active <= 2);
  CHECK(metrics.active == 0);
  CHECK(metrics.terminal == 1);
  CHECK(metrics.panics == 1);
  CHECK(metrics.results[ReconcileResult::kError] == 4);  // 2 transient + terminal + throw
  CHECK(metrics.results[ReconcileResult::kRequeueAfter] == 1);
  CHECK(metrics.results[ReconcileResult::kSuccess] == 4);

  std::optional<bool> drained;
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { drained = co_await controller.stop(1s); }, asio::detached);
  ioc.poll();
  REQUIRE(drained.has_value());
  CHECK(*drained);
  CHECK(controller.running_workers() == 0);
}

TEST_CASE("controller: concurrency limit and graceful stop waits for in-flight reconciles") {
  asio::io_context ioc;
  SteadyClock clock(ioc.get_executor());
  WorkQueue queue(clock, std::make_unique<ItemExponentialRateLimiter>());
  CountingControllerMetrics metrics;
  int finished = 0;
  Reconciler reconcile = [&](const std::string&,
                             const raydog::log::Logger&) -> asio::awaitable<ReconcileOutcome> {
    co_await sleep_for(clock, 20ms);
    ++finished;
    co_return ReconcileOutcome{};
  };
  Controller controller({.name = "c", .max_concurrent_reconciles = 3, .log_errors = true}, queue, reconcile,
                        &metrics);
  controller.start(ioc.get_executor());
  for (int i = 0; i < 10; ++i) queue.add("ns/k" + std::to_string(i));
  std::optional<bool> drained;
  int finished_at_stop = -1;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        while (finished < 4) co_await sleep_for(clock, 1ms);
        finished_at_stop = finished;
        drained = co_await controller.stop(10s);
      },
      asio::detached);
  ioc.run_for(30s);
  REQUIRE(drained.has_value());
  CHECK(*drained);
  CHECK(metrics.peak_active == 3);
  // In-flight reconciles finished; queued ones were not started after the stop.
  CHECK(finished >= finished_at_stop);
  CHECK(finished < 10);
  CHECK(metrics.active == 0);
  CHECK(controller.running_workers() == 0);
}

TEST_CASE("reconcile ids are UUID v4 and distinct") {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const auto id = new_reconcile_id();
    REQUIRE(id.size() == 36);
    CHECK(id[14] == '4');
    ids.insert(id);
  }
  CHECK(ids.size() == 1000);
}

TEST_CASE("controller: log_errors=false leaves failure logging to the reconciler") {
  for (const bool log_errors : {true, false}) {
    CAPTURE(log_errors);
    std::ostringstream out;
    raydog::log::configure(raydog::log::Level::kInfo, raydog::log::Format::kJson, &out);
    asio::io_context ioc;
    FakeClock clock;
    WorkQueue queue(clock, std::make_unique<ItemExponentialRateLimiter>());
    CountingControllerMetrics metrics;
    Reconciler reconcile = [](const std::string&,
                              const raydog::log::Logger&) -> asio::awaitable<ReconcileOutcome> {
      ReconcileOutcome out;
      out.error = "transient";
      co_return out;
    };
    Controller controller({.name = "c", .max_concurrent_reconciles = 1, .log_errors = log_errors}, queue,
                          reconcile, &metrics);
    controller.start(ioc.get_executor());
    queue.add("ns/a");
    ioc.poll();
    CHECK(metrics.results[ReconcileResult::kError] == 1);  // counted either way
    CHECK(queue.num_requeues("ns/a") == 1);                // and retried with backoff either way
    CHECK((out.str().find("Reconciler error") != std::string::npos) == log_errors);
    std::optional<bool> drained;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { drained = co_await controller.stop(1s); }, asio::detached);
    ioc.poll();
    CHECK(drained.value_or(false));
    raydog::log::configure(raydog::log::Level::kInfo, raydog::log::Format::kJson, &std::cerr);
  }
}
