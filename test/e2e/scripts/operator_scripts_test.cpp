// The real operator's own tasks run the embedded node scripts: raydog-operator against kube-emulator and
// yellowdog-sim --execute-tasks (stand-ins first on the simulator's PATH, see script_env.hpp). Whatever
// environment the operator gives its tasks (RAY_HEAD_IP, OBSERVABILITY_HOST, ...) is what the scripts see,
// so this checks the operator <-> script contract end to end: the head starts as head, the workers join the
// head IP the status reports, the head is wired to the observability node, and deleting the cluster (WR
// cancelled with abort) runs every task's EXIT trap.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <set>
#include <thread>

#include "test/e2e/scripts/operator_env.hpp"

using raydog::test::ChildProcess;
using raydog::test::ProcessOptions;
using raydog::test::scripts::Call;
using raydog::test::scripts::json;
using raydog::test::scripts::OperatorEnv;
using raydog::test::scripts::by_task;
using raydog::test::scripts::has;
using raydog::test::scripts::rest_of;
using raydog::test::scripts::ScriptEnv;
using raydog::test::scripts::task_id_of_dir;
using namespace std::chrono_literals;


TEST_CASE(
    "scripts_e2e: the operator's own tasks run the embedded scripts: head IP, observability wiring, EXIT "
    "traps on delete") {
  OperatorEnv env;
  const std::string ns = "team-scripts", name = "scripts";
  env.prerequisites(ns);
  env.apply("apiVersion: raydog.io/v1alpha1\nkind: RayDogCluster\nmetadata:\n  name: " + name +
            "\n  namespace: " + ns + "\nspec:\n  yellowdog:\n    apiURL: " + env.sim.url() +
            "\n    namespace: ray\n    credentialsSecretRef:\n      name: yellowdog-credentials\n"
            "  head:\n    computeRequirementTemplate: ray/head\n"
            "  observability:\n    enabled: true\n    computeRequirementTemplate: ray/obs\n"
            "  workerPools:\n    - name: cpu\n      nodes: 2\n      computeRequirementTemplate: ray/cpu\n");

  std::string head_ip;
  auto ready = [&] {
    auto c = env.cluster(ns, name);
    if (!c) return false;
    const json status = c->value("status", json::object());
    for (const auto& cond : status.value("conditions", json::array()))
      if (cond.value("type", "") == "Ready" && cond.value("status", "") == "True") {
        head_ip = status.value("head", json::object()).value("privateIP", "");
        return true;
      }
    return false;
  };
  bool became_ready = false;
  for (int i = 0; i < 600 && !(became_ready = ready()); ++i) std::this_thread::sleep_for(200ms);
  REQUIRE_MESSAGE(became_ready, env.operator_log() << env.sim.sim_log());
  REQUIRE(!head_ip.empty());

  // Every script has reached `ray start` (or its services) by now or shortly after.
  std::map<std::string, std::vector<Call>> tasks;
  std::string head_dir, obs_dir;
  std::set<std::string> worker_dirs;
  auto classify = [&] {
    tasks = by_task(env.sim.calls());
    head_dir.clear();
    obs_dir.clear();
    worker_dirs.clear();
    for (const auto& [dir, calls] : tasks) {
      // The observability node also starts a short-lived head (for Ray's Grafana dashboards), not blocking.
      if (has(calls, "ray", "start --head") && has(calls, "ray", "--block")) head_dir = dir;
      if (has(calls, "prometheus", "remote-write-receiver")) obs_dir = dir;
      if (has(calls, "ray", "start --address=")) worker_dirs.insert(dir);
    }
    return !head_dir.empty() && !obs_dir.empty() && worker_dirs.size() == 2 && has(tasks[obs_dir], "grafana");
  };
  REQUIRE_MESSAGE(env.sim.eventually([&](const auto&) { return classify(); }), env.sim.sim_log());

  const std::string obs_ip = env.sim.node_ip(task_id_of_dir(obs_dir));
  CHECK(env.sim.node_ip(task_id_of_dir(head_dir)) == head_ip);
  const std::string head_start = rest_of(tasks[head_dir], "ray", "start");
  for (const char* f : {"--port=6379", "--dashboard-host=0.0.0.0", "--dashboard-port=8265",
                        "--ray-client-server-port=10001", "--block"})
    CHECK_MESSAGE(head_start.find(f) != std::string::npos, head_start);
  const std::string wiring = rest_of(tasks[head_dir], "ray-env");
  CHECK_MESSAGE(wiring.find("RAY_PROMETHEUS_HOST=http://" + obs_ip + ":9090") != std::string::npos, wiring);
  CHECK_MESSAGE(wiring.find("RAY_GRAFANA_HOST=http://" + obs_ip + ":3000") != std::string::npos, wiring);
  for (const auto& w : worker_dirs) {
    const std::string args = rest_of(tasks[w], "ray", "start");
    CHECK_MESSAGE(args.find("--address=" + head_ip + ":6379") != std::string::npos, args);
    CHECK(args.find("--head") == std::string::npos);
  }
  CHECK(!has(env.sim.calls(), "dlg"));  // DALiuGE not enabled

  // Delete: the operator cancels the work requirement with abort; every script's EXIT trap runs.
  auto del = env.kubectl({"delete", "rdc", name, "-n", ns, "--timeout=120s"});
  REQUIRE_MESSAGE(del.exit_code == 0, del.err << env.operator_log());
  CHECK_MESSAGE(env.sim.eventually([&](const auto& calls) {
    auto t = by_task(calls);
    bool all = has(t[head_dir], "ray", "stop") && has(t[obs_dir], "prometheus", "terminated") &&
               has(t[obs_dir], "grafana", "terminated");
    for (const auto& w : worker_dirs) all = all && has(t[w], "ray", "stop");
    return all;
  }),
                env.sim.sim_log());
}

TEST_CASE(
    "scripts_e2e: with spec.daliuge the operator's tasks start the DIM on the head and an NM on the worker, "
    "ready before ray start, stopped on delete") {
  OperatorEnv env;
  const std::string ns = "team-dlg", name = "dlg";
  const int dim = raydog::test::scripts::free_port(), nm = raydog::test::scripts::free_port(),
            events = raydog::test::scripts::free_port(), rpc = raydog::test::scripts::free_port();
  const std::string root = env.sim.dir.file("dlg-root");
  env.prerequisites(ns);
  // One worker: every simulated node shares this machine's loopback, and the NM port is cluster-wide.
  env.apply("apiVersion: raydog.io/v1alpha1\nkind: RayDogCluster\nmetadata:\n  name: " + name +
            "\n  namespace: " + ns + "\nspec:\n  yellowdog:\n    apiURL: " + env.sim.url() +
            "\n    namespace: ray\n    credentialsSecretRef:\n      name: yellowdog-credentials\n"
            "  head:\n    computeRequirementTemplate: ray/head\n"
            "  workerPools:\n    - name: cpu\n      nodes: 1\n      computeRequirementTemplate: ray/cpu\n"
            "  daliuge:\n    enabled: true\n    version: \"6.6.0\"\n    root: " +
            root + "\n    nmOnHead: false\n    ports: {dim: " + std::to_string(dim) +
            ", nm: " + std::to_string(nm) + ", events: " + std::to_string(events) +
            ", rpc: " + std::to_string(rpc) + "}\n");

  // The DIM at the head's private IP is a stand-in that does not serve, so DaliugeReady stays False: wait
  // for the scripts instead of the cluster's readiness.
  std::map<std::string, std::vector<Call>> tasks;
  std::string head_dir, worker_dir;
  auto classify = [&](const std::vector<Call>& calls) {
    tasks = by_task(calls);
    head_dir.clear();
    worker_dir.clear();
    for (const auto& [dir, c] : tasks) {
      if (has(c, "ray", "start --head")) head_dir = dir;
      if (has(c, "ray", "start --address=")) worker_dir = dir;
    }
    return !head_dir.empty() && !worker_dir.empty() && has(tasks[head_dir], "dlg", "dim ");
  };
  REQUIRE_MESSAGE(env.sim.eventually(classify), env.operator_log() << env.sim.sim_log());

  const std::string dim_args = rest_of(tasks[head_dir], "dlg", "dim ");
  CHECK(dim_args == "dim -H 0.0.0.0 -P " + std::to_string(dim) + " -v|DLG_ROOT=" + root);
  CHECK(!has(tasks[head_dir], "dlg", "nm "));  // nmOnHead: false
  const auto& w = tasks[worker_dir];
  const std::string nm_args = rest_of(w, "dlg", "nm ");
  CHECK(nm_args == "nm -H 0.0.0.0 -P " + std::to_string(nm) + " --event_port " + std::to_string(events) +
                       " --rpc_port " + std::to_string(rpc) + " -v|DLG_ROOT=" + root);
  // The worker joined Ray only after its NM answered GET /api.
  long answered = -1, started = -1;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (answered < 0 && w[i].what == "nm-request" && w[i].rest == "GET /api") answered = static_cast<long>(i);
    if (started < 0 && w[i].what == "ray" && w[i].rest.rfind("start", 0) == 0) started = static_cast<long>(i);
  }
  CHECK(answered >= 0);
  CHECK(answered < started);
  for (const auto& c : env.sim.calls()) CHECK(c.rest.find("/api/node") == std::string::npos);
  auto del = env.kubectl({"delete", "rdc", name, "-n", ns, "--timeout=120s"});
  REQUIRE_MESSAGE(del.exit_code == 0, del.err << env.operator_log());
  CHECK_MESSAGE(env.sim.eventually([&](const auto& calls) {
    auto t = by_task(calls);
    return has(t[head_dir], "dlg", "dim|terminated") && has(t[head_dir], "ray", "stop") &&
           has(t[worker_dir], "dlg", "nm|terminated") && has(t[worker_dir], "ray", "stop");
  }),
                env.sim.sim_log());
}
