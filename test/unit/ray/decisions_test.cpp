// The Ray view's decisions and status without I/O: a cluster converged in the reconciler's in-memory
// World, a GCS answer written by hand, and what decide()/rewrite()/ray_status() make of them.
#include <doctest/doctest.h>

#include "api/conditions.hpp"
#include "controller/ray/decisions.hpp"
#include "controller/ray/extension.hpp"
#include "controller/ray/ray_status.hpp"
#include "controller/ray/ray_view.hpp"
#include "test/unit/reconcile/world.hpp"

namespace {

using namespace raydog;
using namespace raydog::ray;
using raydog::reconcile::testing::all_of;
using raydog::reconcile::testing::count_of;
using raydog::reconcile::testing::World;
namespace rr = raydog::reconcile;
using namespace std::chrono_literals;

World running(std::int32_t cpu_nodes) {
  World w;
  (*w.o.cluster.spec.worker_pools)[0].nodes = cpu_nodes;
  w.converge();
  return w;
}

std::vector<const yellowdog::Task*> live(const World& w, std::string_view prefix) {
  return w.live_tasks_by_name(prefix);
}

RayNode node_for(const World& w, const yellowdog::Task* t, NodeStatus status, std::int64_t idle_ms = 0) {
  RayNode n;
  n.node_id = "node-of-" + *t->id;
  n.instance_id = rr::ray_instance_id(w.group_of(t), *t->name);
  n.status = status;
  n.idle_ms = idle_ms;
  n.total = {{"CPU", 1}};
  return n;
}

RayNode head_node() {
  RayNode n;
  n.node_id = "head";
  n.status = NodeStatus::kIdle;
  n.total = {{"node:__internal_head__", 1}, {"memory", 1e9}};
  return n;
}

// The GCS answer: the head plus the given worker nodes.
ClusterState answer(std::vector<RayNode> workers) {
  ClusterState s;
  s.session_name = "session_1";
  s.nodes.push_back(head_node());
  for (auto& n : workers) s.nodes.push_back(std::move(n));
  return s;
}

struct Step {
  rr::Actions actions;
  RayDecisions decisions;
};

// One reconcile with the Ray view: plan, decide, rewrite.
Step step(World& w, const ClusterState& state, const std::map<std::string, rr::TimePoint>& draining = {},
          bool session_changed = false) {
  w.resolve();
  Step s;
  s.actions = rr::plan(w.o, w.now);
  const rr::View v = rr::view(w.o, w.now);
  const RayView ray = match(state, w.o.tasks);
  s.decisions = decide(w.o, v, s.actions, ray, draining, session_changed, RayPolicy::of(w.o.cluster.spec), w.now);
  rewrite(s.actions, s.decisions, w.o);
  return s;
}

std::vector<std::string> cancelled(const rr::Actions& a) {
  std::vector<std::string> ids;
  for (const auto* c : all_of<rr::CancelTasks>(a)) ids.insert(ids.end(), c->task_ids.begin(), c->task_ids.end());
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> released(const rr::Actions& a) {
  std::vector<std::string> ids;
  for (const auto* r : all_of<rr::ReleaseNodes>(a)) ids.insert(ids.end(), r->node_ids.begin(), r->node_ids.end());
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool has_event(const rr::Actions& a, std::string_view reason) {
  return rr::testing::has_event(a, reason);
}

}  // namespace

TEST_CASE("ray view: nodes match their tasks by instance id, the head by its marker, others are foreign") {
  World w = running(2);
  auto cpu = live(w, "worker-nodes-cpu");
  REQUIRE(cpu.size() == 2);
  RayNode by_id = node_for(w, cpu[1], NodeStatus::kRunning);
  by_id.instance_id = *cpu[1]->id;  // a script that reports the task id matches too
  RayNode stranger = node_for(w, cpu[0], NodeStatus::kIdle);
  stranger.instance_id = "someone-else";
  const ClusterState s = answer({node_for(w, cpu[0], NodeStatus::kIdle), by_id, stranger});
  const RayView v = match(s, w.o.tasks);
  REQUIRE(v.head != nullptr);
  CHECK(v.head->node_id == "head");
  REQUIRE(v.find(*cpu[0]->id)->node != nullptr);
  CHECK(v.find(*cpu[0]->id)->node->status == NodeStatus::kIdle);
  REQUIRE(v.find(*cpu[1]->id)->node != nullptr);
  CHECK(v.find(*cpu[1]->id)->node->status == NodeStatus::kRunning);
  CHECK(v.foreign.size() == 1);
  CHECK(v.find(*live(w, "worker-nodes-gpu")[0]->id)->node == nullptr);  // not joined
}

TEST_CASE("drained scale-down: 4 to 2 with two idle and two busy drains exactly the idle ones, then releases their VMs") {
  World w = running(4);
  auto cpu = live(w, "worker-nodes-cpu");
  REQUIRE(cpu.size() == 4);
  (*w.o.cluster.spec.worker_pools)[0].nodes = 2;
  w.o.cluster.metadata.generation = 2;
  // Busy: the two oldest; idle: worker 3 (10 s) and worker 4 (40 s, the longest idle goes first).
  auto nodes = [&](NodeStatus three, NodeStatus four) {
    return answer({node_for(w, cpu[0], NodeStatus::kRunning), node_for(w, cpu[1], NodeStatus::kRunning),
                   node_for(w, cpu[2], three, 10'000), node_for(w, cpu[3], four, 40'000),
                   node_for(w, live(w, "worker-nodes-gpu")[0], NodeStatus::kRunning)});
  };

  Step first = step(w, nodes(NodeStatus::kIdle, NodeStatus::kIdle));
  INFO(World::dump(first.actions));
  REQUIRE(first.decisions.drains.size() == 2);
  CHECK(first.decisions.drains[0].task_id == *cpu[3]->id);  // longest idle first
  CHECK(first.decisions.drains[1].task_id == *cpu[2]->id);
  for (const auto& d : first.decisions.drains) {
    CHECK(d.reason == DrainReason::kIdleTermination);
    CHECK_FALSE(d.deadline.has_value());
  }
  CHECK(cancelled(first.actions).empty());           // nothing goes before Ray let it go
  CHECK(count_of<rr::ResizePool>(first.actions) == 0);  // YellowDog must not pick a VM itself
  CHECK(std::get<rr::RequeueAfter>(first.actions.back()).after == w.o.options.requeue_converging);

  // Ray accepted: the nodes drain. Nothing new is asked, nothing cancelled yet.
  w.now += 2s;
  std::map<std::string, rr::TimePoint> since{{*cpu[2]->id, w.now - 2s}, {*cpu[3]->id, w.now - 2s}};
  Step draining = step(w, nodes(NodeStatus::kDraining, NodeStatus::kDraining), since);
  CHECK(draining.decisions.drains.empty());
  CHECK(cancelled(draining.actions).empty());
  CHECK(count_of<rr::ResizePool>(draining.actions) == 0);
  CHECK(draining.decisions.draining_since.size() == 2);

  // Ray shows them DEAD: exactly their tasks are cancelled and exactly their VMs released, then the resize.
  w.now += 2s;
  Step dead = step(w, nodes(NodeStatus::kDead, NodeStatus::kDead), draining.decisions.draining_since);
  INFO(World::dump(dead.actions));
  std::vector<std::string> want{*cpu[2]->id, *cpu[3]->id};
  std::sort(want.begin(), want.end());
  CHECK(cancelled(dead.actions) == want);
  std::vector<std::string> nodes_want{*cpu[2]->node_id, *cpu[3]->node_id};
  std::sort(nodes_want.begin(), nodes_want.end());
  CHECK(released(dead.actions) == nodes_want);
  for (const auto* r : all_of<rr::ReleaseNodes>(dead.actions)) CHECK(r->pool_name.find("-w-cpu") != std::string::npos);
  std::size_t release_at = 0, resize_at = 0;
  for (std::size_t i = 0; i < dead.actions.size(); ++i) {
    if (std::holds_alternative<rr::ReleaseNodes>(dead.actions[i])) release_at = i;
    if (std::holds_alternative<rr::ResizePool>(dead.actions[i])) resize_at = i;
  }
  CHECK(resize_at > release_at);
  CHECK(std::holds_alternative<rr::RequeueAfter>(dead.actions.back()));
}

TEST_CASE("drained scale-down: tasks whose node never joined go first, at once, without a drain") {
  World w = running(3);
  auto cpu = live(w, "worker-nodes-cpu");
  (*w.o.cluster.spec.worker_pools)[0].nodes = 2;
  // cpu[0] has no Ray node: it goes, though the plan alone would have picked the newest task.
  Step s = step(w, answer({node_for(w, cpu[1], NodeStatus::kIdle, 99'000), node_for(w, cpu[2], NodeStatus::kIdle, 99'000)}));
  CHECK(s.decisions.drains.empty());
  CHECK(cancelled(s.actions) == std::vector<std::string>{*cpu[0]->id});
  CHECK(released(s.actions) == std::vector<std::string>{*cpu[0]->node_id});
}

TEST_CASE("drained scale-down: a busy victim gets PREEMPTION with the drainTimeout deadline") {
  World w = running(2);
  w.o.cluster.spec.drain_timeout = "3m";
  auto cpu = live(w, "worker-nodes-cpu");
  (*w.o.cluster.spec.worker_pools)[0].nodes = 1;
  Step s = step(w, answer({node_for(w, cpu[0], NodeStatus::kRunning), node_for(w, cpu[1], NodeStatus::kRunning)}));
  REQUIRE(s.decisions.drains.size() == 1);
  CHECK(s.decisions.drains[0].task_id == *cpu[1]->id);  // newest busy one
  CHECK(s.decisions.drains[0].reason == DrainReason::kPreemption);
  CHECK(s.decisions.drains[0].deadline == w.now + 3min);
}

TEST_CASE("drained scale-down: a node still draining after drainTimeout is cancelled anyway, with a Warning") {
  World w = running(2);
  auto cpu = live(w, "worker-nodes-cpu");
  (*w.o.cluster.spec.worker_pools)[0].nodes = 1;
  const ClusterState s = answer({node_for(w, cpu[0], NodeStatus::kRunning), node_for(w, cpu[1], NodeStatus::kDraining)});
  Step early = step(w, s, {{*cpu[1]->id, w.now - 9min}});
  CHECK(cancelled(early.actions).empty());
  Step late = step(w, s, {{*cpu[1]->id, w.now - 10min}});
  CHECK(cancelled(late.actions) == std::vector<std::string>{*cpu[1]->id});
  CHECK(has_event(late.actions, "DrainTimedOut"));
  // After an operator restart the drain is dated from when it is seen again: no cancel before the timeout.
  Step restarted = step(w, s, {});
  CHECK(cancelled(restarted.actions).empty());
  CHECK(restarted.decisions.draining_since.at(*cpu[1]->id) == w.now);
}

TEST_CASE("pool removal drains every node of the pool before the pool is shut down") {
  World w = running(2);
  auto cpu = live(w, "worker-nodes-cpu");
  auto gpu = live(w, "worker-nodes-gpu");
  auto& pools = *w.o.cluster.spec.worker_pools;
  pools.erase(pools.begin());  // cpu removed
  w.o.cluster.metadata.generation = 2;
  auto nodes = [&](NodeStatus a, NodeStatus b) {
    return answer({node_for(w, cpu[0], a), node_for(w, cpu[1], b), node_for(w, gpu[0], NodeStatus::kRunning)});
  };
  Step s = step(w, nodes(NodeStatus::kIdle, NodeStatus::kRunning));
  INFO(World::dump(s.actions));
  CHECK(s.decisions.drains.size() == 2);
  CHECK(cancelled(s.actions).empty());
  CHECK(count_of<rr::ShutdownPool>(s.actions) == 0);
  Step done = step(w, nodes(NodeStatus::kDead, NodeStatus::kDead));
  INFO(World::dump(done.actions));
  CHECK(cancelled(done.actions).size() == 2);
  CHECK(count_of<rr::ShutdownPool>(done.actions) == 1);
}

TEST_CASE("healing: a DEAD node under a running task and a node that never joined are replaced, not while a new session settles") {
  World w = running(2);
  auto cpu = live(w, "worker-nodes-cpu");
  auto gpu = live(w, "worker-nodes-gpu");
  const ClusterState s = answer({node_for(w, cpu[0], NodeStatus::kDead), node_for(w, cpu[1], NodeStatus::kRunning)});
  Step early = step(w, s);
  CHECK(cancelled(early.actions) == std::vector<std::string>{*cpu[0]->id});
  CHECK(has_event(early.actions, "RayNodeLost"));
  CHECK_FALSE(has_event(early.actions, "RayJoinTimeout"));  // gpu's task started just now
  w.now += 5min;
  Step late = step(w, s);
  std::vector<std::string> want{*cpu[0]->id, *gpu[0]->id};
  std::sort(want.begin(), want.end());
  CHECK(cancelled(late.actions) == want);
  CHECK(has_event(late.actions, "RayJoinTimeout"));
  Step settling = step(w, s, {}, true);
  CHECK(cancelled(settling.actions).empty());
}

TEST_CASE("a head that cannot be read holds every scale-down and nothing else") {
  World w = running(3);
  (*w.o.cluster.spec.worker_pools)[0].nodes = 1;
  (*w.o.cluster.spec.worker_pools)[1].nodes = 2;  // growth goes ahead
  w.resolve();
  rr::Actions a = rr::plan(w.o, w.now);
  REQUIRE(count_of<rr::CancelTasks>(a) == 1);
  hold_scale_down(a, w.o);
  INFO(World::dump(a));
  CHECK(count_of<rr::CancelTasks>(a) == 0);
  for (const auto* r : all_of<rr::ResizePool>(a)) CHECK(r->size == 2);  // only gpu's growth
  CHECK(count_of<rr::AddTasks>(a) == 1);
}

TEST_CASE("ray status: counts, resources, rayNodes per pool and RayReady's reasons") {
  World w = running(2);
  auto cpu = live(w, "worker-nodes-cpu");
  auto gpu = live(w, "worker-nodes-gpu");
  const rr::View v = rr::view(w.o, w.now);
  const RayPolicy policy = RayPolicy::of(w.o.cluster.spec);
  auto status_for = [&](const ClusterState* state, std::optional<HeadError> error, HeadHealth health = {}) {
    api::RayDogClusterStatus st = *w.o.cluster.status;
    HeadRead read;
    read.attempted = true;
    read.address = "10.0.0.10:6379";
    if (state) read.state = *state;
    read.error = std::move(error);
    read.version = "2.49.2";
    std::optional<RayView> ray;
    if (read.state) ray = match(*read.state, w.o.tasks);
    ray_status(st, w.o.cluster.status, v, true, read, ray ? &*ray : nullptr, health, policy,
               api::HeadAccess::kPrivate, w.now);
    return st;
  };
  auto ready_of = [](const api::RayDogClusterStatus& st) { return *api::find_condition(st.conditions, "RayReady"); };

  const ClusterState all = answer({node_for(w, cpu[0], NodeStatus::kRunning), node_for(w, cpu[1], NodeStatus::kIdle),
                                   node_for(w, gpu[0], NodeStatus::kDraining)});
  auto st = status_for(&all, std::nullopt);
  REQUIRE(st.ray);
  CHECK(st.ray->reachable == true);
  CHECK(st.ray->session_name == "session_1");
  CHECK(st.ray->version == "2.49.2");
  CHECK(st.ray->nodes->alive == 4);
  CHECK(st.ray->nodes->idle == 2);  // the head is idle too
  CHECK(st.ray->nodes->draining == 1);
  CHECK(st.ray->total_resources->at("CPU") == "3");
  CHECK(st.ray->total_resources->at("memory") == "1000000000");
  for (const auto& p : st.worker_pools) CHECK(p.ray_nodes == (p.name == "cpu" ? 2 : 1));
  CHECK(ready_of(st).status == "True");

  const ClusterState missing = answer({node_for(w, cpu[0], NodeStatus::kRunning)});
  st = status_for(&missing, std::nullopt);
  CHECK(ready_of(st).status == "False");
  CHECK(ready_of(st).reason == "WorkersNotJoined");
  CHECK(ready_of(st).message.find(*cpu[1]->name + " (pool cpu") != std::string::npos);

  const ClusterState dead = answer({node_for(w, cpu[0], NodeStatus::kDead), node_for(w, cpu[1], NodeStatus::kIdle),
                                    node_for(w, gpu[0], NodeStatus::kIdle)});
  st = status_for(&dead, std::nullopt);
  CHECK(ready_of(st).reason == "RayNodesLost");

  st = status_for(nullptr, HeadError{HeadError::Kind::kUnreachable, "GetClusterId 10.0.0.10:6379: unreachable"});
  CHECK(st.ray->reachable == false);
  CHECK(ready_of(st).reason == "HeadUnreachable");
  CHECK(ready_of(st).message.find("spec.headAccess Private") != std::string::npos);
  CHECK(ready_of(st).message.find("never answered") != std::string::npos);
  HeadHealth before;
  before.answered_before = true;
  before.unreachable_since = w.now - 1min;
  st = status_for(nullptr, HeadError{HeadError::Kind::kTimeout, "no answer"}, before);
  CHECK(st.ray->unreachable_since.has_value());
  CHECK(ready_of(st).message.find("headUnresponsiveTimeout 2m0s") != std::string::npos);

  // Ready requires RayReady: a gate holds a Running cluster back.
  st = status_for(&missing, std::nullopt);
  REQUIRE(api::find_condition(st.conditions, "Ready")->status == "True");
  rr::apply_readiness_gates(st, {"RayReady"}, w.o.cluster.status, w.now);
  CHECK(api::find_condition(st.conditions, "Ready")->status == "False");
  CHECK(api::find_condition(st.conditions, "Ready")->reason == "WorkersNotJoined");
  CHECK(api::find_condition(st.conditions, "Ready")->message.starts_with("RayReady: "));
  CHECK(st.phase == api::Phase::kDegraded);  // it was fully ready before (Provisioned)

  withdraw_ray_status(st);
  CHECK_FALSE(st.ray.has_value());
  CHECK(api::find_condition(st.conditions, "RayReady") == nullptr);
}

TEST_CASE("network suspected: more than half of the watched heads, and at least 3, quiet at once") {
  RayExtension ext;
  auto watch = [&](const std::string& key, bool quiet) {
    HeadMemory& m = ext.memory(key);
    m.answered = true;
    if (quiet) m.unreachable_since = reconcile::testing::t0();
  };
  ext.memory("never/answered").unreachable_since = reconcile::testing::t0();  // not watched: never answered
  watch("a/1", true);
  watch("a/2", true);
  CHECK_FALSE(ext.network_suspected());  // 2 quiet: below the floor of 3
  watch("a/3", true);
  REQUIRE(ext.network_suspected());      // 3 of 3
  CHECK(ext.network_suspected()->find("3 of the 3 heads") != std::string::npos);
  watch("b/1", false);
  watch("b/2", false);
  CHECK(ext.network_suspected());        // 3 of 5
  watch("b/3", false);
  CHECK_FALSE(ext.network_suspected());  // 3 of 6 is not more than half
  ext.forget("b/3");
  CHECK(ext.network_suspected());
}
