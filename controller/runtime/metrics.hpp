#pragma once
// Prometheus metrics with controller-runtime's names and labels, so dashboards and alerts written for Go
// operators work unchanged:
//   controller_runtime_reconcile_total{controller,result}  (result: success|error|requeue|requeue_after)
//   controller_runtime_reconcile_errors_total{controller},
//   controller_runtime_terminal_reconcile_errors_total, controller_runtime_reconcile_panics_total,
//   controller_runtime_reconcile_time_seconds{controller},
//   controller_runtime_max_concurrent_reconciles{controller}, controller_runtime_active_workers{controller}
//   workqueue_{depth,adds_total,queue_duration_seconds,work_duration_seconds,retries_total,
//             unfinished_work_seconds,longest_running_processor_seconds}{name,controller}
//   leader_election_master_status{name}
//   rest_client_requests_total{code,method,host}, rest_client_request_duration_seconds{verb,host},
//   rest_client_rate_limiter_duration_seconds{verb,host}
//   process_{resident_memory_bytes,virtual_memory_bytes,cpu_seconds_total,start_time_seconds,open_fds,max_fds}
// and the text exposition served on --metrics-bind-address (default ":8080") at /metrics.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "controller/runtime/probe_server.hpp"
#include "controller/runtime/work_queue.hpp"

namespace boost::asio {
class io_context;
}
namespace prometheus {
class Registry;
}

namespace raydog::runtime {

enum class ReconcileResult { kSuccess, kError, kRequeue, kRequeueAfter };

// One controller's series (all label combinations exist from the start, at 0, as in controller-runtime).
class ControllerMetrics {
 public:
  virtual ~ControllerMetrics() = default;
  virtual void set_max_concurrent_reconciles(int n) = 0;
  virtual void add_active_workers(int delta) = 0;
  // One finished reconcile: counts the result, the time, and (for kError) an error.
  virtual void reconciled(ReconcileResult result, double seconds) = 0;
  virtual void terminal_error() = 0;
  virtual void panic() = 0;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Stable references, created on first use.
  ControllerMetrics& controller(const std::string& name);
  QueueMetrics& queue(const std::string& name);  // labels name=controller=<name>

  // code: the HTTP status, or 0 for a transport error (exported as "<error>" like client-go).
  void observe_rest_request(std::string_view method, std::string_view host, int code, double seconds);
  // How long a request waited for a token of the client-side rate limiter (--kube-api-qps).
  void observe_rate_limiter(std::string_view method, std::string_view host, double seconds);
  void set_leader(const std::string& lease_name, bool leader);

  // Runs before every scrape (e.g. WorkQueue::update_unfinished_work).
  void on_scrape(std::function<void()> hook);
  // Refreshes process metrics, runs the hooks, returns the text exposition format.
  std::string scrape();
  // For components with metrics of their own (YellowDog client ...).
  prometheus::Registry& registry();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// controller-runtime's defaults for --metrics-bind-address and --health-probe-bind-address.
inline constexpr const char* kDefaultMetricsBindAddress = ":8080";
inline constexpr const char* kDefaultHealthProbeBindAddress = ":8081";

// Serves GET /metrics (text format 0.0.4) on `bind_address` (":8080" = all interfaces, "0" = disabled).
class MetricsServer : public ProbeServer {
 public:
  MetricsServer(boost::asio::io_context& ioc, Metrics& metrics, std::string bind_address);
};

}  // namespace raydog::runtime
