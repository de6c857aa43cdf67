// DALiuGE as an extension of the RayDogCluster loop: which clusters get a pass, what a cluster that has
// none (disabled, deleting, invalid) keeps of status.daliuge, the pass's pacing and status carry-over.
#include <doctest/doctest.h>

#include "controller/daliuge/extension.hpp"

using namespace raydog;
using namespace raydog::daliuge;
using namespace std::chrono_literals;

namespace {

api::RayDogCluster daliuge_cluster(bool enabled) {
  api::RayDogCluster c;
  c.metadata.name = "c";
  c.metadata.namespace_name = "ns";
  c.metadata.generation = 1;
  c.spec.daliuge = api::DaliugeSpec{};
  c.spec.daliuge->enabled = enabled;
  return c;
}

api::RayDogClusterStatus reported_status() {
  api::RayDogClusterStatus s;
  api::Condition ready;
  ready.type = "DaliugeReady";
  ready.status = "True";
  ready.reason = "NodeManagersRegistered";
  ready.last_transition_time = "2026-01-01T00:00:00Z";
  s.conditions.push_back(ready);
  s.daliuge = api::DaliugeStatus{};
  s.daliuge->desired_node_managers = 2;
  return s;
}

struct Scope {
  std::string key = "ns/c";
  api::RayDogCluster cluster;
  log::Logger log;
  reconcile::ExtensionReport report;
  reconcile::ReconcileScope scope;
  Scope(api::RayDogCluster c, bool valid)
      : cluster(std::move(c)), scope{key, cluster, valid, reconcile::Clock::now(), log, nullptr, report} {}
};

}  // namespace

TEST_CASE("daliuge extension: a pass only for a valid, enabled cluster that is not being deleted") {
  MembershipExtension ext;
  CHECK(ext.name() == "daliuge");
  CHECK(ext.begin(Scope(daliuge_cluster(true), true).scope) != nullptr);
  CHECK(ext.begin(Scope(daliuge_cluster(false), true).scope) == nullptr);
  CHECK(ext.begin(Scope(daliuge_cluster(true), false).scope) == nullptr);  // invalid spec
  auto deleting = daliuge_cluster(true);
  deleting.metadata.deletion_timestamp = "2026-01-01T00:00:00Z";
  CHECK(ext.begin(Scope(deleting, true).scope) == nullptr);
  CHECK(ext.begin(Scope(api::RayDogCluster{}, true).scope) == nullptr);  // no spec.daliuge at all
}

TEST_CASE("daliuge extension: without a pass status.daliuge and DaliugeReady are withdrawn") {
  MembershipExtension ext;
  api::RayDogClusterStatus s = reported_status();
  api::Condition other;
  other.type = "Ready";
  s.conditions.insert(s.conditions.begin(), other);
  ext.withdraw_status(s);
  CHECK_FALSE(s.daliuge);
  REQUIRE(s.conditions.size() == 1);
  CHECK(s.conditions[0].type == "Ready");
}

TEST_CASE("daliuge extension: a pass that did not sync carries status over, paces steady requeues to 30 s") {
  MembershipExtension ext;
  auto cluster = daliuge_cluster(true);
  cluster.status = reported_status();
  Scope s(cluster, true);
  auto pass = ext.begin(s.scope);
  REQUIRE(pass);
  CHECK_FALSE(pass->side_work_due(s.scope));  // nothing collected yet: a full reconcile
  api::RayDogClusterStatus status;
  reconcile::Observed observed;
  pass->contribute_status(s.scope, observed, status);
  CHECK(status.daliuge == cluster.status->daliuge);
  REQUIRE(status.conditions.size() == 1);
  CHECK(status.conditions[0].last_transition_time == "2026-01-01T00:00:00Z");
  CHECK(pass->pace(s.scope, 60s) == 30s);
  CHECK(pass->pace(s.scope, 2s) == 2s);  // converging: unchanged
  CHECK(s.report.events.empty());
  CHECK(s.report.yellowdog_calls == 0);
}
