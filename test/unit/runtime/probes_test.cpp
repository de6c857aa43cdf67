#include <doctest/doctest.h>

#include <csignal>

#include "controller/http/client.hpp"
#include "controller/runtime/health.hpp"
#include "controller/runtime/metrics.hpp"
#include "controller/runtime/signals.hpp"

using namespace raydog::runtime;
namespace http = raydog::http;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Runs body on a fresh io_context until it finishes.
void run(const std::function<asio::awaitable<void>(asio::io_context&)>& body) {
  asio::io_context ioc;
  std::exception_ptr error;
  bool finished = false;
  asio::co_spawn(ioc, body(ioc), [&](std::exception_ptr e) {
    error = e;
    finished = true;
    ioc.stop();
  });
  ioc.run();
  if (error) std::rethrow_exception(error);
  REQUIRE(finished);
}

asio::awaitable<http::Response> get(http::Client& client, std::string target) {
  auto r = co_await client.send(http::Request{http::bhttp::verb::get, target, 11});
  REQUIRE(r.ok());
  co_return std::move(*r);
}

}  // namespace

TEST_CASE("listen_address") {
  CHECK(listen_address(":8080") == "0.0.0.0:8080");
  CHECK(listen_address("127.0.0.1:0") == "127.0.0.1:0");
  CHECK(listen_address("0").empty());
  CHECK(listen_address("").empty());
  CHECK(listen_address(kDefaultMetricsBindAddress) == "0.0.0.0:8080");
  CHECK(listen_address(kDefaultHealthProbeBindAddress) == "0.0.0.0:8081");
}

TEST_CASE("metrics: controller-runtime names and labels in the text exposition") {
  Metrics m;
  auto& c = m.controller("raydogcluster");
  c.set_max_concurrent_reconciles(2);
  c.add_active_workers(1);
  c.reconciled(ReconcileResult::kError, 0.2);
  c.reconciled(ReconcileResult::kSuccess, 0.01);
  auto& q = m.queue("raydogcluster");
  q.added();
  q.depth(3);
  q.queued_for(0.5);
  q.worked_for(0.25);
  q.retried();
  q.unfinished(1.5, 1.0);
  m.set_leader("raydog-operator-leader", true);
  m.observe_rest_request("GET", "127.0.0.1:6443", 200, 0.02);
  m.observe_rest_request("PUT", "127.0.0.1:6443", 0, 1.0);
  const std::string text = m.scrape();
  for (
      const char* needle : {
          R"(controller_runtime_reconcile_total{controller="raydogcluster",result="error"} 1)",
          R"(controller_runtime_reconcile_total{controller="raydogcluster",result="success"} 1)",
          R"(controller_runtime_reconcile_total{controller="raydogcluster",result="requeue"} 0)",
          R"(controller_runtime_reconcile_total{controller="raydogcluster",result="requeue_after"} 0)",
          R"(controller_runtime_reconcile_errors_total{controller="raydogcluster"} 1)",
          R"(controller_runtime_terminal_reconcile_errors_total{controller="raydogcluster"} 0)",
          R"(controller_runtime_reconcile_time_seconds_count{controller="raydogcluster"} 2)",
          R"(controller_runtime_reconcile_time_seconds_bucket{controller="raydogcluster",le="0.25"} 2)",
          R"(controller_runtime_max_concurrent_reconciles{controller="raydogcluster"} 2)",
          R"(controller_runtime_active_workers{controller="raydogcluster"} 1)",
          R"(workqueue_depth{controller="raydogcluster",name="raydogcluster",priority=""} 3)",
          R"(workqueue_adds_total{controller="raydogcluster",name="raydogcluster"} 1)",
          R"(workqueue_queue_duration_seconds_count{controller="raydogcluster",name="raydogcluster"} 1)",
          R"(workqueue_work_duration_seconds_count{controller="raydogcluster",name="raydogcluster"} 1)",
          R"(workqueue_retries_total{controller="raydogcluster",name="raydogcluster"} 1)",
          R"(workqueue_unfinished_work_seconds{controller="raydogcluster",name="raydogcluster"} 1.5)",
          R"(workqueue_longest_running_processor_seconds{controller="raydogcluster",name="raydogcluster"} 1)",
          R"(leader_election_master_status{name="raydog-operator-leader"} 1)",
          R"(rest_client_requests_total{code="200",host="127.0.0.1:6443",method="GET"} 1)",
          R"(rest_client_requests_total{code="<error>",host="127.0.0.1:6443",method="PUT"} 1)",
          R"(rest_client_request_duration_seconds_count{host="127.0.0.1:6443",verb="GET"} 1)",
          "# TYPE process_cpu_seconds_total counter",
          "process_resident_memory_bytes ",
          "process_start_time_seconds ",
          "process_open_fds ",
          "process_max_fds ",
      }) {
    CAPTURE(needle);
    CHECK(text.find(needle) != std::string::npos);
  }
  // Plausible process figures: started in the past, some memory, a few fds.
  auto value_of = [&](const std::string& name) {
    const auto pos = text.find("\n" + name + " ");
    REQUIRE(pos != std::string::npos);
    return std::stod(text.substr(pos + name.size() + 2));
  };
  CHECK(value_of("process_resident_memory_bytes") > 1e6);
  CHECK(value_of("process_open_fds") >= 3);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(value_of("process_start_time_seconds") <= now + 1);
  CHECK(value_of("process_start_time_seconds") > now - 3600);
  if (text.find("workqueue_depth") == std::string::npos) FAIL_CHECK(text);
}

TEST_CASE("metrics server: GET /metrics over HTTP, 404 elsewhere, scrape hooks run") {
  run([](asio::io_context& ioc) -> asio::awaitable<void> {
    Metrics m;
    int hooks = 0;
    m.on_scrape([&] { ++hooks; });
    m.controller("c");
    MetricsServer server(ioc, m, "127.0.0.1:0");
    server.start();
    REQUIRE(server.enabled());
    http::ClientOptions o;
    o.base_url = server.base_url();
    http::Client client(ioc.get_executor(), o);
    auto r = co_await get(client, "/metrics");
    CHECK(r.result() == http::bhttp::status::ok);
    CHECK(r[http::bhttp::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r.body().find("controller_runtime_reconcile_total{controller=\"c\",result=\"success\"} 0") !=
          std::string::npos);
    CHECK(hooks == 1);
    auto missing = co_await get(client, "/nope");
    CHECK(missing.result() == http::bhttp::status::not_found);
    server.stop();
    MetricsServer disabled(ioc, m, "0");
    disabled.start();
    CHECK_FALSE(disabled.enabled());
  });
}

TEST_CASE("health server: /healthz ok, /readyz only when checks pass, verbose, single checks") {
  run([](asio::io_context& ioc) -> asio::awaitable<void> {
    bool synced = false;
    HealthServer health(ioc, "127.0.0.1:0");
    health.add_readyz_check("informer-sync", [&]() -> std::optional<std::string> {
      if (synced) return std::nullopt;
      return std::string("caches not synced");
    });
    health.start();
    http::ClientOptions o;
    o.base_url = health.base_url();
    http::Client client(ioc.get_executor(), o);
    auto h = co_await get(client, "/healthz");
    CHECK(h.result() == http::bhttp::status::ok);
    CHECK(h.body() == "ok");
    auto not_ready = co_await get(client, "/readyz");
    CHECK(not_ready.result() == http::bhttp::status::internal_server_error);
    CHECK(not_ready.body().find("[-]informer-sync failed: reason withheld") != std::string::npos);
    auto verbose = co_await get(client, "/readyz?verbose");
    CHECK(verbose.body().find("caches not synced") != std::string::npos);
    auto one = co_await get(client, "/readyz/informer-sync");
    CHECK(one.result() == http::bhttp::status::internal_server_error);
    synced = true;
    auto ready = co_await get(client, "/readyz");
    CHECK(ready.result() == http::bhttp::status::ok);
    auto ready_verbose = co_await get(client, "/readyz?verbose=1");
    CHECK(ready_verbose.body() == "[+]ping ok\n[+]informer-sync ok\nreadyz check passed\n");
    auto unknown = co_await get(client, "/readyz/nothing");
    CHECK(unknown.result() == http::bhttp::status::not_found);
    auto other = co_await get(client, "/other");
    CHECK(other.result() == http::bhttp::status::not_found);
    health.stop();
  });
}

TEST_CASE("shutdown signals: first SIGTERM starts the graceful path, the second forces") {
  asio::io_context ioc;
  int first = 0, second = 0;
  ShutdownSignals signals(
      ioc.get_executor(), [&](int signo) { first = signo; }, [&](int signo) { second = signo; });
  CHECK_FALSE(signals.received());
  std::raise(SIGTERM);
  for (int i = 0; i < 1000 && first == 0; ++i) ioc.run_one_for(10ms);
  CHECK(first == SIGTERM);
  CHECK(signals.received());
  std::raise(SIGINT);
  for (int i = 0; i < 1000 && second == 0; ++i) ioc.run_one_for(10ms);
  CHECK(second == SIGINT);
  signals.cancel();
}
