// The YellowDog observer (issue 23, controller/observer/) against kube-emulator, yellowdog-sim and the
// operator: steady clusters cost no YellowDog call of their own, and a lost node is noticed by the
// observer's searches, not by a poll (the steady poll here is 10 minutes away).
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

int calls_of(const json& stats, const std::string& key) {
  return stats.value("calls", json::object()).value(key, 0);
}

const char* const kTaskSearch = "GET /work/tasks";
const char* const kWrSearch = "GET /work/requirements";
const char* const kWrByName = "GET /work/namespaces/{namespace}/requirements/{name}";

std::string task_env(const json& task, const std::string& key) {
  return task.value("environment", json::object()).value(key, "");
}

// The EXECUTING worker tasks of ns/name (no RAY_HEAD_IP: the head).
std::vector<json> executing_workers(Env& env, const std::string& ns, const std::string& name) {
  std::vector<json> out;
  for (const auto& t : view(env, ns, name).tasks)
    if (t.value("status", "") == "EXECUTING" && !task_env(t, "RAY_HEAD_IP").empty()) out.push_back(t);
  return out;
}

}  // namespace

TEST_CASE("observer e2e: steady clusters cost only the observer's searches, and a lost node is noticed in seconds") {
  Env env;
  env.apply_prerequisites("obs");
  // The steady poll is 10 minutes away: whatever notices the loss below is the observer.
  env.start_operator({"--requeue-steady", "10m", "--yellowdog-observe-interval", "1s"});
  env.apply(small_cluster(env, "o1", "obs", 2));
  env.apply(small_cluster(env, "o2", "obs", 1));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("obs", "o1") && env.is_ready("obs", "o2"); }, 90s),
                  env.operator_log());
  CHECK(env.operator_log_full().find("observing YellowDog account") != std::string::npos);

  // Steady: a few seconds of nothing happening. Every YellowDog call is one of the observer's two searches
  // (one account, one YellowDog namespace: two calls per second), none is a cluster's own read.
  std::this_thread::sleep_for(2s);
  env.sim_post("reset-counters");
  std::this_thread::sleep_for(5s);
  auto stats = env.sim_get("stats");
  INFO(stats.dump());
  const int searches = calls_of(stats, kTaskSearch) + calls_of(stats, kWrSearch);
  CHECK(searches == stats.value("totalCalls", -1));
  CHECK(calls_of(stats, kTaskSearch) >= 2);
  CHECK(calls_of(stats, kTaskSearch) <= 7);  // paced at 1 s: never a storm
  CHECK(calls_of(stats, kWrByName) == 0);

  // A worker's node is lost: its task FAILS (ALLOCATION_LOST). The next scan finds the finished task and
  // wakes o1, which replaces the worker.
  auto workers = executing_workers(env, "obs", "o1");
  REQUIRE(workers.size() == 2);
  std::set<std::string> before;
  for (const auto& t : view(env, "obs", "o1").tasks) before.insert(t.value("id", ""));
  const std::string lost_node = workers[0].value("nodeId", "");
  REQUIRE_FALSE(lost_node.empty());
  const auto lost_at = std::chrono::steady_clock::now();
  env.sim_post("nodes/" + lost_node + "/lose");
  const bool replaced = env.eventually(
      [&] {
        for (const auto& t : view(env, "obs", "o1").tasks)
          if (!before.contains(t.value("id", "")) && !task_env(t, "RAY_HEAD_IP").empty()) return true;
        return false;
      },
      30s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - lost_at);
  INFO(env.operator_log());
  REQUIRE_MESSAGE(replaced, "no replacement worker task within 30 s of the node loss");
  MESSAGE("replacement worker task requested " << took.count() << " ms after the node loss");
  REQUIRE(env.eventually([&] { return env.is_ready("obs", "o1") && executing_workers(env, "obs", "o1").size() == 2; },
                         60s));
  // o2 was not touched: still its one worker, the same task.
  CHECK(executing_workers(env, "obs", "o2").size() == 1);

  // Deleted clusters are no longer followed: after both are gone, the observer stops searching.
  delete_clean(env, "obs", "o1");
  delete_clean(env, "obs", "o2");
  std::this_thread::sleep_for(3s);
  env.sim_post("reset-counters");
  std::this_thread::sleep_for(3s);
  CHECK(env.sim_get("stats").value("totalCalls", -1) == 0);
}

TEST_CASE("observer e2e: --yellowdog-observe poll reads each steady cluster's work requirement instead") {
  Env env;
  env.apply_prerequisites("poll");
  env.start_operator({"--requeue-steady", "1s", "--yellowdog-observe", "poll"});
  env.apply(small_cluster(env, "p1", "poll", 1));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("poll", "p1"); }, 90s), env.operator_log());
  std::this_thread::sleep_for(2s);
  env.sim_post("reset-counters");
  std::this_thread::sleep_for(4s);
  auto stats = env.sim_get("stats");
  INFO(stats.dump());
  CHECK(calls_of(stats, kWrByName) >= 2);
  CHECK(calls_of(stats, kTaskSearch) == 0);
  CHECK(calls_of(stats, kWrSearch) == 0);
  CHECK(env.operator_log_full().find("observing YellowDog account") == std::string::npos);
}

TEST_CASE("observer e2e: a cluster waiting for its tasks to start is woken by the start, not polled for it") {
  // Tasks take 6 s to start: a cluster polling at --requeue-converging (2 s) would read its work
  // requirement about three times per wait.
  Env env(sim_flags({"--task-start-delay", "6s"}));
  env.apply_prerequisites("wait");
  // The safety-net poll of a waiting cluster (the steady one) is 10 minutes away: only a wake-up helps.
  env.start_operator({"--requeue-steady", "10m", "--yellowdog-observe-interval", "1s"});
  env.apply(small_cluster(env, "w1", "wait", 1));
  const auto head_submitted = [&] {
    for (const auto& t : view(env, "wait", "w1").tasks)
      if (task_env(t, "RAY_HEAD_IP").empty()) return true;
    return false;
  };
  REQUIRE_MESSAGE(env.eventually(head_submitted, 30s), env.operator_log());
  // The reconcile after the one that submitted the head task comes at once (acting is converging); from then
  // on the cluster only waits for the start.
  std::this_thread::sleep_for(3s);
  env.sim_post("reset-counters");
  const auto head_started = [&] {
    for (const auto& t : view(env, "wait", "w1").tasks)
      if (task_env(t, "RAY_HEAD_IP").empty() && t.value("status", "") == "EXECUTING") return true;
    return false;
  };
  REQUIRE_MESSAGE(env.eventually(head_started, 30s), env.operator_log());
  auto stats = env.sim_get("stats");
  INFO(stats.dump());
  // The remaining wait (~3 s) without polling: polled at --requeue-converging (200 ms here) the cluster
  // would read its work requirement ~15 times. What it may read is for a change the observer saw (its work
  // requirement turns RUNNING when the head task is allocated); the rest are the observer's searches (tasks
  // that ended, tasks that started, work requirements).
  CHECK(calls_of(stats, kWrByName) <= 2);
  CHECK(calls_of(stats, kTaskSearch) >= 2);

  // The start wakes the cluster: its workers are added within a scan interval or two, then the same wait.
  const auto started_at = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(env.eventually([&] { return executing_workers(env, "wait", "w1").size() == 1; }, 60s),
                  env.operator_log());
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready("wait", "w1"); }, 30s), env.operator_log());
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_at);
  MESSAGE("head EXECUTING -> Ready in " << took.count() << " ms (a worker start of 6 s in between)");
  CHECK(took < 40s);  // 6 s start + scans; a missed wake-up would wait for the 10 minute safety net
  delete_clean(env, "wait", "w1");
}
