#pragma once
// Liveness and readiness probes like controller-runtime's: GET /healthz and /readyz answer 200 "ok" when
// every registered check passes, else 500 listing the failures ("[-]informer-sync failed: ..."); ?verbose
// lists every check; /healthz/<name> and /readyz/<name> run one check. Served on
// --health-probe-bind-address (default ":8081").
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace raydog::runtime {

// nullopt: healthy; otherwise why not.
using Check = std::function<std::optional<std::string>()>;

// ":8080" -> "0.0.0.0:8080" (all interfaces); "host:port" unchanged; "0" or "" -> "" (disabled).
std::string listen_address(std::string_view bind_address);

class HealthServer {
 public:
  HealthServer(boost::asio::io_context& ioc, std::string bind_address);
  ~HealthServer();
  // A "ping" liveness check that always passes is registered by default.
  void add_healthz_check(std::string name, Check check);
  // Readiness: e.g. "informer-sync" until the caches synced, "leader" is NOT a readiness check (standbys
  // must stay ready, as in controller-runtime).
  void add_readyz_check(std::string name, Check check);
  void start();  // throws (with the address) when it cannot listen
  void stop();
  bool enabled() const;
  std::string base_url() const;

  struct Outcome {
    bool ok;
    std::string body;
  };
  // What a probe answers, without HTTP (tests, and the server itself).
  Outcome evaluate(bool readiness, std::string_view only, bool verbose) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace raydog::runtime
