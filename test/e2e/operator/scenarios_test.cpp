// Lifecycle scenarios beyond create/resize/delete, each against its own kube-emulator + yellowdog-sim +
// operator: deletionPolicy Orphan, buildTimeout (held, then rebuilt on a spec change), a cleanup that times
// out, an immutable-field change of a pool (replacement pool, old one drained after), and the steady-state
// cost (one YellowDog call and no Kubernetes write per steady reconcile).
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

std::string cond_field(Env& env, const std::string& ns, const std::string& name, const std::string& type,
                       const std::string& field) {
  auto c = env.get_cluster(ns, name);
  if (!c) return "";
  auto cond = condition_of(*c, type);
  return cond ? cond->value(field, "") : "";
}

std::string phase(Env& env, const std::string& ns, const std::string& name) {
  auto c = env.get_cluster(ns, name);
  return c ? c->value("status", json::object()).value("phase", "") : "";
}

// Calls the simulator counted whose "METHOD path" key satisfies `pred`.
int calls_where(const json& stats, const std::function<bool(const std::string&)>& pred) {
  int n = 0;
  const json calls = stats.value("calls", json::object());
  for (auto it = calls.begin(); it != calls.end(); ++it)
    if (pred(it.key())) n += it.value().get<int>();
  return n;
}

bool mutating(const std::string& call) {
  return call.rfind("GET ", 0) != 0;
}

// The global resourceVersion of the emulator (a list's resourceVersion): unchanged means no write at all.
std::string global_rv(Env& env) {
  auto r = env.kubectl({"get", "--raw", "/api/v1/namespaces/default/configmaps"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return json::parse(r.out).at("metadata").value("resourceVersion", "");
}

}  // namespace

TEST_CASE("operator scenario: deletionPolicy Orphan removes the finalizer and leaves YellowDog running") {
  Env env;
  env.apply_prerequisites("orphan");
  env.start_operator();
  env.apply(small_cluster(env, "o1", "orphan", 2, "  deletionPolicy: Orphan\n"));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("orphan", "o1"); }, 90s), env.operator_log());
  auto before = view(env, "orphan", "o1");
  REQUIRE(before.live_work_requirements() == 1);
  REQUIRE(before.live_pools() == 2);
  REQUIRE(before.tasks_in("EXECUTING") == 3);
  env.sim_post("reset-counters");

  auto del = env.kubectl({"delete", "rdc", "o1", "-n", "orphan", "--wait=false"});
  REQUIRE_MESSAGE(del.exit_code == 0, del.err);
  INFO(env.operator_log());
  REQUIRE(env.eventually([&] { return env.cluster_gone("orphan", "o1"); }, 60s));

  // Untouched: the same WR, pools and tasks still run, and no mutating call reached YellowDog.
  auto after = view(env, "orphan", "o1");
  CHECK(after.live_work_requirements() == 1);
  CHECK(after.live_pools() == 2);
  CHECK(after.tasks_in("EXECUTING") == 3);
  CHECK(after.work_requirements.size() == before.work_requirements.size());
  CHECK(after.pools.size() == before.pools.size());
  auto stats = env.sim_get("stats");
  CHECK(calls_where(stats, mutating) == 0);
  CHECK(!env.events("orphan", "o1", "Orphaned").empty());
}

TEST_CASE(
    "operator scenario: buildTimeout -> Failed, Stalled, torn down, held, rebuilt after a spec change") {
  // Tasks never start within the test: the head cannot reach EXECUTING.
  Env env(sim_flags({"--task-start-delay", "1h"}));
  env.apply_prerequisites("bt");
  env.start_operator({"--log-format", "json", "--log-level", "debug"});
  env.apply(small_cluster(env, "b1", "bt", 1, "  buildTimeout: 3s\n"));
  INFO(env.operator_log());
  REQUIRE(env.eventually([&] { return phase(env, "bt", "b1") == "Failed"; }, 60s));
  CHECK(cond_field(env, "bt", "b1", "Ready", "status") == "False");
  CHECK(cond_field(env, "bt", "b1", "Ready", "reason") == "BuildTimeout");
  CHECK(cond_field(env, "bt", "b1", "Stalled", "status") == "True");
  CHECK(cond_field(env, "bt", "b1", "Stalled", "reason") == "BuildTimeout");
  CHECK(cond_field(env, "bt", "b1", "Reconciling", "status") == "False");
  auto ev = env.events("bt", "b1", "BuildTimeout");
  REQUIRE(!ev.empty());
  CHECK(ev[0].value("type", "") == "Warning");
  // Torn down: WR cancelled, pools shut down.
  CHECK(env.eventually(
      [&] {
        auto v = view(env, "bt", "b1");
        return v.live_work_requirements() == 0 && v.live_pools() == 0;
      },
      30s));
  REQUIRE(view(env, "bt", "b1").work_requirements.size() == 1);

  // Held: a metadata-only change (no new generation) triggers a reconcile that creates nothing.
  env.sim_post("reset-counters");
  auto log_before = env.operator_log_full().size();
  auto ann = env.kubectl({"annotate", "rdc", "b1", "-n", "bt", "poke=1"});
  REQUIRE_MESSAGE(ann.exit_code == 0, ann.err);
  CHECK(env.eventually(
      [&] {
        return env.operator_log_full()
                   .substr(std::min(log_before, env.operator_log_full().size()))
                   .find("\"reconciled\"") != std::string::npos;
      },
      30s));
  CHECK(calls_where(env.sim_get("stats"), mutating) == 0);
  CHECK(view(env, "bt", "b1").work_requirements.size() == 1);
  CHECK(phase(env, "bt", "b1") == "Failed");

  // A spec change (new generation) -> a new incarnation is built.
  auto patch = env.kubectl(
      {"patch", "rdc", "b1", "-n", "bt", "--type=merge", "-p", R"({"spec":{"buildTimeout":"1h"}})"});
  REQUIRE_MESSAGE(patch.exit_code == 0, patch.err);
  CHECK(env.eventually(
      [&] {
        auto v = view(env, "bt", "b1");
        return v.work_requirements.size() == 2 && v.live_work_requirements() == 1 && v.live_pools() == 2;
      },
      60s));
  CHECK(env.eventually([&] { return phase(env, "bt", "b1") == "Provisioning"; }, 30s));
  CHECK(cond_field(env, "bt", "b1", "Stalled", "status") == "False");
  CHECK(cond_field(env, "bt", "b1", "Reconciling", "status") == "True");
  delete_clean(env, "bt", "b1");
}

TEST_CASE("operator scenario: cleanup timeout -> Warning event listing the ids, finalizer removed") {
  Env env;
  env.apply_prerequisites("ct");
  env.start_operator({"--cleanup-timeout", "3s"});
  env.apply(small_cluster(env, "c1", "ct", 1));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("ct", "c1"); }, 90s), env.operator_log());
  auto cluster = env.get_cluster("ct", "c1");
  REQUIRE(cluster);
  const auto& st = (*cluster)["status"];
  const std::string wr_id = st["workRequirement"].value("id", "");
  const std::string pool_id = st["workerPools"][0].value("workerPoolId", "");
  REQUIRE(!wr_id.empty());
  REQUIRE(!pool_id.empty());

  // YellowDog refuses everything from now on: nothing can be shut down.
  auto faults = run_command({"curl", "-sS", "-f", "-X", "PUT", "-H", "Content-Type: application/json", "-d",
                             R"({"failRate":1.0,"failCodes":[500]})", env.sim_url() + "/_sim/faults"});
  REQUIRE_MESSAGE(faults.exit_code == 0, faults.err);
  auto del = env.kubectl({"delete", "rdc", "c1", "-n", "ct", "--wait=false"});
  REQUIRE_MESSAGE(del.exit_code == 0, del.err);
  INFO(env.operator_log());
  REQUIRE(env.eventually([&] { return env.cluster_gone("ct", "c1"); }, 60s));
  auto ev = env.events("ct", "c1", "CleanupTimedOut");
  REQUIRE(!ev.empty());
  CHECK(ev[0].value("type", "") == "Warning");
  const std::string message = ev[0].value("message", "");
  INFO(message);
  CHECK(message.find(wr_id) != std::string::npos);
  CHECK(message.find(pool_id) != std::string::npos);

  // What the event named is indeed what was left running.
  faults = run_command({"curl", "-sS", "-f", "-X", "PUT", "-H", "Content-Type: application/json", "-d",
                        R"({"failRate":0.0})", env.sim_url() + "/_sim/faults"});
  REQUIRE_MESSAGE(faults.exit_code == 0, faults.err);
  auto v = view(env, "ct", "c1");
  CHECK(v.live_work_requirements() == 1);
  for (const auto& p : v.pools)
    if (p.value("status", "") != "SHUTDOWN" && p.value("status", "") != "TERMINATED" &&
        p.value("name", "").find("-w-cpu") != std::string::npos)
      CHECK(message.find(p.value("id", "")) != std::string::npos);
}

TEST_CASE("operator scenario: immutable pool change -> replacement pool, the old one drained after it runs") {
  Env env;
  env.apply_prerequisites("imm");
  env.start_operator();
  env.apply(small_cluster(env, "i1", "imm", 2));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("imm", "i1"); }, 90s), env.operator_log());
  std::string old_pool;
  for (const auto& p : view(env, "imm", "i1").pools)
    if (p.value("name", "").find("-w-cpu") != std::string::npos) old_pool = p.value("id", "");
  REQUIRE(!old_pool.empty());

  auto patch = env.kubectl({"patch", "rdc", "i1", "-n", "imm", "--type=json", "-p",
                            R"([{"op":"add","path":"/spec/workerPools/0/startScript",)"
                            R"("value":"#!/bin/bash\nray start --address=$RAY_HEAD_IP:6379 --block\n"}])"});
  REQUIRE_MESSAGE(patch.exit_code == 0, patch.err);
  INFO(env.operator_log());

  // Poll the transition: whenever the old pool is seen finished, the new pool's 2 worker tasks already run.
  std::string new_pool;
  bool drained = false, order_ok = true;
  CHECK(env.eventually(
      [&] {
        auto v = view(env, "imm", "i1");
        std::set<std::string> new_tags;
        bool old_finished = false;
        for (const auto& p : v.pools) {
          const std::string pname = p.value("name", ""), status = p.value("status", "");
          const bool live = status != "SHUTDOWN" && status != "TERMINATED";
          if (p.value("id", "") == old_pool)
            old_finished = !live;
          else if (pname.find("-w-cpu") != std::string::npos && live)
            new_pool = p.value("id", ""), new_tags.insert(pname);
        }
        int new_executing = 0;
        for (const auto& t : v.tasks)
          if (t.value("status", "") == "EXECUTING" && t.value("name", "").rfind("worker", 0) == 0 &&
              t.value("environment", json::object()).contains("RAY_HEAD_IP")) {
            // Tasks of the new revision run on the new pool's worker tag (the group targets it).
            for (const auto& wr : v.work_requirements)
              for (const auto& g : wr.value("taskGroups", json::array()))
                if (g.value("id", "") == t.value("taskGroupId", "")) {
                  auto tags = g.value("runSpecification", json::object()).value("workerTags", json::array());
                  for (const auto& tag : tags)
                    for (const auto& n : new_tags)
                      if (n.rfind(tag.get<std::string>(), 0) == 0) ++new_executing;
                }
          }
        if (old_finished && new_executing < 2) order_ok = false;
        drained = old_finished;
        return old_finished && new_executing == 2;
      },
      90s));
  CHECK(order_ok);
  CHECK(drained);
  CHECK(!new_pool.empty());
  CHECK(new_pool != old_pool);
  CHECK(env.eventually([&] { return env.is_ready("imm", "i1"); }, 60s));
  auto v = view(env, "imm", "i1");
  CHECK(v.live_pools() == 2);
  CHECK(v.tasks_in("EXECUTING") == 3);
  CHECK(v.live_work_requirements() == 1);
  delete_clean(env, "imm", "i1");
  // 0 leaks: every pool of the cluster ever made is finished.
  for (const auto& p : view(env, "imm", "i1").pools) {
    const std::string status = p.value("status", "");
    CHECK((status == "SHUTDOWN" || status == "TERMINATED"));
  }
}

TEST_CASE("operator scenario: steady state costs one YellowDog call and no Kubernetes write per reconcile") {
  Env env;
  env.apply_prerequisites("steady");
  // Poll mode: this is the cost of a steady poll (with the observer, steady reconciles read nothing:
  // observer_e2e_test).
  env.start_operator({"--requeue-steady", "300ms", "--log-format", "json", "--log-level", "debug",
                      "--yellowdog-observe", "poll"});
  env.apply(small_cluster(env, "s1", "steady", 2));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("steady", "s1"); }, 90s), env.operator_log());
  REQUIRE(env.eventually([&] { return cond_field(env, "steady", "s1", "Reconciling", "status") == "False"; },
                         30s));

  // Count the steady reconciles of this cluster from the operator's debug log ("reconciled" lines).
  auto reconciled_lines = [&](std::size_t from) {
    std::vector<json> out;
    std::istringstream in(env.operator_log_full().substr(from));
    std::string line;
    while (std::getline(in, line)) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.value("msg", "") == "reconciled" &&
          j.value("object", "") == "steady/s1")
        out.push_back(j);
    }
    return out;
  };
  // Let the first steady reconciles pass (the snapshot is taken by the first one that plans nothing).
  std::size_t mark = env.operator_log_full().size();
  REQUIRE(env.eventually([&] { return reconciled_lines(mark).size() >= 2; }, 30s));

  mark = env.operator_log_full().size();
  env.sim_post("reset-counters");
  const std::string rv_before = global_rv(env);
  REQUIRE(env.eventually([&] { return reconciled_lines(mark).size() >= 8; }, 60s));
  // Stop so no reconcile is in flight while counting (SIGTERM drains: the last one logs its line).
  const std::string rv_after = global_rv(env);
  env.stop_operator();
  auto lines = reconciled_lines(mark);
  auto stats = env.sim_get("stats");
  INFO(stats.dump());
  int with_one_call = 0;
  for (const auto& l : lines) with_one_call += l.value("yellowdogCalls", -1) == 1;
  CHECK(with_one_call == static_cast<int>(lines.size()));
  // Every YellowDog call of the window is a steady GET of the work requirement, one per reconcile. (The
  // reconcile in flight at the reset may have made its call before it and logged after the mark: +-1.)
  const int total = stats.value("totalCalls", -1);
  CHECK(calls_where(stats, mutating) == 0);
  CHECK(total + 1 >= static_cast<int>(lines.size()));
  CHECK(total <= static_cast<int>(lines.size()) + 1);
  CHECK(stats.value("calls", json::object()).size() == 1);
  // No Kubernetes write (status, finalizer, event) while steady.
  CHECK(rv_before == rv_after);
}

TEST_CASE("operator scenario: spec.lifetime over -> Failed LifetimeExpired, torn down, nothing replaced") {
  Env env;
  env.apply_prerequisites("life");
  env.start_operator();
  env.apply(small_cluster(env, "l1", "life", 1, "  lifetime: 15s\n"));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("life", "l1"); }, 60s), env.operator_log());
  const auto tasks_before = view(env, "life", "l1").tasks.size();
  INFO(env.operator_log());
  REQUIRE(env.eventually([&] { return phase(env, "life", "l1") == "Failed"; }, 60s));
  CHECK(cond_field(env, "life", "l1", "Ready", "reason") == "LifetimeExpired");
  CHECK(cond_field(env, "life", "l1", "Stalled", "status") == "True");
  CHECK(cond_field(env, "life", "l1", "Stalled", "reason") == "LifetimeExpired");
  CHECK(cond_field(env, "life", "l1", "Reconciling", "status") == "False");
  auto ev = env.events("life", "l1", "LifetimeExpired");
  REQUIRE(!ev.empty());
  CHECK(ev[0].value("type", "") == "Warning");
  CHECK(env.eventually(
      [&] {
        auto v = view(env, "life", "l1");
        return v.live_work_requirements() == 0 && v.live_pools() == 0;
      },
      30s));
  auto v = view(env, "life", "l1");
  CHECK(v.tasks.size() == tasks_before);  // no replacement task
  CHECK(v.work_requirements.size() == 1);
  delete_clean(env, "life", "l1");
}

TEST_CASE("operator scenario: observability node lost -> head and workers re-pointed at its new IP") {
  Env env;
  env.apply_prerequisites("obs");
  env.start_operator();
  env.apply(small_cluster(env, "v1", "obs", 2,
                          "  observability:\n    enabled: true\n    computeRequirementTemplate: ray/obs\n"));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("obs", "v1"); }, 90s), env.operator_log());
  auto obs_ip = [&] {
    auto c = env.get_cluster("obs", "v1");
    return c ? (*c)["status"].value("observability", json::object()).value("privateIP", "") : std::string();
  };
  const std::string old_ip = obs_ip();
  REQUIRE(!old_ip.empty());
  std::string obs_node;
  for (const auto& t : view(env, "obs", "v1").tasks)
    if (t.value("status", "") == "EXECUTING" && t.value("name", "").rfind("observability", 0) == 0)
      obs_node = t.value("nodeId", "");
  REQUIRE(!obs_node.empty());
  env.sim_post("nodes/" + obs_node + "/lose");
  INFO(env.operator_log());
  // A new observability node; every live head/worker task carries its address, and the cluster is Ready.
  CHECK(env.eventually(
      [&] {
        const std::string ip = obs_ip();
        if (ip.empty() || ip == old_ip || !env.is_ready("obs", "v1")) return false;
        int pointed = 0;
        for (const auto& t : view(env, "obs", "v1").tasks) {
          const std::string name = t.value("name", "");
          if (t.value("status", "") != "EXECUTING" || name.rfind("observability", 0) == 0) continue;
          pointed += t.value("environment", json::object()).value("OBSERVABILITY_HOST", "") == ip ? 1 : -100;
        }
        return pointed == 3;  // head + 2 workers
      },
      120s));
  CHECK(!env.events("obs", "v1", "ObservabilityMoved").empty());
  delete_clean(env, "obs", "v1");
}

TEST_CASE(
    "operator scenario: a pool that cannot be shut down -> cleanup timeout names it, finalizer removed") {
  Env env;
  env.apply_prerequisites("stuck");
  env.start_operator({"--cleanup-timeout", "3s"});
  env.apply(small_cluster(env, "k1", "stuck", 1));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("stuck", "k1"); }, 90s), env.operator_log());
  std::string pool_id, cr_id, head_pool;
  for (const auto& p : view(env, "stuck", "k1").pools) {
    if (p.value("name", "").find("-w-cpu") != std::string::npos)
      pool_id = p.value("id", ""), cr_id = p.value("computeRequirementId", "");
    else
      head_pool = p.value("id", "");
  }
  REQUIRE(!pool_id.empty());
  REQUIRE(!cr_id.empty());
  env.sim_post("workerPools/" + pool_id + "/refuse-shutdown");

  auto del = env.kubectl({"delete", "rdc", "k1", "-n", "stuck", "--wait=false"});
  REQUIRE_MESSAGE(del.exit_code == 0, del.err);
  INFO(env.operator_log());
  REQUIRE(env.eventually([&] { return env.cluster_gone("stuck", "k1"); }, 60s));
  auto ev = env.events("stuck", "k1", "CleanupTimedOut");
  REQUIRE(!ev.empty());
  CHECK(ev[0].value("type", "") == "Warning");
  const std::string message = ev[0].value("message", "");
  INFO(message);
  CHECK(message.find(pool_id) != std::string::npos);
  CHECK(message.find(cr_id) != std::string::npos);
  CHECK(message.find(head_pool) == std::string::npos);  // shut down fine: not a leak
  // Everything else was cleaned up; the stuck pool is the one leak, as reported.
  auto v = view(env, "stuck", "k1");
  CHECK(v.live_work_requirements() == 0);
  CHECK(v.live_pools() == 1);
  CHECK(!env.events("stuck", "k1", "ActionFailed").empty());  // the refused shutdowns were events too
}

namespace {

int calls_of(const json& stats, const std::string& key) {
  return stats.value("calls", json::object()).value(key, 0);
}

// Kubernetes requests kube-emulator counted for `key` ("VERB resource[/subresource]").
int emulator_requests(Env& env, const std::string& key) {
  auto r = env.kubectl({"get", "--raw", "/_emulator/stats"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return json::parse(r.out).value("requests", json::object()).value(key, 0);
}

}  // namespace

TEST_CASE("operator scenario: a build reads each YellowDog object only when it can have changed") {
  Env env;
  env.apply_prerequisites("econ");
  // Poll mode: every call counted here is a reconcile's (the observer's searches are counted in
  // observer_e2e_test).
  env.start_operator({"--requeue-converging", "300ms", "--yellowdog-observe", "poll"});
  const int secret_reads_before = emulator_requests(env, "GET secrets");
  env.sim_post("reset-counters");
  env.apply(small_cluster(env, "e1", "econ", 2));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("econ", "e1"); }, 90s), env.operator_log());

  auto stats = env.sim_get("stats");
  INFO(stats.dump());
  // Creates: a pool per node kind, the WR, the head task, the workers' tasks (one add per pool).
  CHECK(calls_of(stats, "POST /workerPools/provisioned/template") == 2);
  CHECK(calls_of(stats, "POST /work/requirements") == 1);
  CHECK(calls_of(stats, "POST /work/taskGroups/{id}/tasks") == 2);
  // Our own provisions said what each CR's target is, and act reported every pool it created: no CR read
  // and no lookup by name.
  CHECK(calls_of(stats, "GET /compute/requirements/{id}") == 0);
  CHECK(calls_of(stats, "GET /workerPools/{namespace}/{name}") == 0);
  CHECK(calls_of(stats, "GET /workerPools/") == 0);
  // The head's addresses are looked up once, not on every observe.
  CHECK(calls_of(stats, "GET /workerPools/workers/{id}/node") == 1);
  CHECK(calls_of(stats, "GET /compute/instances") == 1);
  // One task search per observe (the whole WR), never one per group.
  CHECK(calls_of(stats, "GET /work/tasks") <=
        calls_of(stats, "GET /work/namespaces/{namespace}/requirements/{name}"));
  // The credentials Secret is read once, then cached (--credentials-cache-ttl, 5m).
  CHECK(emulator_requests(env, "GET secrets") - secret_reads_before == 1);

  // A spec change re-reads the CRs once (the head's and the pool's), and the resized one once more.
  env.sim_post("reset-counters");
  auto scaled = env.kubectl({"patch", "rdc", "e1", "-n", "econ", "--type=json", "-p",
                             R"([{"op":"replace","path":"/spec/workerPools/0/nodes","value":3}])"});
  REQUIRE_MESSAGE(scaled.exit_code == 0, scaled.err);
  REQUIRE_MESSAGE(env.eventually(
                      [&] {
                        auto c = env.get_cluster("econ", "e1");
                        return c && env.is_ready("econ", "e1") &&
                               c->value("status", json::object()).value("readyWorkers", 0) == 3;
                      },
                      90s),
                  env.operator_log());
  auto resized = env.sim_get("stats");
  INFO(resized.dump());
  CHECK(calls_of(resized, "PUT /workerPools/provisioned/{id}") == 1);
  CHECK(calls_of(resized, "GET /compute/requirements/{id}") >= 2);
  CHECK(calls_of(resized, "GET /compute/requirements/{id}") <= 3);
  CHECK(calls_of(resized, "GET /workerPools/workers/{id}/node") == 0);  // same head task, same node
}
