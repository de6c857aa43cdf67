// EarlyRead (controller/ray/early_read.hpp): a head read started before the reconcile knows where the
// head is, its channel built on the channel thread, against a fake GCS over real gRPC.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <thread>

#include "controller/ray/early_read.hpp"
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

TEST_CASE("early read: the answer at the address it was started for, and the client kept for the drains") {
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
  auto client = read->take_client();
  REQUIRE(client);
  CHECK(client->cluster_id_hex() == raydog::hex_encode(gcs.cluster_id()));  // the handshake it made
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
