#include "test/e2e/scripts/operator_env.hpp"

#include <doctest/doctest.h>

#include "controller/util/base64.hpp"

namespace raydog::test::scripts {

using namespace std::chrono_literals;

OperatorEnv::OperatorEnv(ScriptEnvOptions options) : sim(std::move(options)) {
  kubeconfig = sim.dir.file("kubeconfig");
  ProcessOptions eo;
  eo.stderr_file = sim.dir.file("emulator.log");
  eo.stdout_file = sim.dir.file("emulator.out");
  emulator = std::make_unique<ChildProcess>(
      std::vector<std::string>{bin_path("kube-emulator"), "--listen", "127.0.0.1:0", "--write-kubeconfig",
                               kubeconfig, "--allow-loopback-endpoints"},
      eo);
  REQUIRE_MESSAGE(wait_for_file(kubeconfig, 30s, emulator.get()).has_value(), "kube-emulator did not start");
  auto crd = kubectl({"apply", "-f", source_path("crds/raydog.io_raydogclusters.yaml")});
  REQUIRE_MESSAGE(crd.exit_code == 0, crd.err);
  auto est = kubectl({"wait", "--for=condition=Established", "crd/raydogclusters.raydog.io", "--timeout=60s"});
  REQUIRE_MESSAGE(est.exit_code == 0, est.err);
  ProcessOptions po;
  po.stderr_file = sim.dir.file("operator.log");
  op = std::make_unique<ChildProcess>(
      std::vector<std::string>{bin_path("raydog-operator"), "--kubeconfig", kubeconfig,
                               "--health-probe-bind-address", "127.0.0.1:0", "--metrics-bind-address",
                               "127.0.0.1:0", "--requeue-converging", "200ms", "--yellowdog-retry-base", "20ms",
                               "--shutdown-grace", "5s", "--log-format", "text", "--yellowdog-allowed-urls",
                               "http://127.0.0.1:*"},
      po);
}

OperatorEnv::~OperatorEnv() {
  op.reset();
}

CommandResult OperatorEnv::kubectl(std::vector<std::string> args, const std::string& stdin_data) {
  std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig};
  for (auto& a : args) argv.push_back(a);
  ProcessOptions po;
  po.env["KUBECACHEDIR"] = sim.dir.file("kubecache");
  po.env["HOME"] = sim.dir.path().string();
  po.stdin_data = stdin_data;
  return run_command(argv, po, 120s);
}

void OperatorEnv::apply(const std::string& yaml) {
  auto r = kubectl({"apply", "-f", "-"}, yaml);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

std::optional<json> OperatorEnv::cluster(const std::string& ns, const std::string& name) {
  auto r = kubectl({"get", "rdc", name, "-n", ns, "-o", "json"});
  if (r.exit_code != 0) return std::nullopt;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

void OperatorEnv::prerequisites(const std::string& ns) {
  apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n");
  apply("apiVersion: v1\nkind: Secret\nmetadata:\n  name: yellowdog-credentials\n  namespace: " + ns +
        "\ndata:\n  keyId: " + base64_encode("k") + "\n  keySecret: " + base64_encode("s") + "\n");
}

std::string OperatorEnv::operator_log() {
  auto t = read_file(sim.dir.file("operator.log"));
  return t.size() > 6000 ? t.substr(t.size() - 6000) : t;
}

std::map<std::string, std::vector<Call>> by_task(const std::vector<Call>& calls) {
  std::map<std::string, std::vector<Call>> out;
  for (const auto& c : calls) out[c.task].push_back(c);
  return out;
}

bool has(const std::vector<Call>& calls, const std::string& what, const std::string& part) {
  for (const auto& c : calls)
    if (c.what == what && c.rest.find(part) != std::string::npos) return true;
  return false;
}

std::string rest_of(const std::vector<Call>& calls, const std::string& what, const std::string& part) {
  for (const auto& c : calls)
    if (c.what == what && c.rest.find(part) != std::string::npos) return c.rest;
  return {};
}

}  // namespace raydog::test::scripts
