#include "controller/runtime/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "controller/http/server.hpp"

namespace raydog::runtime {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// controller-runtime's reconcile and REST latency buckets.
const Histogram::BucketBoundaries kLatencyBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3,  0.35,
                                                  0.4,   0.45, 0.5,   0.6,  0.7, 0.8,  0.9, 1.0,  1.25, 1.5,
                                                  1.75,  2.0,  2.5,   3.0,  3.5, 4.0,  4.5, 5,    6,    7,
                                                  8,     9,    10,    15,   20,  25,   30,  40,   50,   60};

// prometheus.ExponentialBuckets(10e-9, 10, 12): 10 ns .. 1000 s.
Histogram::BucketBoundaries queue_buckets() {
  Histogram::BucketBoundaries b;
  double v = 10e-9;
  for (int i = 0; i < 12; ++i, v *= 10) b.push_back(v);
  return b;
}

// Sets a counter to an absolute value read from the system (counters only go up).
void set_counter(Counter& c, double value) {
  const double delta = value - c.Value();
  if (delta > 0) c.Increment(delta);
}

struct ProcessSample {
  double cpu_seconds = 0, start_time = 0, resident = 0, virtual_bytes = 0, open_fds = 0, max_fds = 0;
};

ProcessSample sample_process() {
  ProcessSample s;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    const auto close = line.rfind(')');
    std::istringstream in(close == std::string::npos ? std::string() : line.substr(close + 2));
    std::vector<std::string> f;
    for (std::string tok; in >> tok;) f.push_back(tok);
    // f[0] is field 3; utime=14, stime=15, starttime=22, vsize=23, rss=24.
    auto field = [&](int n) { return n - 3 < static_cast<int>(f.size()) ? std::stod(f[n - 3]) : 0.0; };
    if (f.size() > 21) {
      s.cpu_seconds = (field(14) + field(15)) / ticks;
      s.virtual_bytes = field(23);
      s.resident = field(24) * page;
      std::ifstream boot("/proc/stat");
      for (std::string key; boot >> key;) {
        if (key == "btime") {
          double btime = 0;
          boot >> btime;
          s.start_time = btime + field(22) / ticks;
          break;
        }
        std::getline(boot, key);
      }
    }
  }
  std::error_code ec;
  double fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  s.open_fds = fds > 0 ? fds - 1 : 0;  // minus the directory handle used to list them
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) s.max_fds = static_cast<double>(lim.rlim_cur);
  return s;
}

class PromQueueMetrics final : public QueueMetrics {
 public:
  PromQueueMetrics(Gauge& depth, Counter& adds, Histogram& latency, Histogram& work, Counter& retries,
                   Gauge& unfinished, Gauge& longest)
      : depth_(depth),
        adds_(adds),
        latency_(latency),
        work_(work),
        retries_(retries),
        unfinished_(unfinished),
        longest_(longest) {}
  void added() override { adds_.Increment(); }
  void depth(std::size_t d) override { depth_.Set(static_cast<double>(d)); }
  void queued_for(double s) override { latency_.Observe(s); }
  void worked_for(double s) override { work_.Observe(s); }
  void retried() override { retries_.Increment(); }
  void unfinished(double total, double longest) override {
    unfinished_.Set(total);
    longest_.Set(longest);
  }

 private:
  Gauge& depth_;
  Counter& adds_;
  Histogram& latency_;
  Histogram& work_;
  Counter& retries_;
  Gauge& unfinished_;
  Gauge& longest_;
};

class PromControllerMetrics final : public ControllerMetrics {
 public:
  PromControllerMetrics(std::map<ReconcileResult, Counter*> totals, Counter& errors, Counter& terminal,
                        Counter& panics, Histogram& time, Gauge& max_concurrent, Gauge& active)
      : totals_(std::move(totals)),
        errors_(errors),
        terminal_(terminal),
        panics_(panics),
        time_(time),
        max_concurrent_(max_concurrent),
        active_(active) {}
  void set_max_concurrent_reconciles(int n) override { max_concurrent_.Set(n); }
  void add_active_workers(int delta) override { active_.Increment(delta); }
  void reconciled(ReconcileResult r, double seconds) override {
    totals_.at(r)->Increment();
    if (r == ReconcileResult::kError) errors_.Increment();
    time_.Observe(seconds);
  }
  void terminal_error() override { terminal_.Increment(); }
  void panic() override { panics_.Increment(); }

 private:
  std::map<ReconcileResult, Counter*> totals_;
  Counter& errors_;
  Counter& terminal_;
  Counter& panics_;
  Histogram& time_;
  Gauge& max_concurrent_;
  Gauge& active_;
};

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  Family<Counter>& counter(const char* name, const char* help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(*registry);
  }
  Family<Gauge>& gauge(const char* name, const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(*registry);
  }
  Family<Histogram>& histogram(const char* name, const char* help) {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(*registry);
  }

  Family<Counter>& reconcile_total =
      counter("controller_runtime_reconcile_total", "Total number of reconciliations per controller");
  Family<Counter>& reconcile_errors = counter("controller_runtime_reconcile_errors_total",
                                              "Total number of reconciliation errors per controller");
  Family<Counter>& terminal_errors = counter("controller_runtime_terminal_reconcile_errors_total",
                                             "Total number of terminal reconciliation errors per controller");
  Family<Counter>& panics = counter("controller_runtime_reconcile_panics_total",
                                    "Total number of reconciliation panics per controller");
  Family<Histogram>& reconcile_time = histogram("controller_runtime_reconcile_time_seconds",
                                                "Length of time per reconciliation per controller");
  Family<Gauge>& max_concurrent = gauge("controller_runtime_max_concurrent_reconciles",
                                        "Maximum number of concurrent reconciles per controller");
  Family<Gauge>& active_workers =
      gauge("controller_runtime_active_workers", "Number of currently used workers per controller");

  Family<Gauge>& wq_depth = gauge("workqueue_depth", "Current depth of workqueue by workqueue and priority");
  Family<Counter>& wq_adds = counter("workqueue_adds_total", "Total number of adds handled by workqueue");
  Family<Histogram>& wq_latency =
      histogram("workqueue_queue_duration_seconds",
                "How long in seconds an item stays in workqueue before being requested");
  Family<Histogram>& wq_work = histogram("workqueue_work_duration_seconds",
                                         "How long in seconds processing an item from workqueue takes.");
  Family<Counter>& wq_retries =
      counter("workqueue_retries_total", "Total number of retries handled by workqueue");
  Family<Gauge>& wq_unfinished =
      gauge("workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been observed by "
            "work_duration. Large values indicate stuck threads. One can deduce the number of stuck "
            "threads by observing the rate at which this increases.");
  Family<Gauge>& wq_longest =
      gauge("workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.");

  Family<Gauge>& leader = gauge("leader_election_master_status",
                                "Gauge of if the reporting system is master of the relevant lease, 0 "
                                "indicates backup, 1 indicates master. 'name' is the string used to "
                                "identify the lease. Please make sure to group by name.");
  Family<Counter>& rest_requests = counter(
      "rest_client_requests_total", "Number of HTTP requests, partitioned by status code, method, and host.");
  Family<Histogram>& rest_latency = histogram("rest_client_request_duration_seconds",
                                              "Request latency in seconds. Broken down by verb and host.");
  Family<Histogram>& rest_rate_limiter =
      histogram("rest_client_rate_limiter_duration_seconds",
                "Client side rate limiter latency in seconds. Broken down by verb, and host.");

  Family<Gauge>& p_resident = gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  Family<Gauge>& p_virtual = gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  Family<Counter>& p_cpu =
      counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
  Family<Gauge>& p_start =
      gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
  Family<Gauge>& p_fds = gauge("process_open_fds", "Number of open file descriptors.");
  Family<Gauge>& p_max_fds = gauge("process_max_fds", "Maximum number of open file descriptors.");

  Gauge& resident = p_resident.Add({});
  Gauge& virtual_bytes = p_virtual.Add({});
  Counter& cpu = p_cpu.Add({});
  Gauge& start = p_start.Add({});
  Gauge& fds = p_fds.Add({});
  Gauge& max_fds = p_max_fds.Add({});

  std::map<std::string, std::unique_ptr<PromControllerMetrics>> controllers;
  std::map<std::string, std::unique_ptr<PromQueueMetrics>> queues;
  std::vector<std::function<void()>> hooks;
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

ControllerMetrics& Metrics::controller(const std::string& name) {
  auto& slot = impl_->controllers[name];
  if (!slot) {
    auto& i = *impl_;
    const prometheus::Labels l{{"controller", name}};
    std::map<ReconcileResult, Counter*> totals{
        {ReconcileResult::kSuccess, &i.reconcile_total.Add({{"controller", name}, {"result", "success"}})},
        {ReconcileResult::kError, &i.reconcile_total.Add({{"controller", name}, {"result", "error"}})},
        {ReconcileResult::kRequeue, &i.reconcile_total.Add({{"controller", name}, {"result", "requeue"}})},
        {ReconcileResult::kRequeueAfter,
         &i.reconcile_total.Add({{"controller", name}, {"result", "requeue_after"}})}};
    slot = std::make_unique<PromControllerMetrics>(
        std::move(totals), i.reconcile_errors.Add(l), i.terminal_errors.Add(l), i.panics.Add(l),
        i.reconcile_time.Add(l, kLatencyBuckets), i.max_concurrent.Add(l), i.active_workers.Add(l));
  }
  return *slot;
}

QueueMetrics& Metrics::queue(const std::string& name) {
  auto& slot = impl_->queues[name];
  if (!slot) {
    auto& i = *impl_;
    const prometheus::Labels l{{"name", name}, {"controller", name}};
    slot = std::make_unique<PromQueueMetrics>(
        i.wq_depth.Add({{"name", name}, {"controller", name}, {"priority", ""}}), i.wq_adds.Add(l),
        i.wq_latency.Add(l, queue_buckets()), i.wq_work.Add(l, queue_buckets()), i.wq_retries.Add(l),
        i.wq_unfinished.Add(l), i.wq_longest.Add(l));
  }
  return *slot;
}

void Metrics::observe_rest_request(std::string_view method, std::string_view host, int code, double seconds) {
  const std::string code_label = code == 0 ? "<error>" : std::to_string(code);
  impl_->rest_requests
      .Add({{"code", code_label}, {"method", std::string(method)}, {"host", std::string(host)}})
      .Increment();
  impl_->rest_latency.Add({{"verb", std::string(method)}, {"host", std::string(host)}}, kLatencyBuckets)
      .Observe(seconds);
}

void Metrics::observe_rate_limiter(std::string_view method, std::string_view host, double seconds) {
  // client-go's buckets (k8s.io/component-base/metrics/prometheus/restclient).
  static const Histogram::BucketBoundaries kBuckets{0.005, 0.025, 0.1, 0.25, 0.5,  1.0,
                                                    2.0,   4.0,   8.0, 15.0, 30.0, 60.0};
  impl_->rest_rate_limiter.Add({{"verb", std::string(method)}, {"host", std::string(host)}}, kBuckets)
      .Observe(seconds);
}

void Metrics::set_leader(const std::string& lease_name, bool leader) {
  impl_->leader.Add({{"name", lease_name}}).Set(leader ? 1.0 : 0.0);
}

void Metrics::on_scrape(std::function<void()> hook) {
  impl_->hooks.push_back(std::move(hook));
}

std::string Metrics::scrape() {
  const ProcessSample s = sample_process();
  impl_->resident.Set(s.resident);
  impl_->virtual_bytes.Set(s.virtual_bytes);
  set_counter(impl_->cpu, s.cpu_seconds);
  impl_->start.Set(s.start_time);
  impl_->fds.Set(s.open_fds);
  impl_->max_fds.Set(s.max_fds);
  for (auto& h : impl_->hooks) h();
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

prometheus::Registry& Metrics::registry() {
  return *impl_->registry;
}

MetricsServer::MetricsServer(boost::asio::io_context& ioc, Metrics& metrics, std::string bind_address)
    : ProbeServer(ioc, bind_address, [&metrics](http::Exchange& ex) -> http::net::awaitable<void> {
        auto& req = ex.request();
        const auto target = req.target();
        const auto path = target.substr(0, target.find('?'));
        if (path != "/metrics") {
          co_await ex.respond(http::make_response(req, http::bhttp::status::not_found, "404 page not found\n",
                                                  "text/plain; charset=utf-8"));
          co_return;
        }
        if (req.method() != http::bhttp::verb::get && req.method() != http::bhttp::verb::head) {
          co_await ex.respond(http::make_response(req, http::bhttp::status::method_not_allowed,
                                                  "method not allowed\n", "text/plain; charset=utf-8"));
          co_return;
        }
        co_await ex.respond(http::make_response(req, http::bhttp::status::ok, metrics.scrape(),
                                                "text/plain; version=0.0.4; charset=utf-8"));
      }) {}

}  // namespace raydog::runtime
