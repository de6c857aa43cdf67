#pragma once
// Command line of the raydog-operator binary. Only commands and flags that work exist (no placeholders).
// The operator itself is the `run` command, and also what runs when the first argument is a flag or there
// is none (`raydog-operator --kubeconfig FILE`, a container's bare entrypoint); its flags are parsed by
// parse_controller_flags() into ControllerOptions (the flag table, options.cpp), which the wiring
// (wiring.hpp) runs. This layer stays free of the controller: no Asio, no client.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controller/http/proxy.hpp"
#include "controller/util/result.hpp"
#include "controller/yellowdog/allowed_urls.hpp"

namespace raydog::yellowdog {
class YellowDogApi;
}

namespace raydog::cli {

enum class Command {
  kHelp,      // --help / -h / help: usage on stdout, exit 0
  kVersion,   // --version / version
  kCrd,       // crd [raydogclusters|raydogjobs]: print a CustomResourceDefinition YAML
  kValidate,  // validate FILE...: decode, default and validate RayDogCluster manifests
  kRun,       // run [flags] / [flags]: the operator
};

struct Options {
  Command command = Command::kHelp;
  std::vector<std::string> files;     // validate
  std::string crd = "raydogclusters";  // crd: the plural of the resource whose CRD is printed
  std::vector<std::string> run_args;  // run: the controller's flags, unparsed
};

struct UsageError {
  std::string message;  // what was wrong; the caller prints it with usage() and exits 2
};

// args excludes argv[0].
Result<Options, UsageError> parse_flags(const std::vector<std::string>& args);
std::string usage();
std::string version();

struct ControllerOptions {
  std::string kubeconfig;       // --kubeconfig; empty: KUBECONFIG / in-cluster / ~/.kube/config
  std::string context;          // --context
  std::string watch_namespace;  // --namespace; empty: all namespaces
  int max_concurrent_reconciles = 4;
  // --shard-selector, normalized (kube/label_selector.hpp): the RayDogClusters this process takes (the
  // informer lists and watches with it). Empty: every cluster. With it and no explicit
  // --leader-election-id, the parser names the Lease raydog-operator-leader-<hash8(selector)>.
  std::string shard_selector;
  // --kube-api-qps / --kube-api-burst: the Kubernetes client's token bucket (kube/rate_limit.hpp); the
  // Event recorder and the Lease get buckets of their own with the same settings. qps 0: unpaced.
  // 500/1000: 10,000 clusters created at once need ~330 finalizer and first status writes per second for a
  // minute plus reads (controller/README.md "Client pacing").
  double kube_api_qps = 500;
  int kube_api_burst = 1000;

  bool leader_elect = false;
  std::string leader_election_namespace;  // empty: the kubeconfig context's / pod's namespace
  std::string leader_election_id = "raydog-operator-leader";
  std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_period{std::chrono::seconds(2)};

  std::string health_probe_bind_address = ":8081";  // "0" disables
  std::string metrics_bind_address = ":8080";       // "0" disables
  std::string log_format = "json";
  std::string log_level = "info";

  std::chrono::milliseconds requeue_converging{std::chrono::seconds(2)};
  std::chrono::milliseconds requeue_steady{std::chrono::seconds(60)};
  std::chrono::milliseconds cleanup_timeout{std::chrono::minutes(10)};
  // A steady cluster costs one YellowDog call per poll; everything else (tasks, pools, CRs, node
  // addresses) is re-read when the work requirement's task counts move, the spec changes, or at least
  // this often (drift a YellowDog edit could cause without moving any task).
  // 10h, as controller-runtime's SyncPeriod: a resync costs ~10 calls for a 3-pool cluster, so the steady
  // cost stays one call per poll (1.02 per minute with it, at the default 60 s polls).
  std::chrono::milliseconds resync_period{std::chrono::hours(10)};
  // Credentials read from a Secret are reused this long (0: read the Secret on every reconcile).
  std::chrono::milliseconds credentials_cache_ttl{std::chrono::minutes(5)};
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(30)};

  // YellowDog client tuning (tests shorten the retry backoff).
  std::chrono::milliseconds yellowdog_retry_base{std::chrono::seconds(10)};
  int yellowdog_max_retries = 3;
  std::chrono::milliseconds yellowdog_request_timeout{std::chrono::seconds(60)};
  // The origins spec.yellowdog.apiURL may name (--yellowdog-allowed-urls): keys go nowhere else.
  yellowdog::AllowedUrls yellowdog_allowed_urls;
  // --yellowdog-ca-file: the PEM bundle's content, trusted for YellowDog besides the system store (a
  // private endpoint, a TLS-inspecting proxy). Verification stays on: no flag turns it off.
  std::string yellowdog_ca_pem;
  // How steady clusters notice changes on YellowDog (controller/observer/README.md): "search" (paced
  // account-wide searches every yellowdog_observe_interval wake the changed clusters; a steady reconcile
  // then reads nothing) or "poll" (one work requirement read per cluster per --requeue-steady).
  std::string yellowdog_observe = "search";
  std::chrono::milliseconds yellowdog_observe_interval{std::chrono::seconds(2)};
  // The request budget per YellowDog account (yellowdog/budget.hpp).
  int yellowdog_qps = 1000;
  int yellowdog_burst = 2000;
  // HTTPS_PROXY/HTTP_PROXY/NO_PROXY as read once at start (run_controller): every client the operator
  // makes (Kubernetes unless its kubeconfig names a proxy-url, YellowDog, DALiuGE) routes by them.
  http::EgressProxies egress;

  // Test hook: wraps every YellowDog client the controller makes (fault injection, call counting).
  std::function<std::shared_ptr<yellowdog::YellowDogApi>(std::shared_ptr<yellowdog::YellowDogApi>)>
      wrap_client;
  // Test hook: every Kubernetes HTTP exchange (each retry too): method, target (path?query), code (0:
  // transport error). Called on the io thread.
  std::function<void(const std::string& method, const std::string& target, int code)> on_kube_request;
  // Test hook: called with the health/metrics base URLs once the servers listen.
  std::function<void(const std::string& health_url, const std::string& metrics_url)> on_listening;
};

// Flags of `run` (controller/README.md lists them). Unknown flags and bad values are errors naming the flag.
// `--help` yields an error whose text is the usage.
Result<ControllerOptions, std::string> parse_controller_flags(const std::vector<std::string>& args);
std::string controller_usage();

}  // namespace raydog::cli
