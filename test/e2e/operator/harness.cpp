#include "test/e2e/operator/harness.hpp"

#include "test/support/eventually.hpp"

#include <doctest/doctest.h>

#include <set>
#include <sstream>
#include <thread>

#include "controller/util/base64.hpp"

namespace raydog::test::op {

Env::Env(SimOptions sim) {
  const std::string url_file = dir.file("sim.url");
  std::vector<std::string> sim_argv = {bin_path("yellowdog-sim"),
                                       "--listen",
                                       "127.0.0.1:0",
                                       "--write-url",
                                       url_file,
                                       "--boot-delay",
                                       "100ms",
                                       "--register-delay",
                                       "100ms",
                                       "--task-start-delay",
                                       "100ms",
                                       // Every head plays Ray (its GCS and dashboard): the operator's Ray
                                       // view needs them for RayReady and so for Ready.
                                       "--ray",
                                       "--ray-drain-delay",
                                       "200ms"};
  for (auto& f : sim.extra) sim_argv.push_back(f);
  sim_ca_file_ = sim.ca_file;
  ProcessOptions so;
  so.stderr_file = dir.file("sim.log");
  sim_ = std::make_unique<ChildProcess>(sim_argv, so);
  auto url = wait_for_file(url_file, std::chrono::seconds(20), sim_.get());
  REQUIRE_MESSAGE(url.has_value(), "yellowdog-sim did not start");
  sim_url_ = *url;
  while (!sim_url_.empty() && (sim_url_.back() == '\n' || sim_url_.back() == '\r')) sim_url_.pop_back();

  kubeconfig_ = dir.file("kubeconfig");
  ProcessOptions eo;
  eo.stderr_file = dir.file("emulator.log");
  emulator_ = std::make_unique<ChildProcess>(
      // Simulated nodes live on loopback: their head EndpointSlices need the emulator's test-only allowance.
      std::vector<std::string>{bin_path("kube-emulator"), "--listen", "127.0.0.1:0", "--write-kubeconfig",
                               kubeconfig_, "--allow-loopback-endpoints"},
      eo);
  REQUIRE_MESSAGE(wait_for_file(kubeconfig_, std::chrono::seconds(20), emulator_.get()).has_value(),
                  "kube-emulator did not start");
  auto crd = kubectl({"apply", "-f", source_path("crds/raydog.io_raydogclusters.yaml")});
  REQUIRE_MESSAGE(crd.exit_code == 0, crd.err);
}

Env::~Env() {
  operator_.reset();  // first, so it never sees the servers vanish mid-reconcile
}

std::unique_ptr<ChildProcess> Env::spawn_operator(std::vector<std::string> extra,
                                                  const std::string& log_name) {
  std::vector<std::string> argv = {bin_path("raydog-operator-e2e"),
                                   "--kubeconfig",
                                   operator_kubeconfig.empty() ? kubeconfig_ : operator_kubeconfig,
                                   "--health-probe-bind-address",
                                   "127.0.0.1:0",
                                   "--metrics-bind-address",
                                   "127.0.0.1:0",
                                   "--requeue-converging",
                                   "200ms",
                                   "--requeue-steady",
                                   "2s",
                                   "--yellowdog-retry-base",
                                   "20ms",
                                   "--cleanup-timeout",
                                   "30s",
                                   "--shutdown-grace",
                                   "5s",
                                   "--log-format",
                                   "text"};
  if (allow_loopback_yellowdog) argv.insert(argv.end(), {"--yellowdog-allowed-urls", "http://127.0.0.1:*"});
  for (auto& e : extra) argv.push_back(e);
  ProcessOptions po;
  po.stderr_file = dir.file(log_name);
  for (const char* name : {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
                           "ALL_PROXY", "all_proxy"})
    po.env[name] = "";
  for (const auto& [name, value] : operator_env) po.env[name] = value;
  return std::make_unique<ChildProcess>(argv, po);
}

void Env::start_operator(std::vector<std::string> extra) {
  operator_.reset();
  operator_ = spawn_operator(std::move(extra), "operator-" + std::to_string(++operator_runs_) + ".log");
}

void Env::stop_operator() {
  if (operator_) operator_->terminate();
  operator_.reset();
}

void Env::kill_operator() {
  if (operator_) operator_->kill9();
  operator_.reset();
}

bool Env::operator_running() {
  return operator_ && operator_->running();
}

std::string Env::operator_log() const {
  std::string out;
  for (int i = 1; i <= operator_runs_; ++i) {
    auto text = read_file(dir.file("operator-" + std::to_string(i) + ".log"));
    if (text.size() > 6000) text = "..." + text.substr(text.size() - 6000);
    out += "--- operator run " + std::to_string(i) + "\n" + text;
  }
  return out;
}

std::string Env::operator_log_full() const {
  return read_file(dir.file("operator-" + std::to_string(operator_runs_) + ".log"));
}

CommandResult Env::kubectl(std::vector<std::string> args, const std::string& stdin_data) {
  std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig_};
  for (auto& a : args) argv.push_back(a);
  ProcessOptions po;
  po.env["KUBECACHEDIR"] = dir.file("kubecache");
  po.env["HOME"] = dir.path().string();
  po.stdin_data = stdin_data;
  return run_command(argv, po, std::chrono::seconds(120));
}

void Env::apply(const std::string& yaml) {
  auto r = kubectl({"apply", "-f", "-"}, yaml);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

static json curl_json(const std::vector<std::string>& argv) {
  auto r = run_command(argv, {}, std::chrono::seconds(30));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), r.out);
  return j;
}

const std::string& Env::api_url() {
  if (api_url_.empty()) {
    const std::string config = read_file(kubeconfig_);
    auto pos = config.find("server: ");
    REQUIRE(pos != std::string::npos);
    auto end = config.find('\n', pos);
    api_url_ = config.substr(pos + 8, end - pos - 8);
    while (!api_url_.empty() && (api_url_.back() == '"' || api_url_.back() == ' ')) api_url_.pop_back();
    if (!api_url_.empty() && api_url_.front() == '"') api_url_.erase(0, 1);
  }
  return api_url_;
}

std::optional<json> Env::get_cluster(const std::string& ns, const std::string& name) {
  // A plain GET with curl: polled every 100 ms, and a kubectl process costs ~10x more (the flows that
  // matter to users run the real kubectl; this is only the test's eye).
  auto r = run_command({"curl", "-sS", "-f",
                        api_url() + "/apis/raydog.io/v1alpha1/namespaces/" + ns + "/raydogclusters/" + name},
                       {}, std::chrono::seconds(30));
  if (r.exit_code != 0) return std::nullopt;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

json Env::emulator_stats() {
  return curl_json({"curl", "-sS", "-f", api_url() + "/_emulator/stats"});
}

void Env::emulator_reset_counters() {
  auto r = run_command({"curl", "-sS", "-f", "-X", "POST", api_url() + "/_emulator/reset-counters"}, {},
                       std::chrono::seconds(30));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

// The operator logs the address it bound ("serving metrics address=http://127.0.0.1:PORT", text format).
std::optional<double> Env::operator_metric(const std::string& sample) {
  const std::string log = operator_log_full();
  const std::string marker = "serving metrics address=";
  const auto at = log.rfind(marker);
  REQUIRE_MESSAGE(at != std::string::npos, "the operator did not log its metrics address");
  const auto begin = at + marker.size();
  const std::string url = log.substr(begin, log.find_first_of(" \n", begin) - begin);
  auto r = run_command({"curl", "-sS", "-f", url + "/metrics"}, {}, std::chrono::seconds(30));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (line.size() > sample.size() && line.compare(0, sample.size(), sample) == 0 && line[sample.size()] == ' ')
      return std::stod(line.substr(sample.size() + 1));
  return std::nullopt;
}

json Env::sim_call(const std::string& method, const std::string& path, const std::optional<json>& body) {
  std::vector<std::string> argv = {"curl", "-sS", "-f", "-X", method, sim_url_ + "/_sim/" + path};
  if (!sim_ca_file_.empty()) argv.insert(argv.end(), {"--cacert", sim_ca_file_});
  if (body) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body->dump()});
  return curl_json(argv);
}
json Env::sim_get(const std::string& path) {
  return sim_call("GET", path);
}
json Env::sim_post(const std::string& path) {
  return sim_call("POST", path);
}
json Env::sim_post(const std::string& path, const json& body) {
  return sim_call("POST", path, body);
}

void Env::apply_prerequisites(const std::string& ns) {
  // One kubectl call for the four objects (a kubectl process is the slow part).
  apply(prerequisites_yaml(ns));
}

std::string Env::prerequisites_yaml(const std::string& ns) {
  return (
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns +
      "\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: yellowdog-credentials\n  namespace: " + ns +
      "\ndata:\n  keyId: " + base64_encode("test-key-id") +
      "\n  keySecret: " + base64_encode("test-key-secret") +
      "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ray-node-setup\n  namespace: " + ns +
      "\ndata:\n  userdata.sh: |\n    #!/bin/bash\n    echo setup\n"
      "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ray-gpu-scripts\n  namespace: " +
      ns + "\ndata:\n  worker.sh: |\n    #!/bin/bash\n    ray start --address=$RAY_HEAD_IP:6379 --block\n");
}

std::string Env::sample(const std::string& name, const std::string& ns) const {
  std::string y = read_file(source_path("manifests/samples/heterogeneous.yaml"));
  // Every occurrence: the cluster and the ConfigMaps after it.
  auto replace = [&](const std::string& from, const std::string& to) {
    auto pos = y.find(from);
    REQUIRE_MESSAGE(pos != std::string::npos, from);
    for (; pos != std::string::npos; pos = y.find(from, pos + to.size())) y.replace(pos, from.size(), to);
  };
  replace("https://api.yellowdog.ai", sim_url_);
  replace("name: research", "name: " + name);
  replace("namespace: team-a", "namespace: " + ns);
  return y;
}

std::vector<json> Env::events(const std::string& ns, const std::string& name, const std::string& reason) {
  std::vector<json> out;
  auto r = kubectl({"get", "events", "-n", ns, "-o", "json"});
  if (r.exit_code != 0) return out;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded()) return out;
  for (const auto& e : j.value("items", json::array())) {
    if (e.value("involvedObject", json::object()).value("name", "") != name) continue;
    if (!reason.empty() && e.value("reason", "") != reason) continue;
    out.push_back(e);
  }
  return out;
}

bool Env::cluster_gone(const std::string& ns, const std::string& name) {
  get_cluster(ns, name);  // resolves api_url_
  auto r = run_command({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                        api_url_ + "/apis/raydog.io/v1alpha1/namespaces/" + ns + "/raydogclusters/" + name},
                       {}, std::chrono::seconds(30));
  return r.exit_code == 0 && r.out == "404";
}

bool Env::is_ready(const std::string& ns, const std::string& name) {
  auto c = get_cluster(ns, name);
  if (!c) return false;
  auto gen = (*c)["metadata"].value("generation", 0);
  auto ready = condition_of(*c, "Ready");
  return ready && ready->value("status", "") == "True" && ready->value("observedGeneration", 0) == gen;
}

std::string small_cluster(const Env& env, const std::string& name, const std::string& ns, int nodes,
                          const std::string& extra_spec) {
  return "apiVersion: raydog.io/v1alpha1\nkind: RayDogCluster\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns + "\nspec:\n  yellowdog:\n    apiURL: " + env.sim_url() +
         "\n    namespace: ray-e2e\n    credentialsSecretRef:\n      name: yellowdog-credentials\n"
         "  head:\n    computeRequirementTemplate: ray/head\n  workerPools:\n  - name: cpu\n    nodes: " +
         std::to_string(nodes) + "\n    computeRequirementTemplate: ray/cpu\n" + extra_spec;
}

std::optional<json> condition_of(const json& cluster, const std::string& type) {
  for (const auto& c : cluster.value("status", json::object()).value("conditions", json::array()))
    if (c.value("type", "") == type) return c;
  return std::nullopt;
}

bool Env::eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  return raydog::test::eventually(cond, timeout);
}

SimView view(Env& env, const std::string& ns, const std::string& name) {
  return view_of(env.sim_get("objects"), "rdc-" + ns + "-" + name);
}

void delete_clean(Env& env, const std::string& ns, const std::string& name) {
  auto del = env.kubectl({"delete", "rdc", name, "-n", ns, "--wait=false"});
  REQUIRE_MESSAGE(del.exit_code == 0, del.err);
  REQUIRE_MESSAGE(env.eventually([&] { return env.cluster_gone(ns, name); }, std::chrono::seconds(60)),
                  env.operator_log());
  auto v = view(env, ns, name);
  CHECK(v.live_work_requirements() == 0);
  CHECK(v.live_pools() == 0);
  CHECK(v.tasks_in("EXECUTING") == 0);
}

SimView view_of(const json& objects, const std::string& prefix) {
  SimView v;
  auto starts = [&](const json& o) { return o.value("name", "").rfind(prefix, 0) == 0; };
  std::set<std::string> wr_ids;
  for (const auto& wr : objects.value("workRequirements", json::array()))
    if (starts(wr)) {
      v.work_requirements.push_back(wr);
      wr_ids.insert(wr.value("id", ""));
    }
  for (const auto& p : objects.value("workerPools", json::array()))
    if (starts(p)) v.pools.push_back(p);
  // Tasks belong to a WR through their group id (a prefix of the WR id in the simulator's YDIDs): match by
  // the WR's groups.
  std::set<std::string> group_ids;
  for (const auto& wr : v.work_requirements)
    for (const auto& g : wr.value("taskGroups", json::array())) group_ids.insert(g.value("id", ""));
  for (const auto& t : objects.value("tasks", json::array()))
    if (group_ids.count(t.value("taskGroupId", ""))) v.tasks.push_back(t);
  return v;
}

int SimView::live_pools() const {
  int n = 0;
  for (const auto& p : pools) {
    auto s = p.value("status", "");
    n += (s != "SHUTDOWN" && s != "TERMINATED");
  }
  return n;
}

int SimView::tasks_in(const std::string& status) const {
  int n = 0;
  for (const auto& t : tasks) n += t.value("status", "") == status;
  return n;
}

int SimView::live_work_requirements() const {
  int n = 0;
  for (const auto& w : work_requirements) {
    auto s = w.value("status", "");
    n += (s != "COMPLETED" && s != "FAILED" && s != "CANCELLED");
  }
  return n;
}

}  // namespace raydog::test::op
