#pragma once
// One HTTP endpoint behind a controller-runtime bind flag (":8080" = all interfaces, "host:port", "0" =
// disabled). The metrics and the health servers both serve through it, so a bind flag means the same for
// both and "disabled" makes every call a no-op.
// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}
namespace raydog::http {
class Server;
class Exchange;
}  // namespace raydog::http

namespace raydog::runtime {

// ":8080" -> "0.0.0.0:8080" (all interfaces); "host:port" unchanged; "0" or "" -> "" (disabled).
std::string listen_address(std::string_view bind_address);

class ProbeServer {
 public:
  ProbeServer(const ProbeServer&) = delete;
  ProbeServer& operator=(const ProbeServer&) = delete;
  // Throws (with the address) when it cannot listen; does nothing when disabled.
  void start();
  void stop();
  bool enabled() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT"; empty when disabled

 protected:
  using Handler = std::function<boost::asio::awaitable<void>(http::Exchange&)>;
  // Creates the server unless `bind_address` disables it; requests go to `handler` (small bodies only).
  ProbeServer(boost::asio::io_context& ioc, std::string_view bind_address, Handler handler);
  ~ProbeServer();

 private:
  std::unique_ptr<http::Server> server_;
};

}  // namespace raydog::runtime
