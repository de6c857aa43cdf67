// PoolRecord and TaskRecord: the compact forms observe keeps pools and tasks in across reconciles must give
// plan and status back every field they read (observe.hpp).
#include <doctest/doctest.h>

#include "api/json.hpp"
#include "controller/reconcile/observe.hpp"
#include "controller/reconcile/packed_snapshot.hpp"
#include "test/unit/reconcile/world.hpp"

using namespace raydog;
using namespace raydog::reconcile;

TEST_CASE("pool record: every field plan and status read survives the round trip, extras do not") {
  ObservedPool p;
  p.pool.type = std::string(yellowdog::kProvisionedWorkerPoolType);
  p.pool.id = "ydid:wrkrpool:000000:aaaa";
  p.pool.name = "rdc-ns-c-0123abcd-w-cpu-a1b2c3";
  p.pool.namespace_ = "ray";
  p.pool.created_time = "2026-11-22T10:00:00Z";
  p.pool.status = yellowdog::WorkerPoolStatus("RUNNING");
  p.pool.compute_requirement_id = "ydid:compreq:000000:bbbb";
  p.pool.properties.emplace();
  p.pool.properties->max_nodes = 4;
  p.pool.properties->worker_tag = "rdc-ns-c-0123abcd-w-cpu-a1b2c3";
  p.pool.properties->extra = {{"nodeConfiguration", {{"big", std::string(2000, 'x')}}}};
  p.pool.node_summary.emplace();
  p.pool.node_summary->status_counts = {{"RUNNING", 3}, {"LATE", 1}};
  p.pool.worker_summary.emplace();
  p.pool.extra = {{"unknown", "field"}};
  yellowdog::ComputeRequirement cr;
  cr.id = "ydid:compreq:000000:bbbb";
  cr.status = yellowdog::ComputeRequirementStatus("TERMINATING");
  cr.target_instance_count = 4;
  cr.extra = {{"provisionStrategy", {{"sources", yellowdog::Json::array()}}}};
  p.compute_requirement = cr;

  const ObservedPool back = PoolRecord::of(p).observed();
  CHECK(back.pool.provisioned());
  CHECK(back.pool.id == p.pool.id);
  CHECK(back.pool.name == p.pool.name);
  CHECK(back.pool.namespace_ == p.pool.namespace_);
  CHECK(back.pool.created_time == p.pool.created_time);
  CHECK(back.pool.status == "RUNNING");
  CHECK(back.pool.compute_requirement_id == p.pool.compute_requirement_id);
  REQUIRE(back.pool.properties);
  CHECK(back.pool.properties->max_nodes == 4);
  CHECK(back.pool.properties->worker_tag == p.pool.properties->worker_tag);
  REQUIRE(back.pool.node_summary);
  CHECK(back.pool.node_summary->count("RUNNING") == 3);
  REQUIRE(back.compute_requirement);
  CHECK(back.compute_requirement->id == cr.id);
  CHECK(back.compute_requirement->status == "TERMINATING");
  CHECK(back.compute_requirement->target_instance_count == 4);
  // What nobody reads is not kept.
  CHECK(back.pool.extra.empty());
  CHECK(back.pool.properties->extra.empty());
  CHECK_FALSE(back.pool.worker_summary);
  CHECK(back.compute_requirement->extra.empty());

  // A pool seen only in a search summary (TERMINATED, no CR, no summaries) stays that way.
  ObservedPool bare;
  bare.pool.id = "ydid:wrkrpool:000000:cccc";
  bare.pool.status = yellowdog::WorkerPoolStatus("TERMINATED");
  const ObservedPool bare_back = PoolRecord::of(bare).observed();
  CHECK(bare_back.pool.status == "TERMINATED");
  CHECK_FALSE(bare_back.pool.compute_requirement_id);
  CHECK_FALSE(bare_back.pool.properties);
  CHECK_FALSE(bare_back.pool.node_summary);
  CHECK_FALSE(bare_back.compute_requirement);
}

TEST_CASE("task record: the fields plan and status read survive the round trip, the rest does not") {
  yellowdog::Task t;
  t.id = "ydid:task:000000:aaaa:1:2";
  t.name = "worker-00002";
  t.status = yellowdog::TaskStatus("FAILED");
  t.worker_id = "ydid:wrkr:000000:bbbb:1";
  t.node_id = "ydid:node:000000:bbbb";
  t.task_group_id = "ydid:taskgrp:000000:aaaa:1";
  t.started_time = "2026-11-22T10:00:00.000Z";
  t.finished_time = "2026-11-22T10:05:00.000Z";
  t.retry_count = 1;
  t.tag = "t";
  t.task_type = "bash";
  t.arguments = {"taskdata.txt"};
  t.task_data = std::string(4000, '#');
  t.timeout = "PT1H";
  t.environment = {{std::string(kHeadIpEnv), "127.1.0.1"},
                   {"RAY_HEAD_NODE_PRIVATE_IP", "127.1.0.1"},
                   {std::string(kObservabilityHostEnv), "127.1.0.2"},
                   {"USER_SETTING", "x"}};
  yellowdog::TaskError e;
  e.error = "ray start exited 1";
  e.error_type = "PROCESS_NON_ZERO_EXIT";
  e.process_exit_code = 1;
  t.errors.push_back(e);
  t.extra = {{"unknown", "field"}};

  const yellowdog::Task back = TaskRecord::of(t).observed();
  CHECK(back.id == t.id);
  CHECK(back.name == t.name);
  CHECK(back.status == t.status);
  CHECK(back.worker_id == t.worker_id);
  CHECK(back.started_time == t.started_time);
  CHECK(back.finished_time == t.finished_time);
  REQUIRE(back.errors.size() == 1);
  CHECK(back.errors[0].error == "ray start exited 1");
  CHECK(back.errors[0].error_type == "PROCESS_NON_ZERO_EXIT");
  CHECK(back.errors[0].process_exit_code == 1);
  CHECK(back.environment == yellowdog::StringMap{{std::string(kHeadIpEnv), "127.1.0.1"},
                                                 {std::string(kObservabilityHostEnv), "127.1.0.2"}});
  // What nobody reads is not kept.
  CHECK_FALSE(back.task_data);
  CHECK(back.arguments.empty());
  CHECK_FALSE(back.task_group_id);
  CHECK(back.extra.empty());

  // Absent fields stay absent.
  const yellowdog::Task bare = TaskRecord::of(yellowdog::Task{}).observed();
  CHECK_FALSE(bare.id);
  CHECK_FALSE(bare.name);
  CHECK_FALSE(bare.status);
  CHECK(bare.environment.empty());
}

namespace {
// `o` as a steady reconcile sees it: the tasks and pools from its Snapshot, packed as the reconciler keeps
// it and unpacked.
Observed through_snapshot(const Observed& o) {
  Observed back = o;
  back.tasks.clear();
  back.pools.clear();
  const auto unpacked = PackedSnapshot(snapshot_of(o)).unpack();
  REQUIRE(unpacked);
  restore(*unpacked, back);
  return back;
}

// Plan and status of every round agree whether they read the observation or its snapshot.
void check_rounds(testing::World& w, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    w.resolve();
    const Observed back = through_snapshot(w.o);
    INFO("round " << i);
    CHECK(testing::World::dump(plan(w.o, w.now)) == testing::World::dump(plan(back, w.now)));
    nlohmann::json direct, snapshotted;
    api::to_json(direct, compute_status(w.o, {}, w.o.cluster.status, w.now));
    api::to_json(snapshotted, compute_status(back, {}, back.cluster.status, w.now));
    CHECK(direct == snapshotted);
    w.reconcile();
    w.progress();
    w.now += std::chrono::seconds(2);
  }
}
}  // namespace

TEST_CASE("snapshot records: plan and status read a snapshot as they read the observation") {
  testing::World w;
  api::ObservabilitySpec obs;
  obs.enabled = true;
  obs.node.compute_requirement_template = "ydid:crt:000000:obs";
  w.o.cluster.spec.observability = obs;
  check_rounds(w, 8);  // build to running
  REQUIRE(w.o.head);
  REQUIRE(w.o.observability);

  // A worker fails with an error (backoff, Degraded with the message, then a replacement).
  auto workers = w.live_tasks("worker-nodes-cpu");
  REQUIRE_FALSE(workers.empty());
  auto* t = w.task_by_id(*workers[0]->id);
  w.finish_task(*t, "FAILED");
  yellowdog::TaskError err;
  err.error = "ray start exited 1";
  err.error_type = "PROCESS_NON_ZERO_EXIT";
  t->errors.push_back(err);
  check_rounds(w, 6);

  // The observability node is replaced: the head and the workers point at the old one (environment).
  const auto obs_tasks = w.live_tasks("observability");
  REQUIRE(obs_tasks.size() == 1);
  w.finish_task(*w.task_by_id(*obs_tasks[0]->id), "FAILED");
  check_rounds(w, 10);
  REQUIRE(w.o.observability);
  for (const auto* wt : w.live_tasks("worker-nodes"))
    CHECK(wt->environment.at(std::string(kObservabilityHostEnv)) == *w.o.observability->private_ip);
}

TEST_CASE("packed snapshot: every field of the records and the trimmed work requirement reads back") {
  Snapshot s;
  s.generation = 7;
  s.incarnation = 3;
  s.fingerprint = 0xfedcba9876543210ULL;
  s.read_at = TimePoint(std::chrono::milliseconds(1'765'000'000'123));
  TaskRecord head;
  head.id = "ydid:task:000000:aaaa:1:1";
  head.name = "head";
  head.status = yellowdog::TaskStatus("EXECUTING");
  head.worker_id = "ydid:wrkr:000000:bbbb:1";
  head.node_id = "ydid:node:000000:bbbb";
  head.started_time = "2026-11-22T10:00:00.000Z";
  head.environment = {{std::string(kHeadIpEnv), "127.1.0.1"}};
  TaskRecord failed;
  failed.id = "ydid:task:000000:aaaa:2:7";
  failed.name = "worker-00007";
  failed.status = yellowdog::TaskStatus("FAILED");
  failed.finished_time = "2026-11-22T10:05:00.000Z";
  yellowdog::TaskError e;
  e.timestamp = "2026-11-22T10:05:00.000Z";
  e.error = "ray start exited 1";
  e.worker_id = "ydid:wrkr:000000:cccc:1";
  e.error_type = "PROCESS_NON_ZERO_EXIT";
  e.status_at_failure = yellowdog::TaskStatus("EXECUTING");
  e.process_exit_code = -9;
  e.caused_failure = false;
  e.extra = {{"detail", {{"signal", 9}}}};
  failed.errors = {e, yellowdog::TaskError{}};
  s.tasks["head"] = {head};
  s.tasks["worker-nodes-cpu"] = {failed, TaskRecord{}};
  s.tasks["empty"] = {};
  PoolRecord pool;
  pool.id = "ydid:wrkrpool:000000:aaaa";
  pool.status = "RUNNING";
  pool.compute_requirement_id = "ydid:compreq:000000:bbbb";
  pool.provisioned = false;
  pool.name = "rdc-ns-c-0123abcd-w-cpu-a1b2c3";
  pool.namespace_ = "ray";
  pool.created_time = "2026-11-22T10:00:00Z";
  pool.worker_tag = "tag";
  pool.max_nodes = 4;
  pool.running_nodes = 0;
  pool.cr = PoolRecord::Cr{"ydid:compreq:000000:bbbb", "RUNNING", 4};
  s.pools = {pool, PoolRecord{}};
  yellowdog::WorkRequirement wr;
  wr.id = "ydid:workreq:000000:aaaa";
  wr.status = yellowdog::WorkRequirementStatus("RUNNING");
  wr.namespace_ = "ray";
  wr.name = "rdc-ns-c-0123abcd";
  wr.created_time = "2026-11-22T09:59:00.000Z";
  wr.status_changed_time = "2026-11-22T10:00:00.000Z";
  wr.task_groups.resize(2);
  wr.task_groups[0].id = "ydid:taskgrp:000000:aaaa:1";
  wr.task_groups[0].status = yellowdog::TaskGroupStatus("RUNNING");
  wr.task_groups[0].name = "head";
  wr.task_groups[0].tag = "t";
  wr.task_groups[0].run_specification.worker_tags = std::vector<std::string>{"a", "b"};
  wr.task_groups[1].name = "worker-nodes-cpu";
  s.work_requirement = wr;

  PackedSnapshot packed(s);
  CHECK(packed.keeps_work_requirement());
  CHECK(packed.read_at() == s.read_at);
  const auto back = packed.unpack();
  REQUIRE(back);
  CHECK(back->generation == 7);
  CHECK(back->incarnation == 3);
  CHECK(back->fingerprint == s.fingerprint);
  CHECK(back->read_at == s.read_at);
  REQUIRE(back->tasks.size() == 3);
  CHECK(back->tasks.at("empty").empty());
  const TaskRecord& h = back->tasks.at("head").at(0);
  CHECK(h.id == head.id);
  CHECK(h.name == "head");
  CHECK(h.status == "EXECUTING");
  CHECK(h.worker_id == head.worker_id);
  CHECK(h.node_id == head.node_id);
  CHECK(h.started_time == head.started_time);
  CHECK_FALSE(h.finished_time);
  CHECK(h.environment == head.environment);
  const auto& workers = back->tasks.at("worker-nodes-cpu");
  REQUIRE(workers.size() == 2);
  CHECK(workers[0].finished_time == failed.finished_time);
  CHECK_FALSE(workers[0].worker_id);
  REQUIRE(workers[0].errors.size() == 2);
  const yellowdog::TaskError& be = workers[0].errors[0];
  CHECK(be.timestamp == e.timestamp);
  CHECK(be.error == e.error);
  CHECK_FALSE(be.node_id);
  CHECK(be.worker_id == e.worker_id);
  CHECK(be.error_type == "PROCESS_NON_ZERO_EXIT");
  CHECK(be.status_at_failure == yellowdog::TaskStatus("EXECUTING"));
  CHECK(be.process_exit_code == -9);
  CHECK(be.caused_failure == false);
  CHECK(be.extra == e.extra);
  CHECK(workers[0].errors[1].extra == yellowdog::Json::object());
  CHECK_FALSE(workers[0].errors[1].caused_failure);
  CHECK(workers[1].id.empty());
  CHECK(workers[1].status.empty());
  REQUIRE(back->pools.size() == 2);
  const PoolRecord& p = back->pools[0];
  CHECK(p.id == pool.id);
  CHECK(p.status == "RUNNING");
  CHECK(p.compute_requirement_id == pool.compute_requirement_id);
  CHECK_FALSE(p.provisioned);
  CHECK(p.name == pool.name);
  CHECK(p.namespace_ == pool.namespace_);
  CHECK(p.created_time == pool.created_time);
  CHECK(p.worker_tag == "tag");
  CHECK(p.max_nodes == 4);
  CHECK(p.running_nodes == 0);
  REQUIRE(p.cr);
  CHECK(p.cr->id == pool.cr->id);
  CHECK(p.cr->status == "RUNNING");
  CHECK(p.cr->target_instance_count == 4);
  CHECK(back->pools[1].provisioned);
  CHECK_FALSE(back->pools[1].name);
  CHECK_FALSE(back->pools[1].cr);
  REQUIRE(back->work_requirement);
  const auto& bw = *back->work_requirement;
  CHECK(bw.id == wr.id);
  CHECK(bw.status == wr.status);
  CHECK(bw.namespace_ == "ray");
  CHECK(bw.name == wr.name);
  CHECK(bw.created_time == wr.created_time);
  CHECK(bw.status_changed_time == wr.status_changed_time);
  REQUIRE(bw.task_groups.size() == 2);
  CHECK(bw.task_groups[0].id == wr.task_groups[0].id);
  CHECK(bw.task_groups[0].status == wr.task_groups[0].status);
  CHECK(bw.task_groups[0].name == "head");
  CHECK(bw.task_groups[0].tag == "t");
  CHECK(bw.task_groups[0].run_specification.worker_tags == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(bw.task_groups[1].id);
  CHECK_FALSE(bw.task_groups[1].status);
  CHECK_FALSE(bw.task_groups[1].run_specification.worker_tags);
  // The fingerprint of a snapshot is that of the full work requirement, not of the trimmed one.
  CHECK(fingerprint(bw) == fingerprint(trimmed(wr)));

  // No longer steady: the tasks and pools still serve, the work requirement is no longer offered.
  packed.drop_work_requirement();
  CHECK_FALSE(packed.keeps_work_requirement());
  const auto dropped = packed.unpack();
  REQUIRE(dropped);
  CHECK_FALSE(dropped->work_requirement);
  CHECK(dropped->tasks.size() == 3);
  CHECK(dropped->pools.size() == 2);

  // A snapshot without a work requirement, and an empty one.
  s.work_requirement.reset();
  const auto without = PackedSnapshot(s).unpack();
  REQUIRE(without);
  CHECK_FALSE(without->work_requirement);
  CHECK(without->pools.size() == 2);
  const auto empty = PackedSnapshot(Snapshot{}).unpack();
  REQUIRE(empty);
  CHECK(empty->tasks.empty());
  CHECK(empty->pools.empty());
  // Packed is a fraction of the records it holds (one string, no padding, no per-field allocation).
  CHECK(PackedSnapshot(s).bytes() < sizeof(TaskRecord) * 3 + sizeof(PoolRecord) * 2);

  // A pool alone, as the pool index packs it among a cluster's pools.
  ByteWriter w;
  write_pool(w, pool);
  const std::string one = w.take();
  ByteReader r(one);
  const PoolRecord pool_back = read_pool(r);
  CHECK(r.at_end());
  CHECK(pool_back.id == pool.id);
  CHECK(pool_back.name == pool.name);
  CHECK(pool_back.worker_tag == pool.worker_tag);
  REQUIRE(pool_back.cr);
  CHECK(pool_back.cr->target_instance_count == 4);
  ByteReader cut(std::string_view(one).substr(0, 10));
  read_pool(cut);
  CHECK_FALSE(cut.ok());
}
