// Observability end to end with the real Prometheus (Debian's): raydog-operator, kube-emulator and
// yellowdog-sim --execute-tasks run the embedded scripts; the stand-in `ray` serves metrics on each node's
// address and writes Ray's discovery file on the head; the head's relay (a Prometheus agent) and the
// observability node's Prometheus are the real binary. Prometheus on the observability node must hold exactly
// the live Ray nodes (`up` of every metrics port) after the cluster comes up, after a scale-up and after a
// scale-down; Grafana (not packaged in Debian: a stand-in) is checked by the files it would be provisioned with.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>
#include <thread>

#include "test/e2e/scripts/operator_env.hpp"

namespace fs = std::filesystem;
using raydog::test::run_command;
using raydog::test::scripts::by_task;
using raydog::test::scripts::has;
using raydog::test::scripts::json;
using raydog::test::scripts::OperatorEnv;
using raydog::test::scripts::rest_of;
using raydog::test::scripts::ScriptEnvOptions;
using namespace std::chrono_literals;

namespace {

// `up` of the Ray nodes' metrics ports, as the observability node's Prometheus answers an instant query.
struct Targets {
  int up = 0;
  std::set<std::string> instances;
  bool operator==(const Targets&) const = default;
};

std::optional<Targets> ray_targets(const std::string& prometheus) {
  auto r = run_command({"/usr/bin/curl", "-sS", "--max-time", "5", "-G", prometheus + "/api/v1/query",
                        "--data-urlencode", R"(query=up{job="ray",instance=~".+:8080"})"});
  if (r.exit_code != 0) return std::nullopt;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
  Targets t;
  for (const auto& s : j["data"]["result"]) {
    t.instances.insert(s["metric"].value("instance", ""));
    if (s["value"][1] == "1") ++t.up;
  }
  return t;
}

}  // namespace

TEST_CASE(
    "observability e2e: Prometheus on the observability node holds exactly the live Ray nodes across a "
    "scale-up and a scale-down, and Grafana's provisioning matches the head") {
  REQUIRE_MESSAGE(fs::exists("/usr/bin/prometheus"),
                  "Debian's prometheus is not installed: run scripts/install-deps.sh");
  ScriptEnvOptions options;
  options.real_prometheus = true;
  options.env["RAYDOG_SCRAPE_INTERVAL"] = "1s";  // the relay's scrape: seconds, not Ray's 10 s, for the test
  OperatorEnv env(options);
  const std::string ns = "team-obs", name = "obs";
  env.prerequisites(ns);
  auto spec_with = [&](int nodes) {
    return "apiVersion: raydog.io/v1alpha1\nkind: RayDogCluster\nmetadata:\n  name: " + name +
           "\n  namespace: " + ns + "\nspec:\n  yellowdog:\n    apiURL: " + env.sim.url() +
           "\n    namespace: ray\n    credentialsSecretRef:\n      name: yellowdog-credentials\n"
           "  head:\n    computeRequirementTemplate: ray/head\n"
           "  observability:\n    enabled: true\n    computeRequirementTemplate: ray/obs\n"
           "  workerPools:\n    - name: cpu\n      nodes: " +
           std::to_string(nodes) + "\n      computeRequirementTemplate: ray/cpu\n";
  };
  env.apply(spec_with(2));

  // Ready, then the addresses from the status.
  json status;
  auto ready_with = [&](int workers) {
    auto c = env.cluster(ns, name);
    if (!c) return false;
    status = c->value("status", json::object());
    bool ready = false;
    for (const auto& cond : status.value("conditions", json::array()))
      ready = ready || (cond.value("type", "") == "Ready" && cond.value("status", "") == "True");
    const auto pools = status.value("workerPools", json::array());
    return ready && pools.size() == 1 && pools[0].value("readyNodes", -1) == workers;
  };
  bool ready = false;
  for (int i = 0; i < 600 && !(ready = ready_with(2)); ++i) std::this_thread::sleep_for(200ms);
  REQUIRE_MESSAGE(ready, env.operator_log() << env.sim.sim_log());
  const std::string head_ip = status["head"].value("privateIP", "");
  const std::string obs_ip = status["observability"].value("privateIP", "");
  REQUIRE(!head_ip.empty());
  REQUIRE(!obs_ip.empty());
  CHECK(status["observability"].value("prometheusURL", "").ends_with(":9090"));
  CHECK(status["observability"].value("grafanaURL", "").ends_with(":3000"));
  // The services bind the node's private address (simulated VMs share this host's loopback).
  const std::string prometheus = "http://" + obs_ip + ":9090";

  // Prometheus ends up with the head and every worker, all up, and nothing else.
  auto converge_to = [&](std::size_t nodes) {
    std::optional<Targets> seen;
    for (int i = 0; i < 240; ++i) {
      seen = ray_targets(prometheus);
      if (seen && seen->instances.size() == nodes && seen->up == static_cast<int>(nodes) &&
          seen->instances.count(head_ip + ":8080"))
        return true;
      std::this_thread::sleep_for(500ms);
    }
    std::string got = seen ? std::to_string(seen->up) + "/" + std::to_string(seen->instances.size()) : "no answer";
    FAIL_CHECK("Prometheus did not converge to " << nodes << " Ray nodes up, last: " << got << "\n"
                                                << env.operator_log());
    return false;
  };
  CHECK(converge_to(3));  // head + 2 workers

  SUBCASE("scale up to 3 workers, then down to 1: Prometheus follows (staleness markers, no lingering node)") {
    env.apply(spec_with(3));
    bool up = false;
    for (int i = 0; i < 600 && !(up = ready_with(3)); ++i) std::this_thread::sleep_for(200ms);
    REQUIRE_MESSAGE(up, env.operator_log());
    CHECK(converge_to(4));
    env.apply(spec_with(1));
    bool down = false;
    for (int i = 0; i < 600 && !(down = ready_with(1)); ++i) std::this_thread::sleep_for(200ms);
    REQUIRE_MESSAGE(down, env.operator_log());
    CHECK(converge_to(2));
  }

  SUBCASE("Grafana's provisioning: the datasource the head names, at this Prometheus, and Ray's dashboards") {
    auto tasks = by_task(env.sim.calls());
    std::string head_dir, obs_dir;
    for (const auto& [dir, calls] : tasks) {
      if (has(calls, "grafana")) obs_dir = dir;
      if (has(calls, "ray", "start --head") && has(calls, "ray", "--block")) head_dir = dir;
    }
    REQUIRE(!obs_dir.empty());
    REQUIRE(!head_dir.empty());
    const std::string wiring = rest_of(tasks[head_dir], "ray-env");
    CHECK_MESSAGE(wiring.find("RAY_PROMETHEUS_HOST=" + prometheus) != std::string::npos, wiring);
    CHECK_MESSAGE(wiring.find("RAY_PROMETHEUS_NAME=Prometheus") != std::string::npos, wiring);

    const fs::path grafana = fs::path(env.sim.tasks_dir()) / obs_dir / "tmp/raydog-observability/grafana";
    YAML::Node ds = YAML::LoadFile((grafana / "provisioning/datasources/ray.yaml").string());
    CHECK(ds["apiVersion"].as<int>() == 1);
    REQUIRE(ds["datasources"].size() == 1);
    CHECK(ds["datasources"][0]["name"].as<std::string>() == "Prometheus");  // = the head's RAY_PROMETHEUS_NAME
    CHECK(ds["datasources"][0]["type"].as<std::string>() == "prometheus");
    CHECK(ds["datasources"][0]["url"].as<std::string>() == prometheus);
    CHECK(ds["datasources"][0]["isDefault"].as<bool>());
    auto healthy = run_command({"/usr/bin/curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                                prometheus + "/-/healthy"});
    CHECK(healthy.out == "200");  // the datasource URL answers

    YAML::Node dash = YAML::LoadFile((grafana / "provisioning/dashboards/ray.yaml").string());
    CHECK(dash["apiVersion"].as<int>() == 1);
    REQUIRE(dash["providers"].size() == 1);
    CHECK(dash["providers"][0]["folder"].as<std::string>() == "Ray");
    CHECK(dash["providers"][0]["type"].as<std::string>() == "file");
    const fs::path dashboards = dash["providers"][0]["options"]["path"].as<std::string>();
    CHECK(dashboards == grafana / "dashboards");
    std::set<std::string> uids;
    for (const auto& f : fs::directory_iterator(dashboards)) {
      auto j = json::parse(raydog::test::read_file(f.path().string()), nullptr, false);
      REQUIRE_MESSAGE(!j.is_discarded(), f.path());
      uids.insert(j.value("uid", ""));
    }
    CHECK(uids.count("rayDefaultDashboard") == 1);  // the UID Ray's dashboard embeds
  }
}
