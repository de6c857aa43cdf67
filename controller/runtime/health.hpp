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

#include "controller/runtime/probe_server.hpp"

namespace raydog::runtime {

// nullopt: healthy; otherwise why not.
using Check = std::function<std::optional<std::string>()>;

class HealthServer : public ProbeServer {
 public:
  HealthServer(boost::asio::io_context& ioc, std::string bind_address);
  ~HealthServer();
  // A "ping" liveness check that always passes is registered by default.
  void add_healthz_check(std::string name, Check check);
  // Readiness: e.g. "informer-sync" until the caches synced, "leader" is NOT a readiness check (standbys
  // must stay ready, as in controller-runtime).
  void add_readyz_check(std::string name, Check check);

  struct Outcome {
    bool ok;
    std::string body;
  };
  // What a probe answers, without HTTP (tests, and the server itself).
  Outcome evaluate(bool readiness, std::string_view only, bool verbose) const;

 private:
  boost::asio::awaitable<void> handle(http::Exchange& ex);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace raydog::runtime
