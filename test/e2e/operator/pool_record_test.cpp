// PoolRecord: the compact form observe keeps pools in across reconciles must give plan and status back
// every field they read (observe.hpp).
#include <doctest/doctest.h>

#include "controller/reconcile/observe.hpp"

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
