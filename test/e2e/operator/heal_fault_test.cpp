// Heal scenarios through the simulator's /_sim/ controls, and the fault matrix: the n-th YellowDog call
// fails (HTTP 500, then "applied but response lost") and the operator is killed after the n-th call and
// restarted with no memory. Every run must converge to exactly what the spec asks: 0 duplicates, 0 leaks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>
#include <thread>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

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

}  // namespace

TEST_CASE("operator heal: worker task exit, head node lost, pool shut down externally") {
  Env env;
  env.apply_prerequisites("heal");
  env.start_operator();
  env.apply(small_cluster(env, "h1", "heal", 2));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("heal", "h1"); }, 90s), env.operator_log());
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
  CHECK(env.eventually([&] { return env.is_ready("heal", "h1"); }, 60s));
  delete_clean(env, "heal", "h1");
}

namespace {

// How far n goes: RAYDOG_FAULT_MAX_N, default kDefaultMaxN = the calls a fault-free build+delete of the
// matrix's cluster takes (measured 48-53 on a 2-core machine at load ~10, see the "calls of a fault-free
// build+delete" case) plus a margin for polls, whose number depends on timing (~70 at load 20).
constexpr int kDefaultMaxN = 60;
int max_n() {
  if (const char* v = std::getenv("RAYDOG_FAULT_MAX_N")) return std::atoi(v);
  return kDefaultMaxN;
}
constexpr int kShards = 3;     // per fault mode: ctest -j spreads the shards over the cores
constexpr int kParallel = 10;  // runs at once in one shard (each its own namespace and operator process)

// Zero simulator delays and short requeues: the matrix measures correctness, not timing.
SimOptions fast_sim() {
  return sim_flags({"--boot-delay", "0", "--register-delay", "0", "--task-start-delay", "0"});
}

// One run of the matrix: its own namespace, cluster and operator process (`--namespace`, so runs do not
// see each other's clusters) with the fault armed at call n. The fault counts every YellowDog call of the
// process, so an n beyond the build hits a poll or the delete. Whenever the process ended ("exit", a
// crash after call n), it is restarted with no memory and no fault and the run goes on.
struct Run {
  int n = 0;
  std::string mode, ns, name;
  std::unique_ptr<ChildProcess> op;
  int restarts = 0;
  enum class Phase { kBuilding, kDeleting, kDone } phase = Phase::kBuilding;
};

void start(Env& env, Run& r, bool armed) {
  // Poll mode: the observer's paced searches would interleave with the reconciles' calls, and the n-th
  // call would no longer name the same step from run to run (the observer has its own e2e test).
  std::vector<std::string> extra = {"--namespace", r.ns, "--yellowdog-observe", "poll"};
  if (armed) extra.insert(extra.end(), {"--yd-fault", r.mode, "--yd-fault-nth", std::to_string(r.n)});
  r.op = env.spawn_operator(extra, r.ns + "-" + std::to_string(r.restarts) + ".log");
}

std::string log_of(Env& env, const Run& r) {
  std::string out;
  for (int i = 0; i <= r.restarts; ++i) {
    auto text = read_file(env.dir.file(r.ns + "-" + std::to_string(i) + ".log"));
    if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
    out += "--- operator run " + std::to_string(i) + " of " + r.ns + "\n" + text;
  }
  return out;
}

// Runs every n of `ns` at once and checks each: Ready with exactly the spec's objects, then deleted with
// nothing left running, never a second WR and no duplicate pool name.
void fault_batch(Env& env, const std::string& mode, const std::vector<int>& ns) {
  std::vector<Run> runs;
  for (int n : ns) {
    Run r;
    r.n = n;
    r.mode = mode;
    r.ns = "fm-" + mode + "-" + std::to_string(n);
    r.name = "f" + std::to_string(n);
    runs.push_back(std::move(r));
  }
  // One kubectl call for every namespace, Secret, ConfigMap and cluster of the batch (kubectl processes
  // are most of the CPU a run costs); each operator finds its cluster in its first list.
  std::string yaml;
  for (auto& r : runs)
    yaml += Env::prerequisites_yaml(r.ns) + "---\n" + small_cluster(env, r.name, r.ns, 1) + "---\n";
  env.apply(yaml);
  for (auto& r : runs) start(env, r, true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120 + 10 * runs.size());
  for (;;) {
    bool all_done = true;
    for (auto& r : runs) {
      if (r.phase == Run::Phase::kDone) continue;
      all_done = false;
      if (!r.op->running()) {
        // Only the "exit" mode may end the process; anything else is a crash of the operator.
        CHECK_MESSAGE(mode == "exit", "operator died in mode " << mode << " n=" << r.n << "\n"
                                                               << log_of(env, r));
        r.op->kill9();  // reap
        ++r.restarts;
        start(env, r, false);
      }
      if (r.phase == Run::Phase::kBuilding && env.is_ready(r.ns, r.name)) {
        CAPTURE(r.n);
        check_exact(env, r.ns, r.name, 1);
        auto del = env.kubectl({"delete", "rdc", r.name, "-n", r.ns, "--wait=false"});
        REQUIRE_MESSAGE(del.exit_code == 0, del.err);
        r.phase = Run::Phase::kDeleting;
      } else if (r.phase == Run::Phase::kDeleting && env.cluster_gone(r.ns, r.name)) {
        CAPTURE(r.n);
        INFO(log_of(env, r));
        auto v = view_of(env.sim_get("objects"), "rdc-" + r.ns + "-" + r.name);
        CHECK(v.live_work_requirements() == 0);
        CHECK(v.live_pools() == 0);
        CHECK(v.tasks_in("EXECUTING") == 0);
        CHECK(v.work_requirements.size() == 1);  // never a second WR
        std::set<std::string> names;
        for (const auto& p : v.pools) CHECK(names.insert(p.value("name", "")).second);
        r.op->terminate();
        r.phase = Run::Phase::kDone;
      }
    }
    if (all_done) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (auto& r : runs)
        if (r.phase != Run::Phase::kDone)
          FAIL_CHECK("n=" << r.n << " did not finish (phase " << static_cast<int>(r.phase) << ")\n"
                          << log_of(env, r));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// Shard `shard` (1-based) of kShards: a contiguous range of n in [1, max_n()], kParallel at a time.
void fault_run(const std::string& mode, int shard) {
  const int per = (max_n() + kShards - 1) / kShards;
  const int from = 1 + (shard - 1) * per, to = std::min(max_n(), shard * per);
  Env env(fast_sim());
  for (int n = from; n <= to; n += kParallel) {
    std::vector<int> ns;
    for (int k = n; k <= std::min(to, n + kParallel - 1); ++k) ns.push_back(k);
    fault_batch(env, mode, ns);
  }
}

}  // namespace

TEST_CASE("operator fault matrix: calls of a fault-free build+delete fit in RAYDOG_FAULT_MAX_N") {
  Env env(fast_sim());
  env.sim_post("reset-counters");
  fault_batch(env, "none", {0});
  auto stats = env.sim_get("stats");
  const int calls = stats.value("totalCalls", -1);
  MESSAGE("a build+delete of the matrix's cluster took "
          << calls << " YellowDog calls (matrix covers n <= " << max_n() << "): " << stats["calls"].dump());
  CHECK(calls > 0);
  // Every create, delete and transition falls well inside the matrix; the total also counts polls, whose
  // number grows when the machine is slow (48-53 idle-ish, up to ~70 at load average 20): reported, not
  // failed on.
  int mutating = 0;
  for (auto it = stats["calls"].begin(); it != stats["calls"].end(); ++it)
    if (it.key().rfind("GET ", 0) != 0) mutating += it.value().get<int>();
  CHECK(mutating < max_n() / 2);
  WARN_LE(calls, max_n());
}

TEST_CASE("operator fault matrix: the n-th YellowDog call fails with HTTP 500, shard 1 of 3") {
  fault_run("5xx", 1);
}
TEST_CASE("operator fault matrix: the n-th YellowDog call fails with HTTP 500, shard 2 of 3") {
  fault_run("5xx", 2);
}
TEST_CASE("operator fault matrix: the n-th YellowDog call fails with HTTP 500, shard 3 of 3") {
  fault_run("5xx", 3);
}
TEST_CASE("operator fault matrix: the n-th YellowDog call is applied but its response lost, shard 1 of 3") {
  fault_run("lost", 1);
}
TEST_CASE("operator fault matrix: the n-th YellowDog call is applied but its response lost, shard 2 of 3") {
  fault_run("lost", 2);
}
TEST_CASE("operator fault matrix: the n-th YellowDog call is applied but its response lost, shard 3 of 3") {
  fault_run("lost", 3);
}
TEST_CASE("operator fault matrix: the operator crashes after the n-th YellowDog call, shard 1 of 3") {
  fault_run("exit", 1);
}
TEST_CASE("operator fault matrix: the operator crashes after the n-th YellowDog call, shard 2 of 3") {
  fault_run("exit", 2);
}
TEST_CASE("operator fault matrix: the operator crashes after the n-th YellowDog call, shard 3 of 3") {
  fault_run("exit", 3);
}
