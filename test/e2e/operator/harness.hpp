#pragma once
// The operator e2e environment: kube-emulator + yellowdog-sim + raydog-operator-e2e as child processes
// (killed by RAII even when a test fails), kubectl with its own cache dir, and the simulator's /_sim/ view.
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <map>
#include <utility>
#include <vector>

#include "test/support/process.hpp"

namespace raydog::test::op {

using nlohmann::json;

struct SimOptions {
  std::vector<std::string> extra;  // more yellowdog-sim flags
  std::string ca_file;             // with --tls-cert: the CA the harness's curl trusts for /_sim/
};
// A simulator started with these extra flags (a function, not aggregate init: -Wmissing-field-initializers).
inline SimOptions sim_flags(std::vector<std::string> extra) {
  SimOptions o;
  o.extra = std::move(extra);
  return o;
}

class Env {
 public:
  explicit Env(SimOptions sim = {});
  ~Env();

  // The simulator listens on http://127.0.0.1:<port>: every operator the harness starts allows that origin
  // (--yellowdog-allowed-urls) unless a test clears this to run with the operator's default list.
  bool allow_loopback_yellowdog = true;
  // Environment of every operator the harness starts. The proxy variables are cleared first (a machine's
  // own HTTPS_PROXY must not route the tests); set them here to test egress proxies.
  std::map<std::string, std::string> operator_env;
  // The kubeconfig operators get; empty: the emulator's own (kubeconfig()).
  std::string operator_kubeconfig;
  const std::string& kubeconfig() const { return kubeconfig_; }

  // Starts (or restarts) the operator with extra flags; stop_operator() SIGTERMs it.
  void start_operator(std::vector<std::string> extra = {});
  // Another operator process (not the one start_operator manages), e.g. one per namespace with
  // `--namespace NS`; its stderr goes to dir.file(log_name).
  std::unique_ptr<ChildProcess> spawn_operator(std::vector<std::string> extra, const std::string& log_name);
  void stop_operator();
  void kill_operator();  // SIGKILL: a crash
  bool operator_running();
  std::string operator_log() const;       // every run, each cut to its last 6000 characters (for messages)
  std::string operator_log_full() const;  // the current run's whole log (for counting lines)
  // One sample of the running operator's /metrics (the address it logged at start), e.g.
  // `raydog_ray_gcs_calls_total` or `name{label="v"}` exactly as exposed; nullopt when absent.
  std::optional<double> operator_metric(const std::string& sample);

  CommandResult kubectl(std::vector<std::string> args, const std::string& stdin_data = "");
  // kubectl apply -f - with `yaml`; REQUIREs success.
  void apply(const std::string& yaml);
  // The RayDogCluster as JSON (kubectl get -o json), nullopt when absent or unreadable.
  std::optional<json> get_cluster(const std::string& ns, const std::string& name);
  // True only when the API server answered 404 for it (a failed or slow read is not "gone").
  bool cluster_gone(const std::string& ns, const std::string& name);

  json sim_get(const std::string& path);   // GET <sim>/_sim/...
  json sim_post(const std::string& path);  // POST <sim>/_sim/...
  json sim_post(const std::string& path, const json& body);  // with a JSON body (the /_sim/ray/ controls)
  const std::string& sim_url() const { return sim_url_; }
  // kube-emulator's request counters ({"requests": {"GET secrets": 2, ...}}, test/emulator/request_stats).
  json emulator_stats();
  void emulator_reset_counters();

  // The credentials Secret and the ConfigMaps the heterogeneous sample needs, in `ns`.
  void apply_prerequisites(const std::string& ns);
  // The same objects as YAML documents (to apply several namespaces with one kubectl call).
  static std::string prerequisites_yaml(const std::string& ns);
  // The heterogeneous sample pointed at the simulator, with its name/namespace replaced.
  std::string sample(const std::string& name, const std::string& ns) const;

  // core/v1 Events in `ns` whose involvedObject is `name` (all reasons when `reason` is empty).
  std::vector<json> events(const std::string& ns, const std::string& name, const std::string& reason = "");
  // True when the cluster's Ready condition is True for its current generation.
  bool is_ready(const std::string& ns, const std::string& name);

  // Polls `cond` every 100 ms until it holds or `timeout`.
  bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

  TempDir dir;

 private:
  std::unique_ptr<ChildProcess> emulator_, sim_, operator_;
  // curl <sim>/_sim/<path>
  json sim_call(const std::string& method, const std::string& path, const std::optional<json>& body = std::nullopt);
  const std::string& api_url();  // the emulator's base URL, read from the kubeconfig once
  std::string sim_ca_file_;
  std::string kubeconfig_, sim_url_, api_url_;
  int operator_runs_ = 0;
};

// A small cluster: head + one worker pool "cpu" of `nodes`, no observability; `extra_spec` is appended to
// the spec (two-space indented YAML lines, e.g. "  buildTimeout: 3s\n").
std::string small_cluster(const Env& env, const std::string& name, const std::string& ns, int nodes,
                          const std::string& extra_spec = "");

// The condition `type` of a cluster (kubectl get -o json), if present.
std::optional<json> condition_of(const json& cluster, const std::string& type);

// Objects of the simulator whose name starts with `prefix` (all kinds), by kind.
struct SimView {
  std::vector<json> work_requirements, pools, tasks;
  int live_pools() const;  // not SHUTDOWN/TERMINATED
  int tasks_in(const std::string& status) const;
  int live_work_requirements() const;  // not finished
};
SimView view_of(const json& objects, const std::string& prefix);
// The simulator's objects of cluster ns/name (names start "rdc-<ns>-<name>").
SimView view(Env& env, const std::string& ns, const std::string& name);
// kubectl delete, wait until the resource is gone (404), then check YellowDog holds nothing live of it.
void delete_clean(Env& env, const std::string& ns, const std::string& name);

}  // namespace raydog::test::op
