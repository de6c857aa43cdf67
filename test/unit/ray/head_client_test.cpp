// The Ray head client against a fake GCS over real gRPC (test/ray-fake): handshake and metadata, the
// version rule, node states, drains, and errors that name the head.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <atomic>
#include <mutex>

#include "controller/ray/head_client.hpp"
#include "controller/util/strings.hpp"
#include "test/ray-fake/fake_gcs.hpp"
#include "test/support/closed_port.hpp"
#include "test/support/run_coroutine.hpp"

using namespace raydog::ray;
using raydog::test::FakeGcs;
using raydog::test::FakeRayNode;
using raydog::test::run_to_completion;
namespace net = boost::asio;

namespace {

// Fields set one by one: an aggregate initializer would have to name every member (-Wmissing-field-initializers).
FakeRayNode node(std::string id, std::string task, std::string type, std::string status, std::int64_t idle_ms,
                 raydog::test::RayResources total, std::string ip) {
  FakeRayNode n;
  n.node_id = std::move(id);
  n.instance_id = std::move(task);
  n.node_type = std::move(type);
  n.status = std::move(status);
  n.idle_ms = idle_ms;
  n.total = std::move(total);
  n.ip = std::move(ip);
  return n;
}

std::vector<FakeRayNode> three_nodes() {
  return {node("head-id-0001", "task-head", "head", "RUNNING", 0, {{"CPU", 0}, {"node:__internal_head__", 1}}, "127.3.0.1"),
          node("node-id-0002", "task-a", "cpu", "IDLE", 90'000, {{"CPU", 8}}, "127.3.0.2"),
          node("node-id-0003", "task-b", "cpu", "RUNNING", 0, {{"CPU", 8}}, "127.3.0.3")};
}

}  // namespace

TEST_CASE("ray head client: handshake once, cluster id on every call, versions never newer than served") {
  FakeGcs gcs;
  gcs.set_nodes(three_nodes());
  net::io_context io;
  HeadClient client(io.get_executor(), gcs.address());
  for (int i = 0; i < 3; ++i) {
    auto state = run_to_completion(io, client.cluster_state());
    REQUIRE_MESSAGE(state.ok(), state.error().message);
    CHECK(state->version == i + 1);
    CHECK(state->session_name == "session_fake_1");
    CHECK_FALSE(state->session_changed);
    REQUIRE(state->nodes.size() == 3);
    CHECK(state->nodes[0].is_head());
    CHECK(state->nodes[1].instance_id == "task-a");
    CHECK(state->nodes[1].node_type == "cpu");
    CHECK(state->nodes[1].status == NodeStatus::kIdle);
    CHECK(state->nodes[1].idle_ms == 90'000);
    CHECK(state->nodes[2].status == NodeStatus::kRunning);
    CHECK(state->nodes[2].total.at("CPU") == 8.0);
    CHECK(state->nodes[2].available.at("CPU") == 0.0);  // RUNNING without explicit availability: none free
    CHECK(state->nodes[1].available.at("CPU") == 8.0);
    CHECK(state->nodes[1].ip == "127.3.0.2");
    CHECK(state->nodes[1].hex_id() == "6e6f64652d69642d30303032");
  }
  // A new incarnation (a restarted head): its counter starts again, the client notices the session.
  gcs.restart("session_fake_2");
  auto after = run_to_completion(io, client.cluster_state());
  REQUIRE(after.ok());
  CHECK(after->version == 1);
  CHECK(after->session_changed);
  const auto calls = gcs.calls();
  REQUIRE(calls.size() == 5);
  CHECK(calls[0].method == "GetClusterId");
  for (std::size_t i = 1; i < calls.size(); ++i) {
    CHECK(calls[i].method == "GetClusterResourceState");
    CHECK(calls[i].last_seen == 0);
  }
  CHECK(gcs.violations().empty());
}

TEST_CASE("ray head client: drains are accepted or rejected as Ray decides, with the reason sent") {
  FakeGcs gcs;
  auto nodes = three_nodes();
  nodes[1].reject_drain = true;
  gcs.set_nodes(nodes);
  net::io_context io;
  HeadClient client(io.get_executor(), gcs.address());
  auto rejected = run_to_completion(io, client.drain("node-id-0002", DrainReason::kIdleTermination, "idle 90s > 60s"));
  REQUIRE(rejected.ok());
  CHECK_FALSE(rejected->accepted);
  CHECK(rejected->rejection == "The node to be idle terminated is no longer idle.");
  auto busy = run_to_completion(io, client.drain("node-id-0003", DrainReason::kIdleTermination, "idle"));
  REQUIRE(busy.ok());
  CHECK_FALSE(busy->accepted);  // RUNNING: no longer idle
  auto preempted = run_to_completion(
      io, client.drain("node-id-0003", DrainReason::kPreemption, "scale down",
                       std::chrono::system_clock::now() + std::chrono::minutes(10)));
  REQUIRE(preempted.ok());
  CHECK(preempted->accepted);
  CHECK(gcs.nodes()[2].status == "DRAINING");
  const auto calls = gcs.calls();
  REQUIRE(calls.size() == 4);  // one handshake, three drains
  CHECK(calls[3].reason == "PREEMPTION");
  CHECK(calls[3].accepted == true);
  CHECK(gcs.violations().empty());
}

TEST_CASE("ray head client: an unreachable head is a precise error, within the deadline") {
  net::io_context io;
  const std::string address = raydog::test::closed_loopback_address();
  HeadClientOptions options;
  options.deadline = std::chrono::milliseconds(1500);
  HeadClient client(io.get_executor(), address, options);
  const auto started = std::chrono::steady_clock::now();
  auto state = run_to_completion(io, client.cluster_state());
  REQUIRE_FALSE(state.ok());
  CHECK((state.error().kind == HeadError::Kind::kUnreachable || state.error().kind == HeadError::Kind::kTimeout));
  CHECK(state.error().message.find("GetClusterId " + address) == 0);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
}

TEST_CASE("ray head client: a cluster id kept from an earlier poll skips the handshake, a refused one is redone") {
  FakeGcs gcs;
  gcs.set_nodes(three_nodes());
  net::io_context io;
  std::string id;
  {
    HeadClient first(io.get_executor(), gcs.address());
    REQUIRE(run_to_completion(io, first.cluster_state()).ok());
    id = first.cluster_id_hex();
  }
  REQUIRE_FALSE(id.empty());
  HeadClientOptions known;
  known.cluster_id = id;
  HeadClient next(io.get_executor(), gcs.address(), known);  // the next poll: one call
  REQUIRE(run_to_completion(io, next.cluster_state()).ok());
  auto calls = gcs.calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[2].method == "GetClusterResourceState");
  CHECK(gcs.violations().empty());

  // An id from another incarnation of the head: refused, forgotten, and the next call handshakes again.
  HeadClientOptions stale;
  stale.cluster_id = "00ff";
  HeadClient moved(io.get_executor(), gcs.address(), stale);
  auto refused = run_to_completion(io, moved.cluster_state());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == HeadError::Kind::kAuth);
  CHECK(moved.cluster_id_hex().empty());
  auto again = run_to_completion(io, moved.cluster_state());
  REQUIRE(again.ok());
  CHECK(moved.cluster_id_hex() == id);
  CHECK(gcs.violations() == std::vector<std::string>{"GetClusterResourceState: wrong ray_cluster_id"});
}

TEST_CASE("fake GCS: two addresses, pending demand, gangs and constraints, drains handed over, aging idle time, faults, refusal when taken") {
  std::atomic<std::int64_t> now_ms{1'000'000};
  std::atomic<int> fail_next{0};
  std::vector<raydog::test::FakeGcsCall> seen;
  std::mutex seen_mu;
  raydog::test::FakeGcsOptions o;
  o.listen = {"127.0.0.1:0", "127.0.0.1:0"};
  o.session_name = "session_two";
  o.cluster_id = std::string(28, '\x07');
  o.clock_ms = [&] { return now_ms.load(); };
  o.fault = [&](const std::string&) { return fail_next.exchange(0); };
  o.on_call = [&](const raydog::test::FakeGcsCall& c) {
    std::lock_guard lock(seen_mu);
    seen.push_back(c);
  };
  o.keep_records = false;
  FakeGcs gcs(o);
  REQUIRE(gcs.addresses().size() == 2);
  CHECK(gcs.addresses()[0] != gcs.addresses()[1]);
  raydog::test::FakeClusterState st;
  st.nodes = three_nodes();
  st.nodes[1].available = raydog::test::RayResources{{"CPU", 5}};
  st.pending = {{{{"CPU", 4}}, 3}};
  st.gangs = {{"0a0b0c", "STRICT_SPREAD", {{{"CPU", 1}}, {{"CPU", 1}}}}, {"0d0e0f", "STRICT_PACK", {{{"GPU", 1}}}}};
  st.constraints = {{{{"CPU", 8}}, 2}};
  gcs.set_state(st);
  now_ms += 2'500;  // the idle node has been idle 2.5 s longer than set

  net::io_context io;
  HeadClient client(io.get_executor(), gcs.addresses()[1]);
  auto state = run_to_completion(io, client.cluster_state());
  REQUIRE_MESSAGE(state.ok(), state.error().message);
  CHECK(state->session_name == "session_two");
  CHECK(client.cluster_id_hex() == raydog::hex_encode(std::string(28, '\x07')));
  CHECK(state->nodes[1].idle_ms == 92'500);
  CHECK(state->nodes[1].available.at("CPU") == 5.0);
  REQUIRE(state->pending.size() == 1);
  CHECK(state->pending[0].count == 3);
  CHECK(state->pending[0].shape.at("CPU") == 4.0);
  // Placement groups and request_resources, as an autoscaler needs them.
  REQUIRE(state->gangs.size() == 2);
  CHECK(state->gangs[0].pg_id == "0a0b0c");
  CHECK(state->gangs[0].strategy == "STRICT_SPREAD");
  CHECK(state->gangs[0].bundles.size() == 2);
  CHECK(state->gangs[1].strategy == "STRICT_PACK");
  CHECK(state->gangs[1].bundles.at(0).at("GPU") == 1.0);
  REQUIRE(state->constraints.size() == 1);
  CHECK(state->constraints[0].count == 2);
  CHECK(state->constraints[0].shape.at("CPU") == 8.0);

  // An accepted drain is handed to the owner once; a state set meanwhile keeps the node DRAINING.
  auto drained = run_to_completion(io, client.drain("node-id-0002", DrainReason::kIdleTermination, "idle"));
  REQUIRE(drained.ok());
  CHECK(drained->accepted);
  gcs.set_state(st);  // the owner's view, from before it took the drain
  CHECK(gcs.nodes()[1].status == "DRAINING");
  auto drains = gcs.take_drains();
  REQUIRE(drains.size() == 1);
  CHECK(drains[0].node_id == "node-id-0002");
  CHECK(drains[0].reason == "IDLE_TERMINATION");
  CHECK(drains[0].at_ms == now_ms.load());
  CHECK(gcs.take_drains().empty());

  // An injected failure is answered with its code and applies nothing.
  fail_next = 14;  // UNAVAILABLE
  auto failed = run_to_completion(io, client.drain("node-id-0003", DrainReason::kPreemption, "x"));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == HeadError::Kind::kUnreachable);
  CHECK(gcs.take_drains().empty());
  {
    std::lock_guard lock(seen_mu);
    REQUIRE(seen.size() == 4);  // handshake, state, drain, the failed drain
    CHECK(seen[3].fault == "UNAVAILABLE");
    CHECK_FALSE(seen[3].accepted.has_value());
  }
  CHECK(gcs.calls().empty());  // keep_records = false

  // An address another server holds is refused (SO_REUSEPORT off), naming it.
  raydog::test::FakeGcsOptions taken;
  taken.listen = {gcs.addresses()[0]};
  std::string refusal;
  try {
    FakeGcs second(taken);
  } catch (const std::runtime_error& e) {
    refusal = e.what();
  }
  CHECK(refusal.find("cannot listen on " + gcs.addresses()[0]) != std::string::npos);
}
