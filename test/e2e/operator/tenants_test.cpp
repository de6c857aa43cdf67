// Two tenants on one operator (issue 18): namespaces tenant-a and tenant-b hold Secrets with different
// YellowDog keys, and yellowdog-sim accepts both (`--key` twice) and records which key created each object
// (`/_sim/created-by`). Every object of a tenant's cluster must have been created with that tenant's key;
// deleting one tenant's Secret stalls only that tenant's cluster; no key secret reaches any Event, status
// or the operator's log.
#include <doctest/doctest.h>

#include <thread>

#include "controller/util/base64.hpp"
#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

struct Tenant {
  std::string ns, key_id, key_secret;
  std::string prefix() const { return "rdc-" + ns + "-c1"; }
};

// The harness's namespace, Secret and ConfigMaps, with this tenant's key in the Secret.
std::string tenant_yaml(const Tenant& t) {
  std::string y = Env::prerequisites_yaml(t.ns);
  auto replace = [&](const std::string& from, const std::string& to) {
    auto pos = y.find(from);
    REQUIRE_MESSAGE(pos != std::string::npos, from);
    y.replace(pos, from.size(), to);
  };
  replace(raydog::base64_encode("test-key-id"), raydog::base64_encode(t.key_id));
  replace(raydog::base64_encode("test-key-secret"), raydog::base64_encode(t.key_secret));
  return y;
}

std::string synced_reason(Env& env, const std::string& ns) {
  auto c = env.get_cluster(ns, "c1");
  auto s = c ? condition_of(*c, "Synced") : std::nullopt;
  return s ? s->value("reason", "") : "";
}

// Every YellowDog object of the tenant's cluster (WR, its task groups, tasks, pools, their compute
// requirements) was created with the tenant's key, and the cluster has such objects.
void check_created_by(Env& env, const Tenant& t) {
  INFO("tenant " << t.ns);
  const json created_by = env.sim_get("created-by");
  const SimView v = view_of(env.sim_get("objects"), t.prefix());
  std::vector<std::string> ids;
  for (const auto& wr : v.work_requirements) {
    ids.push_back(wr.value("id", ""));
    for (const auto& g : wr.value("taskGroups", json::array())) ids.push_back(g.value("id", ""));
  }
  for (const auto& task : v.tasks) ids.push_back(task.value("id", ""));
  for (const auto& p : v.pools) {
    ids.push_back(p.value("id", ""));
    if (p.contains("computeRequirementId")) ids.push_back(p.value("computeRequirementId", ""));
  }
  CHECK(v.work_requirements.size() == 1);
  CHECK(v.pools.size() >= 3);  // head, observability, two worker pools in the sample
  CHECK(v.tasks.size() >= 3);
  for (const auto& id : ids) {
    CAPTURE(id);
    CHECK(created_by.value(id, "(not recorded)") == t.key_id);
  }
}

// Neither secret anywhere a user or an admin can read: Events and status of both clusters, and the log.
void check_no_secret(Env& env, const std::vector<Tenant>& tenants) {
  std::string visible = env.operator_log_full();
  for (const auto& t : tenants) {
    auto events = env.kubectl({"get", "events", "-n", t.ns, "-o", "json"});
    REQUIRE_MESSAGE(events.exit_code == 0, events.err);
    visible += events.out;
    if (auto c = env.get_cluster(t.ns, "c1")) visible += c->dump();
  }
  for (const auto& t : tenants) {
    CAPTURE(t.ns);
    CHECK(visible.find(t.key_secret) == std::string::npos);
    CHECK(visible.find(raydog::base64_encode(t.key_secret)) == std::string::npos);
  }
}

}  // namespace

TEST_CASE(
    "operator scenario: two tenants on one operator, each object created with its own namespace's key, "
    "deleting one Secret stalls only that tenant, no secret in Events, status or log") {
  const std::vector<Tenant> tenants = {{"tenant-a", "key-a", "secret-a-7f3e0c"},
                                       {"tenant-b", "key-b", "secret-b-91c2d4"}};
  Env env(sim_flags({"--key", "key-a:secret-a-7f3e0c", "--key", "key-b:secret-b-91c2d4"}));
  for (const auto& t : tenants) env.apply(tenant_yaml(t));
  // Credentials re-read on every reconcile, so a deleted Secret is noticed at the next poll.
  env.start_operator({"--credentials-cache-ttl", "0s"});
  for (const auto& t : tenants) env.apply(env.sample("c1", t.ns));
  INFO(env.operator_log());
  for (const auto& t : tenants) REQUIRE(env.eventually([&] { return env.is_ready(t.ns, "c1"); }, 120s));
  for (const auto& t : tenants) check_created_by(env, t);
  check_no_secret(env, tenants);

  // Tenant A's Secret goes: only A's cluster says so; B stays Ready and Synced.
  auto del = env.kubectl({"delete", "secret", "yellowdog-credentials", "-n", "tenant-a"});
  REQUIRE_MESSAGE(del.exit_code == 0, del.err);
  REQUIRE(env.eventually([&] { return synced_reason(env, "tenant-a") == "CredentialsNotFound"; }, 30s));
  CHECK(synced_reason(env, "tenant-b") == "Reconciled");
  CHECK(env.is_ready("tenant-b", "c1"));
  // Still true after B's next polls (requeue-steady is 2 s in the harness).
  std::this_thread::sleep_for(5s);
  CHECK(synced_reason(env, "tenant-b") == "Reconciled");
  CHECK(synced_reason(env, "tenant-a") == "CredentialsNotFound");
  check_no_secret(env, tenants);

  // A's Secret back: A converges again, still with its own key only.
  env.apply(tenant_yaml(tenants[0]));
  REQUIRE(env.eventually([&] { return synced_reason(env, "tenant-a") == "Reconciled"; }, 60s));
  check_created_by(env, tenants[0]);
  check_created_by(env, tenants[1]);
  for (const auto& t : tenants) delete_clean(env, t.ns, "c1");
}
