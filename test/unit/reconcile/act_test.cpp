// act (controller/reconcile/act.hpp) against the in-memory YellowDog and the fake Kubernetes API: what
// each action sends, that it stops at the first failure with one ActionFailed event, what counts as
// success (already exists, already gone), and what it reports back in ActResult.
#include <doctest/doctest.h>

#include "test/unit/reconcile/io_fixture.hpp"

namespace raydog::reconcile::testing {
namespace {

namespace yd = raydog::yellowdog;

std::size_t index_of_first(const Actions& actions, auto pred) {
  for (std::size_t i = 0; i < actions.size(); ++i)
    if (pred(actions[i])) return i;
  FAIL("no such action");
  return actions.size();
}

// A RUNNING work requirement with one group per name, stored in the fake; returns it as stored.
yd::WorkRequirement& seed_work_requirement(InMemoryYellowDog& y, const std::string& name,
                                           const std::vector<std::string>& groups) {
  yd::WorkRequirement wr;
  wr.id = "ydid:workreq:" + name;
  wr.namespace_ = "ray";
  wr.name = name;
  wr.status = yd::WorkRequirementStatus("RUNNING");
  for (const auto& g : groups) {
    yd::TaskGroup group;
    group.id = "ydid:taskgrp:" + g;
    group.name = g;
    group.run_specification.task_types = {"bash"};
    wr.task_groups.push_back(group);
  }
  y.work_requirements.push_back(wr);
  return y.work_requirements.back();
}

yd::Task& seed_task(InMemoryYellowDog& y, const std::string& id, const std::string& group_id,
                    const char* status) {
  yd::Task t;
  t.id = id;
  t.name = id;
  t.task_group_id = group_id;
  t.status = yd::TaskStatus(status);
  y.tasks.push_back(t);
  return y.tasks.back();
}

std::vector<std::string> finalizers_of(const nlohmann::json& object) {
  return object["metadata"].value("finalizers", std::vector<std::string>{});
}

TEST_CASE("a fresh cluster's plan reaches YellowDog as planned") {
  IoFixture f("act-fresh");
  Observed o = f.fresh();
  const Actions actions = plan(o, t0());
  const ClusterNames names = f.names();
  REQUIRE(count_of<ProvisionPool>(actions) == 3);
  REQUIRE(count_of<CreateWorkRequirement>(actions) == 1);
  REQUIRE(count_of<AddTasks>(actions) == 1);
  REQUIRE(count_of<RequeueAfter>(actions) == 1);

  ActResult r = f.act(actions, &o);
  CHECK_FALSE(r.outcome.error.has_value());
  CHECK(r.outcome.executed == actions.size());
  CHECK_FALSE(r.object_gone);
  CHECK(r.requeue_after == all_of<RequeueAfter>(actions).front()->after);

  // Pools: the requests exactly as planned, in order.
  REQUIRE(f.yd.provision_requests.size() == 3);
  auto planned = all_of<ProvisionPool>(actions);
  for (std::size_t i = 0; i < planned.size(); ++i) {
    const auto& sent = f.yd.provision_requests[i].requirement_template_usage;
    const auto& want = planned[i]->request.requirement_template_usage;
    CHECK(sent.requirement_name == want.requirement_name);
    CHECK(sent.template_id == want.template_id);
    CHECK(sent.target_instance_count == want.target_instance_count);
    CHECK(f.yd.provision_requests[i].provisioned_properties.worker_tag ==
          planned[i]->request.provisioned_properties.worker_tag);
  }
  CHECK(f.yd.provision_requests[0].requirement_template_usage.requirement_name == names.head.revision);

  // The WR with its groups, then the head task into the head group, whose id act learnt from the create.
  REQUIRE(f.yd.work_requirement_writes.size() == 1);
  CHECK(f.yd.work_requirement_writes[0].name == names.work_requirement);
  CHECK(f.yd.work_requirement_writes[0].task_groups.size() ==
        all_of<CreateWorkRequirement>(actions).front()->work_requirement.task_groups.size());
  REQUIRE(f.yd.task_adds.size() == 1);
  const yd::TaskGroup* head_group = f.yd.work_requirements[0].find_group(names.head.task_group);
  REQUIRE(head_group != nullptr);
  CHECK(f.yd.task_adds[0].first == head_group->id);
  REQUIRE(f.yd.task_adds[0].second.size() == 1);
  CHECK(f.yd.task_adds[0].second[0].name == std::optional<std::string>("head-00001"));

  // Every planned event, in order, and no other.
  auto planned_events = all_of<EmitEvent>(actions);
  REQUIRE(f.events.events.size() == planned_events.size());
  for (std::size_t i = 0; i < planned_events.size(); ++i) {
    CHECK(f.events.events[i].reason == planned_events[i]->reason);
    CHECK(f.events.events[i].type == planned_events[i]->type);
  }
  CHECK(r.yellowdog_calls == static_cast<int>(f.yd.calls.size()));
  CHECK(f.kube.calls("patch") == 0);  // the finalizer was there already
}

TEST_CASE("each action kind sends its request") {
  IoFixture f("act-kinds");

  SUBCASE("AddFinalizer patches metadata.finalizers once, guarded by the observed resourceVersion") {
    f.cluster.metadata.finalizers.reset();
    f.store();
    Actions actions{AddFinalizer{}, AddFinalizer{}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    CHECK(r.outcome.executed == 2);
    CHECK(finalizers_of(f.stored()) == std::vector<std::string>{std::string(kFinalizer)});
    CHECK(f.kube.calls("patch") == 1);  // the second found it already there
    CHECK(r.yellowdog_calls == 0);
  }
  SUBCASE("RemoveFinalizer removes only our entry and says the object may go") {
    f.cluster.metadata.finalizers = std::vector<std::string>{"other.io/keep", std::string(kFinalizer)};
    f.store();
    Actions actions{RemoveFinalizer{}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    CHECK(r.object_gone);
    CHECK(finalizers_of(f.stored()) == std::vector<std::string>{"other.io/keep"});
  }
  SUBCASE("RecordIncarnation writes the next WR name into status before it exists") {
    Actions actions{RecordIncarnation{2, "wr-name-2"}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    CHECK(r.outcome.recorded_incarnation == std::optional<int>(2));
    auto stored = f.stored();
    CHECK(stored["status"]["workRequirement"]["name"] == "wr-name-2");
    CHECK(stored["status"]["workRequirement"]["id"].is_null());  // an id of an older WR is cleared
    CHECK(f.yd.calls.empty());
  }
  SUBCASE("ResizePool sets the pool's size") {
    auto& pool = f.yd.add_pool("ray", "pool-a", 2, 2);
    Actions actions{ResizePool{pool.id, "pool-a", 5}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    REQUIRE(f.yd.resizes.size() == 1);
    CHECK(f.yd.resizes[0] == std::pair<std::string, std::int64_t>(f.yd.pools[0].id, 5));
    CHECK(f.yd.compute_requirements[0].target_instance_count == std::optional<std::int64_t>(5));
    CHECK(r.yellowdog_calls == 1);
  }
  SUBCASE("ShutdownPool shuts the pool down") {
    const std::string id = f.yd.add_pool("ray", "pool-a", 1, 1).id;
    Actions actions{ShutdownPool{id, "pool-a"}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    CHECK(f.yd.pools[0].status == yd::WorkerPoolStatus("SHUTDOWN"));
    CHECK(r.yellowdog_calls == 1);
  }
  SUBCASE("TerminateComputeRequirement terminates it, with a Normal event") {
    f.yd.add_pool("ray", "pool-a", 1, 1);
    const std::string cr = f.yd.compute_requirements[0].id;
    Actions actions{TerminateComputeRequirement{cr, "pool-a"}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    CHECK(f.yd.compute_requirements[0].status == yd::ComputeRequirementStatus("TERMINATED"));
    REQUIRE(f.events.events.size() == 1);
    CHECK(f.events.events[0].type == "Normal");
    CHECK(f.events.events[0].reason == "ComputeRequirementTerminated");
    CHECK(f.events.events[0].message.find(cr) != std::string::npos);
  }
  SUBCASE("AddTaskGroups appends only the missing groups with one GET and one PUT") {
    seed_work_requirement(f.yd, "wr", {"a"});
    yd::TaskGroup a, b;
    a.name = "a";
    b.name = "b";
    b.run_specification.task_types = {"bash"};
    Actions actions{AddTaskGroups{"ydid:workreq:wr", {a, b}}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    const auto& groups = f.yd.work_requirements[0].task_groups;
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].name == "a");
    CHECK(groups[0].id == std::optional<std::string>("ydid:taskgrp:a"));  // kept as it was
    CHECK(groups[1].name == "b");
    CHECK(f.yd.count("get_work_requirement") == 1);
    CHECK(f.yd.count("update_work_requirement") == 1);
    CHECK(r.yellowdog_calls == 2);
  }
  SUBCASE("AddTasks without a group id resolves the group by name from the observed WR") {
    // ActContext/Observed plumbing: the group was created by an earlier reconcile.
    Observed o = f.fresh();
    o.work_requirement = seed_work_requirement(f.yd, "wr", {"g1", "g2"});
    yd::Task t;
    t.name = "worker-00001";
    Actions actions{AddTasks{"g2", std::nullopt, {t}}};
    ActResult r = f.act(actions, &o);
    CHECK_FALSE(r.outcome.error.has_value());
    REQUIRE(f.yd.task_adds.size() == 1);
    CHECK(f.yd.task_adds[0].first == "ydid:taskgrp:g2");
    CHECK(f.yd.tasks_in_group("ydid:taskgrp:g2").size() == 1);
  }
  SUBCASE("AddTasks to a group nobody knows fails as NotFound without a call") {
    yd::Task t;
    t.name = "worker-00001";
    Actions actions{AddTasks{"nowhere", std::nullopt, {t}}};
    ActResult r = f.act(actions);
    REQUIRE(r.outcome.error.has_value());
    CHECK(r.outcome.error->kind == ErrorKind::kNotFound);
    CHECK(f.yd.calls.empty());
  }
  SUBCASE("CancelTasks cancels each task and says so once") {
    seed_work_requirement(f.yd, "wr", {"g"});
    seed_task(f.yd, "t1", "ydid:taskgrp:g", "EXECUTING");
    seed_task(f.yd, "t2", "ydid:taskgrp:g", "PENDING");
    Actions actions{CancelTasks{{"t1", "t2"}, true, CancelReason::kSurplus, "g"}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    CHECK(f.yd.tasks[0].status == yd::TaskStatus("ABORTED"));
    CHECK(f.yd.tasks[1].status == yd::TaskStatus("ABORTED"));
    CHECK(r.yellowdog_calls == 2);
    REQUIRE(f.events.events.size() == 1);
    CHECK(f.events.events[0].reason == "TasksCancelled");
    CHECK(f.events.events[0].message.find("t1, t2") != std::string::npos);
  }
  SUBCASE("ReleaseNodes shuts down exactly the named nodes, one call each, and says so once") {
    yd::Node keep, a, b;
    keep.id = "ydid:node:keep";
    a.id = "ydid:node:a";
    b.id = "ydid:node:b";
    for (auto* n : {&keep, &a, &b}) n->status = yd::NodeStatus("RUNNING");
    f.yd.nodes = {keep, a, b};
    Actions actions{ReleaseNodes{{"ydid:node:a", "ydid:node:b", "ydid:node:gone"}, "rdc-x-w-cpu"}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());  // a node already gone is what we wanted
    CHECK(r.yellowdog_calls == 3);
    CHECK(f.yd.nodes[0].status == yd::NodeStatus("RUNNING"));
    CHECK(f.yd.nodes[1].status == yd::NodeStatus("DEREGISTERED"));
    CHECK(f.yd.nodes[2].status == yd::NodeStatus("DEREGISTERED"));
    REQUIRE(f.events.events.size() == 1);
    CHECK(f.events.events[0].reason == "NodesReleased");
    CHECK(f.events.events[0].message.find("ydid:node:a, ydid:node:b") != std::string::npos);
  }
  SUBCASE("CancelWorkRequirement cancels it, with a Normal event") {
    seed_work_requirement(f.yd, "wr", {"g"});
    Actions actions{CancelWorkRequirement{"ydid:workreq:wr", true}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    CHECK(f.yd.work_requirements[0].status == yd::WorkRequirementStatus("CANCELLED"));
    REQUIRE(f.events.events.size() == 1);
    CHECK(f.events.events[0].reason == "WorkRequirementCancelled");
  }
  SUBCASE("EmitEvent and RequeueAfter touch nothing but the event sink and the result") {
    Actions actions{EmitEvent{"Warning", "Something", "text"}, RequeueAfter{std::chrono::seconds(7), false}};
    ActResult r = f.act(actions);
    CHECK(r.outcome.executed == 2);
    REQUIRE(f.events.events.size() == 1);
    CHECK(f.events.events[0].type == "Warning");
    CHECK(f.events.events[0].reason == "Something");
    CHECK(f.events.events[0].message == "text");
    CHECK(r.requeue_after == std::optional<Millis>(std::chrono::seconds(7)));
    CHECK(f.yd.calls.empty());
    CHECK(f.kube.calls("patch") == 0);
  }
}

TEST_CASE("act is idempotent: the same creates run twice duplicate nothing") {
  IoFixture f("act-twice");
  Observed o = f.fresh();
  const Actions actions = plan(o, t0());
  ActResult first = f.act(actions, &o);
  REQUIRE_FALSE(first.outcome.error.has_value());
  REQUIRE(f.yd.pools.size() == 3);
  f.yd.calls.clear();

  // As if the list ran again (a crash before status was written, say): pools and the WR already exist
  // and count as done; the WR is fetched by name to learn its group ids. Tasks are not looked up by act
  // (plan adds a task only when observe found none): the platform refuses the taken name, act stops.
  ActResult second = f.act(actions, &o);
  CHECK(f.yd.pools.size() == 3);
  CHECK(f.yd.compute_requirements.size() == 3);
  CHECK(f.yd.work_requirements.size() == 1);
  CHECK(f.yd.tasks.size() == 1);
  CHECK(f.yd.provision_requests.size() == 3);
  CHECK(f.yd.count("provision_worker_pool") == 3);
  CHECK(f.yd.count("get_work_requirement_by_name") == 1);
  REQUIRE(second.outcome.error.has_value());
  CHECK(second.outcome.error->kind == ErrorKind::kTransient);
  REQUIRE(second.outcome.failed_action.has_value());
  CHECK(second.outcome.failed_action->find("AddTasks") != std::string::npos);
  CHECK(second.yellowdog_calls == static_cast<int>(f.yd.calls.size()));

  SUBCASE("observe -> plan -> act again: plan finds everything by name and creates nothing") {
    f.yd.calls.clear();
    Observed again = f.fresh();
    f.observe(again);
    REQUIRE_FALSE(again.observe_error.has_value());
    Actions next = plan(again, t0());
    ActResult third = f.act(next, &again);
    CHECK_FALSE(third.outcome.error.has_value());
    CHECK(f.yd.count("provision_worker_pool") == 0);
    CHECK(f.yd.count("create_work_requirement") == 0);
    CHECK(f.yd.count("add_tasks") == 0);
    CHECK(f.yd.tasks.size() == 1);
  }
}

TEST_CASE("act stops at the first failure: one ActionFailed Warning, nothing after it runs") {
  IoFixture f("act-stop");
  Observed o = f.fresh();
  const Actions actions = plan(o, t0());
  const std::size_t failing = index_of_first(
      actions, [](const Action& a) { return std::holds_alternative<CreateWorkRequirement>(a); });
  f.yd.fail_all("create_work_requirement");

  ActResult r = f.act(actions, &o);
  REQUIRE(r.outcome.error.has_value());
  CHECK(r.outcome.error->kind == ErrorKind::kTransient);
  CHECK(r.outcome.executed == failing);
  REQUIRE(r.outcome.failed_action.has_value());
  CHECK(r.outcome.failed_action->find("CreateWorkRequirement") != std::string::npos);
  CHECK_FALSE(r.requeue_after.has_value());  // the RequeueAfter at the end never ran

  // Events: those planned before the failure, then exactly one ActionFailed; none planned after it.
  std::size_t events_before = 0;
  for (std::size_t i = 0; i < failing; ++i) events_before += std::holds_alternative<EmitEvent>(actions[i]);
  REQUIRE(f.events.events.size() == events_before + 1);
  const auto& failed = f.events.events.back();
  CHECK(failed.type == "Warning");
  CHECK(failed.reason == "ActionFailed");
  CHECK(failed.message.find("CreateWorkRequirement") != std::string::npos);
  CHECK(f.events.count("WorkRequirementCreated") == 0);
  CHECK(f.events.count("HeadStarted") == 0);
  CHECK(f.events.count("PoolProvisioned") == 3);

  CHECK(f.yd.count("add_tasks") == 0);
  CHECK(f.yd.count("create_work_requirement") == 1);  // a failed create is not retried by act
  CHECK(f.yd.pools.size() == 3);
  CHECK(r.yellowdog_calls == 4);
}

TEST_CASE("a create whose response was lost stops act and is not sent again") {
  IoFixture f("act-lost");
  Observed o = f.fresh();
  const Actions actions = plan(o, t0());
  f.yd.lose_response = [](const InMemoryYellowDog::Call& c) { return c.op == "provision_worker_pool"; };
  ActResult r = f.act(actions, &o);
  REQUIRE(r.outcome.error.has_value());
  CHECK(r.outcome.error->kind == ErrorKind::kTransient);
  CHECK(r.outcome.executed == 0);
  CHECK(f.yd.count("provision_worker_pool") == 1);
  CHECK(f.yd.pools.size() == 1);  // applied: the next observe adopts it by name
  CHECK(f.events.count("ActionFailed") == 1);
  CHECK(f.events.count("PoolProvisioned") == 0);
}

TEST_CASE("a 409 on the cluster patch only requeues: no ActionFailed, nothing after it runs") {
  IoFixture f("act-conflict");
  f.cluster.metadata.finalizers.reset();
  f.store();

  SUBCASE("the object changed since it was observed (stale resourceVersion)") {
    auto newer = f.stored();
    newer["metadata"]["labels"] = {{"touched", "yes"}};
    f.kube.upsert(kube::resources::kRayDogClusters, newer);
    Actions actions{AddFinalizer{}, EmitEvent{"Normal", "After", "never"}};
    ActResult r = f.act(actions);
    REQUIRE(r.outcome.error.has_value());
    CHECK(r.outcome.error->kind == ErrorKind::kConflict);
    CHECK(r.outcome.executed == 0);
    CHECK(f.events.events.empty());
    CHECK(finalizers_of(f.stored()).empty());
  }
  SUBCASE("a 409 answered to the status patch of RecordIncarnation") {
    f.kube.fault = [](const std::string& verb, const kube::ResourceRef&,
                      const std::string&) -> std::optional<kube::ApiError> {
      if (verb != "patch") return std::nullopt;
      kube::ApiError e;
      e.kind = kube::ApiError::Kind::kConflict;
      e.code = 409;
      e.reason = "Conflict";
      e.message = "the object has been modified";
      return e;
    };
    Actions actions{RecordIncarnation{2, "wr-2"}, CreateWorkRequirement{}};
    ActResult r = f.act(actions);
    REQUIRE(r.outcome.error.has_value());
    CHECK(r.outcome.error->kind == ErrorKind::kConflict);
    CHECK_FALSE(r.outcome.recorded_incarnation.has_value());
    CHECK(f.events.events.empty());
    CHECK(f.yd.calls.empty());  // the create that relied on it never ran
  }
}

TEST_CASE("objects that vanished: gone is done for teardown, a requeue otherwise") {
  IoFixture f("act-vanished");

  SUBCASE("shutdown, terminate and cancels of things already gone or finished succeed quietly") {
    seed_work_requirement(f.yd, "wr", {"g"}).status = yd::WorkRequirementStatus("CANCELLED");
    seed_task(f.yd, "done", "ydid:taskgrp:g", "COMPLETED");
    Actions actions{
        ShutdownPool{"ydid:wrkrpool:gone", "gone"}, TerminateComputeRequirement{"ydid:cmpreq:gone", "gone"},
        CancelTasks{{"done", "ydid:task:gone"}, true, CancelReason::kObsolete, "g"}, CancelWorkRequirement{"ydid:workreq:wr", true}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    CHECK(r.outcome.executed == 4);
    CHECK(r.yellowdog_calls == 5);
    // Only the cancel of the tasks reports (it asked for them); nothing was terminated or cancelled now.
    CHECK(f.events.count("ComputeRequirementTerminated") == 0);
    CHECK(f.events.count("WorkRequirementCancelled") == 0);
    CHECK(f.events.count("ActionFailed") == 0);
    CHECK(f.yd.tasks[0].status == yd::TaskStatus("COMPLETED"));
  }
  SUBCASE("a resize of a pool that vanished is NotFound: requeue, no ActionFailed") {
    Actions actions{ResizePool{"ydid:wrkrpool:gone", "gone", 3}, EmitEvent{"Normal", "After", "never"}};
    ActResult r = f.act(actions);
    REQUIRE(r.outcome.error.has_value());
    CHECK(r.outcome.error->kind == ErrorKind::kNotFound);
    CHECK(f.events.events.empty());
  }
  SUBCASE("RemoveFinalizer on a cluster already deleted: done, the object is gone") {
    REQUIRE(f.kube.erase(kube::resources::kRayDogClusters, f.ns(), f.cluster.metadata.name));
    Actions actions{RemoveFinalizer{}};
    ActResult r = f.act(actions);
    CHECK_FALSE(r.outcome.error.has_value());
    CHECK(r.object_gone);
  }
  SUBCASE("AddFinalizer on a cluster already deleted: NotFound, no ActionFailed") {
    f.cluster.metadata.finalizers.reset();
    f.store();
    REQUIRE(f.kube.erase(kube::resources::kRayDogClusters, f.ns(), f.cluster.metadata.name));
    Actions actions{AddFinalizer{}};
    ActResult r = f.act(actions);
    REQUIRE(r.outcome.error.has_value());
    CHECK(r.outcome.error->kind == ErrorKind::kNotFound);
    CHECK(f.events.events.empty());
  }
}

TEST_CASE("yellowdog_calls counts every YellowDog request act made, and only those") {
  IoFixture f("act-calls");
  seed_work_requirement(f.yd, "wr", {"a"});
  yd::TaskGroup a;
  a.name = "a";
  yd::WorkRequirement taken;
  taken.namespace_ = "ray";
  taken.name = "wr";
  ProvisionPool again;
  again.request.requirement_template_usage.requirement_name = "pool-a";
  again.request.requirement_template_usage.requirement_namespace = "ray";
  f.yd.add_pool("ray", "pool-a", 1, 1);
  Actions actions{AddFinalizer{},                          // kube only: 0
                  AddTaskGroups{"ydid:workreq:wr", {a}},   // GET, nothing missing: 1
                  CreateWorkRequirement{taken},            // POST (exists) + GET by name: 2
                  again,                                   // POST (exists): 1
                  EmitEvent{"Normal", "X", "y"},           // 0
                  RequeueAfter{std::chrono::seconds(1), false}};  // 0
  ActResult r = f.act(actions);
  CHECK_FALSE(r.outcome.error.has_value());
  CHECK(r.yellowdog_calls == 4);
  CHECK(f.yd.calls.size() == 4);
  CHECK(f.yd.count("update_work_requirement") == 0);
  CHECK(f.yd.work_requirements.size() == 1);
  CHECK(f.yd.pools.size() == 1);
}

TEST_CASE("without a YellowDog client a YellowDog action fails and says so") {
  IoFixture f("act-no-client");
  Observed o = f.fresh();
  const Actions actions = plan(o, t0());
  ActResult r = f.act(actions, &o, /*with_yellowdog=*/false);
  REQUIRE(r.outcome.error.has_value());
  CHECK(r.outcome.error->kind == ErrorKind::kUnknown);
  CHECK(r.outcome.executed == 0);
  CHECK(r.yellowdog_calls == 0);
  CHECK(f.yd.calls.empty());
  CHECK(f.events.count("ActionFailed") == 1);
}

}  // namespace
}  // namespace raydog::reconcile::testing
