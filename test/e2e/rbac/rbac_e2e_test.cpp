// The rendered manifests' RBAC covers every request the real raydog-operator makes, recorded from a run:
// `kubectl kustomize manifests` is applied to kube-emulator (which records every request with its
// User-Agent in --request-log), the operator runs with the Deployment's own arguments (leader election on)
// against it and yellowdog-sim through create -> Ready -> scale -> remove a pool -> delete -> shutdown, and
// each of its requests is mapped to RBAC attributes and checked against the ClusterRole (any namespace) and
// the leader-election Role (raydog-system only). The rules must also stay within the issue's least-privilege
// list and never use "*".
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "controller/util/base64.hpp"
#include "test/support/eventually.hpp"
#include "test/e2e/rbac/rbac_model.hpp"
#include "test/support/process.hpp"

using nlohmann::json;
using raydog::test::ChildProcess;
using raydog::test::CommandResult;
using raydog::test::ProcessOptions;
using raydog::test::TempDir;
namespace rbac = raydog::test::rbac;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSystemNs = "raydog-system";
constexpr const char* kNs = "team-rbac";
constexpr const char* kCluster = "rbac";

struct Cluster {
  TempDir dir;
  std::unique_ptr<ChildProcess> sim, emulator, op;
  std::string sim_url, kubeconfig, request_log;

  Cluster() {
    ProcessOptions so;
    so.stderr_file = dir.file("sim.log");
    so.stdout_file = dir.file("sim.out");
    sim = std::make_unique<ChildProcess>(
        std::vector<std::string>{raydog::test::bin_path("yellowdog-sim"), "--listen", "127.0.0.1:0",
                                 "--write-url", dir.file("sim.url"), "--boot-delay", "100ms",
                                 "--register-delay", "100ms", "--task-start-delay", "100ms", "--ray"},
        so);
    auto url = raydog::test::wait_for_file(dir.file("sim.url"), 30s, sim.get());
    REQUIRE_MESSAGE(url.has_value(), "yellowdog-sim did not start");
    sim_url = *url;
    while (!sim_url.empty() && std::isspace(static_cast<unsigned char>(sim_url.back()))) sim_url.pop_back();

    kubeconfig = dir.file("kubeconfig");
    request_log = dir.file("requests.jsonl");
    ProcessOptions eo;
    eo.stderr_file = dir.file("emulator.log");
    eo.stdout_file = dir.file("emulator.out");
    emulator = std::make_unique<ChildProcess>(
        std::vector<std::string>{raydog::test::bin_path("kube-emulator"), "--listen", "127.0.0.1:0", "--tls",
                                 "--write-kubeconfig", kubeconfig, "--request-log", request_log,
                                 "--allow-loopback-endpoints"},
        eo);
    REQUIRE_MESSAGE(raydog::test::wait_for_file(kubeconfig, 30s, emulator.get()).has_value(),
                    "kube-emulator did not start: " << raydog::test::read_file(dir.file("emulator.log")));
  }
  ~Cluster() {
    op.reset();  // first: it must not see the servers vanish
  }

  CommandResult kubectl(std::vector<std::string> args, const std::string& stdin_data = "") {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig};
    for (auto& a : args) argv.push_back(a);
    ProcessOptions po;
    po.env["KUBECACHEDIR"] = dir.file("kubecache");
    po.env["HOME"] = dir.path().string();
    po.stdin_data = stdin_data;
    return raydog::test::run_command(argv, po, 120s);
  }
  json get_json(std::vector<std::string> args) {
    args.insert(args.begin(), "get");
    args.insert(args.end(), {"-o", "json"});
    auto r = kubectl(args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return json::parse(r.out);
  }
  void apply(const std::string& yaml) {
    auto r = kubectl({"apply", "-f", "-"}, yaml);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err << yaml.substr(0, 400));
  }
  std::string jsonpath(const std::string& path) {
    auto r = kubectl({"get", "rdc", kCluster, "-n", kNs, "-o", "jsonpath=" + path});
    return r.exit_code == 0 ? r.out : std::string();
  }
  bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    return raydog::test::eventually(cond, timeout, 200ms);
  }
  std::string operator_log() { return raydog::test::read_file(dir.file("operator.log")); }
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

// The issue's least-privilege list: (API group, resource) -> the verbs a rule may grant.
const std::map<std::pair<std::string, std::string>, std::set<std::string>>& cluster_role_allowed() {
  static const std::map<std::pair<std::string, std::string>, std::set<std::string>> m = {
      // create and delete: a RayDogJob's ephemeral cluster (issue 24).
      {{"raydog.io", "raydogclusters"}, {"get", "list", "watch", "create", "update", "patch", "delete"}},
      {{"raydog.io", "raydogclusters/status"}, {"get", "update", "patch"}},
      {{"raydog.io", "raydogclusters/finalizers"}, {"update"}},
      // delete: ttlSecondsAfterFinished.
      {{"raydog.io", "raydogjobs"}, {"get", "list", "watch", "update", "patch", "delete"}},
      {{"raydog.io", "raydogjobs/status"}, {"get", "update", "patch"}},
      {{"raydog.io", "raydogjobs/finalizers"}, {"update"}},
      {{"", "secrets"}, {"get", "list", "watch"}},
      {{"", "configmaps"}, {"get", "list", "watch"}},
      {{"", "events"}, {"create", "patch"}},
      {{"events.k8s.io", "events"}, {"create", "patch"}},
      // The head Service (issue 22): applied (server-side apply: patch, create when absent), read back,
      // deleted.
      {{"", "services"}, {"get", "create", "patch", "delete"}},
      {{"discovery.k8s.io", "endpointslices"}, {"get", "create", "patch", "delete"}},
  };
  return m;
}
const std::map<std::pair<std::string, std::string>, std::set<std::string>>& role_allowed() {
  static const std::map<std::pair<std::string, std::string>, std::set<std::string>> m = {
      {{"coordination.k8s.io", "leases"}, {"get", "list", "watch", "create", "update", "patch", "delete"}},
      {{"", "events"}, {"create", "patch"}},
      {{"events.k8s.io", "events"}, {"create", "patch"}},
  };
  return m;
}

void check_least_privilege(
    const json& role, const std::map<std::pair<std::string, std::string>, std::set<std::string>>& allowed) {
  const std::string who = role["kind"].get<std::string>() + " " + role["metadata"]["name"].get<std::string>();
  for (const auto& rule : rbac::rules_of(role)) {
    CHECK_MESSAGE(rule.non_resource_urls.empty(), who);
    for (const auto* field : {&rule.api_groups, &rule.resources, &rule.verbs, &rule.resource_names})
      for (const auto& v : *field) CHECK_MESSAGE(v.find('*') == std::string::npos, who << ": wildcard " << v);
    for (const auto& g : rule.api_groups)
      for (const auto& r : rule.resources) {
        auto it = allowed.find({g, r});
        CHECK_MESSAGE(it != allowed.end(), who << " grants " << (g.empty() ? "core" : g) << "/" << r);
        if (it == allowed.end()) continue;
        for (const auto& v : rule.verbs)
          CHECK_MESSAGE(it->second.count(v) == 1,
                        who << " grants " << v << " on " << r << " beyond the issue's list");
      }
  }
}

// Paths every authenticated client may read (the default system:discovery / system:public-info-viewer
// ClusterRoles, bound to system:authenticated): not the operator's RBAC to grant.
bool default_non_resource(const std::string& path) {
  return path == "/version" || path == "/api" || path == "/apis" || path.rfind("/api/", 0) == 0 ||
         path.rfind("/apis/", 0) == 0 || path == "/healthz" || path == "/readyz" || path == "/livez" ||
         path.rfind("/openapi/", 0) == 0;
}

}  // namespace

TEST_CASE(
    "rbac_e2e: the rendered RBAC allows every request a recorded operator run makes, and nothing beyond "
    "the least-privilege list") {
  Cluster c;

  // 1. Render and apply, as `kubectl apply -k manifests` would.
  auto rendered = raydog::test::run_command({"kubectl", "kustomize", raydog::test::source_path("manifests")});
  REQUIRE_MESSAGE(rendered.exit_code == 0, rendered.err);
  c.apply(rendered.out);
  auto est =
      c.kubectl({"wait", "--for=condition=Established", "crd/raydogclusters.raydog.io", "--timeout=60s"});
  REQUIRE_MESSAGE(est.exit_code == 0, est.err);

  // The chain Deployment -> ServiceAccount -> bindings -> roles, as applied.
  json deploy = c.get_json({"deployment", "raydog-operator", "-n", kSystemNs});
  const auto& pod = deploy["spec"]["template"]["spec"];
  REQUIRE(pod["serviceAccountName"] == "raydog-operator");
  json crb = c.get_json({"clusterrolebinding", "raydog-operator"});
  json rb = c.get_json({"rolebinding", "raydog-operator-leader-election", "-n", kSystemNs});
  for (const json* b : {&crb, &rb}) {
    REQUIRE((*b)["subjects"].size() == 1);
    CHECK((*b)["subjects"][0]["kind"] == "ServiceAccount");
    CHECK((*b)["subjects"][0]["name"] == "raydog-operator");
    CHECK((*b)["subjects"][0]["namespace"] == kSystemNs);
  }
  REQUIRE(crb["roleRef"]["kind"] == "ClusterRole");
  REQUIRE(rb["roleRef"]["kind"] == "Role");
  json cluster_role = c.get_json({"clusterrole", crb["roleRef"]["name"].get<std::string>()});
  json role = c.get_json({"role", rb["roleRef"]["name"].get<std::string>(), "-n", kSystemNs});

  check_least_privilege(cluster_role, cluster_role_allowed());
  check_least_privilege(role, role_allowed());

  // 2. The operator with the Deployment's own arguments (ports moved to 127.0.0.1:0, text logs).
  std::vector<std::string> argv = {raydog::test::bin_path("raydog-operator"), "--kubeconfig", c.kubeconfig};
  bool leader_elect = false;
  for (const auto& a : pod["containers"][0]["args"]) {
    std::string arg = a.get<std::string>();
    if (arg.rfind("--health-probe-bind-address", 0) == 0) arg = "--health-probe-bind-address=127.0.0.1:0";
    if (arg.rfind("--metrics-bind-address", 0) == 0) arg = "--metrics-bind-address=127.0.0.1:0";
    if (arg.rfind("--log-format", 0) == 0) arg = "--log-format=text";
    leader_elect = leader_elect || arg == "--leader-elect";
    argv.push_back(arg);
  }
  REQUIRE(leader_elect);
  argv.insert(argv.end(), {"--requeue-converging=200ms", "--yellowdog-retry-base=20ms", "--shutdown-grace=5s",
                           "--yellowdog-allowed-urls=http://127.0.0.1:*"});
  ProcessOptions po;
  po.env["POD_NAMESPACE"] = kSystemNs;
  po.stderr_file = c.dir.file("operator.log");
  c.op = std::make_unique<ChildProcess>(argv, po);

  // 3. create -> Ready -> scale -> remove a pool -> delete.
  c.apply(std::string("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ") + kNs + "\n");
  c.apply(
      std::string("apiVersion: v1\nkind: Secret\nmetadata:\n  name: yellowdog-credentials\n  namespace: ") +
      kNs + "\ndata:\n  keyId: " + raydog::base64_encode("rbac-key-id") +
      "\n  keySecret: " + raydog::base64_encode("rbac-key-secret") + "\n");
  c.apply(std::string("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ray-node-setup\n  namespace: ") +
          kNs + "\ndata:\n  userdata.sh: |\n    #!/bin/bash\n    echo setup\n");
  c.apply(std::string("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ray-gpu-scripts\n  namespace: ") +
          kNs +
          "\ndata:\n  worker.sh: |\n    #!/bin/bash\n    ray start --address=$RAY_HEAD_IP:6379 --block\n");
  std::string sample =
      raydog::test::read_file(raydog::test::source_path("manifests/samples/heterogeneous.yaml"));
  sample = replace_all(sample, "https://api.yellowdog.ai", c.sim_url);
  sample = replace_all(sample, "name: research", std::string("name: ") + kCluster);
  sample = replace_all(sample, "namespace: team-a", std::string("namespace: ") + kNs);
  c.apply(sample);

  auto ready_with = [&](const std::string& workers) {
    return c.jsonpath("{.status.conditions[?(@.type==\"Ready\")].status}") == "True" &&
           c.jsonpath("{.status.desiredWorkers}") == workers &&
           c.jsonpath("{.status.readyWorkers}") == workers;
  };
  REQUIRE_MESSAGE(c.eventually([&] { return ready_with("10"); }, 180s), c.operator_log());
  auto scaled = c.kubectl({"patch", "rdc", kCluster, "-n", kNs, "--type=json", "-p",
                           R"([{"op":"replace","path":"/spec/workerPools/0/nodes","value":4}])"});
  REQUIRE_MESSAGE(scaled.exit_code == 0, scaled.err);
  REQUIRE_MESSAGE(c.eventually([&] { return ready_with("6"); }, 120s), c.operator_log());
  auto removed = c.kubectl({"patch", "rdc", kCluster, "-n", kNs, "--type=json", "-p",
                            R"([{"op":"remove","path":"/spec/workerPools/1"}])"});
  REQUIRE_MESSAGE(removed.exit_code == 0, removed.err);
  REQUIRE_MESSAGE(c.eventually([&] { return ready_with("4"); }, 120s), c.operator_log());
  auto deleted = c.kubectl({"delete", "rdc", kCluster, "-n", kNs, "--timeout=120s"});
  REQUIRE_MESSAGE(deleted.exit_code == 0, deleted.err << c.operator_log());
  // Graceful shutdown: the operator releases its Lease on the way out.
  const int exit_code = c.op->terminate(std::chrono::seconds(20));
  CHECK_MESSAGE(exit_code == 0, c.operator_log());
  c.op.reset();

  // 4. The operator's requests (by User-Agent; kubectl's are the test's own), mapped to RBAC attributes.
  std::map<std::string, rbac::Attributes> requests;  // key -> attributes (one per distinct check)
  std::set<std::string> non_resource;
  bool finalizer_write = false;
  std::istringstream in(raydog::test::read_file(c.request_log));
  std::size_t operator_requests = 0;
  for (std::string line; std::getline(in, line);) {
    json r = json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(!r.is_discarded(), line);
    if (r.value("userAgent", "").rfind("raydog-operator/", 0) != 0) continue;
    ++operator_requests;
    auto a = rbac::attributes_of(r.value("method", ""), r.value("target", ""));
    if (!a.resource_request) {
      non_resource.insert(a.path);
      continue;
    }
    // Writing metadata.finalizers through the main resource: controller-gen's convention (and the
    // OwnerReferencesPermissionEnforcement admission plugin) also wants update on <resource>/finalizers.
    if (r.value("finalizers", false) && a.subresource.empty() && (a.verb == "update" || a.verb == "patch") &&
        (a.resource == "raydogclusters" || a.resource == "raydogjobs")) {
      finalizer_write = true;
      rbac::Attributes f = a;
      f.verb = "update";
      f.subresource = "finalizers";
      requests.emplace(f.key(), f);
    }
    requests.emplace(a.key(), a);
  }
  REQUIRE_MESSAGE(operator_requests > 0, "no request with the operator's User-Agent was recorded");
  std::string recorded;
  for (const auto& [k, a] : requests) recorded += "  " + k + "\n";
  MESSAGE("the operator's requests, as RBAC checks:\n" << recorded);
  // The run must have exercised what the rules exist for (else the recording proves little).
  for (const char* must :
       {"watch raydog.io/raydogclusters (cluster-wide)", "list raydog.io/raydogclusters (cluster-wide)",
        "watch raydog.io/raydogjobs (cluster-wide)", "list raydog.io/raydogjobs (cluster-wide)",
        "watch core/configmaps (cluster-wide)", "list core/configmaps (cluster-wide)",
        "create coordination.k8s.io/leases in raydog-system"})
    CHECK_MESSAGE(requests.count(must) == 1, must << "\nrecorded:\n" << recorded);
  CHECK(finalizer_write);
  bool status_write = false, event_write = false, secret_read = false;
  for (const auto& [k, a] : requests) {
    status_write = status_write || (a.subresource == "status" && (a.verb == "update" || a.verb == "patch"));
    event_write = event_write || (a.resource == "events" && a.verb == "create");
    secret_read = secret_read || a.resource == "secrets";
  }
  CHECK(status_write);
  CHECK(event_write);
  CHECK(secret_read);

  // 5. Each one allowed: the ClusterRole anywhere, the Role only in its namespace.
  const auto cluster_rules = rbac::rules_of(cluster_role);
  const auto role_rules = rbac::rules_of(role);
  const std::string role_ns = role["metadata"]["namespace"].get<std::string>();
  std::string denied;
  for (const auto& [k, a] : requests) {
    bool ok = false;
    for (const auto& r : cluster_rules) ok = ok || rbac::allows(r, a);
    if (a.ns == role_ns)
      for (const auto& r : role_rules) ok = ok || rbac::allows(r, a);
    if (!ok) denied += "  " + k + (a.name.empty() ? "" : " (name " + a.name + ")") + "\n";
  }
  CHECK_MESSAGE(denied.empty(), "requests the rendered RBAC does not allow:\n" << denied);
  for (const auto& p : non_resource) CHECK_MESSAGE(default_non_resource(p), "non-resource URL " << p);

  // 6. Grants no recorded request used (informational: some verbs serve paths a short run may not take).
  std::string unused;
  for (const auto* rules : {&cluster_rules, &role_rules})
    for (const auto& r : *rules)
      for (const auto& g : r.api_groups)
        for (const auto& res : r.resources)
          for (const auto& v : r.verbs) {
            bool used = false;
            for (const auto& [k, a] : requests) {
              const std::string ar = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
              used = used || (a.group == g && ar == res && a.verb == v);
            }
            if (!used) unused += "  " + v + " " + (g.empty() ? "core" : g) + "/" + res + "\n";
          }
  MESSAGE("granted but not used in this run:\n" << unused);
}
