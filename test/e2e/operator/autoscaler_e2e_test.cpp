// Autoscaling end to end (issue 20): the operator against yellowdog-sim --ray, whose fake heads report the
// demand set through /_sim/ray/heads/{id}/demand and place it on their nodes' free resources (the nodes'
// resources are the pools' rayResources), so demand a new node covers disappears as in Ray. What the
// operator does is checked in YellowDog's tasks, the GCS calls the simulator recorded, the status and the
// Events. Every test ends with no protocol violation seen by the fake GCS.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

constexpr const char* kNs = "autoscale";

// Every worker task of the cluster ever created (any status), or those in `status`.
std::vector<json> worker_tasks(Env& env, const std::string& name, const std::string& pool = "cpu",
                               const std::string& status = "") {
  std::vector<json> out;
  for (const auto& t : view(env, kNs, name).tasks) {
    const std::string n = t.value("name", "");
    if (n.rfind("worker-", 0) != 0 || t.value("environment", json::object()).value("RAY_NODE_TYPE_NAME", "") != pool)
      continue;
    if (status.empty() || t.value("status", "") == status) out.push_back(t);
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["name"] < b["name"]; });
  return out;
}

std::size_t running(Env& env, const std::string& name, const std::string& pool = "cpu") {
  return worker_tasks(env, name, pool, "EXECUTING").size();
}

std::string head_id(Env& env, const std::string& name) {
  for (const auto& t : view(env, kNs, name).tasks)
    if (t.value("name", "").rfind("head-", 0) == 0 && t.value("status", "") == "EXECUTING") return t["id"];
  FAIL("no head task runs");
  return "";
}

void demand(Env& env, const std::string& name, const json& body) {
  env.sim_post("ray/heads/" + head_id(env, name) + "/demand", body);
}

std::vector<json> drains(Env& env) {
  std::vector<json> out;
  for (const auto& c : env.sim_get("ray/calls"))
    if (c.value("method", "") == "DrainNode") out.push_back(c);
  return out;
}

int pending_requests(Env& env) {
  int n = 0;
  for (const auto& h : env.sim_get("ray/heads")) n += h.value("pendingRequests", 0);
  return n;
}

std::optional<json> autoscaling_ready(Env& env, const std::string& name) {
  auto c = env.get_cluster(kNs, name);
  return c ? condition_of(*c, "AutoscalingReady") : std::nullopt;
}

json pool_status(Env& env, const std::string& name, const std::string& pool = "cpu") {
  auto c = env.get_cluster(kNs, name);
  if (!c) return json::object();
  for (const auto& p : (*c)["status"].value("workerPools", json::array()))
    if (p.value("name", "") == pool) return p;
  return json::object();
}

// One sample of the operator's /metrics, or -1 when absent.
double metric(Env& env, const std::string& sample) {
  return env.operator_metric(sample).value_or(-1);
}

void no_violations(Env& env) {
  const json v = env.sim_get("ray/violations");
  CHECK_MESSAGE(v.empty(), v.dump());
}

// A cluster with one autoscaled pool "cpu" of {CPU: 8} nodes, polled every second.
std::string autoscaled(const std::string& pool_extra, const std::string& autoscaling_extra = "    idleTimeout: 6s\n") {
  return "    rayResources:\n      CPU: \"8\"\n" + pool_extra + "  autoscaling:\n    enabled: true\n    pollInterval: 1s\n" +
         autoscaling_extra;
}

// For failure messages: the cluster's tasks, status and Events.
std::string snapshot(Env& env, const std::string& name) {
  std::string out = "tasks:";
  for (const auto& t : view(env, kNs, name).tasks) out += " " + t.value("name", "?") + "=" + t.value("status", "?");
  auto c = env.get_cluster(kNs, name);
  out += "\nstatus: " + (c ? (*c)["status"].dump() : std::string("(none)")) + "\nevents:";
  for (const auto& e : env.events(kNs, name)) out += "\n  " + e.value("reason", "") + ": " + e.value("message", "");
  return out + "\n" + env.operator_log();
}

// Ready; `nodes` workers run unless `exact` is false (short idle timeouts may drain some already).
void start(Env& env, const std::string& name, int nodes, const std::string& extra_spec, bool exact = true) {
  env.apply_prerequisites(kNs);
  if (!env.operator_running()) env.start_operator();
  env.apply(small_cluster(env, name, kNs, nodes, extra_spec));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready(kNs, name); }, 90s), snapshot(env, name));
  if (exact)
    REQUIRE_MESSAGE(env.eventually([&] { return running(env, name) == static_cast<std::size_t>(nodes); }, 30s),
                    snapshot(env, name));
}

// `count` workers run, for at least `hold` (polled), and no other worker task was ever created.
bool settles_at(Env& env, const std::string& name, std::size_t count, std::chrono::milliseconds hold = 4s) {
  if (!env.eventually([&] { return running(env, name) == count; }, 60s)) return false;
  const auto until = std::chrono::steady_clock::now() + hold;
  while (std::chrono::steady_clock::now() < until) {
    if (running(env, name) != count) return false;
    std::this_thread::sleep_for(250ms);
  }
  return true;
}

}  // namespace

TEST_CASE("autoscaler e2e: 3 x {CPU: 4} on {CPU: 8} nodes launches exactly 2, then idle nodes are drained down to minNodes") {
  Env env;
  start(env, "up", 0, autoscaled("    minNodes: 0\n    maxNodes: 10\n"));
  INFO(env.operator_log());
  demand(env, "up", {{"pending", {{{"shape", {{"CPU", 4}}}, {"count", 3}}}}});
  REQUIRE(env.eventually([&] { return running(env, "up") == 2; }, 30s));
  // No more while they join and after the demand is placed on them (the simulated Ray places it).
  REQUIRE(env.eventually([&] { return pending_requests(env) == 0; }, 30s));
  CHECK(settles_at(env, "up", 2));
  CHECK(worker_tasks(env, "up").size() == 2);
  CHECK(pool_status(env, "up").value("desiredNodes", -1) == 2);
  const auto up = env.events(kNs, "up", "ScaledUp");
  REQUIRE(!up.empty());
  CHECK(up[0]["message"].get<std::string>().find("pool cpu: +2 nodes") != std::string::npos);
  auto ready = autoscaling_ready(env, "up");
  REQUIRE(ready);
  CHECK((*ready)["status"] == "True");

  // The work is done: both nodes go idle, and after idleTimeout (6 s) each is drained once.
  demand(env, "up", json::object());
  REQUIRE(env.eventually([&] { return running(env, "up") == 0; }, 60s));
  const auto d = drains(env);
  REQUIRE(d.size() == 2);
  std::set<std::string> victims;
  for (const auto& call : d) {
    CHECK(call["reason"] == "IDLE_TERMINATION");
    CHECK(call["accepted"] == true);
    victims.insert(call["nodeTask"].get<std::string>());
  }
  CHECK(victims.size() == 2);
  CHECK(worker_tasks(env, "up").size() == 2);  // nothing new was launched
  CHECK(!env.events(kNs, "up", "ScaledDown").empty());
  CHECK(env.eventually([&] { return pool_status(env, "up").value("desiredNodes", -1) == 0; }, 10s));
  CHECK(metric(env, R"(raydog_autoscaler_decisions_total{direction="up",pool="cpu"})") == 2);
  CHECK(metric(env, R"(raydog_autoscaler_decisions_total{direction="down",pool="cpu"})") == 2);
  CHECK(metric(env, "raydog_autoscaler_join_seconds_count") == 2);
  CHECK(metric(env, "raydog_autoscaler_pending_requests") == 0);
  no_violations(env);
}

TEST_CASE("autoscaler e2e: maxNodes caps the launch and demand no pool holds is reported, never launched for") {
  Env env;
  start(env, "cap", 0, autoscaled("    maxNodes: 1\n"));
  INFO(env.operator_log());
  demand(env, "cap", {{"pending", {{{"shape", {{"CPU", 4}}}, {"count", 3}}}}});
  REQUIRE(env.eventually([&] { return running(env, "cap") == 1; }, 30s));
  CHECK(settles_at(env, "cap", 1));
  CHECK(worker_tasks(env, "cap").size() == 1);
  REQUIRE(env.eventually(
      [&] {
        auto c = autoscaling_ready(env, "cap");
        return c && (*c)["status"] == "False" && (*c)["reason"] == "InfeasibleDemand" &&
               (*c)["message"].get<std::string>().find("maxNodes 1") != std::string::npos;
      },
      15s));
  const json infeasible = pool_status(env, "cap")["autoscaler"].value("infeasible", json::array());
  REQUIRE(infeasible.size() == 1);
  CHECK(infeasible[0].get<std::string>().find("maxNodes 1 reached") != std::string::npos);

  // A GPU no pool has: infeasible by shape, nothing launched for it.
  demand(env, "cap", {{"pending", {{{"shape", {{"GPU", 1}}}, {"count", 2}}}}});
  REQUIRE(env.eventually(
      [&] {
        auto c = autoscaling_ready(env, "cap");
        return c && (*c)["reason"] == "InfeasibleDemand" &&
               (*c)["message"].get<std::string>().find("{GPU: 1}") != std::string::npos;
      },
      15s));
  CHECK(worker_tasks(env, "cap").size() == 1);
  no_violations(env);
}

TEST_CASE("autoscaler e2e: gangs - STRICT_PACK 2 x {CPU: 4} takes one node, STRICT_SPREAD 3 x {CPU: 1} three") {
  Env env;
  start(env, "gang", 0, autoscaled("    maxNodes: 10\n", "    idleTimeout: 1h\n"));
  INFO(env.operator_log());
  demand(env, "gang", {{"gangs", {{{"strategy", "STRICT_PACK"}, {"bundles", {{{"CPU", 4}}, {{"CPU", 4}}}}}}}});
  REQUIRE(env.eventually([&] { return running(env, "gang") == 1; }, 30s));
  REQUIRE(env.eventually([&] { return pending_requests(env) == 0; }, 30s));
  CHECK(settles_at(env, "gang", 1));
  // The packed gang leaves; a spread one needs three distinct nodes: the idle one and two more.
  demand(env, "gang", {{"gangs", {{{"strategy", "STRICT_SPREAD"}, {"bundles", {{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}}}}}}});
  REQUIRE(env.eventually([&] { return running(env, "gang") == 3; }, 30s));
  REQUIRE(env.eventually([&] { return pending_requests(env) == 0; }, 30s));
  CHECK(settles_at(env, "gang", 3));
  CHECK(worker_tasks(env, "gang").size() == 3);
  CHECK(drains(env).empty());
  no_violations(env);
}

TEST_CASE("autoscaler e2e: never below minNodes, request_resources keeps idle nodes, a pool's idleTimeout overrides") {
  Env env;
  // cpu: 3 to start, at least 1, idle after 3 s; keep: 1 node whose pool keeps idle nodes for an hour.
  const std::string keep_pool =
      "  - name: keep\n    nodes: 1\n    maxNodes: 2\n    idleTimeout: 1h\n    computeRequirementTemplate: ray/cpu\n"
      "    rayResources:\n      CPU: \"2\"\n";
  start(env, "min", 3,
        "    minNodes: 1\n    maxNodes: 4\n    rayResources:\n      CPU: \"8\"\n" + keep_pool +
            "  autoscaling:\n    enabled: true\n    pollInterval: 1s\n    idleTimeout: 3s\n",
        false);
  INFO(env.operator_log());
  REQUIRE(env.eventually([&] { return running(env, "min", "keep") == 1; }, 30s));
  REQUIRE(env.eventually([&] { return running(env, "min") == 1; }, 60s));
  CHECK(settles_at(env, "min", 1, 6s));
  CHECK(drains(env).size() == 2);
  CHECK(running(env, "min", "keep") == 1);

  // request_resources for two {CPU: 8}: one more cpu node (keep's {CPU: 2} cannot hold it), kept while idle.
  demand(env, "min", {{"constraints", {{{"CPU", 8}}, {{"CPU", 8}}}}});
  REQUIRE(env.eventually([&] { return running(env, "min") == 2; }, 30s));
  CHECK(settles_at(env, "min", 2, 8s));
  CHECK(drains(env).size() == 2);
  CHECK(running(env, "min", "keep") == 1);
  no_violations(env);
}

TEST_CASE("autoscaler e2e: a refused drain keeps its node with a DrainRejected event, and work arriving keeps a node") {
  Env env;
  start(env, "rej", 2, autoscaled("    maxNodes: 4\n", "    idleTimeout: 8s\n"));
  INFO(env.operator_log());
  auto ws = worker_tasks(env, "rej", "cpu", "EXECUTING");
  REQUIRE(ws.size() == 2);
  const std::string refusing = ws[0]["id"], busy = ws[1]["id"];
  env.sim_post("ray/nodes/" + refusing + "/reject-drain", {{"reject", true}});
  env.sim_post("ray/nodes/" + busy, {{"state", "RUNNING"}});  // work arrived before its timeout
  REQUIRE(env.eventually([&] { return !env.events(kNs, "rej", "DrainRejected").empty(); }, 30s));
  CHECK(running(env, "rej") == 2);
  for (const auto& d : drains(env)) CHECK(d["nodeTask"] == refusing);

  // Ray lets it go: drained and removed; the busy node stays.
  env.sim_post("ray/nodes/" + refusing + "/reject-drain", {{"reject", false}});
  REQUIRE(env.eventually([&] { return running(env, "rej") == 1; }, 30s));
  const auto left = worker_tasks(env, "rej", "cpu", "EXECUTING");
  REQUIRE(left.size() == 1);
  CHECK(left[0]["id"] == busy);
  CHECK(settles_at(env, "rej", 1, 6s));
  no_violations(env);
}

TEST_CASE("autoscaler e2e: the operator killed mid scale-up and mid drain converges without duplicates or lost nodes") {
  Env env;
  start(env, "crash", 0, autoscaled("    maxNodes: 6\n", "    idleTimeout: 3s\n"));
  INFO(env.operator_log());
  demand(env, "crash", {{"pending", {{{"shape", {{"CPU", 8}}}, {"count", 4}}}}});
  REQUIRE(env.eventually([&] { return !worker_tasks(env, "crash").empty(); }, 30s));
  env.kill_operator();
  env.start_operator();
  REQUIRE(env.eventually([&] { return pending_requests(env) == 0 && running(env, "crash") == 4; }, 60s));
  CHECK(worker_tasks(env, "crash").size() == 4);

  // Idle: drains start; kill again while one is in flight; the restart resumes it without a storm.
  demand(env, "crash", json::object());
  REQUIRE(env.eventually([&] { return !drains(env).empty(); }, 30s));
  env.kill_operator();
  env.start_operator();
  REQUIRE(env.eventually([&] { return running(env, "crash") == 0; }, 90s));
  std::map<std::string, int> per_node;
  for (const auto& d : drains(env)) ++per_node[d["nodeTask"].get<std::string>()];
  CHECK(per_node.size() == 4);
  for (const auto& [task, n] : per_node) CHECK_MESSAGE(n <= 2, task);  // at most one retry after the crash
  CHECK(worker_tasks(env, "crash").size() == 4);
  no_violations(env);
}
