// The autoscaler's pure planner (controller/autoscaler/planner.hpp): the scenarios of issue 20 and
// ray-gcs.md §4.5, without I/O.
#include <doctest/doctest.h>

#include "controller/autoscaler/planner.hpp"

using namespace raydog::autoscaler;
using namespace std::chrono_literals;

namespace {

PoolState pool(const std::string& name, Resources shape, int min_nodes, int max_nodes) {
  PoolState p;
  p.name = name;
  p.shape = std::move(shape);
  p.min_nodes = min_nodes;
  p.max_nodes = max_nodes;
  return p;
}

WorkerNode node(const std::string& pool, const std::string& task, NodeState state, Resources total,
                std::int64_t idle_ms = 0) {
  WorkerNode n;
  n.pool = pool;
  n.task_id = task;
  n.state = state;
  n.idle_ms = idle_ms;
  n.total = total;
  n.available = state == NodeState::kIdle ? total : Resources{};
  return n;
}

ResourceRequest request(Resources shape, int count) {
  ResourceRequest r;
  r.shape = std::move(shape);
  r.count = count;
  return r;
}

GangRequest gang(GangStrategy strategy, std::vector<Resources> bundles) {
  GangRequest g;
  g.strategy = strategy;
  g.bundles = std::move(bundles);
  return g;
}

const PoolPlan& of(const Plan& p, const std::string& name) {
  for (const auto& pp : p.pools)
    if (pp.pool == name) return pp;
  FAIL("no plan for pool " << name);
  return p.pools.front();
}

}  // namespace

TEST_CASE("scale-up: 3 x {CPU: 4} on {CPU: 8} nodes launches exactly 2, and nothing more while they are pending") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 0, 10)};
  in.pending = {request({{"CPU", 4}}, 3)};
  Plan p = plan(in);
  CHECK_FALSE(p.held);
  CHECK(of(p, "cpu").launch == 2);
  CHECK(of(p, "cpu").desired == 2);
  CHECK(of(p, "cpu").capped == 0);
  CHECK(of(p, "cpu").reason == "pending demand {CPU: 4}");
  CHECK(p.infeasible.empty());

  // Next poll: the two launches are pending (not Ray nodes yet) and the demand is still there.
  in.pools[0].pending = 2;
  p = plan(in);
  CHECK(of(p, "cpu").launch == 0);
  CHECK(of(p, "cpu").desired == 2);
}

TEST_CASE("scale-up: maxNodes 1 launches 1 and reports the rest as capped, not infeasible") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 0, 1)};
  in.pending = {request({{"CPU", 4}}, 3)};
  Plan p = plan(in);
  CHECK(of(p, "cpu").launch == 1);
  CHECK(of(p, "cpu").capped == 1);  // the third bundle: the new node holds two
  CHECK(p.infeasible.empty());
}

TEST_CASE("scale-up: demand goes on free capacity first, live nodes and pending launches alike") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 0, 10)};
  in.pools[0].pending = 1;
  WorkerNode busy = node("cpu", "t1", NodeState::kRunning, {{"CPU", 8}});
  busy.available = {{"CPU", 4}};
  in.nodes = {busy};
  in.pending = {request({{"CPU", 4}}, 3)};  // 4 on t1, 8 on the pending launch
  Plan p = plan(in);
  CHECK(of(p, "cpu").launch == 0);
  CHECK(of(p, "cpu").desired == 2);
}

TEST_CASE("gangs: STRICT_SPREAD 3 x {CPU: 1} takes 3 nodes, STRICT_PACK 2 x {CPU: 4} takes 1") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 0, 10)};
  in.gangs = {gang(GangStrategy::kStrictSpread, {{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}})};
  Plan p = plan(in);
  CHECK(of(p, "cpu").launch == 3);
  CHECK(of(p, "cpu").reason == "STRICT_SPREAD gang of 3");

  in.gangs = {gang(GangStrategy::kStrictPack, {{{"CPU", 4}}, {{"CPU", 4}}})};
  p = plan(in);
  CHECK(of(p, "cpu").launch == 1);

  // A strict gang is placed whole or not at all: with room for 2 nodes, a spread of 3 launches nothing.
  in.pools[0].max_nodes = 2;
  in.gangs = {gang(GangStrategy::kStrictSpread, {{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}})};
  p = plan(in);
  CHECK(of(p, "cpu").launch == 0);
  CHECK(of(p, "cpu").capped == 1);
  // A STRICT_PACK no single node can hold is infeasible, bundle by bundle.
  in.pools[0].max_nodes = 10;
  in.gangs = {gang(GangStrategy::kStrictPack, {{{"CPU", 6}}, {{"CPU", 6}}})};
  p = plan(in);
  CHECK(of(p, "cpu").launch == 0);
  REQUIRE(p.infeasible.size() == 1);
  CHECK(p.infeasible[0].count == 2);
}

TEST_CASE("pool choice: the least left over, a CPU demand never takes a GPU pool while a CPU pool fits, ties to the first") {
  PlannerInput in;
  in.pools = {pool("gpu", {{"CPU", 8}, {"GPU", 1}}, 0, 10), pool("big", {{"CPU", 32}}, 0, 10),
              pool("small", {{"CPU", 8}}, 0, 10), pool("small-too", {{"CPU", 8}}, 0, 10)};
  in.pending = {request({{"CPU", 8}}, 1)};
  Plan p = plan(in);
  CHECK(of(p, "small").launch == 1);  // 0 left over; "gpu" fits as well but has a GPU; "small-too" is a tie
  CHECK(of(p, "small-too").launch == 0);
  CHECK(of(p, "gpu").launch == 0);
  CHECK(of(p, "big").launch == 0);

  in.pending = {request({{"CPU", 16}}, 1)};
  p = plan(in);
  CHECK(of(p, "big").launch == 1);

  in.pending = {request({{"CPU", 2}, {"GPU", 1}}, 1)};
  p = plan(in);
  CHECK(of(p, "gpu").launch == 1);

  // The CPU pools are full: a CPU demand then takes the GPU pool rather than wait.
  in.pools[1].max_nodes = in.pools[2].max_nodes = in.pools[3].max_nodes = 0;
  in.pending = {request({{"CPU", 8}}, 1)};
  p = plan(in);
  CHECK(of(p, "gpu").launch == 1);
}

TEST_CASE("infeasible demand is reported and never launched for, custom resources included") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}, {"memory", 32.0 * (1 << 30)}}, 0, 10)};
  in.pending = {request({{"CPU", 16}}, 2), request({{"accel_a100", 1}}, 1), request({{"CPU", 1}}, 1)};
  Plan p = plan(in);
  CHECK(of(p, "cpu").launch == 1);  // only the {CPU: 1}
  REQUIRE(p.infeasible.size() == 2);
  int total = 0;
  for (const auto& i : p.infeasible) total += i.count;
  CHECK(total == 3);
}

TEST_CASE("request_resources: constraints launch what is missing and keep the idle nodes they need") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 0, 10)};
  in.pools[0].idle_timeout = 60s;
  in.nodes = {node("cpu", "t1", NodeState::kIdle, {{"CPU", 8}}, 120000)};
  in.constraints = {request({{"CPU", 8}}, 2)};  // t1 holds one, a new node the other
  Plan p = plan(in);
  CHECK(of(p, "cpu").launch == 1);
  CHECK(of(p, "cpu").drain.empty());  // idle past its timeout, but needed
  CHECK(of(p, "cpu").reason == "request_resources {CPU: 8}");

  in.constraints.clear();
  p = plan(in);
  CHECK(of(p, "cpu").drain == std::vector<std::string>{"t1"});
}

TEST_CASE("idle scale-down: past the timeout, longest idle first, never below minNodes, the pool's timeout") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 1, 10), pool("slow", {{"CPU", 8}}, 0, 10)};
  in.pools[0].idle_timeout = 60s;
  in.pools[1].idle_timeout = 300s;  // the per-pool override
  in.nodes = {node("cpu", "a", NodeState::kIdle, {{"CPU", 8}}, 61000),
              node("cpu", "b", NodeState::kIdle, {{"CPU", 8}}, 90000),
              node("cpu", "c", NodeState::kIdle, {{"CPU", 8}}, 30000),   // below the timeout
              node("cpu", "d", NodeState::kRunning, {{"CPU", 8}}),
              node("slow", "e", NodeState::kIdle, {{"CPU", 8}}, 120000)};  // below its own timeout
  Plan p = plan(in);
  CHECK(of(p, "cpu").drain == std::vector<std::string>{"b", "a"});
  CHECK(of(p, "cpu").desired == 2);
  CHECK(of(p, "cpu").reason == "idle longer than 60s");
  CHECK(of(p, "slow").drain.empty());

  // minNodes 3: only one may go (4 live - 3), the longest idle.
  in.pools[0].min_nodes = 3;
  p = plan(in);
  CHECK(of(p, "cpu").drain == std::vector<std::string>{"b"});
}

TEST_CASE("no new scale-down while a drain is in flight in that pool, scale-up stays allowed") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 0, 10)};
  in.pools[0].drain_in_flight = true;
  in.nodes = {node("cpu", "a", NodeState::kIdle, {{"CPU", 8}}, 600000),
              node("cpu", "x", NodeState::kDraining, {{"CPU", 8}}, 600000)};
  in.pending = {request({{"CPU", 8}}, 2)};  // one on a, one on a new node
  Plan p = plan(in);
  CHECK(of(p, "cpu").drain.empty());
  CHECK(of(p, "cpu").launch == 1);
  CHECK(of(p, "cpu").desired == 2);  // a and the new node; the DRAINING x is not counted
}

TEST_CASE("work arriving between polls: a RUNNING node, or one idle below its timeout, is never drained") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 0, 10)};
  in.nodes = {node("cpu", "a", NodeState::kRunning, {{"CPU", 8}}),
              node("cpu", "b", NodeState::kIdle, {{"CPU", 8}}, 59000)};
  CHECK(of(plan(in), "cpu").drain.empty());
  // An idle node past its timeout that pending demand lands on in this plan is not a victim either.
  in.nodes[1].idle_ms = 120000;
  in.pending = {request({{"CPU", 2}}, 1)};
  Plan p = plan(in);
  CHECK(of(p, "cpu").drain.empty());
  CHECK(of(p, "cpu").launch == 0);
}

TEST_CASE("maxNodes below the pool's size: pending launches first, then idle nodes, then busy ones") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 0, 1)};
  in.pools[0].pending = 1;
  in.nodes = {node("cpu", "busy1", NodeState::kRunning, {{"CPU", 8}}),
              node("cpu", "idle", NodeState::kIdle, {{"CPU", 8}}, 1000),
              node("cpu", "busy2", NodeState::kRunning, {{"CPU", 8}})};
  Plan p = plan(in);
  CHECK(of(p, "cpu").cancel_pending == 1);
  CHECK(of(p, "cpu").drain == std::vector<std::string>{"idle"});
  CHECK(of(p, "cpu").preempt == std::vector<std::string>{"busy2"});
  CHECK(of(p, "cpu").desired == 1);
  CHECK(of(p, "cpu").reason == "maxNodes 1");
}

TEST_CASE("minNodes: a pool below it launches up to it, capped by maxNodes only") {
  PlannerInput in;
  in.mode = UpscalingMode::kConservative;
  in.pools = {pool("cpu", {{"CPU", 8}}, 3, 10)};
  Plan p = plan(in);
  CHECK(of(p, "cpu").launch == 3);
  CHECK(of(p, "cpu").reason == "minNodes 3");
}

TEST_CASE("upscalingMode Conservative: at most max(1, pending + live) launches per cycle, Default is not limited") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 1}}, 0, 100)};
  in.nodes = {node("cpu", "a", NodeState::kRunning, {{"CPU", 1}}), node("cpu", "b", NodeState::kRunning, {{"CPU", 1}})};
  in.pending = {request({{"CPU", 1}}, 10)};
  in.mode = UpscalingMode::kConservative;
  Plan p = plan(in);
  CHECK(of(p, "cpu").launch == 2);
  CHECK(of(p, "cpu").capped == 8);
  in.mode = UpscalingMode::kDefault;
  CHECK(of(plan(in), "cpu").launch == 10);
  in.mode = UpscalingMode::kAggressive;
  CHECK(of(plan(in), "cpu").launch == 10);
  CHECK(launch_limit(UpscalingMode::kConservative, 0) == 1);
}

TEST_CASE("hold: a reading that cannot be trusted changes nothing, however idle or busy") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 0, 10)};
  in.pools[0].pending = 1;
  in.nodes = {node("cpu", "a", NodeState::kIdle, {{"CPU", 8}}, 600000)};
  in.pending = {request({{"CPU", 8}}, 5)};
  in.hold = "the head's GCS started a new session";
  Plan p = plan(in);
  REQUIRE(p.held);
  CHECK(*p.held == "the head's GCS started a new session");
  CHECK(of(p, "cpu").launch == 0);
  CHECK(of(p, "cpu").drain.empty());
  CHECK(of(p, "cpu").desired == 2);
}

TEST_CASE("nodes of no known pool are neither capacity nor victims") {
  PlannerInput in;
  in.pools = {pool("cpu", {{"CPU", 8}}, 0, 10)};
  in.nodes = {node("elsewhere", "f", NodeState::kIdle, {{"CPU", 8}}, 600000)};
  in.pending = {request({{"CPU", 8}}, 1)};
  Plan p = plan(in);
  CHECK(of(p, "cpu").launch == 1);
  CHECK(of(p, "cpu").drain.empty());
  CHECK(to_string(Resources{{"CPU", 4}, {"GPU", 1}}) == "{CPU: 4, GPU: 1}");
}
