// The default node scripts (scripts/ray-*.sh, as embedded in the operator) run for real under
// yellowdog-sim --execute-tasks, with stand-in ray/dlg/curl/prometheus/grafana that record their calls:
// the flags Ray and DALiuGE are started with, the head IP the workers join, the observability wiring, the
// NM readiness wait, and that aborting a task runs the EXIT trap (managers stopped, `ray stop`).
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <string>

#include "controller/reconcile/scripts.hpp"
#include "test/e2e/scripts/script_env.hpp"

namespace rs = raydog::reconcile::scripts;
using raydog::test::scripts::Call;
using raydog::test::scripts::free_port;
using raydog::test::scripts::json;
using raydog::test::scripts::ScriptEnv;

namespace {

bool has(const std::vector<Call>& calls, const std::string& what, const std::string& rest_part = "") {
  return std::any_of(calls.begin(), calls.end(), [&](const Call& c) {
    return c.what == what && c.rest.find(rest_part) != std::string::npos;
  });
}
// Index of the first matching call, or -1.
long index_of(const std::vector<Call>& calls, const std::string& what, const std::string& rest_part = "") {
  for (std::size_t i = 0; i < calls.size(); ++i)
    if (calls[i].what == what && calls[i].rest.find(rest_part) != std::string::npos)
      return static_cast<long>(i);
  return -1;
}
std::string dump(const std::vector<Call>& calls) {
  std::string out;
  for (const auto& c : calls) out += c.task + " | " + c.what + " | " + c.rest + "\n";
  return out;
}
// Checks that `args` holds every flag of `flags` as a separate word.
void check_flags(const std::string& args, std::initializer_list<const char*> flags) {
  const std::string padded = " " + args + " ";
  for (const char* f : flags) {
    INFO("flag ", f, " in: ", args);
    CHECK(padded.find(std::string(" ") + f + " ") != std::string::npos);
  }
}
void check_absent(const std::string& args, std::initializer_list<const char*> flags) {
  const std::string padded = " " + args + " ";
  for (const char* f : flags) {
    INFO("no flag ", f, " in: ", args);
    CHECK(padded.find(std::string(" ") + f + " ") == std::string::npos);
  }
}
std::string rest_of(const std::vector<Call>& calls, const std::string& what, const std::string& part) {
  long i = index_of(calls, what, part);
  return i < 0 ? std::string() : calls[static_cast<std::size_t>(i)].rest;
}

}  // namespace

TEST_CASE("scripts_e2e: head, workers and observability run for real, and aborting runs the EXIT trap") {
  ScriptEnv env;
  env.create_pool("obs", 1);
  env.create_pool("head", 1);
  env.create_pool("cpu", 2);
  auto groups = env.create_work_requirement("plain", {"obs", "head", "cpu"});

  // The operator's order: observability first (its IP goes to everyone), then the head, then the workers
  // with the head's IP.
  const std::string obs =
      env.add_task(groups["obs"], "observability-1", std::string(rs::observability()), {});
  env.wait_status(obs, "EXECUTING");
  const std::string obs_ip = env.node_ip(obs);
  const std::string head =
      env.add_task(groups["head"], "head-1", std::string(rs::head()), {{"OBSERVABILITY_HOST", obs_ip}});
  env.wait_status(head, "EXECUTING");
  const std::string head_ip = env.node_ip(head);
  std::map<std::string, std::string> worker_env{
      {"RAY_HEAD_IP", head_ip}, {"RAY_HEAD_NODE_PRIVATE_IP", head_ip}, {"OBSERVABILITY_HOST", obs_ip}};
  const std::string w1 = env.add_task(groups["cpu"], "worker-1", std::string(rs::worker()), worker_env);
  // The second worker's pool has rayResources: the operator's RAYDOG_* variables become ray start's flags.
  auto sized_env = worker_env;
  sized_env.insert({{"RAYDOG_NUM_CPUS", "8"},
                    {"RAYDOG_NUM_GPUS", "1"},
                    {"RAYDOG_MEMORY", "34359738368"},
                    {"RAYDOG_OBJECT_STORE_MEMORY", "2000000000"},
                    {"RAYDOG_RAY_RESOURCES", R"({"accel_a100":1.0})"}});
  const std::string w2 = env.add_task(groups["cpu"], "worker-2", std::string(rs::worker()), sized_env);
  env.wait_status(w1, "EXECUTING");
  env.wait_status(w2, "EXECUTING");

  REQUIRE_MESSAGE(env.eventually([&](const auto&) {
    return has(env.calls_of(head), "ray", "start") && has(env.calls_of(w1), "ray", "start") &&
           has(env.calls_of(w2), "ray", "start") && has(env.calls_of(obs), "prometheus") &&
           has(env.calls_of(obs), "grafana");
  }),
                  dump(env.calls()) << env.sim_log());
  CHECK(head_ip != obs_ip);

  SUBCASE("head starts as head on 6379/8265/10001, with the dashboard on all interfaces") {
    auto calls = env.calls_of(head);
    const std::string args = rest_of(calls, "ray", "start");
    check_flags(args, {"start", "--head", "--port=6379", "--dashboard-host=0.0.0.0", "--dashboard-port=8265",
                       "--ray-client-server-port=10001", "--metrics-export-port=8080", "--block"});
    check_absent(args, {"--address"});
    // Observability wiring: Ray's dashboard reads Prometheus and embeds Grafana from OBSERVABILITY_HOST.
    const std::string wiring = rest_of(calls, "ray-env", "");
    CHECK(wiring.find("RAY_GRAFANA_HOST=http://" + obs_ip + ":3000") != std::string::npos);
    CHECK(wiring.find("RAY_PROMETHEUS_HOST=http://" + obs_ip + ":9090") != std::string::npos);
    CHECK(wiring.find("RAY_GRAFANA_IFRAME_HOST=http://" + obs_ip + ":3000") != std::string::npos);
    CHECK(wiring.find("RAY_PROMETHEUS_NAME=Prometheus") != std::string::npos);
    // Ray is told the node's address (each simulated VM has its own) and the temp dir the relay reads.
    check_flags(args, {("--node-ip-address=" + head_ip).c_str()});
    CHECK(args.find(" --temp-dir=") != std::string::npos);
  }
  SUBCASE("the head's metrics relay: a Prometheus agent on Ray's discovery file, writing to the observability node") {
    auto calls = env.calls_of(head);
    const std::string relay = rest_of(calls, "prometheus", "");
    check_flags(relay, {"--enable-feature=agent", ("--web.listen-address=" + head_ip + ":9091").c_str()});
    CHECK(relay.find(" --storage.agent.path=") != std::string::npos);
    auto at = relay.find("--config.file=");
    REQUIRE(at != std::string::npos);
    const std::string config_path = relay.substr(at + 14, relay.find(' ', at) - at - 14);
    const std::string config = raydog::test::read_file(config_path);
    INFO(config);
    CHECK(config.find("url: \"http://" + obs_ip + ":9090/api/v1/write\"") != std::string::npos);
    CHECK(config.find("/ray/prom_metrics_service_discovery.json") != std::string::npos);
  }
  SUBCASE("workers join the head's private IP on 6379, not as heads") {
    for (const auto& w : {w1, w2}) {
      const std::string args = rest_of(env.calls_of(w), "ray", "start");
      check_flags(args, {"start", ("--address=" + head_ip + ":6379").c_str(), "--metrics-export-port=8080", "--block"});
      check_absent(args, {"--head"});
    }
    const std::string plain = rest_of(env.calls_of(w1), "ray", "start");
    for (const char* f : {"--num-cpus", "--num-gpus", "--memory", "--object-store-memory", "--resources"})
      CHECK_MESSAGE(plain.find(f) == std::string::npos, f << " in: " << plain);
    check_flags(rest_of(env.calls_of(w2), "ray", "start"),
                {"--num-cpus=8", "--num-gpus=1", "--memory=34359738368", "--object-store-memory=2000000000",
                 R"(--resources={"accel_a100":1.0})"});
  }
  SUBCASE("the observability node runs Prometheus on 9090 and Grafana") {
    auto calls = env.calls_of(obs);
    check_flags(rest_of(calls, "prometheus", ""),
                {("--web.listen-address=" + obs_ip + ":9090").c_str(), "--web.enable-remote-write-receiver"});
    CHECK(has(calls, "grafana", "server"));
  }
  SUBCASE("aborting one worker task runs its EXIT trap; the others keep running") {
    env.call("PUT", "/work/tasks/" + w1 + "/cancel?abort=true");
    CHECK(env.wait_status(w1, "ABORTED")["status"] == "ABORTED");
    // `ray stop`, and `ray start --block` ended too (before the group's SIGKILL: `ray stop` waits for it).
    CHECK_MESSAGE(env.eventually([&](const auto&) {
      return has(env.calls_of(w1), "ray", "stop") && has(env.calls_of(w1), "ray", "terminated");
    }),
                  dump(env.calls()));
    CHECK(env.task(w2)["status"] == "EXECUTING");
    CHECK(!has(env.calls_of(w2), "ray", "stop"));
    CHECK(!has(env.calls_of(head), "ray", "stop"));
  }
  SUBCASE("cancelling the work requirement with abort stops Ray everywhere and the observability services") {
    env.call("PUT", "/work/requirements/" + groups["$wr"] + "/transition/CANCELLING?abort=true");
    for (const auto& t : {head, w1, w2, obs}) env.wait_status(t, "ABORTED");
    CHECK_MESSAGE(env.eventually([&](const auto&) {
      return has(env.calls_of(head), "ray", "stop") && has(env.calls_of(w1), "ray", "stop") &&
             has(env.calls_of(w2), "ray", "stop") && has(env.calls_of(obs), "prometheus", "terminated") &&
             has(env.calls_of(obs), "grafana", "terminated");
    }),
                  dump(env.calls()));
  }
  // DALiuGE is off: no dlg at all, no HTTP calls from the scripts.
  CHECK(!has(env.calls(), "dlg"));
  CHECK(!has(env.calls(), "curl"));
}

TEST_CASE(
    "scripts_e2e: DALiuGE on: DIM on the head, an NM per worker ready before ray start, stopped by the EXIT "
    "trap, no node API call") {
  ScriptEnv env;
  env.create_pool("head", 1);
  env.create_pool("cpu", 2);
  auto groups = env.create_work_requirement("dlg", {"head", "cpu"});
  // Every simulated node shares this machine's loopback: each NM gets its own port here (the operator sets
  // one port for all, on distinct machines).
  const int dim_port = free_port(), head_nm_port = free_port();
  auto dlg_env = [&](int nm_port) {
    return std::map<std::string, std::string>{{"DLG_ENABLED", "true"},
                                              {"DLG_ROOT", env.dir.file("dlg")},
                                              {"DLG_DIM_PORT", std::to_string(dim_port)},
                                              {"DLG_NM_PORT", std::to_string(nm_port)},
                                              {"DLG_EVENTS_PORT", "5555"},
                                              {"DLG_RPC_PORT", "6666"}};
  };
  auto head_env = dlg_env(head_nm_port);
  head_env["DLG_NM_ON_HEAD"] = "true";
  const std::string head = env.add_task(groups["head"], "head-1", std::string(rs::head()), head_env);
  env.wait_status(head, "EXECUTING");
  const std::string head_ip = env.node_ip(head);
  std::vector<std::string> workers;
  std::vector<int> nm_ports;
  for (int i = 1; i <= 2; ++i) {
    nm_ports.push_back(free_port());
    auto e = dlg_env(nm_ports.back());
    e["RAY_HEAD_IP"] = head_ip;
    e["RAY_HEAD_NODE_PRIVATE_IP"] = head_ip;
    workers.push_back(
        env.add_task(groups["cpu"], "worker-" + std::to_string(i), std::string(rs::worker()), e));
  }
  for (const auto& w : workers) env.wait_status(w, "EXECUTING");
  REQUIRE_MESSAGE(env.eventually([&](const auto&) {
    return has(env.calls_of(head), "ray", "start") && has(env.calls_of(workers[0]), "ray", "start") &&
           has(env.calls_of(workers[1]), "ray", "start");
  }),
                  dump(env.calls()) << env.task_stderr(workers[0]));

  SUBCASE(
      "the head starts the DIM and its own NM next to the blocking ray start, with the contract's flags") {
    auto calls = env.calls_of(head);
    // Both run in the background of the script, so their records may come after `ray start`'s.
    const long dim = index_of(calls, "dlg", "dim ");
    REQUIRE(dim >= 0);
    const std::string dim_args = calls[static_cast<std::size_t>(dim)].rest;
    CHECK(dim_args.rfind("dim -H 0.0.0.0 -P " + std::to_string(dim_port) + " -v|", 0) == 0);
    CHECK(dim_args.find("|DLG_ROOT=" + env.dir.file("dlg")) != std::string::npos);
    check_absent(dim_args.substr(0, dim_args.find('|')), {"-N", "-d", "--watchdog", "-w"});
    const std::string nm = rest_of(calls, "dlg", "nm ");
    CHECK(nm.rfind(
              "nm -H 0.0.0.0 -P " + std::to_string(head_nm_port) + " --event_port 5555 --rpc_port 6666 -v|",
              0) == 0);
    check_flags(rest_of(calls, "ray", "start"), {"--head", "--port=6379", "--dashboard-host=0.0.0.0"});
  }
  SUBCASE("each worker starts its NM and joins Ray only after GET 127.0.0.1:<nm>/api answered") {
    for (std::size_t i = 0; i < workers.size(); ++i) {
      auto calls = env.calls_of(workers[i]);
      INFO(dump(calls));
      const std::string port = std::to_string(nm_ports[i]);
      const long nm = index_of(calls, "dlg", "nm "), serving = index_of(calls, "nm-serving"),
                 answered = index_of(calls, "nm-request", "GET /api"), ray = index_of(calls, "ray", "start");
      REQUIRE(nm >= 0);
      CHECK(calls[static_cast<std::size_t>(nm)].rest.rfind(
                "nm -H 0.0.0.0 -P " + port + " --event_port 5555 --rpc_port 6666 -v|DLG_ROOT=", 0) == 0);
      check_absent(calls[static_cast<std::size_t>(nm)].rest, {"-d", "--watchdog", "-w"});
      REQUIRE(serving >= 0);
      REQUIRE(answered >= 0);
      CHECK(nm < serving);
      CHECK(serving < answered);
      CHECK(answered < ray);
      CHECK(has(calls, "curl", "http://127.0.0.1:" + port + "/api"));
      check_flags(rest_of(calls, "ray", "start"), {("--address=" + head_ip + ":6379").c_str(), "--block"});
    }
  }
  SUBCASE("aborting a worker stops its NM (SIGTERM, waited for) and then Ray") {
    env.call("PUT", "/work/tasks/" + workers[0] + "/cancel?abort=true");
    env.wait_status(workers[0], "ABORTED");
    CHECK_MESSAGE(env.eventually([&](const auto&) {
      auto c = env.calls_of(workers[0]);
      return has(c, "dlg", "nm|terminated") && has(c, "ray", "stop");
    }),
                  dump(env.calls()));
    CHECK(!has(env.calls_of(workers[1]), "dlg", "nm|terminated"));
    CHECK(!has(env.calls_of(head), "dlg", "dim|terminated"));
  }
  SUBCASE("cancelling the work requirement with abort stops the DIM, the head's NM and Ray on the head") {
    env.call("PUT", "/work/requirements/" + groups["$wr"] + "/transition/CANCELLING?abort=true");
    env.wait_status(head, "ABORTED");
    CHECK_MESSAGE(env.eventually([&](const auto&) {
      auto c = env.calls_of(head);
      return has(c, "dlg", "dim|terminated") && has(c, "dlg", "nm|terminated") && has(c, "ray", "stop");
    }),
                  dump(env.calls()));
  }
  // The operator is the only writer of the DIM's node list: no script request touches /api/node(s).
  for (const auto& c : env.calls()) {
    INFO(c.task, " ", c.what, " ", c.rest);
    CHECK(c.rest.find("/api/node") == std::string::npos);
    if (c.what == "curl") CHECK(c.rest.find(std::to_string(dim_port)) == std::string::npos);
  }
}

TEST_CASE(
    "scripts_e2e: SIGTERM to the script alone (an agent that signals only its child) still runs the EXIT "
    "trap: NM stopped, ray stop") {
  ScriptEnv env;
  env.create_pool("cpu", 1);
  auto groups = env.create_work_requirement("script-term", {"cpu"});
  const std::string w = env.add_task(groups["cpu"], "worker-1", std::string(rs::worker()),
                                     {{"RAY_HEAD_IP", "127.1.0.1"},
                                      {"DLG_ENABLED", "true"},
                                      {"DLG_ROOT", env.dir.file("dlg")},
                                      {"DLG_DIM_PORT", "8001"},
                                      {"DLG_NM_PORT", std::to_string(free_port())},
                                      {"DLG_EVENTS_PORT", "5555"},
                                      {"DLG_RPC_PORT", "6666"}});
  env.wait_status(w, "EXECUTING");
  REQUIRE_MESSAGE(env.eventually([&](const auto&) { return has(env.calls_of(w), "ray", "start"); }),
                  dump(env.calls()) << env.task_stderr(w));
  const int pid = env.script_pid(w);
  REQUIRE(pid > 0);
  REQUIRE(::kill(pid, SIGTERM) == 0);
  json failed = env.wait_status(w, "FAILED");
  CHECK(failed["errors"][0]["processExitCode"] == 143);  // killed by SIGTERM, after the trap ran
  CHECK_MESSAGE(env.eventually([&](const auto&) {
    auto c = env.calls_of(w);
    return has(c, "dlg", "nm|terminated") && has(c, "ray", "stop") && has(c, "ray", "terminated");
  }),
                dump(env.calls()));
}

TEST_CASE("scripts_e2e: a worker whose NM never answers fails with a clear error after the bounded wait") {
  ScriptEnv env;
  env.create_pool("cpu", 1);
  auto groups = env.create_work_requirement("nm-timeout", {"cpu"});
  const int port = free_port();
  const std::string w = env.add_task(groups["cpu"], "worker-1", std::string(rs::worker()),
                                     {{"RAY_HEAD_IP", "127.1.0.1"},
                                      {"DLG_ENABLED", "true"},
                                      {"DLG_ROOT", env.dir.file("dlg")},
                                      {"DLG_DIM_PORT", "8001"},
                                      {"DLG_NM_PORT", std::to_string(port)},
                                      {"DLG_EVENTS_PORT", "5555"},
                                      {"DLG_RPC_PORT", "6666"},
                                      {"DLG_NM_WAIT_SECONDS", "2"},
                                      {"STANDIN_NM_DELAY", "never"}});
  json failed = env.wait_status(w, "FAILED");
  CHECK(failed["errors"][0]["errorType"] == "PROCESS_NON_ZERO_EXIT");
  const std::string err = env.task_stderr(w);
  CHECK(err.find("did not answer GET http://127.0.0.1:" + std::to_string(port) + "/api within 2s") !=
        std::string::npos);
  CHECK_MESSAGE(env.eventually([&](const auto&) { return has(env.calls_of(w), "dlg", "nm|terminated"); }),
                dump(env.calls()));
  auto calls = env.calls_of(w);
  CHECK(has(calls, "curl", "/api"));
  CHECK(!has(calls, "ray", "start"));
  CHECK(has(calls, "ray", "stop"));  // the EXIT trap ran
}

TEST_CASE("scripts_e2e: a worker whose NM exits before answering fails at once with a clear error") {
  ScriptEnv env;
  env.create_pool("cpu", 1);
  auto groups = env.create_work_requirement("nm-crash", {"cpu"});
  const int port = free_port();
  const std::string w = env.add_task(groups["cpu"], "worker-1", std::string(rs::worker()),
                                     {{"RAY_HEAD_IP", "127.1.0.1"},
                                      {"DLG_ENABLED", "true"},
                                      {"DLG_ROOT", env.dir.file("dlg")},
                                      {"DLG_DIM_PORT", "8001"},
                                      {"DLG_NM_PORT", std::to_string(port)},
                                      {"DLG_EVENTS_PORT", "5555"},
                                      {"DLG_RPC_PORT", "6666"},
                                      {"STANDIN_NM_DELAY", "crash"}});
  env.wait_status(w, "FAILED");
  CHECK(env.task_stderr(w).find("Node Manager (dlg nm) exited before answering on port " +
                                std::to_string(port)) != std::string::npos);
  auto calls = env.calls_of(w);
  CHECK(has(calls, "dlg", "nm|crashed"));
  CHECK(!has(calls, "ray", "start"));
  CHECK(has(calls, "ray", "stop"));
}

TEST_CASE("scripts_e2e: DALiuGE enabled without dlg installed fails clearly") {
  ScriptEnv env;
  std::filesystem::remove(env.dir.path() / "bin" / "dlg");
  env.create_pool("head", 1);
  auto groups = env.create_work_requirement("nodlg", {"head"});
  // PATH without the system dirs that could hold a real dlg is not needed: this machine has none.
  const std::string head = env.add_task(groups["head"], "head-1", std::string(rs::head()),
                                        {{"DLG_ENABLED", "true"}, {"DLG_ROOT", env.dir.file("dlg")}});
  env.wait_status(head, "FAILED");
  CHECK(env.task_stderr(head).find("'dlg' is not installed") != std::string::npos);
  CHECK(!has(env.calls_of(head), "ray", "start"));
}
