// compute_status / status_changed: phase and conditions over observed states, lastTransitionTime rules,
// kstatus (Reconciling/Stalled), observedGeneration, endpoints and per-pool counts.
#include <doctest/doctest.h>

#include "world.hpp"

namespace rr = raydog::reconcile;
namespace api = raydog::api;
using namespace rr::testing;
using namespace std::chrono_literals;

namespace {
const api::Condition* cond(const api::RayDogClusterStatus& s, std::string_view type) {
  for (const auto& c : s.conditions)
    if (c.type == type) return &c;
  return nullptr;
}
}  // namespace

TEST_CASE("status: every condition is present with observedGeneration, phase table over the lifecycle") {
  World w;
  w.o.cluster.metadata.generation = 5;
  struct Step {
    const char* name;
    api::Phase phase;
    const char* ready_reason;
    const char* reconciling;
  };
  // fresh -> provisioning -> running
  w.reconcile();
  auto check = [&](Step s) {
    CAPTURE(s.name);
    REQUIRE(w.o.cluster.status);
    const auto& st = *w.o.cluster.status;
    CHECK(st.observed_generation == 5);
    CHECK(st.phase == s.phase);
    for (const char* type :
         {"Ready", "Synced", "HeadReady", "WorkersReady", "Provisioned", "Reconciling", "Stalled"}) {
      const auto* c = cond(st, type);
      REQUIRE_MESSAGE(c, type);
      CHECK(c->observed_generation == 5);
      CHECK(!c->last_transition_time.empty());
      CHECK((c->status == "True" || c->status == "False"));
    }
    CHECK(cond(st, "Ready")->reason == s.ready_reason);
    CHECK(cond(st, "Reconciling")->status == s.reconciling);
  };
  // The status written after the first reconcile reflects the observation before act (nothing yet).
  check({"fresh", api::Phase::kProvisioning, "Provisioning", "True"});
  w.progress();
  w.reconcile();
  check({"head up, workers added", api::Phase::kProvisioning, "Provisioning", "True"});
  w.converge();
  check({"running", api::Phase::kRunning, "Running", "False"});
  const auto& st = *w.o.cluster.status;
  CHECK(cond(st, "HeadReady")->status == "True");
  CHECK(cond(st, "WorkersReady")->status == "True");
  CHECK(cond(st, "Provisioned")->status == "True");
  CHECK(cond(st, "Synced")->status == "True");
  CHECK(cond(st, "Stalled")->status == "False");
}

TEST_CASE("status: head, endpoints, work requirement and per-pool counts") {
  World w;
  w.converge();
  const auto& st = *w.o.cluster.status;
  REQUIRE(w.o.head);
  const std::string priv = *w.o.head->private_ip, pub = *w.o.head->public_ip;
  REQUIRE(st.head);
  CHECK(st.head->private_ip == priv);
  CHECK(st.head->public_ip == pub);
  CHECK(st.head->task_id == w.o.head->task_id);
  CHECK(st.head->task_status == "EXECUTING");
  CHECK(st.head->worker_pool_id.has_value());
  REQUIRE(st.endpoints);
  CHECK(st.endpoints->client == "ray://" + pub + ":10001");
  CHECK(st.endpoints->dashboard == "http://" + pub + ":8265");
  CHECK(st.endpoints->gcs == pub + ":6379");
  REQUIRE(st.work_requirement);
  CHECK(st.work_requirement->id == w.o.work_requirement->id);
  CHECK(st.work_requirement->name == w.o.work_requirement->name);
  CHECK(st.work_requirement->status == "RUNNING");
  REQUIRE(st.worker_pools.size() == 2);
  const auto& cpu = st.worker_pools[0];
  CHECK(cpu.name == "cpu");
  CHECK(cpu.desired_nodes == 2);
  CHECK(cpu.ready_nodes == 2);
  CHECK(cpu.registered_nodes == 2);
  CHECK(cpu.failed_tasks == 0);
  CHECK(cpu.health == "Healthy");
  CHECK(cpu.pool_status == "RUNNING");
  CHECK(cpu.worker_pool_id.has_value());
  CHECK(cpu.compute_requirement_id.has_value());
  CHECK(cpu.task_group_id.has_value());
  CHECK(cpu.worker_tag == rr::names_for(w.o.cluster, 1).workers[0].revision);
  CHECK(st.desired_workers == 3);
  CHECK(st.ready_workers == 3);
}

TEST_CASE("status: lastTransitionTime moves only when a condition's status changes, no write when steady") {
  World w;
  w.converge();
  const auto steady = *w.o.cluster.status;
  const std::string ready_since = cond(steady, "Ready")->last_transition_time;
  const std::string synced_since = cond(steady, "Synced")->last_transition_time;

  // Steady: recomputing later gives the same status (no PATCH).
  w.now += 5min;
  auto again = rr::compute_status(w.o, rr::ActOutcome{}, w.o.cluster.status, w.now);
  CHECK_FALSE(rr::status_changed(w.o.cluster.status, again));
  CHECK(cond(again, "Ready")->last_transition_time == ready_since);

  // A worker fails: Ready flips (new time), Synced does not (time kept).
  auto workers = w.live_tasks("worker-nodes-cpu");
  w.finish_task(*w.task_by_id(*workers[0]->id), "FAILED");
  auto degraded = rr::compute_status(w.o, rr::ActOutcome{}, w.o.cluster.status, w.now);
  CHECK(rr::status_changed(w.o.cluster.status, degraded));
  CHECK(cond(degraded, "Ready")->status == "False");
  CHECK(cond(degraded, "Ready")->last_transition_time == raydog::format_rfc3339(w.now));
  CHECK(cond(degraded, "Ready")->last_transition_time != ready_since);
  CHECK(cond(degraded, "Synced")->last_transition_time == synced_since);
  CHECK(cond(degraded, "Provisioned")->status == "True");  // kept once reached
  CHECK(degraded.phase == api::Phase::kDegraded);
  CHECK(cond(degraded, "Reconciling")->status == "True");

  // Only a timestamp differs: not a change.
  auto copy = degraded;
  copy.conditions[0].last_transition_time = "2000-01-01T00:00:00Z";
  CHECK_FALSE(rr::status_changed(degraded, copy));
  copy.conditions[0].message = "different";
  CHECK(rr::status_changed(degraded, copy));
}

TEST_CASE("status: act errors are classified into Synced reasons, a Kubernetes 409 does not flap Synced") {
  World w;
  w.converge();
  struct Row {
    rr::ErrorKind kind;
    const char* reason;
    const char* stalled;
  };
  for (Row row : {Row{rr::ErrorKind::kTransient, "TransientError", "False"},
                  Row{rr::ErrorKind::kNotAuthorised, "NotAuthorised", "True"},
                  Row{rr::ErrorKind::kInvalid, "YellowDogRejected", "True"},
                  Row{rr::ErrorKind::kNotFound, "ObjectGone", "False"}}) {
    CAPTURE(row.reason);
    rr::ActOutcome out;
    out.error = rr::Error{row.kind, "HTTP 4xx"};
    out.failed_action = "ProvisionPool x";
    auto st = rr::compute_status(w.o, out, w.o.cluster.status, w.now);
    CHECK(cond(st, "Synced")->status == "False");
    CHECK(cond(st, "Synced")->reason == row.reason);
    CHECK(cond(st, "Synced")->message == "ProvisionPool x: HTTP 4xx");
    CHECK(cond(st, "Stalled")->status == row.stalled);
  }
  rr::ActOutcome conflict;
  conflict.error = rr::Error{rr::ErrorKind::kConflict, "409"};
  auto st = rr::compute_status(w.o, conflict, w.o.cluster.status, w.now);
  CHECK_FALSE(rr::status_changed(w.o.cluster.status, st));
}

TEST_CASE("status: observe failure keeps YellowDog-derived fields, Synced=False, Reconciling=True") {
  World w;
  w.converge();
  auto before = *w.o.cluster.status;
  w.o.observe_error = rr::Error{rr::ErrorKind::kTransient, "connection refused"};
  auto st = rr::compute_status(w.o, rr::ActOutcome{}, w.o.cluster.status, w.now);
  CHECK(st.head == before.head);
  CHECK(st.endpoints == before.endpoints);
  CHECK(st.worker_pools == before.worker_pools);
  CHECK(st.phase == before.phase);
  CHECK(cond(st, "Synced")->status == "False");
  CHECK(cond(st, "Synced")->reason == "TransientError");
  CHECK(cond(st, "Synced")->message == "connection refused");
  CHECK(cond(st, "Reconciling")->status == "True");
}

TEST_CASE("status: secrets never reach status (credential message names Secret/key only)") {
  World w;
  w.o.credentials.state = rr::CredentialsState::kKeyNotFound;
  w.o.credentials.message = "Secret \"team/yd\" has no key \"keySecret\"";
  auto st = rr::compute_status(w.o, rr::ActOutcome{}, std::nullopt, w.now);
  CHECK(cond(st, "Synced")->reason == "CredentialsNotFound");
  CHECK(cond(st, "Synced")->message.find("keySecret") != std::string::npos);
  CHECK(cond(st, "Stalled")->status == "True");
  CHECK(cond(st, "Reconciling")->status == "False");
  CHECK(st.phase == api::Phase::kPending);
  CHECK_FALSE(st.head.has_value());
}
