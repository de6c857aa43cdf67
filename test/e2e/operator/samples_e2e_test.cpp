// Every sample under manifests/samples/ converges as it is (issue 21): applied with only a namespace and the
// credentials Secret (the ConfigMaps a sample needs are in its own file), apiURL pointed at the simulator,
// each cluster reaches Ready.
#include <doctest/doctest.h>

#include <filesystem>
#include <regex>
#include <set>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST_CASE("samples e2e: every sample reaches Ready with only the credentials Secret") {
  Env env;
  const std::string ns = "samples";
  env.apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns +
            "\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: yellowdog-credentials\n  namespace: " + ns +
            "\nstringData:\n  keyId: test-key-id\n  keySecret: test-key-secret\n");
  env.start_operator();
  std::vector<std::string> clusters;
  for (const auto& entry : fs::directory_iterator(source_path("manifests/samples"))) {
    if (entry.path().extension() != ".yaml") continue;
    std::string y = read_file(entry.path().string());
    if (y.find("kind: RayDogCluster") == std::string::npos) continue;  // the Secret template
    // apiURL -> the simulator (given or not), the sample's namespace -> ours.
    if (y.find("apiURL: ") != std::string::npos)
      y = std::regex_replace(y, std::regex("apiURL: \\S+"), "apiURL: " + env.sim_url());
    else
      y = std::regex_replace(y, std::regex("\n  yellowdog:\n"), "\n  yellowdog:\n    apiURL: " + env.sim_url() + "\n");
    y = std::regex_replace(y, std::regex("\n  namespace: \\S+\n"), "\n  namespace: " + ns + "\n");
    std::smatch name;
    REQUIRE(std::regex_search(y, name, std::regex("kind: RayDogCluster\nmetadata:\n  name: (\\S+)")));
    clusters.push_back(name[1]);
    auto r = env.kubectl({"apply", "-n", ns, "-f", "-"}, y);
    REQUIRE_MESSAGE(r.exit_code == 0, entry.path().filename().string() << ": " << r.err);
  }
  CHECK(clusters.size() >= 4);
  for (const auto& c : clusters) {
    INFO(c << "\n" << env.operator_log());
    CHECK(env.eventually([&] { return env.is_ready(ns, c); }, 120s));
  }
}

namespace {

// Live YellowDog pools of the cluster, by name.
std::set<std::string> live_pools(Env& env, const std::string& ns, const std::string& name) {
  std::set<std::string> out;
  for (const auto& p : view(env, ns, name).pools) {
    const std::string status = p.value("status", "");
    if (status != "SHUTDOWN" && status != "TERMINATED") out.insert(p.value("name", ""));
  }
  return out;
}

std::string script_map(const std::string& ns, const std::string& body) {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scripts\n  namespace: " + ns +
         "\ndata:\n  worker.sh: |\n    #!/bin/bash\n    " + body + "\n";
}

}  // namespace

TEST_CASE("config e2e: editing a ConfigMap a pool's script comes from rolls that pool within seconds, nothing else") {
  Env env;
  const std::string ns = "config";
  env.apply_prerequisites(ns);
  env.apply(script_map(ns, "ray start --address=$RAY_HEAD_IP:6379 --block"));
  // A steady requeue of 10 minutes: only the ConfigMap watch can make the operator look again in time.
  env.start_operator({"--requeue-steady", "10m"});
  env.apply(small_cluster(env, "cfg", ns, 1,
                          "    startScriptFrom:\n      configMapKeyRef:\n        name: scripts\n        key: worker.sh\n"
                          "  - name: other\n    nodes: 1\n    computeRequirementTemplate: ray/cpu\n"));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready(ns, "cfg"); }, 90s), env.operator_log());
  const auto before = live_pools(env, ns, "cfg");
  REQUIRE(before.size() == 3);
  std::string cpu_before;
  for (const auto& p : before)
    if (p.find("-w-cpu-") != std::string::npos) cpu_before = p;
  REQUIRE(!cpu_before.empty());

  // An unrelated ConfigMap changes nothing; the one the cpu pool names rolls exactly that pool.
  env.apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unrelated\n  namespace: " + ns +
            "\ndata:\n  x: y\n");
  env.apply(script_map(ns, "echo v2; ray start --address=$RAY_HEAD_IP:6379 --block"));
  INFO(env.operator_log());
  REQUIRE(env.eventually(
      [&] {
        const auto now = live_pools(env, ns, "cfg");
        if (now.count(cpu_before) || now.size() != 3) return false;
        for (const auto& p : before)
          if (p != cpu_before && !now.count(p)) return false;  // head and the other pool untouched
        return env.is_ready(ns, "cfg");
      },
      30s));
  std::size_t cpu_pools = 0;
  for (const auto& p : view(env, ns, "cfg").pools) cpu_pools += p.value("name", "").find("-w-cpu-") != std::string::npos;
  CHECK(cpu_pools == 2);  // the old revision and the new one, no third
}

TEST_CASE("config e2e: a rotated key is used right after YellowDog refuses the old one, without a restart") {
  Env env(sim_flags({"--key-id", "test-key-id", "--key-secret", "test-key-secret"}));
  const std::string ns = "rotate";
  env.apply_prerequisites(ns);
  env.start_operator();
  env.apply(small_cluster(env, "rot", ns, 1));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready(ns, "rot"); }, 90s), env.operator_log());

  // The rotation as an admin does it: the new key goes into the Secret, then the old one is revoked.
  env.apply("apiVersion: v1\nkind: Secret\nmetadata:\n  name: yellowdog-credentials\n  namespace: " + ns +
            "\nstringData:\n  keyId: new-key-id\n  keySecret: new-key-secret\n");
  auto put = run_command({"curl", "-sS", "-f", "-X", "PUT", "-H", "Content-Type: application/json", "--data",
                          R"({"keys": [{"id": "new-key-id", "secret": "new-key-secret"}]})", env.sim_url() + "/_sim/keys"},
                         {}, std::chrono::seconds(30));
  REQUIRE_MESSAGE(put.exit_code == 0, put.err);
  CHECK(put.out.find("new-key-secret") == std::string::npos);  // secrets are never echoed
  // A scale-up: its first call still carries the cached old key and is refused; the Secret is read again at
  // once and the task is created with the new key, well before credentialsRetry (30 s).
  auto patch = env.kubectl({"patch", "rdc", "rot", "-n", ns, "--type", "json", "-p",
                            R"([{"op":"replace","path":"/spec/workerPools/0/nodes","value":2}])"});
  REQUIRE_MESSAGE(patch.exit_code == 0, patch.err);
  INFO(env.operator_log());
  CHECK(env.eventually(
      [&] {
        const json by = env.sim_get("created-by");
        int with_new = 0;
        for (const auto& t : view(env, ns, "rot").tasks)
          if (t.value("name", "").rfind("worker-", 0) == 0 && by.value(t.value("id", ""), "") == "new-key-id") ++with_new;
        return with_new == 1 && env.is_ready(ns, "rot");
      },
      15s));
}
