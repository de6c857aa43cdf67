// EarlyRead (controller/ray/early_read.hpp) and HeadPrefetch (prefetch.hpp): a head read started before the reconcile knows where the
// head is, its channel built on the channel thread, against a fake GCS over real gRPC.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <thread>

#include "controller/ray/early_read.hpp"
#include "controller/ray/prefetch.hpp"
#include "controller/util/strings.hpp"
#include "test/ray-fake/fake_gcs.hpp"
#include "test/support/closed_port.hpp"
#include "test/support/run_coroutine.hpp"

using namespace raydog::ray;
using raydog::test::FakeGcs;
using raydog::test::run_to_completion;
namespace net = boost::asio;

namespace {

std::vector<raydog::test::FakeRayNode> one_worker() {
  raydog::test::FakeRayNode n;
  n.node_id = "node-id-0001";
  n.instance_id = "workers/w-1";
  n.node_type = "cpu";
  n.status = "IDLE";
  n.idle_ms = 1000;
  n.total = {{"CPU", 8}};
  n.ip = "127.3.0.2";
  return {n};
}

}  // namespace

TEST_CASE("early read: the answer at the address it was started for, and the cluster id for the drains") {
  FakeGcs gcs;
  gcs.set_nodes(one_worker());
  net::io_context io;
  auto read = EarlyRead::start(io.get_executor(), "task-head", gcs.address(), HeadClientOptions{});
  CHECK(read->head_task() == "task-head");
  CHECK(read->address() == gcs.address());
  auto state = run_to_completion(io, read->result());
  REQUIRE_MESSAGE(state.ok(), state.error().message);
  REQUIRE(state->nodes.size() == 1);
  CHECK(state->nodes[0].instance_id == "workers/w-1");
  CHECK(read->cluster_id() == raydog::hex_encode(gcs.cluster_id()));  // the handshake it made
  // Its channel is gone already (dropped on the channel thread): a drain makes a client with that id.
  HeadClientOptions with_id;
  with_id.cluster_id = read->cluster_id();
  auto client = std::make_unique<HeadClient>(io.get_executor(), gcs.address(), with_id);
  auto drained = run_to_completion(io, client->drain("node-id-0001", DrainReason::kIdleTermination, "idle"));
  REQUIRE(drained.ok());
  CHECK(drained->accepted);
  std::size_t handshakes = 0;
  for (const auto& c : gcs.calls()) handshakes += c.method == "GetClusterId";
  CHECK(handshakes == 1);  // the drain reused the early read's cluster id
}

TEST_CASE("early read: a head that does not answer is an error within the deadline") {
  net::io_context io;
  const std::string address = raydog::test::closed_loopback_address();
  HeadClientOptions options;
  options.deadline = std::chrono::milliseconds(1500);
  const auto started = std::chrono::steady_clock::now();
  auto read = EarlyRead::start(io.get_executor(), "task-head", address, options);
  auto state = run_to_completion(io, read->result());
  REQUIRE_FALSE(state.ok());
  CHECK((state.error().kind == HeadError::Kind::kUnreachable || state.error().kind == HeadError::Kind::kTimeout));
  CHECK(state.error().message.find(address) != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
}

TEST_CASE("early read: a read nobody collects (the head moved) ends on its own, its call made") {
  FakeGcs gcs;
  gcs.set_nodes(one_worker());
  net::io_context io;
  {
    auto read = EarlyRead::start(io.get_executor(), "task-old", gcs.address(), HeadClientOptions{});
  }  // dropped at once, as observe() drops a read for another head
  io.run();  // returns once the read has ended: it holds itself until gRPC answered
  std::size_t state_calls = 0;
  for (const auto& c : gcs.calls()) state_calls += c.method == "GetClusterResourceState";
  CHECK(state_calls == 1);
}

namespace {

std::size_t state_calls(const FakeGcs& gcs) {
  std::size_t n = 0;
  for (const auto& c : gcs.calls()) n += c.method == "GetClusterResourceState";
  return n;
}

// Runs `io` for `d` of wall time (run_for returns early when the work runs out: the rest is slept).
void run_for(net::io_context& io, std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  io.restart();
  io.run_for(d);
  std::this_thread::sleep_until(until);
}

// A fake GCS with one worker, an io_context, and a HeadPrefetch counting its calls and outcomes.
struct PrefetchWorld {
  PrefetchWorld(int lead_ms, int min_requeue_ms, int fresh_ms = 3000)
      : prefetch(options(lead_ms, min_requeue_ms, fresh_ms), [this](int n) { calls += n; },
                 [this](bool u) { ++(u ? used : dropped); }) {
    gcs.set_nodes(one_worker());
  }
  static PrefetchOptions options(int lead_ms, int min_requeue_ms, int fresh_ms) {
    PrefetchOptions o;
    o.lead = std::chrono::milliseconds(lead_ms);
    o.min_requeue = std::chrono::milliseconds(min_requeue_ms);
    o.fresh = std::chrono::milliseconds(fresh_ms);
    return o;
  }
  // Schedules the read of "task-head" at the fake GCS for the reconcile of `key` due in `after_ms`.
  void schedule(const std::string& key, int after_ms, const std::string& head_task = "task-head") {
    prefetch.schedule(io.get_executor(), key, head_task, gcs.address(), HeadClientOptions{},
                      std::chrono::milliseconds(after_ms));
  }
  FakeGcs gcs;
  net::io_context io;
  int calls = 0, used = 0, dropped = 0;
  HeadPrefetch prefetch;
};

}  // namespace

TEST_CASE("prefetch: the read is made `lead` before the reconcile is due and taken by it") {
  PrefetchWorld w(400, 500);
  auto& [gcs, io, calls, used, dropped, prefetch] = w;
  w.schedule("ns/a", 600);
  CHECK(prefetch.pending() == 1);
  run_for(io, std::chrono::milliseconds(100));
  CHECK(state_calls(gcs) == 0);  // not due yet: 600 - 400 ms
  run_for(io, std::chrono::milliseconds(900));
  CHECK(calls == 2);  // handshake and the read, made before the reconcile came
  CHECK(state_calls(gcs) == 1);
  // The reconcile: the same head at the same address takes the answer without a call of its own.
  auto read = prefetch.take("ns/a", "task-head", gcs.address());
  REQUIRE(read);
  auto state = run_to_completion(io, read->result());
  REQUIRE_MESSAGE(state.ok(), state.error().message);
  CHECK(state->nodes.size() == 1);
  CHECK(state_calls(gcs) == 1);
  CHECK(used == 1);
  CHECK(dropped == 0);
  CHECK(prefetch.pending() == 0);
}

TEST_CASE("prefetch: an earlier reconcile, another head, a short requeue or a forget make no read or drop it") {
  PrefetchWorld w(100, 500);
  auto& [gcs, io, calls, used, dropped, prefetch] = w;

  // Woken by a change before the read was due: nothing to take, the timer ends, no call is made.
  w.schedule("ns/a", 800);
  run_for(io, std::chrono::milliseconds(50));
  CHECK_FALSE(prefetch.take("ns/a", "task-head", gcs.address()));
  run_for(io, std::chrono::milliseconds(1000));
  CHECK(calls == 0);

  // A converging requeue: read in the reconcile, as before.
  w.schedule("ns/a", 200);
  CHECK(prefetch.pending() == 0);

  // Read for one head, the reconcile finds another: dropped (its call was made), read afresh.
  w.schedule("ns/a", 500, "task-old");
  run_for(io, std::chrono::milliseconds(800));
  CHECK(calls == 2);
  CHECK_FALSE(prefetch.take("ns/a", "task-new", gcs.address()));
  CHECK(dropped == 1);

  // A cluster forgotten (deleted, headAccess None) with its read made: dropped.
  w.schedule("ns/b", 500);
  run_for(io, std::chrono::milliseconds(800));
  prefetch.forget("ns/b");
  CHECK(dropped == 2);
  CHECK(used == 0);
  CHECK(prefetch.pending() == 0);
  run_for(io, std::chrono::milliseconds(500));  // the dropped reads end on their own
}

TEST_CASE("prefetch: an answer older than `fresh` is not used") {
  PrefetchWorld w(100, 100, 300);
  auto& [gcs, io, calls, used, dropped, prefetch] = w;
  w.schedule("ns/a", 100);
  run_for(io, std::chrono::milliseconds(900));  // the reconcile is late (a busy queue)
  CHECK_FALSE(prefetch.take("ns/a", "task-head", gcs.address()));
  CHECK(dropped == 1);
  CHECK(used == 0);
}
