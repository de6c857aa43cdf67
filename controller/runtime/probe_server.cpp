#include "controller/runtime/probe_server.hpp"

#include "controller/http/server.hpp"

namespace raydog::runtime {

std::string listen_address(std::string_view bind) {
  if (bind.empty() || bind == "0") return "";
  if (bind.front() == ':') return "0.0.0.0" + std::string(bind);
  return std::string(bind);
}

ProbeServer::ProbeServer(boost::asio::io_context& ioc, std::string_view bind_address, Handler handler) {
  const std::string listen = listen_address(bind_address);
  if (listen.empty()) return;
  http::ServerOptions o;
  o.listen = listen;
  o.body_limit = 64 * 1024;
  server_ = std::make_unique<http::Server>(ioc, o, std::move(handler));
}

ProbeServer::~ProbeServer() = default;

void ProbeServer::start() {
  if (server_) server_->start();
}
void ProbeServer::stop() {
  if (server_) server_->stop();
}
bool ProbeServer::enabled() const {
  return server_ != nullptr;
}
std::string ProbeServer::base_url() const {
  return server_ ? server_->base_url() : "";
}

}  // namespace raydog::runtime
