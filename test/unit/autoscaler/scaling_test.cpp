// One autoscaling decision without I/O (scaling.hpp, status.hpp): a cluster converged in the reconciler's
// in-memory World, a GCS answer written by hand, and what scale() makes of them; then the core plan and the
// Ray view's decide() on the result, as the loop runs them.
#include <doctest/doctest.h>

#include "api/conditions.hpp"
#include "controller/autoscaler/scaling.hpp"
#include "controller/autoscaler/status.hpp"
#include "controller/ray/decisions.hpp"
#include "controller/ray/ray_view.hpp"
#include "test/unit/reconcile/world.hpp"

namespace {

using namespace raydog;
using namespace raydog::autoscaler;
using ray::ClusterState;
using ray::NodeStatus;
using ray::RayNode;
using raydog::reconcile::testing::all_of;
using raydog::reconcile::testing::World;
namespace rr = raydog::reconcile;
using namespace std::chrono_literals;

// One autoscaled pool "cpu" of {CPU: 8} nodes (the sample's gpu pool removed), started at `nodes`.
World autoscaled(std::int32_t nodes, std::int32_t min_nodes = 0, std::int32_t max_nodes = 10) {
  World w;
  auto& pools = *w.o.cluster.spec.worker_pools;
  pools.resize(1);
  pools[0].nodes = nodes;
  pools[0].min_nodes = min_nodes;
  pools[0].max_nodes = max_nodes;
  pools[0].ray_resources = std::map<std::string, std::string>{{"CPU", "8"}};
  api::AutoscalingSpec a;
  a.enabled = true;
  a.idle_timeout = api::Duration("60s");
  w.o.cluster.spec.autoscaling = a;
  w.converge();
  return w;
}

std::vector<const yellowdog::Task*> workers(const World& w) {
  return w.live_tasks_by_name("worker-nodes-cpu");
}

RayNode node_for(const World& w, const yellowdog::Task* t, NodeStatus status, double free_cpu, std::int64_t idle_ms = 0) {
  RayNode n;
  n.node_id = "node-of-" + *t->id;
  n.instance_id = rr::ray_instance_id(w.group_of(t), *t->name);
  n.status = status;
  n.idle_ms = idle_ms;
  n.total = {{"CPU", 8}};
  n.available = {{"CPU", free_cpu}};
  return n;
}

ClusterState answer(std::vector<RayNode> workers) {
  ClusterState s;
  s.session_name = "session_1";
  RayNode head;
  head.node_id = "head";
  head.status = NodeStatus::kIdle;
  head.total = {{"node:__internal_head__", 1}};
  s.nodes.push_back(head);
  for (auto& n : workers) s.nodes.push_back(std::move(n));
  return s;
}

// The Ray pass's reading of `state` for the World's current tasks (kept alive by the caller).
struct Read {
  rr::View view;
  ClusterState state;
  ray::RayView ray;
  ray::RayReading reading;
  std::map<std::string, rr::TimePoint> draining;
  Read(World& w, ClusterState s) : view(rr::view(w.o, w.now)), state(std::move(s)), ray(ray::match(state, w.o.tasks)) {
    reading.view = &view;
    reading.state = &state;
    reading.ray = &ray;
    reading.version = "2.49.2";
    reading.answered_before = true;
    reading.draining_since = &draining;
  }
};

// scale(), then what the loop does with it: the overrides and victims into Observed, plan, decide, rewrite.
struct Cycle {
  Scaling scaling;
  rr::Actions actions;
  ray::RayDecisions decisions;
};

Cycle cycle(World& w, Read& r, const ray::RayReading* reading) {
  w.resolve();
  Cycle c;
  c.scaling = scale(w.o.cluster.spec, w.o.cluster.status, r.view, reading);
  for (const auto& p : c.scaling.pools) w.o.desired_nodes_override[p.pool] = p.target;
  w.o.scale_down_victims = c.scaling.victims;
  c.actions = rr::plan(w.o, w.now);
  if (reading && reading->ray) {
    c.decisions = ray::decide(w.o, rr::view(w.o, w.now), c.actions, *reading->ray, r.draining, false,
                              ray::RayPolicy::of(w.o.cluster.spec), w.now);
    ray::rewrite(c.actions, c.decisions, w.o);
  }
  return c;
}

std::size_t tasks_added(const rr::Actions& a) {
  std::size_t n = 0;
  for (const auto* t : all_of<rr::AddTasks>(a)) n += t->tasks.size();
  return n;
}

}  // namespace

TEST_CASE("scaling: pending 3 x {CPU: 4} on two full {CPU: 8} nodes sets the target to 4 and plan adds 2 tasks") {
  World w = autoscaled(2);
  auto ws = workers(w);
  REQUIRE(ws.size() == 2);
  ClusterState s = answer({node_for(w, ws[0], NodeStatus::kRunning, 0), node_for(w, ws[1], NodeStatus::kRunning, 0)});
  s.pending.push_back({{{"CPU", 4}}, 3});
  Read r(w, s);
  Cycle c = cycle(w, r, &r.reading);
  REQUIRE(c.scaling.pools.size() == 1);
  CHECK_FALSE(c.scaling.hold);
  CHECK(c.scaling.pools[0].joined == 2);
  CHECK(c.scaling.pools[0].target == 4);
  REQUIRE(c.scaling.pools[0].plan);
  CHECK(c.scaling.pools[0].plan->launch == 2);
  CHECK(tasks_added(c.actions) == 2);
  CHECK(c.scaling.pending_requests == 3);
  const auto events = scale_events(c.scaling);
  REQUIRE(events.size() == 1);
  CHECK(events[0].reason == "ScaledUp");
  CHECK(events[0].message.find("pool cpu: +2 nodes (pending demand {CPU: 4}), target 4") == 0);
}

TEST_CASE("scaling: launches not joined yet and the previous target count as capacity: no second launch") {
  World w = autoscaled(2);
  auto ws = workers(w);
  // Status says the target is 4; only 2 tasks exist (the other 2 not added yet) and none has joined.
  w.o.cluster.status->worker_pools[0].desired_nodes = 4;
  ClusterState s = answer({});
  s.pending.push_back({{{"CPU", 4}}, 3});
  Read r(w, s);
  Cycle c = cycle(w, r, &r.reading);
  CHECK(c.scaling.pools[0].pending == 4);
  CHECK(c.scaling.pools[0].target == 4);
  CHECK(c.scaling.pools[0].plan->launch == 0);
  CHECK(tasks_added(c.actions) == 2);  // the two the target already committed to
}

TEST_CASE("scaling: the idle victim past its timeout is drained, not the launch still joining") {
  World w = autoscaled(3);
  auto ws = workers(w);
  REQUIRE(ws.size() == 3);
  // ws[0] idle for 2 min (> 60 s), ws[1] busy, ws[2] has not joined.
  Read r(w, answer({node_for(w, ws[0], NodeStatus::kIdle, 8, 120'000), node_for(w, ws[1], NodeStatus::kRunning, 0)}));
  Cycle c = cycle(w, r, &r.reading);
  CHECK(c.scaling.pools[0].target == 2);
  CHECK(c.scaling.victims == std::set<std::string>{*ws[0]->id});
  REQUIRE(c.decisions.drains.size() == 1);
  CHECK(c.decisions.drains[0].task_id == *ws[0]->id);
  CHECK(c.decisions.drains[0].reason == ray::DrainReason::kIdleTermination);
  CHECK(all_of<rr::CancelTasks>(c.actions).empty());  // the cancel waits for the drain
  const auto events = scale_events(c.scaling);
  REQUIRE(events.size() == 1);
  CHECK(events[0].reason == "ScaledDown");
  CHECK(events[0].message.find("idle longer than 60s") != std::string::npos);
  CHECK(events[0].message.find("draining " + *ws[0]->name) != std::string::npos);
}

TEST_CASE("scaling: a draining victim is outside the target, and no second scale-down starts in its pool") {
  World w = autoscaled(3);
  auto ws = workers(w);
  w.o.cluster.status->worker_pools[0].desired_nodes = 2;
  Read r(w, answer({node_for(w, ws[0], NodeStatus::kDraining, 8), node_for(w, ws[1], NodeStatus::kIdle, 8, 300'000),
                    node_for(w, ws[2], NodeStatus::kIdle, 8, 300'000)}));
  r.draining[*ws[0]->id] = w.now - 5s;
  Cycle c = cycle(w, r, &r.reading);
  CHECK(c.scaling.pools[0].leaving.size() == 1);
  CHECK(c.scaling.pools[0].target == 2);
  CHECK(c.scaling.victims.empty());
  CHECK(c.decisions.drains.empty());
  api::RayDogClusterStatus st = *w.o.cluster.status;
  autoscaler_status(st, w.o.cluster.status, c.scaling, &r.draining, w.now);
  REQUIRE(st.worker_pools[0].autoscaler);
  REQUIRE(st.worker_pools[0].autoscaler->draining.size() == 1);
  CHECK(st.worker_pools[0].autoscaler->draining[0].task_id == *ws[0]->id);
  CHECK(st.worker_pools[0].autoscaler->draining[0].since.has_value());
}

TEST_CASE("scaling: an unreadable head, a new session or an old Ray holds every size, never below the live tasks") {
  World w = autoscaled(3);
  auto ws = workers(w);
  w.o.cluster.status->worker_pools[0].desired_nodes = 2;  // stale: three tasks live
  Read r(w, answer({}));

  ray::RayReading unreachable = r.reading;
  unreachable.state = nullptr;
  unreachable.ray = nullptr;
  unreachable.error = ray::HeadError{ray::HeadError::Kind::kUnreachable, "UNAVAILABLE: connection refused"};
  Cycle c = cycle(w, r, &unreachable);
  REQUIRE(c.scaling.hold);
  CHECK(c.scaling.hold->reason == "HeadUnreachable");
  CHECK(c.scaling.pools[0].target == 3);
  CHECK(c.scaling.victims.empty());
  CHECK(all_of<rr::CancelTasks>(c.actions).empty());
  CHECK(tasks_added(c.actions) == 0);

  ray::RayReading restarted = r.reading;
  restarted.session_changed = true;
  CHECK(cycle(w, r, &restarted).scaling.hold->reason == "HeadRestarted");

  ray::RayReading old = r.reading;
  old.version = "2.9.3";
  c = cycle(w, r, &old);
  CHECK(c.scaling.hold->reason == "UnsupportedRayVersion");
  api::RayDogClusterStatus st = *w.o.cluster.status;
  autoscaler_status(st, w.o.cluster.status, c.scaling, nullptr, w.now);
  const api::Condition* ready = api::find_condition(st.conditions, api::condition::kAutoscalingReady);
  REQUIRE(ready);
  CHECK(ready->status == "False");
  CHECK(ready->reason == "UnsupportedRayVersion");
  CHECK(ready->message.find("Ray 2.9.3") != std::string::npos);

  CHECK(cycle(w, r, nullptr).scaling.hold->reason == "HeadPending");
}

TEST_CASE("scaling: a pool with neither a previous target nor tasks starts at nodes, within the bounds") {
  World w = autoscaled(2);
  api::WorkerPoolSpec extra = (*w.o.cluster.spec.worker_pools)[0];
  extra.name = "more";
  extra.nodes = 3;
  extra.min_nodes = 1;
  extra.max_nodes = 2;
  w.o.cluster.spec.worker_pools->push_back(extra);
  Read r(w, answer({}));
  Cycle c = cycle(w, r, &r.reading);
  REQUIRE(c.scaling.pools.size() == 2);
  CHECK(c.scaling.pools[1].starting);
  CHECK(c.scaling.pools[1].target == 2);
  CHECK_FALSE(c.scaling.pools[1].plan);
}

TEST_CASE("scaling status: maxNodes reached and shapes no pool holds make AutoscalingReady False InfeasibleDemand") {
  World w = autoscaled(1, 0, 1);
  auto ws = workers(w);
  ClusterState s = answer({node_for(w, ws[0], NodeStatus::kRunning, 0)});
  s.pending.push_back({{{"CPU", 4}}, 2});
  s.pending.push_back({{{"GPU", 1}}, 1});
  Read r(w, s);
  Cycle c = cycle(w, r, &r.reading);
  CHECK(c.scaling.pools[0].target == 1);
  REQUIRE(c.scaling.infeasible.size() == 1);
  api::RayDogClusterStatus before = *w.o.cluster.status;
  before.worker_pools[0].autoscaler = api::PoolAutoscalerStatus{"2026-01-01T00:00:00Z", "+1 node (demand)", {}, {}};
  api::RayDogClusterStatus st = before;
  autoscaler_status(st, before, c.scaling, nullptr, w.now);
  const api::Condition* ready = api::find_condition(st.conditions, api::condition::kAutoscalingReady);
  REQUIRE(ready);
  CHECK(ready->reason == "InfeasibleDemand");
  CHECK(ready->message.find("1 x {GPU: 1} fits no pool's rayResources") != std::string::npos);
  CHECK(ready->message.find("pool cpu is at maxNodes 1") != std::string::npos);
  const auto& a = *st.worker_pools[0].autoscaler;
  REQUIRE(a.infeasible.size() == 1);
  CHECK(a.infeasible[0] == "2 requests this pool could hold: maxNodes 1 reached");
  CHECK(a.last_scale_time == "2026-01-01T00:00:00Z");  // nothing scaled now: kept

  withdraw_autoscaler_status(st);
  CHECK_FALSE(st.worker_pools[0].autoscaler);
  CHECK_FALSE(api::find_condition(st.conditions, api::condition::kAutoscalingReady));
}

TEST_CASE("scaling: Ray versions and node shapes") {
  CHECK(ray_version_supported("2.10.0"));
  CHECK(ray_version_supported("2.49.2"));
  CHECK(ray_version_supported("3.0.0"));
  CHECK_FALSE(ray_version_supported("2.9.3"));
  CHECK_FALSE(ray_version_supported("1.13.0"));
  CHECK(ray_version_supported(""));  // unknown: not held against the head
  const Resources shape = shape_of({{"CPU", "8"}, {"memory", "32Gi"}, {"accel", "500m"}});
  CHECK(shape.at("CPU") == 8);
  CHECK(shape.at("memory") == 32.0 * 1024 * 1024 * 1024);
  CHECK(shape.at("accel") == doctest::Approx(0.5));
}

TEST_CASE("scaling: the head and Ray nodes that map to no task are never counted nor victims") {
  World w = autoscaled(1);
  auto ws = workers(w);
  RayNode stranger = node_for(w, ws[0], NodeStatus::kIdle, 8, 3'600'000);
  stranger.node_id = "stranger";
  stranger.instance_id = "someone-elses-ray-start";
  ClusterState s = answer({node_for(w, ws[0], NodeStatus::kRunning, 0), stranger});
  s.nodes[0].idle_ms = 3'600'000;  // the head, idle for an hour
  Read r(w, s);
  Cycle c = cycle(w, r, &r.reading);
  CHECK(c.scaling.pools[0].joined == 1);
  CHECK(c.scaling.victims.empty());
  CHECK(c.decisions.drains.empty());
  CHECK(c.scaling.pools[0].target == 1);
}

TEST_CASE("scaling: a launch that never joins within rayJoinTimeout is replaced, not dropped") {
  World w = autoscaled(2);
  auto ws = workers(w);
  w.now += 6min;  // past rayJoinTimeout (5m) since the tasks started
  Read r(w, answer({node_for(w, ws[0], NodeStatus::kRunning, 0)}));
  Cycle c = cycle(w, r, &r.reading);
  CHECK(c.scaling.pools[0].target == 2);
  REQUIRE(c.decisions.heal.size() == 1);
  CHECK(c.decisions.heal[0] == *ws[1]->id);
  w.apply(c.actions);
  // Next poll: the cancelled task is gone; the previous target still counts it, so plan adds its successor.
  auto next = rr::compute_status(w.o, {}, w.o.cluster.status, w.now);
  next.worker_pools[0].desired_nodes = 2;
  w.o.cluster.status = next;
  Read again(w, answer({node_for(w, ws[0], NodeStatus::kRunning, 0)}));
  Cycle c2 = cycle(w, again, &again.reading);
  CHECK(c2.scaling.pools[0].target == 2);
  CHECK(tasks_added(c2.actions) == 1);
}

TEST_CASE("scaling: maxNodes lowered below the pool's size drains the excess, idle nodes before busy ones") {
  World w = autoscaled(3, 0, 3);
  auto ws = workers(w);
  (*w.o.cluster.spec.worker_pools)[0].max_nodes = 1;
  (*w.o.cluster.spec.worker_pools)[0].nodes = 1;  // the starting size must stay within the bounds
  Read r(w, answer({node_for(w, ws[0], NodeStatus::kRunning, 0), node_for(w, ws[1], NodeStatus::kIdle, 8, 1000),
                    node_for(w, ws[2], NodeStatus::kRunning, 0)}));
  Cycle c = cycle(w, r, &r.reading);
  CHECK(c.scaling.pools[0].target == 1);
  REQUIRE(c.scaling.victims.size() == 2);
  CHECK(c.scaling.victims.count(*ws[1]->id) == 1);  // the idle one, although not idle for long
  INFO(World::dump(c.actions));
  REQUIRE(c.decisions.drains.size() == 2);
  int preempted = 0;
  for (const auto& d : c.decisions.drains) preempted += d.reason == ray::DrainReason::kPreemption;
  CHECK(preempted == 1);
  CHECK(scale_events(c.scaling)[0].message.find("maxNodes 1") != std::string::npos);
}

TEST_CASE("scaling: drained workers whose tasks ended are not launched again when the cache still shows the old target") {
  World w = autoscaled(2);
  auto ws = workers(w);
  REQUIRE(ws.size() == 2);
  // The previous reconcile drained both idle nodes and decided target 0; its status write has not reached
  // the cache yet, which still says desiredNodes 2. Meanwhile both drained tasks ended by themselves.
  auto& st = *w.o.cluster.status;
  bool found = false;
  for (auto& p : st.worker_pools)
    if (p.name == "cpu") p.desired_nodes = 2, found = true;
  if (!found) {
    api::WorkerPoolStatus p;
    p.name = "cpu";
    p.desired_nodes = 2;
    st.worker_pools.push_back(p);
  }
  for (const auto* t : ws) w.finish_task(*w.task_by_id(*t->id), "COMPLETED");
  ClusterState s = answer({});
  {
    Read r(w, s);
    World stale = w;
    Cycle c = cycle(stale, r, &r.reading);
    REQUIRE(c.scaling.pools.size() == 1);
    CHECK(c.scaling.pools[0].target == 2);  // what the stale target alone leads to: the launches are "owed"
  }
  Read r(w, s);
  w.resolve();
  Scaling scaling = scale(w.o.cluster.spec, w.o.cluster.status, r.view, &r.reading, {{"cpu", 0}});
  REQUIRE(scaling.pools.size() == 1);
  CHECK(scaling.pools[0].target == 0);  // the decided target wins: nothing is launched again
  for (const auto& p : scaling.pools) w.o.desired_nodes_override[p.pool] = p.target;
  CHECK(tasks_added(rr::plan(w.o, w.now)) == 0);
}
