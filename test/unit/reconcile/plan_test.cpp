// plan(): scenario tables over observed states, driven through the in-memory World (world.hpp), which also
// refuses any duplicate create, so every scenario checks idempotency too.
#include <doctest/doctest.h>

#include "world.hpp"

namespace rr = raydog::reconcile;
namespace yd = raydog::yellowdog;
using namespace rr::testing;
using rr::Actions;
using namespace std::chrono_literals;

namespace {

// Index of the first action of type T (or npos).
template <class T>
std::size_t index_of(const Actions& a) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::holds_alternative<T>(a[i])) return i;
  return std::string::npos;
}

World running_world() {
  World w;
  w.converge();
  return w;
}

}  // namespace

TEST_CASE(
    "plan: fresh cluster: finalizer first, every pool early, WR, head task, no workers before the head") {
  World w;
  Actions a = rr::plan(w.o, w.now);
  INFO(World::dump(a));
  REQUIRE(!a.empty());
  CHECK(std::holds_alternative<rr::AddFinalizer>(a.front()));
  CHECK(count_of<rr::ProvisionPool>(a) == 3);  // head, cpu, gpu in parallel
  CHECK(count_of<rr::CreateWorkRequirement>(a) == 1);
  CHECK(index_of<rr::AddFinalizer>(a) < index_of<rr::ProvisionPool>(a));
  CHECK(index_of<rr::ProvisionPool>(a) < index_of<rr::CreateWorkRequirement>(a));
  auto adds = all_of<rr::AddTasks>(a);
  REQUIRE(adds.size() == 1);
  CHECK(adds[0]->tasks.size() == 1);
  CHECK(adds[0]->tasks[0].name == "head-00001");
  CHECK_FALSE(adds[0]->task_group_id.has_value());  // created in the same list
  CHECK(has_event(a, "PoolProvisioned"));
  CHECK(has_event(a, "WorkRequirementCreated"));
  CHECK(has_event(a, "HeadStarted"));
  auto rq = all_of<rr::RequeueAfter>(a);
  REQUIRE(rq.size() == 1);
  CHECK(std::holds_alternative<rr::RequeueAfter>(a.back()));
  CHECK(rq[0]->after == w.o.options.requeue_converging);
  const auto worker_pool = all_of<rr::ProvisionPool>(a)[1];
  CHECK(worker_pool->request.provisioned_properties.max_nodes == 2);
}

TEST_CASE(
    "plan: planning twice on the same state is identical (pure) and a crash mid-list never duplicates") {
  // For every n: act stops after n actions (crash / failed call), then the next reconciles converge with
  // no duplicate (World REQUIREs unique names) and exactly the objects the spec asks for.
  for (std::size_t n = 0; n < 12; ++n) {
    CAPTURE(n);
    World w;
    CHECK(World::dump(rr::plan(w.o, w.now)) == World::dump(rr::plan(w.o, w.now)));
    for (int round = 0; round < 6; ++round) {
      w.reconcile(n);
      w.progress();
      w.now += 2s;
    }
    w.converge();
    CHECK(w.live_pools() == 3);
    CHECK(w.live_tasks("head-node").size() == 1);
    CHECK(w.live_tasks("worker-nodes-cpu").size() == 2);
    CHECK(w.live_tasks("worker-nodes-gpu").size() == 1);
    CHECK(w.phase() == raydog::api::Phase::kRunning);
  }
}

TEST_CASE("plan: converged cluster is steady: one requeue, no mutation, every worker points at the head") {
  World w = running_world();
  Actions a = rr::plan(w.o, w.now);
  INFO(World::dump(a));
  REQUIRE(a.size() == 1);
  CHECK(std::get<rr::RequeueAfter>(a[0]).after == w.o.options.requeue_steady);
  REQUIRE(w.o.head);
  for (const auto* t : w.live_tasks("worker-nodes")) {
    CHECK(t->environment.at("RAY_HEAD_IP") == *w.o.head->private_ip);
    CHECK(t->environment.at("RAY_HEAD_NODE_PRIVATE_IP") == *w.o.head->private_ip);
    CHECK(t->environment.count("OBSERVABILITY_HOST") == 0);
    // Ray reports both for the node (ray-gcs.md §4.4): what maps a Ray node back to its task and pool.
    const std::string& pool = t->environment.at("RAY_NODE_TYPE_NAME");
    CHECK((pool == "cpu" || pool == "gpu"));
    CHECK(t->environment.at("RAY_CLOUD_INSTANCE_ID").starts_with("worker-nodes-" + pool));
    CHECK(t->environment.at("RAY_CLOUD_INSTANCE_ID").ends_with("/" + *t->name));
  }
}

TEST_CASE("plan: a pool's rayResources go into its worker tasks' environment, other pools get none") {
  World w;
  (*w.o.cluster.spec.worker_pools)[0].ray_resources =
      std::map<std::string, std::string>{{"CPU", "8"}, {"memory", "1Gi"}, {"accel_a100", "1"}};
  w.converge();
  const std::string with = (*w.o.cluster.spec.worker_pools)[0].name;
  int seen = 0;
  for (const auto* t : w.live_tasks("worker-nodes")) {
    if (t->environment.at("RAY_NODE_TYPE_NAME") == with) {
      ++seen;
      CHECK(t->environment.at("RAYDOG_NUM_CPUS") == "8");
      CHECK(t->environment.at("RAYDOG_MEMORY") == "1073741824");
      CHECK(t->environment.at("RAYDOG_RAY_RESOURCES") == R"({"accel_a100":1.0})");
    } else {
      CHECK(t->environment.count("RAYDOG_NUM_CPUS") == 0);
      CHECK(t->environment.count("RAYDOG_RAY_RESOURCES") == 0);
    }
  }
  CHECK(seen > 0);
}

TEST_CASE("plan: pools booting and head not executing yet: wait, add nothing") {
  World w;
  Actions created = w.reconcile();
  // Acting is converging: the next look must come soon whatever a ChangeFeed sees.
  CHECK_FALSE(std::get<rr::RequeueAfter>(created.back()).until_tasks_start);
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(mutations(a) == 0);
  CHECK(std::get<rr::RequeueAfter>(a.back()).after == w.o.options.requeue_converging);
  // Only waiting for the head task to start: a wait a ChangeFeed reports.
  CHECK(std::get<rr::RequeueAfter>(a.back()).until_tasks_start);
}

TEST_CASE("plan: head executing -> worker tasks added with the head IP, partially ready -> nothing new") {
  World w;
  w.reconcile();
  w.progress();  // head executing, IP resolved
  Actions a = w.reconcile();
  INFO(World::dump(a));
  auto adds = all_of<rr::AddTasks>(a);
  REQUIRE(adds.size() == 2);
  std::size_t total = 0;
  for (auto* add : adds) {
    total += add->tasks.size();
    CHECK(add->task_group_id.has_value());
    for (const auto& t : add->tasks) CHECK(t.environment.at("RAY_HEAD_IP") == *w.o.head->private_ip);
  }
  CHECK(total == 3);
  CHECK(has_event(a, "WorkersAdded"));
  CHECK_FALSE(std::get<rr::RequeueAfter>(a.back()).until_tasks_start);
  // Worker tasks waiting: nothing more is planned, still converging (until they start).
  Actions b = w.reconcile();
  CHECK(mutations(b) == 0);
  CHECK(std::get<rr::RequeueAfter>(b.back()).after == w.o.options.requeue_converging);
  CHECK(std::get<rr::RequeueAfter>(b.back()).until_tasks_start);
  // All running: steady, nothing awaited.
  w.progress();
  Actions c = w.reconcile();
  CHECK(std::get<rr::RequeueAfter>(c.back()).after == w.o.options.requeue_steady);
  CHECK_FALSE(std::get<rr::RequeueAfter>(c.back()).until_tasks_start);
}

TEST_CASE("plan: observability first, its IP reaches head and workers") {
  World w;
  raydog::api::ObservabilitySpec obs;
  obs.enabled = true;
  obs.node.compute_requirement_template = "ydid:crt:000000:obs";
  w.o.cluster.spec.observability = obs;
  Actions a = rr::plan(w.o, w.now);
  CHECK(count_of<rr::ProvisionPool>(a) == 4);
  auto adds = all_of<rr::AddTasks>(a);
  REQUIRE(adds.size() == 1);
  CHECK(adds[0]->tasks[0].name == "observability-00001");
  w.converge();
  REQUIRE(w.o.observability);
  const std::string obs_ip = *w.o.observability->private_ip;
  auto heads = w.live_tasks("head-node");
  REQUIRE(heads.size() == 1);
  CHECK(heads[0]->environment.at("OBSERVABILITY_HOST") == obs_ip);
  for (const auto* t : w.live_tasks("worker-nodes")) CHECK(t->environment.at("OBSERVABILITY_HOST") == obs_ip);
  REQUIRE(w.o.cluster.status->observability);
  CHECK(w.o.cluster.status->observability->grafana_url == "http://" + obs_ip + ":3000");
  CHECK(w.o.cluster.status->observability->prometheus_url == "http://" + obs_ip + ":9090");
}

TEST_CASE("plan: a worker lost with its node is replaced at once, a second loss in a row backs off") {
  World w = running_world();
  auto workers = w.live_tasks("worker-nodes-cpu");
  REQUIRE(workers.size() == 2);
  const auto lose = [&](yd::Task& t) {
    w.finish_task(t, "FAILED");
    yd::TaskError err;
    err.error = "node lost";
    err.error_type = "ALLOCATION_LOST";
    t.errors.push_back(err);
  };
  w.now += 1min;  // settled: ran longer than a task placed on a node being released as idle could
  lose(*w.task_by_id(*workers[0]->id));
  w.now += 1s;
  Actions a = w.reconcile();
  INFO(World::dump(a));
  auto adds = all_of<rr::AddTasks>(a);
  REQUIRE(adds.size() == 1);  // no backoff: the platform lost the node, the task did nothing wrong
  CHECK(adds[0]->tasks.size() == 1);

  // Its replacement is lost as well, a minute later: two failures in one chain back off as a crash loop
  // does (the second step of the doubling: 10 s).
  w.progress();
  auto* replacement = w.task_by_id(*w.o.tasks[adds[0]->task_group_name].back().id);
  w.now += 1min;
  lose(*replacement);
  w.now += 1s;
  a = w.reconcile();
  CHECK(count_of<rr::AddTasks>(a) == 0);
  w.now += 10s;
  a = w.reconcile();
  CHECK(count_of<rr::AddTasks>(a) == 1);
}

TEST_CASE("plan: a lost worker the operator aborted, or one that had just started, backs off as any failure") {
  for (const bool aborted : {true, false}) {
    CAPTURE(aborted);
    World w = running_world();
    auto workers = w.live_tasks("worker-nodes-cpu");
    REQUIRE(workers.size() == 2);
    // Aborted: ran a minute, then the operator aborted it and released its VM (ALLOCATION_LOST follows).
    // Not aborted: lost 10 s after it started (maybe on a node released as idle from an older snapshot).
    w.now += aborted ? 1min : 10s;
    yd::Task& t = *w.task_by_id(*workers[0]->id);
    w.finish_task(t, "FAILED");
    if (aborted) t.abort_requested_time = t.finished_time;
    yd::TaskError err;
    err.error = "node lost";
    err.error_type = "ALLOCATION_LOST";
    t.errors.push_back(err);
    w.now += 1s;
    Actions a = w.reconcile();
    INFO(World::dump(a));
    CHECK(count_of<rr::AddTasks>(a) == 0);  // the 5 s backoff of a first failure
    w.now += 5s;
    a = w.reconcile();
    CHECK(count_of<rr::AddTasks>(a) == 1);
  }
}

TEST_CASE("plan: failed worker task is replaced after a backoff that doubles, Degraded with the error") {
  World w = running_world();
  auto workers = w.live_tasks("worker-nodes-cpu");
  REQUIRE(workers.size() == 2);
  auto* t = w.task_by_id(*workers[0]->id);
  w.finish_task(*t, "FAILED");
  yd::TaskError err;
  err.error = "ray start exited 1";
  err.error_type = "PROCESS_NON_ZERO_EXIT";
  t->errors.push_back(err);

  w.now += 1s;
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(count_of<rr::AddTasks>(a) == 0);  // within the first 5 s backoff
  CHECK(std::get<rr::RequeueAfter>(a.back()).after <= 4s);
  CHECK(w.phase() == raydog::api::Phase::kDegraded);
  CHECK(w.cond_status("Ready") == "False");
  CHECK(w.condition("Ready")->message.find("ray start exited 1") != std::string::npos);
  CHECK(w.o.cluster.status->worker_pools[0].health == "Degraded");
  CHECK(w.o.cluster.status->worker_pools[0].failed_tasks == 1);

  w.now += 5s;
  a = w.reconcile();
  auto adds = all_of<rr::AddTasks>(a);
  REQUIRE(adds.size() == 1);
  CHECK(adds[0]->tasks.size() == 1);
  CHECK(adds[0]->tasks[0].name == "worker-00003");  // next ordinal

  // The replacement fails quickly too: the second backoff is 10 s.
  w.progress();
  auto* t2 = w.task_by_id(*w.o.tasks[adds[0]->task_group_name].back().id);
  w.finish_task(*t2, "FAILED");
  w.now += 6s;
  a = w.reconcile();
  CHECK(count_of<rr::AddTasks>(a) == 0);
  w.now += 5s;
  a = w.reconcile();
  CHECK(count_of<rr::AddTasks>(a) == 1);
  w.converge();
  CHECK(w.phase() == raydog::api::Phase::kRunning);
}

TEST_CASE("plan: head lost -> new head, workers re-pointed at the new IP with an event naming both IPs") {
  World w = running_world();
  const std::string old_ip = *w.o.head->private_ip;
  const std::string old_head = w.o.head->task_id;
  w.lost_nodes.insert(old_head);
  Actions a = w.reconcile();
  INFO(World::dump(a));
  auto cancels = all_of<rr::CancelTasks>(a);
  REQUIRE(cancels.size() >= 1);
  CHECK(cancels[0]->task_ids == std::vector<std::string>{old_head});
  auto adds = all_of<rr::AddTasks>(a);
  REQUIRE(adds.size() == 1);
  CHECK(adds[0]->tasks[0].name == "head-00002");
  CHECK(has_event(a, "HeadReplaced"));

  w.progress();  // the new head executes with a new IP
  const std::string new_ip = *w.o.head->private_ip;
  REQUIRE(new_ip != old_ip);
  Actions b = w.reconcile();
  INFO(World::dump(b));
  std::size_t cancelled = 0;
  for (auto* c : all_of<rr::CancelTasks>(b)) {
    CHECK(c->abort);
    cancelled += c->task_ids.size();
  }
  CHECK(cancelled == 3);
  CHECK(count_of<rr::AddTasks>(b) == 2);
  bool named = false;
  for (const auto* e : all_of<rr::EmitEvent>(b))
    if (e->reason == "HeadReplaced" && e->message.find(old_ip) != std::string::npos &&
        e->message.find(new_ip) != std::string::npos)
      named = true;
  CHECK(named);
  w.converge();
  for (const auto* t : w.live_tasks("worker-nodes")) CHECK(t->environment.at("RAY_HEAD_IP") == new_ip);
  CHECK(w.o.cluster.status->head->private_ip == new_ip);
  CHECK(w.o.cluster.status->endpoints->gcs->find(":6379") != std::string::npos);
}

TEST_CASE("plan: pool shut down from outside is re-provisioned under a new attempt name") {
  World w = running_world();
  auto n = rr::names_for(w.o.cluster, 1);
  auto* p = w.pool_named(n.workers[0].revision);
  REQUIRE(p);
  p->pool.status = "SHUTDOWN";
  for (auto& t : w.o.tasks[n.workers[0].task_group])
    if (rr::is_live(t)) w.finish_task(t, "FAILED");
  Actions a = w.reconcile();
  INFO(World::dump(a));
  auto prov = all_of<rr::ProvisionPool>(a);
  REQUIRE(prov.size() == 1);
  CHECK(prov[0]->request.requirement_template_usage.requirement_name == n.workers[0].revision + "-r2");
  CHECK(prov[0]->request.provisioned_properties.worker_tag == n.workers[0].revision);  // same group matches
  CHECK(count_of<rr::TerminateComputeRequirement>(a) == 1);                            // the old pool's CR
  CHECK(has_event(a, "PoolReprovisioned"));
  w.now += 10min;  // past the failure backoff
  w.converge();
  CHECK(w.live_pools() == 3);
  CHECK(w.live_tasks("worker-nodes-cpu").size() == 2);
}

TEST_CASE("plan: spec changes: pool added, resized up and down, removed") {
  World w = running_world();
  auto& pools = *w.o.cluster.spec.worker_pools;

  SUBCASE("added") {
    raydog::api::WorkerPoolSpec big;
    big.name = "big";
    big.nodes = 3;
    big.node.compute_requirement_template = "ns/big";
    pools.push_back(big);
    w.o.cluster.metadata.generation = 2;
    Actions a = w.reconcile();
    INFO(World::dump(a));
    CHECK(count_of<rr::ProvisionPool>(a) == 1);
    auto groups = all_of<rr::AddTaskGroups>(a);
    REQUIRE(groups.size() == 1);
    CHECK(groups[0]->groups[0].name.starts_with("worker-nodes-big-"));
    auto adds = all_of<rr::AddTasks>(a);
    REQUIRE(adds.size() == 1);
    CHECK(adds[0]->tasks.size() == 3);
    CHECK_FALSE(adds[0]->task_group_id.has_value());
    w.converge();
    CHECK(w.live_tasks("worker-nodes-big").size() == 3);
    CHECK(w.live_pools() == 4);
  }
  SUBCASE("resized up") {
    pools[0].nodes = 4;
    Actions a = w.reconcile();
    INFO(World::dump(a));
    auto rs = all_of<rr::ResizePool>(a);
    REQUIRE(rs.size() == 1);
    CHECK(rs[0]->size == 4);
    auto adds = all_of<rr::AddTasks>(a);
    REQUIRE(adds.size() == 1);
    CHECK(adds[0]->tasks.size() == 2);
    w.converge();
    CHECK(w.live_tasks("worker-nodes-cpu").size() == 4);
  }
  SUBCASE("resized down: waiting tasks are cancelled first") {
    pools[0].nodes = 4;
    w.reconcile();  // two more tasks, still READY
    pools[0].nodes = 3;
    Actions a = w.reconcile();
    INFO(World::dump(a));
    auto cancels = all_of<rr::CancelTasks>(a);
    REQUIRE(cancels.size() == 1);
    REQUIRE(cancels[0]->task_ids.size() == 1);
    const auto* t = w.task_by_id(cancels[0]->task_ids[0]);
    CHECK(t->name == "worker-00004");  // the newest waiting one (already cancelled by the world)
    CHECK(has_event(a, "WorkersCancelled"));
    CHECK(all_of<rr::ResizePool>(a).size() == 1);
    w.converge();
    CHECK(w.live_tasks("worker-nodes-cpu").size() == 3);
  }
  SUBCASE("resized to zero: tasks cancelled, pool shut down") {
    pools[0].nodes = 0;
    w.converge();
    CHECK(w.live_tasks("worker-nodes-cpu").empty());
    CHECK(w.live_pools() == 2);
    CHECK(w.phase() == raydog::api::Phase::kRunning);
  }
  SUBCASE("removed") {
    pools.erase(pools.begin());
    Actions a = w.reconcile();
    INFO(World::dump(a));
    auto cancels = all_of<rr::CancelTasks>(a);
    REQUIRE(cancels.size() == 1);
    CHECK(cancels[0]->task_ids.size() == 2);
    CHECK(count_of<rr::ShutdownPool>(a) == 1);
    CHECK(has_event(a, "PoolRemoved"));
    w.converge();
    CHECK(w.live_pools() == 2);
    CHECK(w.live_tasks("worker-nodes-cpu").empty());
    for (const auto& p : w.o.pools)
      if (yd::is_finished(p.pool.status)) CHECK(p.compute_requirement->status == "TERMINATED");
    CHECK(w.o.cluster.status->worker_pools.size() == 1);
  }
}

TEST_CASE("plan: immutable change -> replacement pool, the old one drains only once the new one runs") {
  World w = running_world();
  auto before = rr::names_for(w.o.cluster, 1).workers[0];
  (*w.o.cluster.spec.worker_pools)[0].node.images_id = "ami-new";
  w.o.cluster.metadata.generation = 2;
  auto after = rr::names_for(w.o.cluster, 1).workers[0];
  REQUIRE(after.revision != before.revision);
  Actions a = w.reconcile();
  INFO(World::dump(a));
  auto prov = all_of<rr::ProvisionPool>(a);
  REQUIRE(prov.size() == 1);
  CHECK(prov[0]->request.requirement_template_usage.requirement_name == after.revision);
  CHECK(prov[0]->request.requirement_template_usage.images_id == "ami-new");
  CHECK(count_of<rr::AddTaskGroups>(a) == 1);
  CHECK(count_of<rr::ShutdownPool>(a) == 0);  // the old pool keeps serving
  CHECK(count_of<rr::CancelTasks>(a) == 0);
  CHECK(w.live_tasks(before.task_group).size() == 2);
  w.progress();
  Actions b = w.reconcile();  // the new tasks execute now: drain the old revision
  INFO(World::dump(b));
  CHECK(count_of<rr::ShutdownPool>(b) == 1);
  CHECK(count_of<rr::CancelTasks>(b) == 1);
  w.converge();
  CHECK(w.live_pools() == 3);
  CHECK(w.live_tasks(before.task_group).empty());
  CHECK(w.live_tasks(after.task_group).size() == 2);
  CHECK(w.pool_named(before.revision)->compute_requirement->status == "TERMINATED");
}

TEST_CASE("plan: suspend tears down, resume builds a new incarnation recorded before its creates") {
  World w = running_world();
  w.o.cluster.spec.suspend = true;
  w.o.cluster.metadata.generation = 2;
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(count_of<rr::CancelWorkRequirement>(a) == 1);
  CHECK(all_of<rr::CancelWorkRequirement>(a)[0]->abort);
  CHECK(count_of<rr::ShutdownPool>(a) == 3);
  CHECK(count_of<rr::TerminateComputeRequirement>(a) == 3);
  CHECK(yellowdog_calls(a) == 7);
  w.converge();
  CHECK(w.phase() == raydog::api::Phase::kSuspended);
  CHECK(w.cond_status("Ready") == "False");
  CHECK(w.cond_reason("Ready") == "Suspended");
  CHECK(w.cond_status("Reconciling") == "False");
  CHECK(w.live_pools() == 0);
  CHECK(rr::plan(w.o, w.now).empty());  // nothing to do, no polling while suspended

  w.o.cluster.spec.suspend = false;
  w.o.cluster.metadata.generation = 3;
  Actions b = w.reconcile();
  INFO(World::dump(b));
  const auto rec = index_of<rr::RecordIncarnation>(b);
  REQUIRE(rec != std::string::npos);
  CHECK(std::get<rr::RecordIncarnation>(b[rec]).incarnation == 2);
  CHECK(rec < index_of<rr::ProvisionPool>(b));
  CHECK(rec < index_of<rr::CreateWorkRequirement>(b));
  auto wr = all_of<rr::CreateWorkRequirement>(b);
  REQUIRE(wr.size() == 1);
  CHECK(wr[0]->work_requirement.name == rr::names_for(w.o.cluster, 1).base + "-2");
  w.converge();
  CHECK(w.phase() == raydog::api::Phase::kRunning);
  CHECK(w.o.cluster.status->work_requirement->name == rr::names_for(w.o.cluster, 1).base + "-2");
  CHECK(w.live_pools() == 3);
}

TEST_CASE("plan: build timeout -> Failed, teardown, held until the generation changes, then rebuilt") {
  World w;
  w.reconcile();
  // The head never starts (no progress()): past buildTimeout (10m default).
  w.now += 11min;
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(has_event(a, "BuildTimeout"));
  CHECK(count_of<rr::CancelWorkRequirement>(a) == 1);
  CHECK(count_of<rr::ShutdownPool>(a) == 3);
  CHECK(w.phase() == raydog::api::Phase::kFailed);
  CHECK(w.cond_reason("Ready") == "BuildTimeout");
  CHECK(w.cond_status("Stalled") == "True");
  CHECK(w.cond_reason("Stalled") == "BuildTimeout");
  CHECK(w.cond_status("Reconciling") == "False");
  for (int i = 0; i < 3; ++i) {
    w.now += 1min;
    Actions held = w.reconcile();
    INFO(World::dump(held));
    CHECK(yellowdog_calls(held) == 0);
    CHECK_FALSE(has_event(held, "BuildTimeout"));
    CHECK(w.phase() == raydog::api::Phase::kFailed);
  }
  w.o.cluster.metadata.generation = 2;  // the user fixes the spec
  Actions b = w.reconcile();
  INFO(World::dump(b));
  CHECK(count_of<rr::RecordIncarnation>(b) == 1);
  CHECK(count_of<rr::CreateWorkRequirement>(b) == 1);
  CHECK(w.phase() == raydog::api::Phase::kProvisioning);
  w.converge();
  CHECK(w.phase() == raydog::api::Phase::kRunning);
}

TEST_CASE("plan: spec edited while the failed build is still being torn down -> old WR cancelled, rebuilt") {
  World w;
  w.reconcile();
  w.now += 11min;
  auto a = rr::plan(w.o, w.now);  // the timeout is detected, but act fails before anything runs
  auto outcome = w.apply(a, 0);
  w.o.cluster.status = rr::compute_status(w.o, outcome, w.o.cluster.status, w.now);
  CHECK(w.phase() == raydog::api::Phase::kFailed);
  w.o.cluster.metadata.generation = 2;
  Actions b = w.reconcile();
  INFO(World::dump(b));
  CHECK(count_of<rr::CancelWorkRequirement>(b) == 1);
  CHECK(index_of<rr::CancelWorkRequirement>(b) < index_of<rr::RecordIncarnation>(b));
  w.converge();
  CHECK(w.phase() == raydog::api::Phase::kRunning);
  CHECK(w.live_pools() == 3);
}

TEST_CASE("plan: deletion with policy Delete waits for YellowDog, then removes the finalizer") {
  World w = running_world();
  w.o.cluster.metadata.deletion_timestamp = w.ts();
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(count_of<rr::CancelWorkRequirement>(a) == 1);
  CHECK(count_of<rr::ShutdownPool>(a) == 3);
  CHECK(count_of<rr::TerminateComputeRequirement>(a) == 3);
  CHECK(count_of<rr::RemoveFinalizer>(a) == 0);  // not before YellowDog shows them finished
  CHECK(w.phase() == raydog::api::Phase::kDeleting);
  CHECK(w.cond_reason("Ready") == "Deleting");
  Actions b = w.reconcile();
  INFO(World::dump(b));
  CHECK(count_of<rr::RemoveFinalizer>(b) == 1);
  CHECK(yellowdog_calls(b) == 0);
  CHECK(rr::plan(w.o, w.now).empty());  // finalizer gone: nothing more
}

TEST_CASE("plan: deletion with policy Orphan removes the finalizer without touching YellowDog") {
  World w = running_world();
  w.o.cluster.spec.deletion_policy = raydog::api::DeletionPolicy::kOrphan;
  w.o.cluster.metadata.deletion_timestamp = w.ts();
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(yellowdog_calls(a) == 0);
  CHECK(count_of<rr::RemoveFinalizer>(a) == 1);
  CHECK(w.live_pools() == 3);
}

TEST_CASE("plan: cleanup timeout -> Warning event listing what may leak, then the finalizer goes") {
  World w = running_world();
  w.o.cluster.metadata.deletion_timestamp = w.ts();
  // YellowDog never confirms (act keeps failing before anything runs).
  for (int i = 0; i < 3; ++i) {
    auto a = rr::plan(w.o, w.now);
    CHECK(count_of<rr::RemoveFinalizer>(a) == 0);
    w.apply(a, 0);
    w.now += 1min;
  }
  w.now += 10min;
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(count_of<rr::RemoveFinalizer>(a) == 1);
  bool listed = false;
  for (const auto* e : all_of<rr::EmitEvent>(a))
    if (e->reason == "CleanupTimedOut") {
      CHECK(e->type == "Warning");
      listed = e->message.find(*w.o.work_requirement->id) != std::string::npos &&
               e->message.find(w.o.pools[0].pool.id) != std::string::npos;
    }
  CHECK(listed);
}

TEST_CASE("plan: invalid spec -> no YellowDog action at all, a Warning event once, Stalled") {
  World w;
  (*w.o.cluster.spec.worker_pools)[0].nodes = -1;
  w.o.cluster.spec.head->compute_requirement_template.reset();
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(mutations(a) == 0);
  CHECK(count_of<rr::RequeueAfter>(a) == 0);  // no retry until the spec changes
  REQUIRE(has_event(a, "InvalidSpec"));
  CHECK(all_of<rr::EmitEvent>(a)[0]->message.find("spec.workerPools[0].nodes") != std::string::npos);
  CHECK(w.cond_status("Synced") == "False");
  CHECK(w.cond_reason("Synced") == "InvalidSpec");
  CHECK(w.condition("Synced")->message.find("spec.workerPools[0].nodes") != std::string::npos);
  CHECK(w.cond_status("Stalled") == "True");
  CHECK(w.phase() == raydog::api::Phase::kPending);
  Actions again = w.reconcile();
  CHECK(again.empty());  // the event is not repeated for the same generation
  // Fixing the spec resumes.
  (*w.o.cluster.spec.worker_pools)[0].nodes = 1;
  w.o.cluster.spec.head->compute_requirement_template = "ns/head";
  w.o.cluster.metadata.generation = 2;
  w.converge();
  CHECK(w.phase() == raydog::api::Phase::kRunning);
  CHECK(w.cond_status("Stalled") == "False");
}

TEST_CASE("plan: credentials missing or refused -> condition naming the Secret/key, slow retry, no call") {
  struct Row {
    rr::CredentialsState state;
    const char* reason;
  };
  for (Row row : {Row{rr::CredentialsState::kSecretNotFound, "CredentialsNotFound"},
                  Row{rr::CredentialsState::kKeyNotFound, "CredentialsNotFound"},
                  Row{rr::CredentialsState::kNotAuthorised, "NotAuthorised"}}) {
    CAPTURE(row.reason);
    World w;
    w.o.credentials.state = row.state;
    w.o.credentials.message = "Secret \"team/yd\" has no key \"keySecret\"";
    Actions a = w.reconcile();
    INFO(World::dump(a));
    CHECK(mutations(a) == 0);
    CHECK(has_event(a, row.reason));
    REQUIRE(count_of<rr::RequeueAfter>(a) == 1);
    CHECK(all_of<rr::RequeueAfter>(a)[0]->after == w.o.options.credentials_retry);
    CHECK(w.cond_reason("Synced") == row.reason);
    CHECK(w.condition("Synced")->message == w.o.credentials.message);
    CHECK(w.cond_status("Stalled") == "True");
    CHECK_FALSE(has_event(w.reconcile(), row.reason));  // once per generation
  }
}

TEST_CASE(
    "plan: an apiURL outside --yellowdog-allowed-urls -> ApiURLNotAllowed, Stalled, no finalizer, no call") {
  World w;
  w.o.api_url_refusal = "apiURL \"http://127.0.0.1:9\" is not allowed (its origin is not listed): ...";
  w.o.credentials.state = rr::CredentialsState::kUnknown;  // the loop never reads the Secret then
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(mutations(a) == 0);
  CHECK(count_of<rr::AddFinalizer>(a) == 0);  // nothing will exist to clean up
  CHECK(count_of<rr::RequeueAfter>(a) == 0);  // terminal until the spec or the operator's flags change
  CHECK(has_event(a, "ApiURLNotAllowed"));
  for (const auto* e : all_of<rr::EmitEvent>(a))
    if (e->reason == "ApiURLNotAllowed") {
      CHECK(e->type == "Warning");
      CHECK(e->message == *w.o.api_url_refusal);
    }
  CHECK(w.cond_reason("Synced") == "ApiURLNotAllowed");
  CHECK(w.condition("Synced")->message == *w.o.api_url_refusal);
  CHECK(w.cond_status("Stalled") == "True");
  CHECK(w.cond_reason("Stalled") == "ApiURLNotAllowed");
  CHECK(w.phase() == raydog::api::Phase::kPending);
  CHECK_FALSE(has_event(w.reconcile(), "ApiURLNotAllowed"));  // once per generation
}

TEST_CASE("plan: an invalid spec wins over a refused apiURL (it names the field to fix first)") {
  World w;
  w.o.api_url_refusal = "apiURL ... is not allowed";
  w.o.cluster.spec.worker_pools->at(0).nodes = -1;
  Actions a = w.reconcile();
  CHECK(has_event(a, "InvalidSpec"));
  CHECK_FALSE(has_event(a, "ApiURLNotAllowed"));
}

TEST_CASE("plan: deleting a cluster whose apiURL left the allow-list never calls YellowDog") {
  // What the loop observes then: the refusal, and no credentials (the Secret is not read).
  auto refuse_and_delete = [](World& w) {
    w.o.cluster.metadata.deletion_timestamp = w.ts();
    w.o.api_url_refusal = "apiURL ... is not allowed";
    w.o.credentials.state = rr::CredentialsState::kUnknown;
  };
  SUBCASE("nothing recorded in status: the finalizer goes at once") {
    World w;
    w.o.cluster.metadata.finalizers = std::vector<std::string>{std::string(rr::kFinalizer)};
    refuse_and_delete(w);
    Actions a = w.reconcile();
    INFO(World::dump(a));
    CHECK(count_of<rr::RemoveFinalizer>(a) == 1);
    CHECK(yellowdog_calls(a) == 0);
  }
  SUBCASE("YellowDog ids in status: kept until the cleanup timeout, which names them") {
    World w = running_world();
    refuse_and_delete(w);
    Actions a = w.reconcile();
    INFO(World::dump(a));
    CHECK(count_of<rr::RemoveFinalizer>(a) == 0);
    CHECK(yellowdog_calls(a) == 0);
    w.now += 11min;
    Actions b = w.reconcile();
    INFO(World::dump(b));
    CHECK(count_of<rr::RemoveFinalizer>(b) == 1);
    CHECK(has_event(b, "CleanupTimedOut"));
    CHECK(yellowdog_calls(b) == 0);
  }
}

TEST_CASE("plan: missing ConfigMap for a script -> ConfigMapNotFound, nothing created") {
  World w;
  w.o.cluster.spec.head->start_script_from =
      raydog::api::ValueSource{raydog::api::ConfigMapKeySelector{"scripts", "head.sh"}};
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(yellowdog_calls(a) == 0);
  CHECK(has_event(a, "ConfigMapNotFound"));
  CHECK(w.cond_reason("Synced") == "ConfigMapNotFound");
  w.o.sources["scripts/head.sh"] = "#!/bin/bash\nray start --head --block\n";
  w.converge();
  CHECK(w.live_tasks("head-node")[0]->task_data == "#!/bin/bash\nray start --head --block\n");
}

TEST_CASE("plan: observe failure plans nothing, WR finished from outside -> new incarnation") {
  World w = running_world();
  w.o.observe_error = rr::Error{rr::ErrorKind::kTransient, "503 from YellowDog"};
  CHECK(rr::plan(w.o, w.now).empty());
  w.o.observe_error.reset();
  w.o.work_requirement->status = "CANCELLED";
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(count_of<rr::RecordIncarnation>(a) == 1);
  CHECK(count_of<rr::CreateWorkRequirement>(a) == 1);
  w.converge();
  CHECK(w.phase() == raydog::api::Phase::kRunning);
  CHECK(w.live_pools() == 3);  // the first incarnation's pools were drained
}

TEST_CASE("plan: a task group that finished anyway is replaced by a new group attempt (-g2)") {
  World w = running_world();
  auto n = rr::names_for(w.o.cluster, 1);
  auto* g = w.group_named(n.workers[0].task_group);
  REQUIRE(g);
  g->status = "FAILED";
  for (auto& t : w.o.tasks[g->name])
    if (rr::is_live(t)) w.finish_task(t, "FAILED");
  w.now += 10min;  // past the backoff
  Actions a = w.reconcile();
  INFO(World::dump(a));
  auto groups = all_of<rr::AddTaskGroups>(a);
  REQUIRE(groups.size() == 1);
  CHECK(groups[0]->groups[0].name == n.workers[0].task_group + "-g2");
  auto adds = all_of<rr::AddTasks>(a);
  REQUIRE(adds.size() == 1);
  CHECK(adds[0]->task_group_name == n.workers[0].task_group + "-g2");
  CHECK(adds[0]->tasks.size() == 2);
  w.converge();
  CHECK(w.phase() == raydog::api::Phase::kRunning);
  CHECK(w.live_tasks(n.workers[0].task_group).size() == 2);
}

TEST_CASE("plan: a running cluster never hits the build timeout later") {
  World w = running_world();
  w.now += 3h;
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK_FALSE(has_event(a, "BuildTimeout"));
  CHECK(mutations(a) == 0);
  CHECK(w.phase() == raydog::api::Phase::kRunning);
}
