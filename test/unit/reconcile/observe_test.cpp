// observe (controller/reconcile/observe.hpp) against the in-memory YellowDog and the fake Kubernetes API:
// what it finds by deterministic names, what it reuses from earlier observations (snapshot, settled pools,
// known addresses) and what it reads again, and how it reports errors.
#include <doctest/doctest.h>

#include "controller/util/base64.hpp"
#include "test/unit/reconcile/io_fixture.hpp"

namespace raydog::reconcile::testing {
namespace {

namespace yd = raydog::yellowdog;

std::vector<std::string> pool_ids(const Observed& o) {
  std::vector<std::string> out;
  for (const auto& p : o.pools) out.push_back(p.pool.id);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> task_ids(const Observed& o) {
  std::vector<std::string> out;
  for (const auto& [group, tasks] : o.tasks)
    for (const auto& t : tasks) out.push_back(t.id.value_or(""));
  std::sort(out.begin(), out.end());
  return out;
}

yd::Task* task_named(InMemoryYellowDog& y, const std::string& name) {
  for (auto& t : y.tasks)
    if (t.name == name) return &t;
  return nullptr;
}

yd::Node* node_of_task(InMemoryYellowDog& y, const yd::Task& task) {
  for (auto& n : y.nodes)
    if (n.id == task.node_id) return &n;
  return nullptr;
}

// A converged cluster and the hints the reconciler would keep after observing it.
struct Steady {
  IoFixture f;
  Observed last;
  Snapshot snapshot;
  KnownAddresses addresses;

  explicit Steady(const std::string& name) : f(name) {
    last = f.converge();
    snapshot = snapshot_of(last);
    addresses = KnownAddresses{last.head, last.observability};
    f.yd.calls.clear();
  }
  ObserveHints steady_hints() const { return {&snapshot, &addresses, true, false}; }
};

TEST_CASE("first observe adopts by deterministic names what a lost create response left behind") {
  IoFixture f("adopt-after-lost-response");
  const ClusterNames names = f.names();

  // The first reconcile's creates reach YellowDog, but the work requirement's response is lost: act stops
  // there, unaware of the WR's id (and status was never written).
  Observed empty = f.fresh();
  Actions first = plan(empty, t0());
  REQUIRE(count_of<CreateWorkRequirement>(first) == 1);
  REQUIRE(count_of<ProvisionPool>(first) == 3);
  f.yd.lose_response = [](const InMemoryYellowDog::Call& c) { return c.op == "create_work_requirement"; };
  ActResult acted = f.act(first, &empty);
  REQUIRE(acted.outcome.error.has_value());
  CHECK(acted.outcome.error->kind == ErrorKind::kTransient);
  REQUIRE(f.yd.work_requirements.size() == 1);
  REQUIRE(f.yd.pools.size() == 3);
  f.yd.lose_response = nullptr;
  f.yd.calls.clear();

  // The first observe of this cluster in the process (no hints) finds everything by name.
  Observed o = f.fresh();
  ObserveStats stats = f.observe(o);
  REQUIRE_FALSE(o.observe_error.has_value());
  REQUIRE(o.work_requirement.has_value());
  CHECK(o.work_requirement->id == f.yd.work_requirements[0].id);
  CHECK(o.work_requirement->name == names.work_requirement);
  CHECK(o.tasks.size() == f.yd.work_requirements[0].task_groups.size());  // every group, known empty
  std::vector<std::string> want_pools;
  for (const auto& p : f.yd.pools) want_pools.push_back(p.id);
  std::sort(want_pools.begin(), want_pools.end());
  CHECK(pool_ids(o) == want_pools);
  for (const auto& p : o.pools) CHECK(p.compute_requirement.has_value());

  CHECK(f.yd.count("get_work_requirement_by_name") == 1);
  CHECK(f.yd.calls.front().arg == "ray/" + names.work_requirement);
  CHECK(f.yd.count("search_worker_pools") == 1);  // the namespace is listed once, on the first observe
  CHECK(f.yd.count("search_tasks") == 1);         // one search for the whole WR
  CHECK(static_cast<std::size_t>(stats.yellowdog_calls) == f.yd.calls.size());
  CHECK_FALSE(stats.from_snapshot);

  // Adopted, not duplicated: plan creates neither the WR nor a pool again, and the head task goes into
  // the adopted WR's group by id.
  Actions next = plan(o, t0());
  CHECK(count_of<CreateWorkRequirement>(next) == 0);
  CHECK(count_of<ProvisionPool>(next) == 0);
  REQUIRE_FALSE(all_of<AddTasks>(next).empty());
  const AddTasks* head = all_of<AddTasks>(next).front();
  CHECK(head->task_group_name == names.head.task_group);
  REQUIRE(head->task_group_id.has_value());
  CHECK(f.yd.work_requirements[0].find_group(names.head.task_group)->id == head->task_group_id);
}

TEST_CASE("a cluster that never created anything costs one YellowDog call") {
  // No finalizer and no WR: nothing can exist (the finalizer precedes every create), so no listing.
  IoFixture f("never-created");
  f.cluster.metadata.finalizers.reset();
  f.store();
  f.yd.add_pool("ray", f.names().head.revision, 1, 1);  // even a pool with our name is not looked for
  Observed o = f.fresh();
  ObserveStats stats = f.observe(o);
  CHECK_FALSE(o.observe_error.has_value());
  CHECK_FALSE(o.work_requirement.has_value());
  CHECK(o.pools.empty());
  CHECK(stats.yellowdog_calls == 1);
  CHECK(f.yd.count("search_worker_pools") == 0);
}

TEST_CASE("the full observation of a converged cluster resolves the head's addresses") {
  Steady s("converged-addresses");
  REQUIRE(s.last.head.has_value());
  const yd::Task* head = task_named(s.f.yd, "head-00001");
  REQUIRE(head != nullptr);
  const yd::Node* node = node_of_task(s.f.yd, *head);
  REQUIRE(node != nullptr);
  CHECK(s.last.head->task_id == head->id.value_or(""));
  CHECK(s.last.head->worker_id == head->worker_id);
  CHECK(s.last.head->node_id == node->id);
  CHECK(s.last.head->private_ip == node->details.private_ip_address);
  REQUIRE(s.last.head->public_ip.has_value());
  CHECK(s.last.head->public_ip->rfind("203.0.113.", 0) == 0);
  CHECK(s.last.pools.size() == 3);
}

TEST_CASE("a steady snapshot is reused: one YellowDog call while the WR fingerprint holds") {
  Steady s("steady-snapshot");
  Observed o = s.f.fresh();
  ObserveStats stats = s.f.observe(o, s.steady_hints());
  CHECK_FALSE(o.observe_error.has_value());
  CHECK(stats.from_snapshot);
  CHECK(stats.yellowdog_calls == 1);
  REQUIRE(s.f.yd.calls.size() == 1);
  CHECK(s.f.yd.calls[0].op == "get_work_requirement_by_name");
  // What plan and status read comes back from the snapshot and the known addresses.
  CHECK(task_ids(o) == task_ids(s.last));
  CHECK(pool_ids(o) == pool_ids(s.last));
  REQUIRE(o.head.has_value());
  CHECK(o.head->private_ip == s.last.head->private_ip);
  CHECK(mutations(plan(o, t0())) == 0);

  SUBCASE("a task changing state moves the fingerprint: everything is read again") {
    s.f.yd.calls.clear();
    task_named(s.f.yd, "worker-00001")->status = yd::TaskStatus("FAILED");
    Observed moved = s.f.fresh();
    ObserveStats again = s.f.observe(moved, s.steady_hints());
    CHECK_FALSE(again.from_snapshot);
    CHECK(again.yellowdog_calls > 1);
    CHECK(s.f.yd.count("search_tasks") == 1);
  }
  SUBCASE("a new generation is never served from the snapshot") {
    s.f.yd.calls.clear();
    Observed newer = s.f.fresh();
    newer.cluster.metadata.generation = 2;
    ObserveStats again = s.f.observe(newer, s.steady_hints());
    CHECK_FALSE(again.from_snapshot);
    CHECK(s.f.yd.count("search_tasks") == 1);
  }
}

TEST_CASE("a vouched snapshot (a ChangeFeed saw no change) is the observation: no YellowDog call") {
  IoFixture f("vouched-snapshot");
  const Observed last = [&] {
    Observed o = f.converge();
    // As the platform stamps them (the in-memory fake does not): view() times buildTimeout and
    // spec.lifetime from these.
    o.work_requirement->created_time = raydog::yellowdog::format_timestamp(t0() - std::chrono::minutes(2));
    o.work_requirement->status_changed_time = raydog::yellowdog::format_timestamp(t0() - std::chrono::minutes(1));
    return o;
  }();
  const Snapshot snapshot = snapshot_of(last, t0(), /*keep_work_requirement=*/true);
  const KnownAddresses addresses{last.head, last.observability};
  REQUIRE(snapshot.work_requirement.has_value());
  CHECK(snapshot.read_at == t0());
  // Trimmed: no scripts, no unknown fields, run specifications only for their worker tags.
  for (const auto& g : snapshot.work_requirement->task_groups) {
    CHECK(g.run_specification.task_types.empty());
    CHECK(g.extra.empty());
    CHECK(g.run_specification.worker_tags == last.work_requirement->find_group(g.name)->run_specification.worker_tags);
  }
  f.yd.calls.clear();

  Observed o = f.fresh();
  ObserveStats stats = f.observe(o, ObserveHints{&snapshot, &addresses, true, true});
  CHECK_FALSE(o.observe_error.has_value());
  CHECK(stats.vouched);
  CHECK(stats.from_snapshot);
  CHECK(stats.yellowdog_calls == 0);
  CHECK(f.yd.calls.empty());
  REQUIRE(o.work_requirement.has_value());
  CHECK(o.work_requirement->id == last.work_requirement->id);
  // The times view() counts buildTimeout and spec.lifetime from survive the trimming.
  CHECK(o.work_requirement->created_time == last.work_requirement->created_time);
  CHECK(o.work_requirement->status_changed_time == last.work_requirement->status_changed_time);
  CHECK(task_ids(o) == task_ids(last));
  CHECK(pool_ids(o) == pool_ids(last));
  REQUIRE(o.head.has_value());
  CHECK(o.head->private_ip == last.head->private_ip);
  CHECK(mutations(plan(o, t0())) == 0);

  SUBCASE("a snapshot taken without the work requirement (poll mode) is read as before") {
    const Snapshot polled = snapshot_of(last);
    f.yd.calls.clear();
    Observed p = f.fresh();
    ObserveStats again = f.observe(p, ObserveHints{&polled, &addresses, true, true});
    CHECK_FALSE(again.vouched);
    CHECK(again.yellowdog_calls == 1);
  }
  SUBCASE("a new generation is never vouched for") {
    f.yd.calls.clear();
    Observed newer = f.fresh();
    newer.cluster.metadata.generation = 2;
    ObserveStats again = f.observe(newer, ObserveHints{&snapshot, &addresses, true, true});
    CHECK_FALSE(again.vouched);
    CHECK(again.yellowdog_calls > 1);
  }
}

TEST_CASE("a resync (no hints) reads everything again and sees what the snapshot hides") {
  Steady s("resync");
  // Behind the WR's back: the head's node is lost. Its task has not changed state yet, so the WR
  // fingerprint holds and the steady path cannot see it.
  yd::Node* node = node_of_task(s.f.yd, *task_named(s.f.yd, "head-00001"));
  REQUIRE(node != nullptr);
  node->status = yd::NodeStatus("LOST");

  Observed steady = s.f.fresh();
  s.f.observe(steady, s.steady_hints());
  REQUIRE(steady.head.has_value());
  CHECK(steady.head->node_status == yd::NodeStatus("RUNNING"));

  s.f.yd.calls.clear();
  Observed resync = s.f.fresh();
  ObserveStats stats = s.f.observe(resync, ObserveHints{});
  CHECK_FALSE(stats.from_snapshot);
  CHECK(s.f.yd.count("search_tasks") == 1);
  CHECK(s.f.yd.count("get_worker_pool") == 3);          // every known pool by id, settled or not
  CHECK(s.f.yd.count("get_compute_requirement") == 3);  // and its CR
  CHECK(s.f.yd.count("get_node_of_worker") == 1);       // the head's address is looked up again
  CHECK(s.f.yd.count("search_worker_pools") == 0);      // the process already knows the cluster's pools
  CHECK(static_cast<std::size_t>(stats.yellowdog_calls) == s.f.yd.calls.size());
  REQUIRE(resync.head.has_value());
  CHECK(resync.head->node_status == yd::NodeStatus("LOST"));
  // ... and plan replaces the head on the lost node.
  CHECK(count_of<CancelTasks>(plan(resync, t0())) == 1);
}

TEST_CASE("settled pools and their CRs are reused while no task ended, read again once one did") {
  Steady s("settled-pools");
  // A task moving between live states changes the fingerprint (full observe) but not the finished
  // signature: the settled pools and their CRs are not fetched.
  task_named(s.f.yd, "worker-00001")->status = yd::TaskStatus("UPLOADING");
  Observed o = s.f.fresh();
  ObserveHints hints{&s.snapshot, &s.addresses, true, false};
  ObserveStats stats = s.f.observe(o, hints);
  CHECK_FALSE(o.observe_error.has_value());
  CHECK_FALSE(stats.from_snapshot);
  CHECK(s.f.yd.count("search_tasks") == 1);
  CHECK(s.f.yd.count("get_worker_pool") == 0);
  CHECK(s.f.yd.count("get_compute_requirement") == 0);
  CHECK(s.f.yd.count("get_node_of_worker") == 0);  // the head still runs on the same worker
  CHECK(pool_ids(o) == pool_ids(s.last));
  for (const auto& p : o.pools) {
    CHECK(p.pool.status == yd::WorkerPoolStatus("RUNNING"));
    REQUIRE(p.compute_requirement.has_value());
    CHECK(p.compute_requirement->target_instance_count.has_value());
  }

  SUBCASE("without reuse_settled_pools every pool is read") {
    s.f.yd.calls.clear();
    Observed full = s.f.fresh();
    ObserveHints no_reuse{nullptr, &s.addresses, false, false};
    s.f.observe(full, no_reuse);
    CHECK(s.f.yd.count("get_worker_pool") == 3);
  }
  SUBCASE("a task that ended moves the finished signature: every pool is read") {
    s.f.yd.calls.clear();
    task_named(s.f.yd, "worker-00001")->status = yd::TaskStatus("FAILED");
    Observed after = s.f.fresh();
    s.f.observe(after, hints);
    CHECK(s.f.yd.count("get_worker_pool") == 3);
  }
}

TEST_CASE("known addresses are reused only while the head task runs on the same worker") {
  Steady s("known-addresses");
  yd::Task* head = task_named(s.f.yd, "head-00001");
  REQUIRE(head != nullptr);

  SUBCASE("same task, same worker: no node or instance lookup") {
    task_named(s.f.yd, "worker-00001")->status = yd::TaskStatus("UPLOADING");  // fingerprint moves
    Observed o = s.f.fresh();
    ObserveHints hints{nullptr, &s.addresses, false, false};
    s.f.observe(o, hints);
    CHECK(s.f.yd.count("get_node_of_worker") == 0);
    CHECK(s.f.yd.count("search_instances") == 0);
    REQUIRE(o.head.has_value());
    CHECK(o.head->private_ip == s.addresses.head->private_ip);
  }
  SUBCASE("the head task moved to another worker: looked up again") {
    yd::Node* old_node = node_of_task(s.f.yd, *head);
    REQUIRE(old_node != nullptr);
    yd::Node moved = *old_node;
    moved.id = "ydid:node:moved";
    moved.details.private_ip_address = "10.9.9.9";
    moved.workers[0].id = "ydid:wrkr:moved";
    s.f.yd.nodes.push_back(moved);
    head->worker_id = "ydid:wrkr:moved";
    head->node_id = "ydid:node:moved";
    task_named(s.f.yd, "worker-00001")->status = yd::TaskStatus("UPLOADING");  // fingerprint moves
    Observed o = s.f.fresh();
    ObserveHints hints{nullptr, &s.addresses, false, false};
    s.f.observe(o, hints);
    CHECK(s.f.yd.count("get_node_of_worker") == 1);
    REQUIRE(o.head.has_value());
    CHECK(o.head->private_ip == std::optional<std::string>("10.9.9.9"));
  }
}

TEST_CASE("an observe error (5xx) stops observe and stays in Observed") {
  Steady s("observe-error");
  task_named(s.f.yd, "worker-00001")->status = yd::TaskStatus("UPLOADING");  // not the steady path

  SUBCASE("on the WR read") {
    s.f.yd.fail_all("get_work_requirement_by_name");
    Observed o = s.f.fresh();
    ObserveStats stats = s.f.observe(o, s.steady_hints());
    REQUIRE(o.observe_error.has_value());
    CHECK(o.observe_error->kind == ErrorKind::kTransient);
    CHECK(o.observe_error->message.find("500") != std::string::npos);
    CHECK(stats.yellowdog_calls == 1);
    CHECK_FALSE(o.work_requirement.has_value());
    CHECK(o.pools.empty());
  }
  SUBCASE("on the task search: nothing after it is read") {
    s.f.yd.fail_all("search_tasks");
    Observed o = s.f.fresh();
    ObserveStats stats = s.f.observe(o, ObserveHints{});
    REQUIRE(o.observe_error.has_value());
    CHECK(o.observe_error->kind == ErrorKind::kTransient);
    CHECK(stats.yellowdog_calls == 2);
    CHECK(s.f.yd.count("get_worker_pool") == 0);
    CHECK(o.pools.empty());
    CHECK(plan(o, t0()).empty());  // plan does nothing on an observe error (the loop backs off)
  }
  SUBCASE("on a pool's CR") {
    s.f.yd.fail_all("get_compute_requirement");
    Observed o = s.f.fresh();
    s.f.observe(o, ObserveHints{});
    REQUIRE(o.observe_error.has_value());
    CHECK(o.observe_error->kind == ErrorKind::kTransient);
    CHECK(s.f.yd.count("get_compute_requirement") == 1);  // stopped at the first failure
  }
  SUBCASE("401: NotAuthorised, and the credentials are marked rejected") {
    s.f.yd.fault = [](const InMemoryYellowDog::Call& c) -> std::optional<yd::YdError> {
      return yd_error(yd::YdErrorKind::kNotAuthorised, c.op, "bad key");
    };
    Observed o = s.f.fresh();
    s.f.observe(o, ObserveHints{});
    REQUIRE(o.observe_error.has_value());
    CHECK(o.observe_error->kind == ErrorKind::kNotAuthorised);
    CHECK(o.credentials.state == CredentialsState::kNotAuthorised);
  }
  SUBCASE("404 on the WR is no error: it does not exist (yet)") {
    s.f.yd.work_requirements.clear();
    Observed o = s.f.fresh();
    s.f.observe(o, ObserveHints{});
    CHECK_FALSE(o.observe_error.has_value());
    CHECK_FALSE(o.work_requirement.has_value());
    CHECK(o.pools.size() == 3);
  }
}

TEST_CASE("observe_sources reads the ConfigMap keys the spec refers to") {
  IoFixture f("sources");
  api::ValueSource userdata;
  userdata.config_map_key_ref = api::ConfigMapKeySelector{"scripts", "userdata"};
  api::ValueSource start;
  start.config_map_key_ref = api::ConfigMapKeySelector{"scripts", "start"};
  f.cluster.spec.head->user_data_from = userdata;
  f.cluster.spec.head->start_script_from = start;
  api::ValueSource missing;
  missing.config_map_key_ref = api::ConfigMapKeySelector{"absent", "x"};
  (*f.cluster.spec.worker_pools)[0].node.user_data_from = missing;
  f.kube.upsert(kube::resources::kConfigMaps, {{"apiVersion", "v1"},
                                               {"kind", "ConfigMap"},
                                               {"metadata", {{"name", "scripts"}, {"namespace", "team"}}},
                                               {"data", {{"userdata", "#!/bin/bash\necho hi\n"}}},
                                               {"binaryData", {{"start", base64_encode("ray start")}}}});

  SUBCASE("data and binaryData are read; a missing ConfigMap is left out for plan to report") {
    Observed o = f.fresh();
    f.read_sources(o);
    CHECK_FALSE(o.observe_error.has_value());
    CHECK(o.sources.size() == 2);
    CHECK(o.sources["scripts/userdata"] == "#!/bin/bash\necho hi\n");
    CHECK(o.sources["scripts/start"] == "ray start");
    CHECK(o.sources.count("absent/x") == 0);
    CHECK(f.kube.calls("get") == 2);  // each ConfigMap once, however many keys
  }
  SUBCASE("any other error is an observe error") {
    f.kube.fault = [](const std::string& verb, const kube::ResourceRef& ref,
                      const std::string&) -> std::optional<kube::ApiError> {
      if (verb != "get" || ref.plural != "configmaps") return std::nullopt;
      kube::ApiError e;
      e.kind = kube::ApiError::Kind::kServerError;
      e.code = 500;
      e.message = "etcd is away";
      return e;
    };
    Observed o = f.fresh();
    f.read_sources(o);
    REQUIRE(o.observe_error.has_value());
    CHECK(o.observe_error->kind == ErrorKind::kTransient);
    CHECK(o.sources.empty());
  }
}

}  // namespace
}  // namespace raydog::reconcile::testing
