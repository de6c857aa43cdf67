// Heal scenarios through the simulator's /_sim/ controls, and the fault matrix: the n-th YellowDog call
// fails (HTTP 500, then "applied but response lost") and the operator is killed after the n-th call and
// restarted with no memory. Every run must converge to exactly what the spec asks: 0 duplicates, 0 leaks.
#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <set>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

bool is_ready(Env& env, const std::string& ns, const std::string& name) {
  auto c = env.get_cluster(ns, name);
  if (!c) return false;
  auto gen = (*c)["metadata"].value("generation", 0);
  for (const auto& cond : c->value("status", json::object()).value("conditions", json::array()))
    if (cond.value("type", "") == "Ready")
      return cond.value("status", "") == "True" && cond.value("observedGeneration", 0) == gen;
  return false;
}

SimView view(Env& env, const std::string& ns, const std::string& name) {
  return view_of(env.sim_get("objects"), "rdc-" + ns + "-" + name);
}

std::string task_env(const json& task, const std::string& key) {
  return task.value("environment", json::object()).value(key, "");
}

// Exactly the spec: one live WR, one live pool per node kind, one EXECUTING task per node, no duplicate
// pool names and no two live tasks with the same name in a group.
void check_exact(Env& env, const std::string& ns, const std::string& name, int workers) {
  auto v = view(env, ns, name);
  CHECK(v.live_work_requirements() == 1);
  CHECK(v.work_requirements.size() == 1);
  CHECK(v.live_pools() == 2);
  std::set<std::string> names;
  for (const auto& p : v.pools) CHECK(names.insert(p.value("name", "")).second);
  CHECK(v.tasks_in("EXECUTING") == 1 + workers);
  int waiting =
      v.tasks_in("READY") + v.tasks_in("PENDING") + v.tasks_in("ALLOCATED") + v.tasks_in("DOWNLOADING");
  CHECK(waiting == 0);
}

void delete_clean(Env& env, const std::string& ns, const std::string& name) {
  auto del = env.kubectl({"delete", "rdc", name, "-n", ns, "--wait=false"});
  REQUIRE_MESSAGE(del.exit_code == 0, del.err);
  REQUIRE_MESSAGE(env.eventually([&] { return !env.get_cluster(ns, name).has_value(); }, 60s),
                  env.operator_log());
  auto v = view(env, ns, name);
  CHECK(v.live_work_requirements() == 0);
  CHECK(v.live_pools() == 0);
  CHECK(v.tasks_in("EXECUTING") == 0);
}

}  // namespace

TEST_CASE("operator heal: worker task exit, head node lost, pool shut down externally") {
  Env env;
  env.apply_prerequisites("heal");
  env.start_operator();
  env.apply(small_cluster(env, "h1", "heal", 2));
  REQUIRE_MESSAGE(env.eventually([&] { return is_ready(env, "heal", "h1"); }, 90s), env.operator_log());
  check_exact(env, "heal", "h1", 2);

  // 1. A worker task exits: replaced.
  auto v = view(env, "heal", "h1");
  std::string worker_id;
  for (const auto& t : v.tasks)
    if (t.value("status", "") == "EXECUTING" && t.value("name", "").rfind("worker", 0) == 0)
      worker_id = t["id"];
  REQUIRE(!worker_id.empty());
  env.sim_post("tasks/" + worker_id + "/exit?code=1");
  INFO(env.operator_log());
  CHECK(env.eventually(
      [&] {
        auto v = view(env, "heal", "h1");
        return v.tasks_in("EXECUTING") == 3 && v.tasks.size() == 4;
      },
      60s));

  // 2. The head's node is lost: a new head, workers re-pointed at its IP.
  auto before = env.get_cluster("heal", "h1");
  REQUIRE(before);
  const std::string old_ip = (*before)["status"]["head"].value("privateIP", "");
  REQUIRE(!old_ip.empty());
  std::string head_node;
  for (const auto& t : view(env, "heal", "h1").tasks)
    if (t.value("status", "") == "EXECUTING" && t.value("name", "").rfind("head", 0) == 0)
      head_node = t.value("nodeId", "");
  REQUIRE(!head_node.empty());
  env.sim_post("nodes/" + head_node + "/lose");
  CHECK(env.eventually(
      [&] {
        auto c = env.get_cluster("heal", "h1");
        if (!c) return false;
        auto ip = (*c)["status"].value("head", json::object()).value("privateIP", "");
        if (ip.empty() || ip == old_ip) return false;
        auto v = view(env, "heal", "h1");
        int pointed = 0;
        for (const auto& t : v.tasks)
          if (t.value("status", "") == "EXECUTING" && t.value("name", "").rfind("worker", 0) == 0)
            pointed += task_env(t, "RAY_HEAD_IP") == ip ? 1 : -100;
        return pointed == 2 && v.tasks_in("EXECUTING") == 3;
      },
      90s));

  // 3. The worker pool is shut down from outside: provisioned again, workers back.
  std::string pool_id;
  for (const auto& p : view(env, "heal", "h1").pools)
    if (p.value("name", "").find("-w-cpu") != std::string::npos && p.value("status", "") != "SHUTDOWN" &&
        p.value("status", "") != "TERMINATED")
      pool_id = p["id"];
  REQUIRE(!pool_id.empty());
  auto r = run_command({"curl", "-sS", "-f", "-X", "DELETE", env.sim_url() + "/workerPools/" + pool_id});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(env.eventually(
      [&] {
        auto v = view(env, "heal", "h1");
        return v.live_pools() == 2 && v.tasks_in("EXECUTING") == 3;
      },
      90s));
  CHECK(env.eventually([&] { return is_ready(env, "heal", "h1"); }, 60s));
  delete_clean(env, "heal", "h1");
}

namespace {

// How far n goes: RAYDOG_FAULT_MAX_N (default 24): enough to cover every create of a fresh cluster.
int max_n() {
  if (const char* v = std::getenv("RAYDOG_FAULT_MAX_N")) return std::atoi(v);
  return 24;
}

void fault_run(const std::string& mode) {
  Env env;
  env.apply_prerequisites("fm");
  for (int n = 1; n <= max_n(); ++n) {
    CAPTURE(n);
    const std::string name = "f" + std::to_string(n);
    env.start_operator({"--yd-fault", mode, "--yd-fault-nth", std::to_string(n)});
    env.apply(small_cluster(env, name, "fm", 1));
    bool ready = env.eventually(
        [&] { return is_ready(env, "fm", name) || (mode == "exit" && !env.operator_running()); }, 60s);
    ready = is_ready(env, "fm", name);
    if (mode == "exit") {
      // Killed after the n-th call (or about to be, later): restart with no memory and no fault.
      env.kill_operator();
      env.start_operator();
      if (!ready) ready = env.eventually([&] { return is_ready(env, "fm", name); }, 60s);
    }
    REQUIRE_MESSAGE(ready, env.operator_log());
    check_exact(env, "fm", name, 1);
    delete_clean(env, "fm", name);
    env.stop_operator();
  }
}

}  // namespace

TEST_CASE("operator fault matrix: the n-th YellowDog call fails with HTTP 500") {
  fault_run("5xx");
}
TEST_CASE("operator fault matrix: the n-th YellowDog call is applied but its response lost") {
  fault_run("lost");
}
TEST_CASE("operator fault matrix: the operator crashes after the n-th YellowDog call") {
  fault_run("exit");
}
