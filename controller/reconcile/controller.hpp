#pragma once
// The controller process: kube config -> REST client -> informer on RayDogClusters -> runtime::WorkQueue ->
// runtime::Controller (N coroutine workers) -> Reconciler; leader election; /healthz, /readyz and /metrics
// (runtime::HealthServer, runtime::MetricsServer); SIGTERM/SIGINT graceful drain and lease release
// (runtime::ShutdownSignals). Everything runs on one io_context thread (design §2). Wiring in
// controller.cpp, flags in controller_flags.cpp; README.md lists flags, log lines and metrics.
//
// controller/main.cpp (the lead's) calls parse_controller_flags() and run_controller(); the e2e tests
// use a small test-only executable that does the same with test hooks.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/util/result.hpp"

namespace raydog::yellowdog {
class YellowDogApi;
}

namespace raydog::reconcile {

struct ControllerOptions {
  std::string kubeconfig;       // --kubeconfig; empty: KUBECONFIG / in-cluster / ~/.kube/config
  std::string context;          // --context
  std::string watch_namespace;  // --namespace; empty: all namespaces
  int max_concurrent_reconciles = 4;

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

  // Test hook: wraps every YellowDog client the controller makes (fault injection, call counting).
  std::function<std::shared_ptr<yellowdog::YellowDogApi>(std::shared_ptr<yellowdog::YellowDogApi>)>
      wrap_client;
  // Test hook: called with the health/metrics base URLs once the servers listen.
  std::function<void(const std::string& health_url, const std::string& metrics_url)> on_listening;
};

// Flags (see controller/reconcile/README.md). Unknown flags and bad values are errors naming the flag.
// `--help` yields an error whose text is the usage.
Result<ControllerOptions, std::string> parse_controller_flags(const std::vector<std::string>& args);
std::string controller_usage();

// Runs until SIGTERM/SIGINT (exit 0 after a graceful drain) or a fatal error (non-zero; lost leadership
// exits 1 so the pod restarts as a follower, as controller-runtime does).
int run_controller(const ControllerOptions& options);

}  // namespace raydog::reconcile
