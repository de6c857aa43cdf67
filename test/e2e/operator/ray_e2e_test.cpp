// The Ray view end to end (issue 19 "Done when"): the operator against yellowdog-sim --ray, whose heads
// serve a fake GCS over real gRPC. Ray states are set through /_sim/ray/ controls; what the operator does
// is checked in the GCS calls the simulator recorded, in YellowDog's objects and call counters, and in the
// cluster's status and Events. Every test ends with no protocol violation seen by the fake GCS.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

constexpr const char* kNs = "ray";

std::string env_of(const json& task, const std::string& key) {
  return task.value("environment", json::object()).value(key, "");
}

std::vector<json> tasks_named(Env& env, const std::string& name, const std::string& prefix,
                              const std::string& status = "EXECUTING") {
  std::vector<json> out;
  for (const auto& t : view(env, kNs, name).tasks)
    if (t.value("name", "").rfind(prefix, 0) == 0 && (status.empty() || t.value("status", "") == status))
      out.push_back(t);
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["name"] < b["name"]; });
  return out;
}

std::vector<json> workers(Env& env, const std::string& name) {
  return tasks_named(env, name, "worker-");
}

json head_task(Env& env, const std::string& name) {
  auto heads = tasks_named(env, name, "head-");
  REQUIRE(heads.size() == 1);
  return heads[0];
}

std::optional<json> ray_ready(Env& env, const std::string& name) {
  auto c = env.get_cluster(kNs, name);
  return c ? condition_of(*c, "RayReady") : std::nullopt;
}

// The DrainNode calls the fake GCS received.
std::vector<json> drains(Env& env) {
  std::vector<json> out;
  for (const auto& c : env.sim_get("ray/calls"))
    if (c.value("method", "") == "DrainNode") out.push_back(c);
  return out;
}

std::string state_of(Env& env, const std::string& task_id) {
  for (const auto& n : env.sim_get("ray/nodes"))
    if (n.value("task", "") == task_id) return n.value("state", "");
  return "ABSENT";
}

int calls_to(Env& env, const std::string& endpoint) {
  return env.sim_get("stats")["calls"].value(endpoint, 0);
}

void no_violations(Env& env) {
  const json v = env.sim_get("ray/violations");
  CHECK_MESSAGE(v.empty(), v.dump());
}

void start(Env& env, const std::string& name, int nodes, const std::string& extra_spec = "",
           std::vector<std::string> operator_flags = {}) {
  env.apply_prerequisites(kNs);
  env.start_operator(std::move(operator_flags));
  env.apply(small_cluster(env, name, kNs, nodes, extra_spec));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready(kNs, name); }, 90s), env.operator_log());
  REQUIRE(workers(env, name).size() == static_cast<std::size_t>(nodes));
}

// Task `task_id` is gone from the cluster's EXECUTING workers, `count` others run, and the cluster is Ready.
bool replaced(Env& env, const std::string& name, const std::string& task_id, std::size_t count) {
  const auto now = workers(env, name);
  const bool gone = std::none_of(now.begin(), now.end(), [&](const json& t) { return t["id"] == task_id; });
  return gone && now.size() == count && env.is_ready(kNs, name);
}

void set_node(Env& env, const std::string& task_id, const json& body) {
  env.sim_post("ray/nodes/" + task_id, body);
}

}  // namespace

TEST_CASE("ray e2e: a worker whose Ray node never joins holds Ready back by name and is replaced, a DEAD node too") {
  Env env;
  // A steady cluster's head is read once per steady poll: 3 s here, so the change is seen at once.
  start(env, "join", 2, "  rayJoinTimeout: 25s\n", {"--requeue-steady", "3s"});
  auto ws = workers(env, "join");
  const std::string absent = ws[0]["id"], absent_name = ws[0]["name"];
  auto cluster = env.get_cluster(kNs, "join");
  REQUIRE(cluster);
  CHECK((*cluster)["status"]["ray"]["reachable"] == true);
  CHECK((*cluster)["status"]["ray"]["version"] == "2.49.2");

  set_node(env, absent, {{"state", "ABSENT"}});
  INFO(env.operator_log());
  REQUIRE(env.eventually(
      [&] {
        auto c = ray_ready(env, "join");
        return c && (*c)["status"] == "False" && (*c)["reason"] == "WorkersNotJoined" &&
               (*c)["message"].get<std::string>().find(absent_name) != std::string::npos;
      },
      15s));
  CHECK_FALSE(env.is_ready(kNs, "join"));
  auto ready = condition_of(*env.get_cluster(kNs, "join"), "Ready");
  CHECK((*ready)["message"].get<std::string>().rfind("RayReady: ", 0) == 0);

  // After rayJoinTimeout (from the task's start) the task is replaced and the cluster is Ready again.
  CHECK(env.eventually([&] { return replaced(env, "join", absent, 2); }, 60s));
  CHECK(!env.events(kNs, "join", "RayJoinTimeout").empty());

  // A Ray node DEAD under a running task: replaced too.
  ws = workers(env, "join");
  const std::string dead = ws[1]["id"];
  set_node(env, dead, {{"state", "DEAD"}});
  CHECK(env.eventually([&] { return replaced(env, "join", dead, 2); }, 30s));
  CHECK(!env.events(kNs, "join", "RayNodeLost").empty());
  no_violations(env);
}

TEST_CASE("ray e2e: a head whose GCS stops answering is replaced after headUnresponsiveTimeout, every worker re-pointed") {
  Env env;
  // A steady cluster's head is read once per steady poll: 3 s here, so the quiet head is seen at once.
  start(env, "hd", 2, "  headUnresponsiveTimeout: 4s\n", {"--requeue-steady", "3s"});
  const json old_head = head_task(env, "hd");
  const std::string old_ip = env_of(workers(env, "hd")[0], "RAY_HEAD_IP");
  env.sim_post("ray/heads/" + old_head["id"].get<std::string>(), json{{"gcs", "down"}});
  INFO(env.operator_log());
  REQUIRE(env.eventually(
      [&] {
        auto c = ray_ready(env, "hd");
        return c && (*c)["reason"] == "HeadUnreachable";
      },
      15s));
  CHECK(env.eventually(
      [&] {
        auto heads = tasks_named(env, "hd", "head-");
        if (heads.size() != 1 || heads[0]["id"] == old_head["id"]) return false;
        auto ws = workers(env, "hd");
        if (ws.size() != 2) return false;
        for (const auto& w : ws)
          if (env_of(w, "RAY_HEAD_IP") == old_ip) return false;
        return env.is_ready(kNs, "hd");
      },
      60s));
  CHECK(!env.events(kNs, "hd", "HeadUnresponsive").empty());
  no_violations(env);
}

TEST_CASE("ray e2e: a head never reached is reported and never replaced") {
  Env env(sim_flags({"--no-public-ips"}));
  env.apply_prerequisites(kNs);
  env.start_operator();
  // headAccess Public on a platform that gives no public IPs: the operator can never reach this head.
  env.apply(small_cluster(env, "never", kNs, 1, "  headAccess: Public\n  headUnresponsiveTimeout: 2s\n"));
  INFO(env.operator_log());
  REQUIRE(env.eventually(
      [&] {
        auto c = ray_ready(env, "never");
        return c && (*c)["reason"] == "HeadUnreachable" &&
               (*c)["message"].get<std::string>().find("never answered") != std::string::npos;
      },
      60s));
  const json head = head_task(env, "never");
  std::this_thread::sleep_for(8s);  // four timeouts
  CHECK(head_task(env, "never")["id"] == head["id"]);
  CHECK(env.events(kNs, "never", "HeadUnresponsive").empty());
  CHECK_FALSE(env.is_ready(kNs, "never"));
  no_violations(env);
}

TEST_CASE("ray e2e: scaling 4 to 2 drains exactly the two idle nodes and releases exactly their VMs, a refused drain keeps its node") {
  Env env;
  start(env, "sd", 4);
  auto ws = workers(env, "sd");
  // Busy: workers 1 and 2; idle: 3 (5 s) and 4 (50 s).
  set_node(env, ws[0]["id"], {{"state", "RUNNING"}});
  set_node(env, ws[1]["id"], {{"state", "RUNNING"}});
  set_node(env, ws[2]["id"], {{"state", "IDLE"}, {"idleMs", 5000}});
  set_node(env, ws[3]["id"], {{"state", "IDLE"}, {"idleMs", 50000}});
  const std::set<std::string> idle{ws[2]["id"], ws[3]["id"]}, busy{ws[0]["id"], ws[1]["id"]};
  const std::set<std::string> idle_nodes{ws[2]["nodeId"], ws[3]["nodeId"]};
  env.sim_post("reset-counters");

  auto patch = env.kubectl({"patch", "rdc", "sd", "-n", kNs, "--type", "json", "-p",
                            R"([{"op":"replace","path":"/spec/workerPools/0/nodes","value":2}])"});
  REQUIRE_MESSAGE(patch.exit_code == 0, patch.err);
  INFO(env.operator_log());
  REQUIRE(env.eventually(
      [&] {
        auto now = workers(env, "sd");
        std::set<std::string> ids;
        for (const auto& t : now) ids.insert(t["id"]);
        return ids == busy && env.is_ready(kNs, "sd");
      },
      60s));
  std::set<std::string> drained;
  for (const auto& d : drains(env)) {
    CHECK(d["reason"] == "IDLE_TERMINATION");
    CHECK(d["accepted"] == true);
    drained.insert(d.value("nodeTask", ""));
  }
  CHECK(drained == idle);
  for (const auto& id : busy) CHECK(state_of(env, id) == "RUNNING");  // no busy node died
  // Exactly their VMs: two node shutdowns, and the nodes that went are the idle tasks' nodes.
  CHECK(calls_to(env, "DELETE /workerPools/nodes/{id}") == 2);
  std::set<std::string> gone;
  const json objects = env.sim_get("objects");
  for (const auto& n : objects["nodes"])
    if (n.value("status", "") != "RUNNING") gone.insert(n.value("id", ""));
  for (const auto& n : idle_nodes) CHECK(gone.count(n) == 1);
  for (const auto& t : workers(env, "sd")) CHECK(gone.count(t.value("nodeId", "")) == 0);

  // 2 -> 1 with both idle and Ray refusing the victim's drain: the node stays, the drain is asked again.
  ws = workers(env, "sd");
  for (const auto& w : ws) {
    set_node(env, w["id"], {{"state", "IDLE"}, {"idleMs", 1000}});
    env.sim_post("ray/nodes/" + w["id"].get<std::string>() + "/reject-drain", json{{"reject", true}});
  }
  patch = env.kubectl({"patch", "rdc", "sd", "-n", kNs, "--type", "json", "-p",
                       R"([{"op":"replace","path":"/spec/workerPools/0/nodes","value":1}])"});
  REQUIRE_MESSAGE(patch.exit_code == 0, patch.err);
  REQUIRE(env.eventually(
      [&] {
        int refused = 0;
        for (const auto& d : drains(env)) refused += d["accepted"] == false ? 1 : 0;
        return refused >= 2;
      },
      30s));
  CHECK(workers(env, "sd").size() == 2);
  CHECK(!env.events(kNs, "sd", "DrainRejected").empty());
  for (const auto& w : ws) env.sim_post("ray/nodes/" + w["id"].get<std::string>() + "/reject-drain", json{{"reject", false}});
  CHECK(env.eventually([&] { return workers(env, "sd").size() == 1 && env.is_ready(kNs, "sd"); }, 30s));
  no_violations(env);
}

TEST_CASE("ray e2e: kill -9 of the operator between drain and cancel still ends with exactly the asked nodes") {
  // Drains last 6 s, so the operator dies while the victim is DRAINING.
  Env env(sim_flags({"--ray-drain-delay", "6s"}));
  start(env, "crash", 3);
  for (const auto& w : workers(env, "crash")) set_node(env, w["id"], {{"state", "IDLE"}, {"idleMs", 1000}});
  auto patch = env.kubectl({"patch", "rdc", "crash", "-n", kNs, "--type", "json", "-p",
                            R"([{"op":"replace","path":"/spec/workerPools/0/nodes","value":2}])"});
  REQUIRE_MESSAGE(patch.exit_code == 0, patch.err);
  INFO(env.operator_log());
  REQUIRE(env.eventually([&] { return !drains(env).empty(); }, 30s));
  env.kill_operator();
  const std::string victim = drains(env)[0]["nodeTask"];
  CHECK(state_of(env, victim) == "DRAINING");
  CHECK(workers(env, "crash").size() == 3);  // not cancelled yet
  env.start_operator();
  CHECK(env.eventually([&] { return replaced(env, "crash", victim, 2); }, 60s));
  // One drain for one victim: the restarted operator waited for the DRAINING node instead of asking again.
  std::set<std::string> drained;
  for (const auto& d : drains(env))
    if (d["accepted"] == true) drained.insert(d.value("nodeTask", ""));
  CHECK(drained == std::set<std::string>{victim});
  auto v = view(env, kNs, "crash");
  CHECK(v.live_work_requirements() == 1);
  CHECK(v.tasks_in("EXECUTING") == 3);  // head + the 2 asked workers
  no_violations(env);
}

TEST_CASE("ray e2e: a head running another Ray than spec.rayVersion gets one RayVersionMismatch warning") {
  Env env;
  start(env, "ver", 1, "  rayVersion: 2.48.0\n");
  INFO(env.operator_log());
  REQUIRE(env.eventually([&] { return !env.events(kNs, "ver", "RayVersionMismatch").empty(); }, 20s));
  std::this_thread::sleep_for(5s);  // a few more polls (--requeue-steady 2s)
  const auto ev = env.events(kNs, "ver", "RayVersionMismatch");
  CHECK(ev[0]["message"].get<std::string>().find("the head runs Ray 2.49.2 but spec.rayVersion is 2.48.0") == 0);
  CHECK(ev[0].value("count", 1) == 1);  // once per GCS session, not per poll
  CHECK(env.events(kNs, "ver", "RayVersionMismatch").size() == 1);
  no_violations(env);
}

TEST_CASE("ray e2e: a steady reconcile finds its head read made just before it was due (prefetch)") {
  Env env;
  // Steady requeues of 6 s (a prefetch needs one of at least 5 s; the harness's default is 2 s).
  start(env, "pre", 1, "", {"--requeue-steady", "6s"});
  const std::string used = "raydog_ray_prefetched_reads_total{result=\"used\"}";
  const std::string dropped = "raydog_ray_prefetched_reads_total{result=\"dropped\"}";
  INFO(env.operator_log());
  // Two steady reconciles (~6.6 s apart with jitter) each take the read made 500 ms before them.
  REQUIRE(env.eventually([&] { return env.operator_metric(used).value_or(0) >= 2; }, 40s));
  CHECK(env.operator_metric(dropped).value_or(0) <= 1);  // at most the read of a reconcile a status change brought early
  auto ready = ray_ready(env, "pre");
  REQUIRE(ready);
  CHECK((*ready)["status"] == "True");
  no_violations(env);
}
