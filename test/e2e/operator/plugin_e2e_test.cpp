// `kubectl raydog` (plugin/kubectl-raydog) end to end: the real kubectl finds the plugin on PATH and runs it
// against kube-emulator, with raydog-operator converging clusters on yellowdog-sim. get, scale, endpoints and
// events on a Ready cluster; the errors that name what is wrong (no such cluster, unknown pool, autoscaled
// pool, no public IP, no ssh); session with a stand-in ssh that records its arguments (no network) and a
// Ctrl-C that ends it cleanly.
#include <doctest/doctest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// PATH with the plugin (and any stand-ins in `bin`) first; KUBECONFIG, because kubectl hands a plugin
// neither its own flags nor its kubeconfig.
ProcessOptions plugin_env(Env& env) {
  const fs::path bin = env.dir.path() / "plugin-bin";
  if (!fs::exists(bin / "kubectl-raydog")) {
    fs::create_directories(bin);
    fs::copy_file(raydog::test::source_path("plugin/kubectl-raydog"), bin / "kubectl-raydog");
    fs::permissions(bin / "kubectl-raydog", fs::perms::owner_all);
  }
  ProcessOptions po;
  const char* path = std::getenv("PATH");
  po.env["PATH"] = bin.string() + ":" + (path ? path : "/usr/bin:/bin");
  po.env["KUBECONFIG"] = env.kubeconfig();
  po.env["KUBECACHEDIR"] = env.dir.file("kubecache");
  po.env["HOME"] = env.dir.path().string();
  return po;
}

CommandResult plugin(Env& env, std::vector<std::string> args, std::map<std::string, std::string> extra = {}) {
  std::vector<std::string> argv = {"kubectl", "raydog"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions po = plugin_env(env);
  for (auto& [k, v] : extra) po.env[k] = v;
  return run_command(argv, po, 60s);
}

}  // namespace

TEST_CASE("kubectl raydog: get - scale - endpoints - events, and errors that name what is wrong") {
  Env env;
  const std::string ns = "plug";
  env.apply_prerequisites(ns);
  env.start_operator();
  env.apply(small_cluster(env, "research", ns, 2));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready(ns, "research"); }, 90s), env.operator_log());

  auto get = plugin(env, {"get", "-n", ns});
  REQUIRE_MESSAGE(get.exit_code == 0, get.err);
  INFO(get.out);
  CHECK(get.out.find("NAME") != std::string::npos);
  CHECK(std::regex_search(get.out, std::regex(R"(research\s+Running\s+True\s+127\.\d+\.\d+\.\d+\s+2/2)")));
  CHECK(std::regex_search(get.out, std::regex(R"(cpu\s+2\s+2\s+2\s+Healthy)")));
  CHECK(plugin(env, {"get", "research", "-n", ns}).out == get.out);
  CHECK(plugin(env, {"get", "-A"}).out.find(ns) != std::string::npos);

  auto scaled = plugin(env, {"scale", "research", "cpu", "3", "-n", ns});
  CHECK_MESSAGE(scaled.exit_code == 0, scaled.err);
  CHECK(scaled.out == "raydogcluster.raydog.io/research: pool cpu scaled to 3 nodes\n");
  CHECK_MESSAGE(env.eventually(
                    [&] {
                      return std::regex_search(plugin(env, {"get", "research", "-n", ns}).out,
                                               std::regex(R"(cpu\s+3\s+3\s+3\s+Healthy)"));
                    },
                    90s),
                env.operator_log());

  auto ep = plugin(env, {"endpoints", "research", "-n", ns});
  REQUIRE_MESSAGE(ep.exit_code == 0, ep.err);
  CHECK(std::regex_search(ep.out, std::regex(R"(Ray client:\s+ray://127\.\d+\.\d+\.\d+:10001)")));
  CHECK(std::regex_search(ep.out, std::regex(R"(In-cluster client:\s+ray://research-head\.plug\.svc:10001\n)")));
  CHECK(std::regex_search(ep.out, std::regex(R"(Head Service:\s+research-head\n)")));

  auto events = plugin(env, {"events", "research", "-n", ns});
  CHECK_MESSAGE(events.exit_code == 0, events.err);
  CHECK(events.out.find("PoolProvisioned") != std::string::npos);

  // Errors.
  auto missing = plugin(env, {"get", "nope", "-n", ns});
  CHECK(missing.exit_code != 0);
  CHECK(missing.err == "error: RayDogCluster \"nope\" not found in namespace \"plug\"\n");
  auto pool = plugin(env, {"scale", "research", "gpu", "1", "-n", ns});
  CHECK(pool.exit_code != 0);
  CHECK(pool.err == "error: RayDogCluster plug/research has no worker pool \"gpu\" (pools: cpu)\n");
  CHECK(plugin(env, {"scale", "research", "cpu", "-1", "-n", ns}).err.find("N must be a whole number") !=
        std::string::npos);
  CHECK(plugin(env, {"frobnicate"}).err.find("unknown command \"frobnicate\"") != std::string::npos);
  for (const char* cmd : {"get", "scale", "endpoints", "session", "events"}) {
    auto help = plugin(env, {cmd, "--help"});
    CHECK_MESSAGE(help.exit_code == 0, cmd);
    CHECK_MESSAGE(help.out.rfind(std::string("Usage: kubectl raydog ") + cmd, 0) == 0, help.out);
  }

  // An autoscaled cluster (its spec is all scale reads; it needs no credentials for that).
  env.apply("apiVersion: raydog.io/v1alpha1\nkind: RayDogCluster\nmetadata:\n  name: elastic\n  namespace: " + ns +
            "\nspec:\n  yellowdog:\n    namespace: ray\n    credentialsSecretRef:\n      name: none\n"
            "  head:\n    computeRequirementTemplate: ray/head\n  autoscaling:\n    enabled: true\n"
            "  workerPools:\n  - name: cpu\n    nodes: 1\n    maxNodes: 4\n    rayResources: {CPU: \"2\"}\n"
            "    computeRequirementTemplate: ray/cpu\n");
  auto auto_scale = plugin(env, {"scale", "elastic", "cpu", "3", "-n", ns});
  CHECK(auto_scale.exit_code != 0);
  CHECK(auto_scale.err.find("is autoscaled (spec.autoscaling.enabled)") != std::string::npos);
  // ... and it has no head yet: no session.
  auto no_ip = plugin(env, {"session", "elastic", "-n", ns});
  CHECK(no_ip.exit_code != 0);
  CHECK(no_ip.err.find("has no head public IP") != std::string::npos);
  auto no_ssh = plugin(env, {"session", "research", "-n", ns}, {{"SSH", "/nonexistent/ssh"}});
  CHECK(no_ssh.err == "error: ssh not found on PATH (install an OpenSSH client, e.g. openssh-client)\n");
}

TEST_CASE("kubectl raydog session: forwards 10001 and 8265 (and Grafana through the head) and ends on Ctrl-C") {
  Env env;
  const std::string ns = "sess";
  env.apply_prerequisites(ns);
  env.start_operator();
  env.apply(small_cluster(env, "obs", ns, 1,
                          "  observability:\n    enabled: true\n    computeRequirementTemplate: ray/obs\n"));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready(ns, "obs"); }, 90s), env.operator_log());
  auto c = env.get_cluster(ns, "obs");
  REQUIRE(c);
  const std::string public_ip = (*c)["status"]["head"].value("publicIP", "");
  const std::string obs_ip = (*c)["status"]["observability"].value("privateIP", "");
  REQUIRE(!public_ip.empty());
  REQUIRE(!obs_ip.empty());

  // A stand-in ssh: records its arguments, then waits like `ssh -N` until a signal.
  const std::string args_file = env.dir.file("ssh-args");
  const fs::path ssh = env.dir.path() / "ssh-standin";
  raydog::test::write_file(ssh.string(), "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >'" + args_file +
                                             "'\ntrap 'exit 255' INT TERM\nwhile :; do sleep 0.1; done\n");
  fs::permissions(ssh, fs::perms::owner_all);
  const std::string key = env.dir.file("id_test");
  raydog::test::write_file(key, "not a real key\n");

  ProcessOptions po = plugin_env(env);
  po.env["SSH"] = ssh.string();
  po.stdout_file = env.dir.file("session.out");
  po.stderr_file = env.dir.file("session.err");
  ChildProcess session({"kubectl", "raydog", "session", "obs", "-n", ns, "--identity", key, "--user", "ray"}, po);
  REQUIRE(env.eventually([&] { return fs::exists(args_file) && fs::file_size(args_file) > 0; }, 30s));
  const std::string args = raydog::test::read_file(args_file);
  INFO(args);
  CHECK(args.find("-N") != std::string::npos);
  CHECK(args.find("-L 10001:localhost:10001") != std::string::npos);
  CHECK(args.find("-L 8265:localhost:8265") != std::string::npos);
  CHECK(args.find("-L 3000:" + obs_ip + ":3000") != std::string::npos);
  CHECK(args.find("-i " + key) != std::string::npos);
  CHECK(args.find("-l ray " + public_ip) != std::string::npos);
  // Ctrl-C reaches the terminal's foreground group: the plugin and its ssh.
  REQUIRE(::kill(-session.pid(), SIGINT) == 0);
  auto rc = session.wait(30s);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  const std::string out = raydog::test::read_file(env.dir.file("session.out"));
  CHECK(out.find("Tunnels through ray@" + public_ip) != std::string::npos);
  CHECK(out.find("Ray client:     ray://localhost:10001") != std::string::npos);
  CHECK(out.find("Ray dashboard:  http://localhost:8265") != std::string::npos);
  CHECK(out.find("Grafana:        http://localhost:3000") != std::string::npos);
  CHECK(out.find("session closed") != std::string::npos);
}
