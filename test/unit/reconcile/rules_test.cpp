// Rules added after the first version of the reconciler, as tables over observed states: decode errors
// reported like validation errors, the cluster lifetime expiring, the observability node moving, kstatus
// on every terminal path, the ids a timed-out cleanup lists.
#include <doctest/doctest.h>

#include <functional>

#include "controller/reconcile/scripts.hpp"
#include "world.hpp"

namespace rr = raydog::reconcile;
namespace api = raydog::api;
using namespace rr;
using namespace rr::testing;
using namespace std::chrono_literals;

TEST_CASE("rules: decode errors -> InvalidSpec with the field path, Stalled, no YellowDog action") {
  struct Row {
    const char* name;
    api::FieldErrors decode;
    const char* path_in_message;  // nullptr: not InvalidSpec
  };
  const Row rows[] = {
      {"wrong type",
       {{"spec.workerPools[0].nodes", "must be an integer, got string"}},
       "spec.workerPools[0].nodes"},
      {"unknown field", {{"spec.head.bogus", "unknown field"}}, "spec.head.bogus"},
      {"whole document", {{"", "must be an object, got array"}}, "must be an object"},
      {"status only (ours to rewrite)", {{"status.phase", "must be one of ..."}}, nullptr},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    World w;
    w.o.decode_errors = row.decode;
    const rr::View v = rr::view(w.o, w.now);
    Actions a = w.reconcile();
    if (!row.path_in_message) {
      CHECK(v.lifecycle == rr::Lifecycle::kRunning);
      CHECK(count_of<ProvisionPool>(a) > 0);
      continue;
    }
    CHECK(v.lifecycle == rr::Lifecycle::kInvalidSpec);
    CHECK(yellowdog_calls(a) == 0);
    CHECK(mutations(a) == 0);
    CHECK(has_event(a, "InvalidSpec"));
    CHECK(w.cond_status("Synced") == "False");
    CHECK(w.cond_reason("Synced") == "InvalidSpec");
    CHECK(w.condition("Synced")->message.find(row.path_in_message) != std::string::npos);
    CHECK(w.cond_status("Stalled") == "True");
    CHECK(w.cond_reason("Stalled") == "InvalidSpec");
    CHECK(w.cond_status("Reconciling") == "False");
    // Once per generation: the second reconcile emits no second event.
    CHECK_FALSE(has_event(w.reconcile(), "InvalidSpec"));
  }
}

TEST_CASE("rules: spec_errors puts decode errors first and drops validation errors they shadow") {
  World w;
  w.o.cluster.spec.worker_pools->at(0).nodes.reset();  // what decode leaves when nodes had a wrong type
  w.o.decode_errors = {{"spec.workerPools[0].nodes", "must be an integer, got string"}};
  auto errors = rr::spec_errors(w.o);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message == "must be an integer, got string");
  w.o.decode_errors.clear();
  errors = rr::spec_errors(w.o);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message == "required");
}

namespace {

World running() {
  World w;
  w.converge();
  REQUIRE(w.phase() == api::Phase::kRunning);
  return w;
}

std::size_t live_worker_tasks(const World& w) {
  std::size_t n = 0;
  for (const auto& [g, list] : w.o.tasks)
    if (g.find("worker") != std::string::npos)
      for (const auto& t : list) n += is_live(t) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE(
    "rules: lifetime over -> Failed LifetimeExpired, teardown, nothing replaced, held, rebuilt on edit") {
  World w = running();  // sample lifetime 24h, from the WR's createdTime
  w.now += 25h;
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(has_event(a, "LifetimeExpired"));
  CHECK_FALSE(has_event(a, "BuildTimeout"));
  CHECK(count_of<CancelWorkRequirement>(a) == 1);
  CHECK(count_of<ShutdownPool>(a) == 3);
  CHECK(count_of<AddTasks>(a) == 0);
  CHECK(count_of<ProvisionPool>(a) == 0);
  w.converge();
  CHECK(w.phase() == api::Phase::kFailed);
  CHECK(w.cond_reason("Ready") == "LifetimeExpired");
  CHECK(w.cond_status("Stalled") == "True");
  CHECK(w.cond_reason("Stalled") == "LifetimeExpired");
  CHECK(w.cond_status("Reconciling") == "False");
  CHECK(w.live_pools() == 0);
  // Held: later reconciles create nothing and emit nothing new.
  for (int i = 0; i < 3; ++i) {
    w.now += 1h;
    Actions held = w.reconcile();
    INFO(World::dump(held));
    CHECK(yellowdog_calls(held) == 0);
    CHECK_FALSE(has_event(held, "LifetimeExpired"));
    CHECK(w.cond_reason("Ready") == "LifetimeExpired");
  }
  // The user edits the spec (e.g. a longer lifetime): a new incarnation with a fresh lifetime.
  w.o.cluster.metadata.generation = 2;
  Actions b = w.reconcile();
  CHECK(count_of<RecordIncarnation>(b) == 1);
  w.converge();
  CHECK(w.phase() == api::Phase::kRunning);
  CHECK(w.cond_status("Stalled") == "False");
}

TEST_CASE("rules: a task that ended TIMED_OUT ends the cluster's lifetime: not replaced") {
  struct Row {
    const char* error_type;
    bool expired;
  };
  for (const Row row : {Row{"TIMED_OUT", true}, Row{"PROCESS_NON_ZERO_EXIT", false}}) {
    CAPTURE(row.error_type);
    World w = running();
    w.now += 1h;  // well within the 24h lifetime by the operator's clock (YellowDog's may differ)
    yd::Task* victim = nullptr;
    for (auto& [g, list] : w.o.tasks)
      if (g.find("worker") != std::string::npos) victim = &list.front();
    REQUIRE(victim);
    w.finish_task(*victim, "FAILED");
    yd::TaskError e;
    e.error_type = row.error_type;
    e.error = "task ended";
    victim->errors.push_back(e);
    w.now += 10min;  // past any replacement backoff
    Actions a = w.reconcile();
    INFO(World::dump(a));
    if (row.expired) {
      CHECK(has_event(a, "LifetimeExpired"));
      CHECK(count_of<AddTasks>(a) == 0);
      CHECK(w.phase() == api::Phase::kFailed);
      CHECK(w.cond_reason("Ready") == "LifetimeExpired");
    } else {
      CHECK_FALSE(has_event(a, "LifetimeExpired"));
      CHECK(count_of<AddTasks>(a) == 1);
    }
  }
}

TEST_CASE("rules: no lifetime -> never expires") {
  World w;
  w.o.cluster.spec.lifetime.reset();
  w.converge();
  w.now += 24h * 400;
  Actions a = w.reconcile();
  CHECK(mutations(a) == 0);
  CHECK(w.phase() == api::Phase::kRunning);
}

TEST_CASE("rules: the observability node moves -> head and workers re-pointed at its new IP") {
  World w;
  api::ObservabilitySpec obs;
  obs.enabled = true;
  obs.node.compute_requirement_template = "ydid:crt:000000:obs";
  w.o.cluster.spec.observability = obs;
  w.converge();
  REQUIRE(w.phase() == api::Phase::kRunning);
  REQUIRE(w.o.observability);
  const std::string old_ip = *w.o.observability->private_ip;
  // The observability task fails (e.g. its VM died): a new one starts elsewhere with another IP.
  for (auto& [g, list] : w.o.tasks)
    if (g.find("observability") != std::string::npos)
      for (auto& t : list)
        if (is_live(t)) w.finish_task(t, "FAILED");
  w.events.clear();
  w.converge();
  REQUIRE(w.o.observability);
  const std::string new_ip = *w.o.observability->private_ip;
  REQUIRE(new_ip != old_ip);
  bool moved_event = false;
  for (const auto& e : w.events)
    if (e.reason == "ObservabilityMoved") {
      moved_event = true;
      CHECK(e.type == "Warning");
      CHECK(e.message.find(old_ip) != std::string::npos);
      CHECK(e.message.find(new_ip) != std::string::npos);
    }
  CHECK(moved_event);
  std::size_t checked = 0;
  for (const auto& [g, list] : w.o.tasks)
    for (const auto& t : list) {
      if (!is_live(t) || g.find("observability") != std::string::npos) continue;
      CHECK(t.environment.at("OBSERVABILITY_HOST") == new_ip);
      ++checked;
    }
  CHECK(checked == 4);  // head + 2 cpu + 1 gpu
  CHECK(live_worker_tasks(w) == 3);
  CHECK(w.phase() == api::Phase::kRunning);
}

TEST_CASE("rules: kstatus Reconciling/Stalled on every terminal path") {
  struct Row {
    const char* name;
    std::function<void(World&)> setup;
    const char* reconciling;
    const char* stalled;
    const char* stalled_reason;  // nullptr: not checked
  };
  const Row rows[] = {
      {"running, steady", [](World&) {}, "False", "False", nullptr},
      {"converging", [](World& w) { w.o.cluster.spec.worker_pools->at(0).nodes = 5; }, "True", "False",
       nullptr},
      {"suspended and torn down",
       [](World& w) {
         w.o.cluster.spec.suspend = true;
         w.converge();
       },
       "False", "False", nullptr},
      {"build timeout",
       [](World& w) {
         w = World();
         w.reconcile();
         w.now += 11min;
         w.reconcile();
       },
       "False", "True", "BuildTimeout"},
      {"lifetime expired",
       [](World& w) {
         w.now += 25h;
         w.reconcile();
       },
       "False", "True", "LifetimeExpired"},
      {"invalid spec", [](World& w) { w.o.cluster.spec.worker_pools->at(0).nodes = -1; }, "False", "True",
       "InvalidSpec"},
      {"decode error",
       [](World& w) {
         w.o.decode_errors = {{"spec.head.bogus", "unknown field"}};
       },
       "False", "True", "InvalidSpec"},
      {"apiURL not allowed",
       [](World& w) {
         w.o.api_url_refusal = "apiURL \"http://x.example\" is not allowed";
         w.o.credentials = {};
       },
       "False", "True", "ApiURLNotAllowed"},
      {"credentials missing",
       [](World& w) {
         w.o.credentials = {CredentialsState::kKeyNotFound, "Secret \"team/yd\" has no key \"keySecret\""};
       },
       "False", "True", "CredentialsNotFound"},
      {"credentials refused",
       [](World& w) {
         w.o.credentials = {CredentialsState::kNotAuthorised, "YellowDog answered 401"};
       },
       "False", "True", "NotAuthorised"},
      {"ConfigMap missing",
       [](World& w) {
         api::ValueSource src;
         src.config_map_key_ref = api::ConfigMapKeySelector{"scripts", "worker.sh"};
         w.o.cluster.spec.worker_pools->at(0).node.start_script_from = src;
       },
       "False", "True", "ConfigMapNotFound"},
      {"YellowDog unreachable",
       [](World& w) {
         w.o.observe_error = Error{ErrorKind::kTransient, "HTTP 503"};
       },
       "True", "False", nullptr},
      {"deleting",
       [](World& w) {
         w.o.cluster.metadata.deletion_timestamp = w.ts();
         w.o.cluster.metadata.generation = 2;
       },
       "True", "False", nullptr},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    World w = running();
    row.setup(w);
    w.reconcile();
    CHECK(w.cond_status("Reconciling") == row.reconciling);
    CHECK(w.cond_status("Stalled") == row.stalled);
    if (row.stalled_reason) CHECK(w.cond_reason("Stalled") == row.stalled_reason);
    // Never both: a stalled cluster is not reconciling.
    CHECK_FALSE((w.cond_status("Reconciling") == "True" && w.cond_status("Stalled") == "True"));
  }
}

TEST_CASE("rules: cleanup timeout while YellowDog is unreadable lists the ids the last status knew") {
  World w = running();
  const std::string wr_id = *w.o.work_requirement->id;
  REQUIRE(w.o.cluster.status);
  REQUIRE(!w.o.cluster.status->worker_pools.empty());
  const std::string pool_id = *w.o.cluster.status->worker_pools[0].worker_pool_id;
  const std::string cr_id = *w.o.cluster.status->worker_pools[0].compute_requirement_id;
  w.o.cluster.metadata.deletion_timestamp = w.ts();
  w.o.observe_error = Error{ErrorKind::kTransient, "HTTP 500"};
  w.o.work_requirement.reset();  // what a failed observe leaves
  w.o.pools.clear();
  w.o.tasks.clear();
  // Before the timeout: nothing planned, status keeps the ids (deleting blind).
  Actions before = w.reconcile();
  CHECK(count_of<RemoveFinalizer>(before) == 0);
  REQUIRE(w.o.cluster.status->work_requirement);
  CHECK(w.o.cluster.status->work_requirement->id == wr_id);
  CHECK(w.o.cluster.status->worker_pools[0].worker_pool_id == pool_id);
  CHECK(w.phase() == api::Phase::kDeleting);
  w.now += 11min;
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(count_of<RemoveFinalizer>(a) == 1);
  bool listed = false;
  for (const auto* e : all_of<EmitEvent>(a))
    if (e->reason == "CleanupTimedOut")
      listed = e->type == "Warning" && e->message.find(wr_id) != std::string::npos &&
               e->message.find(pool_id) != std::string::npos && e->message.find(cr_id) != std::string::npos;
  CHECK(listed);
}

TEST_CASE("rules: deletion teardown emits an event naming what it does") {
  World w = running();
  w.o.cluster.metadata.deletion_timestamp = w.ts();
  Actions a = w.reconcile();
  CHECK(has_event(a, "CleaningUp"));
  CHECK(count_of<CancelWorkRequirement>(a) == 1);
}

TEST_CASE("rules: desired_nodes reads a per-pool override before spec nodes (the autoscaler seam)") {
  World w = running();
  const auto& cpu = w.o.cluster.spec.worker_pools->at(0);
  CHECK(rr::desired_nodes(w.o, cpu) == 2);
  w.o.desired_nodes_override["cpu"] = 3;
  CHECK(rr::desired_nodes(w.o, cpu) == 3);
  Actions a = w.reconcile();
  INFO(World::dump(a));
  CHECK(count_of<ResizePool>(a) == 1);
  w.converge();
  CHECK(w.o.cluster.spec.worker_pools->at(0).nodes == 2);  // the spec is not touched
  CHECK(w.live_tasks("worker-nodes-cpu").size() == 3);
  REQUIRE(w.o.cluster.status);
  CHECK(w.o.cluster.status->worker_pools[0].desired_nodes == 3);
  CHECK(w.phase() == api::Phase::kRunning);
  // Never negative; a pool without an override keeps its spec count.
  w.o.desired_nodes_override["cpu"] = -4;
  CHECK(rr::desired_nodes(w.o, cpu) == 0);
  CHECK(rr::desired_nodes(w.o, w.o.cluster.spec.worker_pools->at(1)) == 1);
}

TEST_CASE("rules: spec errors recorded once are the ones plan and status read") {
  World w;
  w.o.decode_errors = {{"spec.head.bogus", "unknown field"}};
  REQUIRE(rr::record_spec_errors(w.o).size() == 1);
  // Computing again would now find nothing; the recorded verdict of this reconcile stands.
  w.o.decode_errors.clear();
  CHECK(rr::compute_spec_errors(w.o).empty());
  CHECK(rr::spec_errors(w.o).size() == 1);
  CHECK(rr::view(w.o, w.now).lifecycle == rr::Lifecycle::kInvalidSpec);
  Actions a = w.reconcile();
  CHECK(mutations(a) == 0);
  CHECK(w.cond_reason("Synced") == "InvalidSpec");
  // Unrecorded (an Observed built by hand): computed when asked.
  w.o.spec_errors.reset();
  CHECK(rr::spec_errors(w.o).empty());
  CHECK(rr::view(w.o, w.now).lifecycle == rr::Lifecycle::kRunning);
}

TEST_CASE("rules: plan runs its named steps in order, gates first and pacing last") {
  const std::vector<std::string_view> expected{"deletion",
                                               "invalid spec",
                                               "api URL not allowed",
                                               "credentials",
                                               "observe failed",
                                               "suspend or failed",
                                               "finalizer",
                                               "work requirement cancelling",
                                               "sources",
                                               "incarnation",
                                               "provision pools",
                                               "resize pools",
                                               "work requirement",
                                               "observability task",
                                               "head task",
                                               "worker tasks",
                                               "obsolete groups",
                                               "obsolete pools",
                                               "finished pools' compute requirements",
                                               "pacing"};
  CHECK(rr::plan_step_names() == expected);
}

TEST_CASE("rules: describe names an action and what it touches, never a script or body") {
  rr::ResizePool resize{"ydid:wrkrpl:1", "demo-cpu", 3};
  CHECK(rr::describe(resize) == "ResizePool demo-cpu to 3");
  rr::CancelTasks cancel{{"ydid:task:1", "ydid:task:2"}, true, rr::CancelReason::kSurplus, "worker-nodes-cpu"};
  CHECK(rr::describe(cancel) == "CancelTasks 2 (abort): ydid:task:1 ydid:task:2");
  rr::ReleaseNodes release{{"ydid:node:1"}, "demo-cpu"};
  CHECK(rr::describe(release) == "ReleaseNodes 1 of demo-cpu: ydid:node:1");
  rr::AddTasks add;
  add.task_group_name = "worker-nodes-cpu-abc123";
  add.tasks.push_back(rr::task(TaskKind::kWorker, 1, "#!/bin/bash\necho secret-script", {}));
  const std::string line = rr::describe(add);
  CHECK(line == "AddTasks 1 to worker-nodes-cpu-abc123: worker-00001");
  CHECK(line.find("secret-script") == std::string::npos);
  CHECK(rr::describe(rr::RequeueAfter{std::chrono::seconds(2), false}) == "RequeueAfter 2000ms");
}

TEST_CASE("rules: every node kind without userdata gets the built-in one with spec.rayVersion, and \"\" means none") {
  World w;
  w.o.cluster.spec.observability = api::ObservabilitySpec{true, {}};
  w.o.cluster.spec.observability->node.compute_requirement_template = "ydid:crt:000000:obs";
  (*w.o.cluster.spec.worker_pools)[1].node.user_data = "";  // gpu: none at all
  (*w.o.cluster.spec.worker_pools)[0].node.user_data = "#!/bin/bash\necho mine\n";  // cpu: its own
  Actions a = w.reconcile();
  std::map<std::string, const ProvisionPool*> by_key;
  for (const auto* p : all_of<ProvisionPool>(a)) by_key[p->key] = p;
  REQUIRE(by_key.size() == 4);
  const std::string builtin = rr::scripts::builtin_user_data(api::kDefaultRayVersion);
  for (const char* key : {"head", "observability"}) {
    CAPTURE(key);
    CHECK(by_key[key]->builtin_user_data);
    const std::string& ud = *by_key[key]->request.requirement_template_usage.user_data;
    // With observability: Prometheus for the head's metrics relay and the observability node's server,
    // Grafana on the observability node only.
    CHECK(ud.rfind("#!/usr/bin/env bash\nRAY_VERSION='2.49.2'\nPROMETHEUS_VERSION='2.53.4'\n", 0) == 0);
    CHECK((ud.find("\nGRAFANA='true'\n") != std::string::npos) == (std::string(key) == "observability"));
  }
  CHECK(builtin.find("\nRAY_VERSION='2.49.2'\n") != std::string::npos);
  CHECK(builtin.find("PROMETHEUS_VERSION='") == std::string::npos);  // without observability: Ray only
  CHECK_FALSE(by_key["worker-gpu"]->builtin_user_data);
  CHECK_FALSE(by_key["worker-gpu"]->request.requirement_template_usage.user_data);
  CHECK_FALSE(by_key["worker-cpu"]->builtin_user_data);
  CHECK(by_key["worker-cpu"]->request.requirement_template_usage.user_data == "#!/bin/bash\necho mine\n");
}

TEST_CASE("rules: spec.rayVersion set changes the revision of the nodes on the built-in userdata only") {
  World w;
  (*w.o.cluster.spec.worker_pools)[0].node.user_data = "#!/bin/bash\necho mine\n";
  const auto before = rr::names_for(w.o.cluster, 1);
  w.o.cluster.spec.ray_version = std::string(api::kDefaultRayVersion);
  const auto pinned = rr::names_for(w.o.cluster, 1);
  CHECK(pinned.head.revision != before.head.revision);        // built-in userdata: replaced when pinned
  CHECK(pinned.workers[1].revision != before.workers[1].revision);
  CHECK(pinned.workers[0].revision == before.workers[0].revision);  // its own userdata: untouched
  w.o.cluster.spec.ray_version = "2.50.0";
  CHECK(rr::names_for(w.o.cluster, 1).head.revision != pinned.head.revision);
  Actions a = w.reconcile();
  for (const auto* p : all_of<ProvisionPool>(a))
    if (p->builtin_user_data)
      CHECK(p->request.requirement_template_usage.user_data->find("RAY_VERSION='2.50.0'") != std::string::npos);
}

TEST_CASE("rules: enabling observability renews the head and observability nodes on the built-in userdata only") {
  World w;
  (*w.o.cluster.spec.worker_pools)[0].node.user_data = "#!/bin/bash\necho mine\n";
  const auto before = rr::names_for(w.o.cluster, 1);
  w.o.cluster.spec.observability = api::ObservabilitySpec{true, {}};
  w.o.cluster.spec.observability->node.compute_requirement_template = "ydid:crt:000000:obs";
  const auto with = rr::names_for(w.o.cluster, 1);
  CHECK(with.head.revision != before.head.revision);  // its VM must install Prometheus for the relay
  CHECK(with.workers[0].revision == before.workers[0].revision);
  CHECK(with.workers[1].revision == before.workers[1].revision);  // workers need nothing
  w.o.cluster.spec.head->user_data = "#!/bin/bash\necho mine\n";
  const auto own = rr::names_for(w.o.cluster, 1);
  w.o.cluster.spec.observability->enabled = false;
  CHECK(rr::names_for(w.o.cluster, 1).head.revision == own.head.revision);  // its own userdata: untouched
}
