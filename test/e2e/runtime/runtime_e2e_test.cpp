// Issue 5's "Done when", end to end: the real raydog-operator binary against kube-emulator (plain and TLS
// with a bearer token) syncs the RayDogCluster informer, holds the Lease, serves /healthz, /readyz and
// /metrics with controller-runtime's names, releases the Lease on SIGTERM (exit 0), exits 1 when it loses
// the Lease, and of two processes exactly one leads; SIGKILL the leader and the other takes over.
// Everything is driven through the binary's flags, its JSON log lines, kubectl and curl.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test/support/eventually.hpp"
#include "test/support/process.hpp"

using nlohmann::json;
using raydog::test::bin_path;
using raydog::test::ChildProcess;
using raydog::test::CommandResult;
using raydog::test::ProcessOptions;
using raydog::test::read_file;
using raydog::test::run_command;
using raydog::test::source_path;
using raydog::test::TempDir;
using raydog::test::wait_for_file;
using namespace std::chrono_literals;

namespace {

const std::string kLeaseNamespace = "raydog-system";
const std::string kLeaseName = "raydog-operator-leader";

// Polls `cond` every 50 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  return raydog::test::eventually(cond, timeout, 50ms);
}

struct HttpReply {
  int code = 0;  // 0: no answer
  std::string body;
};

HttpReply http_get(const std::string& url) {
  auto r = run_command({"curl", "-sS", "-m", "10", "-w", "\n%{http_code}", url}, {}, 20s);
  HttpReply reply;
  const auto nl = r.out.rfind('\n');
  if (r.exit_code != 0 || nl == std::string::npos) return reply;
  reply.body = r.out.substr(0, nl);
  reply.code = std::atoi(r.out.c_str() + nl + 1);
  return reply;
}

// kube-emulator on 127.0.0.1:0; kubectl pointed at it with its own cache and HOME.
struct Cluster {
  explicit Cluster(std::vector<std::string> extra = {}) {
    kubeconfig = dir.file("kubeconfig");
    std::vector<std::string> argv = {bin_path("kube-emulator"), "--listen", "127.0.0.1:0",
                                     "--write-kubeconfig", kubeconfig};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ProcessOptions po;
    po.stdout_file = dir.file("emulator.out");
    po.stderr_file = dir.file("emulator.err");
    emulator = std::make_unique<ChildProcess>(argv, po);
    REQUIRE_MESSAGE(wait_for_file(kubeconfig, 60s, emulator.get()).has_value(),
                    "kube-emulator did not start: " << read_file(dir.file("emulator.err")));
    // The namespace of the Lease (kubectl create uses protobuf, which the emulator refuses: apply instead).
    auto ns = kubectl({"apply", "-f", "-"},
                      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + kLeaseNamespace + "\n");
    REQUIRE_MESSAGE(ns.exit_code == 0, ns.err);
  }
  ~Cluster() { emulator.reset(); }

  CommandResult kubectl(std::vector<std::string> args, const std::string& stdin_data = "") {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions po;
    po.env["KUBECACHEDIR"] = dir.file("kubecache");
    po.env["HOME"] = dir.path().string();
    po.stdin_data = stdin_data;
    return run_command(argv, po, 120s);
  }
  void apply_crd() {
    auto r = kubectl({"apply", "-f", source_path("crds/raydog.io_raydogclusters.yaml")});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  // The Lease's spec, null when it does not exist.
  json lease_spec() {
    auto r = kubectl({"get", "lease", kLeaseName, "-n", kLeaseNamespace, "-o", "json"});
    if (r.exit_code != 0) return nullptr;
    auto j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j.value("spec", json::object());
  }
  std::string lease_holder() {
    auto spec = lease_spec();
    return spec.is_object() ? spec.value("holderIdentity", std::string()) : std::string();
  }

  TempDir dir;
  std::string kubeconfig;
  std::unique_ptr<ChildProcess> emulator;
};

// The real raydog-operator binary with leader election, probes and metrics on free loopback ports (it
// logs the URLs it bound: "serving health probes" / "serving metrics").
struct Operator {
  Operator(Cluster& cluster, const std::string& name, std::vector<std::string> extra = {})
      : log_file(cluster.dir.file(name + ".log")) {
    std::vector<std::string> argv = {bin_path("raydog-operator"),
                                     "--kubeconfig",
                                     cluster.kubeconfig,
                                     "--leader-elect",
                                     "--leader-election-namespace",
                                     kLeaseNamespace,
                                     "--health-probe-bind-address",
                                     "127.0.0.1:0",
                                     "--metrics-bind-address",
                                     "127.0.0.1:0",
                                     "--shutdown-grace",
                                     "5s",
                                     "--yellowdog-allowed-urls",
                                     "http://127.0.0.1:*"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ProcessOptions po;
    po.stderr_file = log_file;
    po.stdout_file = cluster.dir.file(name + ".out");
    process = std::make_unique<ChildProcess>(argv, po);
    // The URLs are logged before the election starts, the identity right after: wait for both.
    REQUIRE_MESSAGE(
        eventually([&] { return !field("waiting for leadership", "identity").empty() || !running(); }, 60s),
        log());
    REQUIRE_MESSAGE(running(), log());
    metrics_url = field("serving metrics", "address");
    health_url = field("serving health probes", "address");
    identity = field("waiting for leadership", "identity");
    REQUIRE_FALSE(health_url.empty());
    REQUIRE_FALSE(identity.empty());
  }

  std::string log() const { return read_file(log_file); }
  // The JSON log lines (the default --log-format).
  std::vector<json> lines() const {
    std::vector<json> out;
    std::istringstream in(log());
    for (std::string line; std::getline(in, line);) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_object()) out.push_back(std::move(j));
    }
    return out;
  }
  bool logged(const std::string& msg) const {
    for (const auto& l : lines())
      if (l.value("msg", "") == msg) return true;
    return false;
  }
  // A field of the first line with message `msg` (empty when there is none yet).
  std::string field(const std::string& msg, const std::string& key) const {
    for (const auto& l : lines())
      if (l.value("msg", "") == msg && l.contains(key) && l[key].is_string())
        return l[key].get<std::string>();
    return "";
  }
  bool running() { return process && process->running(); }
  std::string metrics() { return http_get(metrics_url + "/metrics").body; }
  // leader_election_master_status of this process: 1 leader, 0 standby, -1 unreadable.
  int master_status() {
    const std::string series = "leader_election_master_status{name=\"" + kLeaseName + "\"} ";
    const std::string text = metrics();
    const auto at = text.find(series);
    if (at == std::string::npos) return -1;
    return std::atoi(text.c_str() + at + series.size());
  }

  // The operator's GET requests so far (all hosts and codes), from rest_client_requests_total.
  double rest_gets() {
    double total = 0;
    std::istringstream in(metrics());
    for (std::string line; std::getline(in, line);)
      if (line.rfind("rest_client_requests_total{", 0) == 0 &&
          line.find("method=\"GET\"") != std::string::npos)
        total += std::atof(line.c_str() + line.rfind(' ') + 1);
    return total;
  }

  std::string log_file;
  std::unique_ptr<ChildProcess> process;
  std::string metrics_url, health_url, identity;
};

// Every metric the issue names, plus the REST client, process and operator series; each must appear as a
// sample (histograms through their _count).
const std::vector<std::string> kExpectedSamples = {
    "controller_runtime_reconcile_total{controller=\"raydogcluster\",result=\"success\"}",
    "controller_runtime_reconcile_total{controller=\"raydogcluster\",result=\"error\"}",
    "controller_runtime_reconcile_total{controller=\"raydogcluster\",result=\"requeue\"}",
    "controller_runtime_reconcile_total{controller=\"raydogcluster\",result=\"requeue_after\"}",
    "controller_runtime_reconcile_errors_total{controller=\"raydogcluster\"}",
    "controller_runtime_reconcile_time_seconds_count{controller=\"raydogcluster\"}",
    "controller_runtime_reconcile_time_seconds_bucket{controller=\"raydogcluster\",le=\"0.005\"}",
    "controller_runtime_max_concurrent_reconciles{controller=\"raydogcluster\"} 4",
    "controller_runtime_active_workers{controller=\"raydogcluster\"}",
    "workqueue_depth{controller=\"raydogcluster\",name=\"raydogcluster\"",
    "workqueue_adds_total{controller=\"raydogcluster\",name=\"raydogcluster\"}",
    "workqueue_queue_duration_seconds_count{controller=\"raydogcluster\",name=\"raydogcluster\"}",
    "workqueue_work_duration_seconds_count{controller=\"raydogcluster\",name=\"raydogcluster\"}",
    "workqueue_retries_total{controller=\"raydogcluster\",name=\"raydogcluster\"}",
    "workqueue_unfinished_work_seconds{controller=\"raydogcluster\",name=\"raydogcluster\"}",
    "workqueue_longest_running_processor_seconds{controller=\"raydogcluster\",name=\"raydogcluster\"}",
    "leader_election_master_status{name=\"raydog-operator-leader\"} 1",
    "rest_client_requests_total{code=\"200\",host=\"127.0.0.1:",
    "rest_client_request_duration_seconds_count{host=\"127.0.0.1:",
    "rest_client_rate_limiter_duration_seconds_count{host=\"127.0.0.1:",  // --kube-api-qps (default on)
    "process_cpu_seconds_total ",
    "process_resident_memory_bytes ",
    "process_virtual_memory_bytes ",
    "process_start_time_seconds ",
    "process_open_fds ",
    "process_max_fds ",
    "raydog_reconcile_time_seconds_bucket{controller=\"raydogcluster\",kind=\"noop\",le=\"0.001\"}",
    "raydog_reconcile_time_seconds_count{controller=\"raydogcluster\",kind=\"acting\"}",
    "raydog_yellowdog_calls_total{controller=\"raydogcluster\"}",
};

// A RayDogCluster whose credentials Secret does not exist. Its apiURL is a closed loopback port, so even a
// wrong turn could not leave the machine.
const std::string kClusterWithoutSecret = R"(apiVersion: raydog.io/v1alpha1
kind: RayDogCluster
metadata:
  name: no-secret
  namespace: default
spec:
  yellowdog:
    apiURL: http://127.0.0.1:1
    namespace: ray
    credentialsSecretRef:
      name: missing-credentials
  head:
    computeRequirementTemplate: ray/ray-head-small
  workerPools:
    - name: cpu
      nodes: 2
      computeRequirementTemplate: ray/ray-worker-small
)";

std::optional<json> condition(Cluster& cluster, const std::string& type) {
  auto r = cluster.kubectl({"get", "rdc", "no-secret", "-n", "default", "-o", "json"});
  if (r.exit_code != 0) return std::nullopt;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("status")) return std::nullopt;
  for (const auto& c : j["status"].value("conditions", json::array()))
    if (c.value("type", "") == type) return c;
  return std::nullopt;
}

// The whole "Done when" against one emulator: readiness follows the informer, the Lease, probes, every
// metric, a RayDogCluster without credentials (a condition, no crash), SIGTERM releasing the Lease.
void lifecycle(Cluster& cluster) {
  // Started before the CRD exists: alive but not ready until the informer could list RayDogClusters.
  Operator op(cluster, "operator");
  CHECK(http_get(op.health_url + "/healthz").code == 200);
  auto not_ready = http_get(op.health_url + "/readyz?verbose");
  CHECK(not_ready.code == 500);
  CHECK_MESSAGE(not_ready.body.find("[-]informer-sync failed") != std::string::npos, not_ready.body);
  cluster.apply_crd();
  // Ready once the RayDogCluster informer listed (the ConfigMap watch may have synced and said so before).
  REQUIRE_MESSAGE(eventually([&] { return http_get(op.health_url + "/readyz").code == 200; }, 60s), op.log());
  CHECK(op.logged("cache synced"));
  CHECK(http_get(op.health_url + "/readyz/informer-sync").code == 200);
  CHECK(http_get(op.health_url + "/healthz").code == 200);

  // It holds the Lease: kubectl shows it, and so does its own gauge.
  REQUIRE_MESSAGE(eventually([&] { return cluster.lease_holder() == op.identity; }, 30s), op.log());
  auto table = cluster.kubectl({"get", "lease", "-n", kLeaseNamespace});
  CHECK(table.exit_code == 0);
  CHECK_MESSAGE(table.out.find(op.identity) != std::string::npos, table.out);
  CHECK(eventually([&] { return op.master_status() == 1; }, 30s));

  // A cluster whose Secret is missing: a condition says so; the operator carries on.
  auto applied = cluster.kubectl({"apply", "-f", "-"}, kClusterWithoutSecret);
  REQUIRE_MESSAGE(applied.exit_code == 0, applied.err);
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        auto synced = condition(cluster, "Synced");
                        return synced && synced->value("reason", "") == "CredentialsNotFound";
                      },
                      60s),
                  op.log());
  auto synced = condition(cluster, "Synced");
  CHECK(synced->value("status", "") == "False");
  CHECK(synced->value("message", "").find("missing-credentials") != std::string::npos);
  CHECK(op.running());

  // Every metric, with controller-runtime's labels; the reconcile was counted.
  std::string text;
  REQUIRE(eventually(
      [&] {
        text = op.metrics();
        return text.find("workqueue_adds_total{controller=\"raydogcluster\",name=\"raydogcluster\"} 0") ==
                   std::string::npos &&
               text.find("controller_runtime_reconcile_time_seconds_count{controller=\"raydogcluster\"} 0") ==
                   std::string::npos;
      },
      30s));
  for (const auto& sample : kExpectedSamples) CHECK_MESSAGE(text.find(sample) != std::string::npos, sample);
  CHECK(text.find("# TYPE controller_runtime_reconcile_time_seconds histogram") != std::string::npos);
  CHECK(text.find("# TYPE raydog_reconcile_time_seconds histogram") != std::string::npos);
  CHECK(text.find("# TYPE workqueue_queue_duration_seconds histogram") != std::string::npos);

  // SIGTERM: exit 0, the Lease released (no holder, so a successor need not wait).
  REQUIRE(kill(op.process->pid(), SIGTERM) == 0);
  auto status = op.process->wait(30s);
  REQUIRE_MESSAGE(status.has_value(), op.log());
  CHECK_MESSAGE(*status == 0, op.log());
  CHECK(op.logged("released lease"));
  auto spec = cluster.lease_spec();
  REQUIRE(spec.is_object());
  CHECK(spec.value("holderIdentity", std::string("?")) == "");
  CHECK(spec.value("leaseDurationSeconds", 0) == 1);
}

}  // namespace

TEST_CASE("runtime e2e plain: informer synced, Lease held, probes, metrics, SIGTERM releases the Lease") {
  Cluster cluster;
  lifecycle(cluster);
}

TEST_CASE("runtime e2e tls: the same over verified TLS with a bearer token, which is never logged") {
  const std::string token = "runtime-e2e-secret-token";
  Cluster cluster({"--tls", "--token", token});
  CHECK(read_file(cluster.kubeconfig).find("https://127.0.0.1:") != std::string::npos);
  lifecycle(cluster);
  CHECK(read_file(cluster.dir.file("operator.log")).find(token) == std::string::npos);
}

namespace {

// Waits until one of the two holds the Lease; returns (leader, standby).
std::pair<Operator&, Operator&> leader_and_standby(Cluster& cluster, Operator& a, Operator& b,
                                                   std::chrono::milliseconds timeout) {
  std::string holder;
  REQUIRE(eventually(
      [&] {
        holder = cluster.lease_holder();
        return holder == a.identity || holder == b.identity;
      },
      timeout));
  if (holder == a.identity) return {a, b};
  return {b, a};
}

}  // namespace

TEST_CASE("runtime e2e leader election: two operators, one leader, SIGKILL it and the other takes over") {
  Cluster cluster;
  cluster.apply_crd();
  const std::vector<std::string> fast = {"--leader-election-lease-duration", "3s",
                                         "--leader-election-renew-deadline", "2s",
                                         "--leader-election-retry-period",   "500ms"};
  Operator a(cluster, "operator-a", fast);
  Operator b(cluster, "operator-b", fast);
  REQUIRE(a.identity != b.identity);
  auto [leader, standby] = leader_and_standby(cluster, a, b, 30s);
  REQUIRE(eventually([&] { return leader.master_status() == 1; }, 30s));
  // Several retry periods later there is still exactly one leader, and the standby stays ready.
  std::this_thread::sleep_for(1500ms);
  CHECK(cluster.lease_holder() == leader.identity);
  CHECK(leader.master_status() == 1);
  CHECK(standby.master_status() == 0);
  CHECK(standby.logged("cache synced"));
  CHECK_FALSE(standby.logged("Starting workers"));
  CHECK(standby.field("observed a new leader", "holder") == leader.identity);
  CHECK(http_get(standby.health_url + "/readyz").code == 200);

  // A crash: no release. The standby takes over once the lease expires (3 s by its own clock).
  const auto killed = std::chrono::steady_clock::now();
  leader.process->kill9();
  REQUIRE_MESSAGE(eventually([&] { return cluster.lease_holder() == standby.identity; }, 30s), standby.log());
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  MESSAGE("standby took over " << took << " s after the leader was killed (lease duration 3 s)");
  CHECK(eventually([&] { return standby.master_status() == 1; }, 30s));
  CHECK(eventually([&] { return standby.logged("Starting workers"); }, 30s));
  CHECK(standby.running());
}

TEST_CASE("runtime e2e lost leadership: the leader whose Lease is taken exits 1 at once") {
  Cluster cluster;
  cluster.apply_crd();
  Operator op(cluster, "operator",
              {"--leader-election-lease-duration", "3s", "--leader-election-renew-deadline", "2s",
               "--leader-election-retry-period", "500ms"});
  REQUIRE_MESSAGE(eventually([&] { return cluster.lease_holder() == op.identity; }, 30s), op.log());
  REQUIRE(eventually([&] { return op.logged("Starting workers"); }, 30s));
  // Someone else writes itself into the Lease (as a partitioned leader would find on return): renewals
  // now fail, and within the renew deadline the operator stops and exits 1.
  auto stolen = cluster.kubectl({"patch", "lease", kLeaseName, "-n", kLeaseNamespace, "--type", "merge", "-p",
                                 R"({"spec":{"holderIdentity":"someone-else","leaseDurationSeconds":60}})"});
  REQUIRE_MESSAGE(stolen.exit_code == 0, stolen.err);
  auto status = op.process->wait(30s);
  REQUIRE_MESSAGE(status.has_value(), op.log());
  CHECK_MESSAGE(*status == 1, op.log());
  CHECK(op.logged("leader election lost: exiting"));
  CHECK(cluster.lease_holder() == "someone-else");
}

TEST_CASE("runtime e2e: watches dropped every second, the operator still sees new objects, SIGINT exits 0") {
  Cluster cluster({"--drop-watches-every", "1s", "--history", "10"});
  cluster.apply_crd();
  // Lease renewals every 30 s, so the GETs counted below are the informer's re-watches and relists.
  Operator op(cluster, "operator",
              {"--leader-election-lease-duration", "60s", "--leader-election-renew-deadline", "45s",
               "--leader-election-retry-period", "30s"});
  REQUIRE_MESSAGE(eventually([&] { return op.logged("Starting workers"); }, 60s), op.log());
  // Several watch generations later (each re-watch or relist is one more GET), a new object is seen.
  const double gets = op.rest_gets();
  REQUIRE_MESSAGE(eventually([&] { return op.rest_gets() >= gets + 3; }, 20s), op.metrics());
  auto applied = cluster.kubectl({"apply", "-f", "-"}, kClusterWithoutSecret);
  REQUIRE_MESSAGE(applied.exit_code == 0, applied.err);
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        auto synced = condition(cluster, "Synced");
                        return synced && synced->value("reason", "") == "CredentialsNotFound";
                      },
                      60s),
                  op.log());
  CHECK(http_get(op.health_url + "/readyz").code == 200);
  REQUIRE(kill(op.process->pid(), SIGINT) == 0);
  auto status = op.process->wait(30s);
  REQUIRE_MESSAGE(status.has_value(), op.log());
  CHECK_MESSAGE(*status == 0, op.log());
  CHECK(op.field("shutting down", "reason") == "SIGINT");
  CHECK(cluster.lease_holder().empty());
}

namespace {

// A yellowdog-sim child process answering every request after `latency`, so a reconcile stays in flight
// long enough to send a signal into it.
struct SlowYellowDog {
  SlowYellowDog(Cluster& cluster, const std::string& latency) {
    const std::string url_file = cluster.dir.file("sim.url");
    ProcessOptions po;
    po.stderr_file = cluster.dir.file("sim.log");
    sim = std::make_unique<ChildProcess>(
        std::vector<std::string>{bin_path("yellowdog-sim"), "--listen", "127.0.0.1:0", "--write-url",
                                 url_file, "--key-id", "runtime-key-id", "--key-secret", "runtime-key-secret",
                                 "--latency", latency, "--ray"},
        po);
    auto written = wait_for_file(url_file, 60s, sim.get());
    REQUIRE_MESSAGE(written.has_value(), "yellowdog-sim did not start");
    url = *written;
    while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
    // Its credentials Secret (keys base64: runtime-key-id / runtime-key-secret) and a cluster pointed at it.
    auto secret = cluster.kubectl({"apply", "-f", "-"}, R"(apiVersion: v1
kind: Secret
metadata:
  name: yellowdog-credentials
  namespace: default
data:
  keyId: cnVudGltZS1rZXktaWQ=
  keySecret: cnVudGltZS1rZXktc2VjcmV0
)");
    REQUIRE_MESSAGE(secret.exit_code == 0, secret.err);
  }
  std::string cluster_yaml() const {
    return R"(apiVersion: raydog.io/v1alpha1
kind: RayDogCluster
metadata:
  name: slow
  namespace: default
spec:
  yellowdog:
    apiURL: )" +
           url + R"(
    namespace: ray
    credentialsSecretRef:
      name: yellowdog-credentials
  head:
    computeRequirementTemplate: ray/ray-head-small
  workerPools:
    - name: cpu
      nodes: 1
      computeRequirementTemplate: ray/ray-worker-small
)";
  }
  std::unique_ptr<ChildProcess> sim;
  std::string url;
};

// SIGTERM while a reconcile waits on a slow YellowDog; returns the operator's exit status.
int sigterm_during_reconcile(Cluster& cluster, Operator& op, SlowYellowDog& yd) {
  REQUIRE_MESSAGE(eventually([&] { return op.logged("Starting workers"); }, 60s), op.log());
  auto applied = cluster.kubectl({"apply", "-f", "-"}, yd.cluster_yaml());
  REQUIRE_MESSAGE(applied.exit_code == 0, applied.err);
  REQUIRE_MESSAGE(
      eventually(
          [&] {
            return op.metrics().find("controller_runtime_active_workers{controller=\"raydogcluster\"} 1") !=
                   std::string::npos;
          },
          30s),
      op.log());
  REQUIRE(kill(op.process->pid(), SIGTERM) == 0);
  auto status = op.process->wait(60s);
  REQUIRE_MESSAGE(status.has_value(), op.log());
  return *status;
}

}  // namespace

TEST_CASE("runtime e2e shutdown: SIGTERM lets the in-flight reconcile finish within --shutdown-grace") {
  Cluster cluster;
  cluster.apply_crd();
  SlowYellowDog yd(cluster, "300ms");
  Operator op(cluster, "operator", {"--shutdown-grace", "60s"});
  const int status = sigterm_during_reconcile(cluster, op, yd);
  CHECK_MESSAGE(status == 0, op.log());
  CHECK(op.logged("All workers finished"));
  CHECK_FALSE(op.logged("shutdown grace expired with reconciles in flight"));
  CHECK(op.logged("released lease"));
  CHECK(cluster.lease_holder().empty());
}

TEST_CASE(
    "runtime e2e shutdown: a reconcile outliving --shutdown-grace is abandoned, still exit 0 and release") {
  Cluster cluster;
  cluster.apply_crd();
  SlowYellowDog yd(cluster, "5s");
  Operator op(cluster, "operator", {"--shutdown-grace", "200ms"});
  const int status = sigterm_during_reconcile(cluster, op, yd);
  CHECK_MESSAGE(status == 0, op.log());
  CHECK(op.logged("shutdown grace expired with reconciles in flight"));
  CHECK(op.logged("released lease"));
  CHECK(cluster.lease_holder().empty());
}

namespace {

// What the simulator holds of RayDogCluster default/<name> ("rdc-default-<name>..." names): every WR and
// pool ever created (finished ones too, so a duplicate shows), and the tasks of those WRs.
struct Built {
  int work_requirements = 0, live_work_requirements = 0, pools = 0, live_pools = 0, tasks = 0,
      executing_tasks = 0;
};
Built built(const json& objects, const std::string& name) {
  Built b;
  const std::string prefix = "rdc-default-" + name + "-";
  auto ours = [&](const json& o) { return o.value("name", "").rfind(prefix, 0) == 0; };
  std::vector<std::string> groups;
  for (const auto& wr : objects.value("workRequirements", json::array()))
    if (ours(wr)) {
      ++b.work_requirements;
      const std::string s = wr.value("status", "");
      b.live_work_requirements += s != "COMPLETED" && s != "CANCELLED" && s != "FAILED";
      for (const auto& g : wr.value("taskGroups", json::array())) groups.push_back(g.value("id", ""));
    }
  for (const auto& p : objects.value("workerPools", json::array()))
    if (ours(p)) {
      ++b.pools;
      const std::string s = p.value("status", "");
      b.live_pools += s != "SHUTDOWN" && s != "TERMINATED";
    }
  for (const auto& t : objects.value("tasks", json::array()))
    if (std::find(groups.begin(), groups.end(), t.value("taskGroupId", "")) != groups.end()) {
      ++b.tasks;
      b.executing_tasks += t.value("status", "") == "EXECUTING";
    }
  return b;
}

}  // namespace

TEST_CASE(
    "runtime e2e failover: the leader is killed while clusters are built, the standby leads within 20 s with "
    "the default timings, every cluster converges with exactly its objects and deletion leaves nothing") {
  Cluster cluster;
  cluster.apply_crd();
  SlowYellowDog yd(cluster, "20ms");  // every YellowDog call in flight for a while: work is cut mid-way
  // The default Lease timings (15 s lease, 10 s renew deadline, 2 s retry period, with jitter).
  Operator a(cluster, "operator-a", {"--requeue-converging", "500ms"});
  Operator b(cluster, "operator-b", {"--requeue-converging", "500ms"});
  auto [leader, standby] = leader_and_standby(cluster, a, b, 60s);
  REQUIRE_MESSAGE(eventually([&] { return leader.logged("Starting workers"); }, 60s), leader.log());

  const int kClusters = 8;
  std::string manifests;
  for (int i = 0; i < kClusters; ++i) {
    std::string y = yd.cluster_yaml();
    y.replace(y.find("name: slow"), 10, "name: c" + std::to_string(i));
    y.replace(y.find("nodes: 1"), 8, "nodes: 2");
    manifests += "---\n" + y;
  }
  auto applied = cluster.kubectl({"apply", "-f", "-"}, manifests);
  REQUIRE_MESSAGE(applied.exit_code == 0, applied.err);
  // Kill the leader once YellowDog work has started but before the clusters are built.
  REQUIRE_MESSAGE(
      eventually(
          [&] {
            const json objects = json::parse(http_get(yd.url + "/_sim/objects").body, nullptr, false);
            return objects.is_object() && !objects.value("workRequirements", json::array()).empty();
          },
          60s),
      leader.log());
  const auto killed = std::chrono::steady_clock::now();
  leader.process->kill9();
  // Nobody leads now: the clusters' state is what the killed leader left, and it is not finished.
  auto left = cluster.kubectl(
      {"get", "rdc", "-n", "default", "-o",
       "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\" \"}{end}"});
  REQUIRE_MESSAGE(left.exit_code == 0, left.err);
  int ready_at_kill = 0;
  for (std::size_t pos = left.out.find("True"); pos != std::string::npos;
       pos = left.out.find("True", pos + 1))
    ++ready_at_kill;
  MESSAGE(ready_at_kill << " of " << kClusters << " clusters Ready when the leader was killed");
  CHECK(ready_at_kill < kClusters);
  REQUIRE_MESSAGE(eventually([&] { return cluster.lease_holder() == standby.identity; }, 60s), standby.log());
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  MESSAGE("standby holds the Lease " << took << " s after the leader was killed (default timings)");
  CHECK(took <= 20.0);

  auto ready =
      cluster.kubectl({"wait", "--for=condition=Ready", "rdc", "--all", "-n", "default", "--timeout=180s"});
  REQUIRE_MESSAGE(ready.exit_code == 0, ready.err << ready.out << standby.log());
  const json objects = json::parse(http_get(yd.url + "/_sim/objects").body, nullptr, false);
  REQUIRE(objects.is_object());
  for (int i = 0; i < kClusters; ++i) {
    const Built got = built(objects, "c" + std::to_string(i));
    CAPTURE(i);
    CHECK(got.work_requirements == 1);  // exactly what the spec asks for: no duplicate after the takeover
    CHECK(got.pools == 2);              // head and cpu
    CHECK(got.live_pools == 2);
    CHECK(got.tasks == 3);  // the head and two workers, none twice
    CHECK(got.executing_tasks == 3);
  }

  auto del = cluster.kubectl({"delete", "rdc", "--all", "-n", "default", "--timeout=180s"});
  REQUIRE_MESSAGE(del.exit_code == 0, del.err << standby.log());
  const json after = json::parse(http_get(yd.url + "/_sim/objects").body, nullptr, false);
  REQUIRE(after.is_object());
  for (int i = 0; i < kClusters; ++i) {
    const Built got = built(after, "c" + std::to_string(i));
    CAPTURE(i);
    CHECK(got.live_work_requirements == 0);
    CHECK(got.live_pools == 0);
    CHECK(got.executing_tasks == 0);
  }
}
