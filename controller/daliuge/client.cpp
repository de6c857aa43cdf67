#include "controller/daliuge/client.hpp"

#include <nlohmann/json.hpp>

#include "controller/daliuge/dim_wire.hpp"
#include "controller/http/client.hpp"

namespace raydog::daliuge {
namespace {

using nlohmann::json;

http::ClientOptions options_for(const std::string& base_url, std::chrono::milliseconds timeout,
                                const http::EgressProxies& egress) {
  http::ClientOptions o;
  o.base_url = base_url;
  o.egress = egress;
  o.connect_timeout = timeout;
  o.request_timeout = timeout;
  o.max_idle_connections = 0;  // no pooled connection, hence no automatic resend of a write
  o.body_limit = 16 * 1024 * 1024;
  return o;
}

http::Request request(http::bhttp::verb verb, std::string target) {
  http::Request req{verb, target, 11};
  req.set(http::bhttp::field::accept, "application/json");
  return req;
}

DimError transport_error(const std::string& what, const http::TransportError& e) {
  DimError d;
  d.kind = DimError::Kind::kTransport;
  d.timeout = e.kind == http::TransportError::Kind::kTimeout;
  d.message = what + ": " + e.message;
  return d;
}

DimError status_error(const std::string& what, const http::Response& res) {
  DimError d;
  d.kind = DimError::Kind::kStatus;
  d.status = static_cast<int>(res.result_int());
  d.message = what + ": HTTP " + std::to_string(d.status);
  return d;
}

// POST or DELETE /api/node/<node>: 200, or the error naming the request.
boost::asio::awaitable<Result<Done, DimError>> write_node(http::Client& client,
                                                          std::chrono::milliseconds timeout,
                                                          http::bhttp::verb verb, std::string node) {
  const std::string target = "/api/node/" + node;
  const std::string what = std::string(http::bhttp::to_string(verb)) + " " + target;
  auto res = co_await client.send(request(verb, target), timeout);
  if (!res) co_return unexpected(transport_error(what, res.error()));
  if (res->result() != http::bhttp::status::ok) co_return unexpected(status_error(what, *res));
  co_return Done{};
}

}  // namespace

DimClient::DimClient(boost::asio::any_io_executor ex, const std::string& base_url,
                     std::chrono::milliseconds timeout, const http::EgressProxies& egress)
    : base_url_(base_url),
      timeout_(timeout),
      http_(std::make_unique<http::Client>(ex, options_for(base_url, timeout, egress))) {}

DimClient::~DimClient() = default;

boost::asio::awaitable<Result<std::vector<std::string>, DimError>> DimClient::nodes() {
  const std::string what = "GET /api/nodes";
  auto res = co_await http_->send(request(http::bhttp::verb::get, "/api/nodes"), timeout_);
  if (!res) co_return unexpected(transport_error(what, res.error()));
  if (res->result() != http::bhttp::status::ok) co_return unexpected(status_error(what, *res));
  auto nodes = parse_node_list(res->body());
  if (!nodes)
    co_return unexpected(DimError{DimError::Kind::kProtocol, 200, false, what + ": not a JSON array of strings"});
  co_return std::move(*nodes);
}

boost::asio::awaitable<Result<Done, DimError>> DimClient::add_node(std::string node) {
  co_return co_await write_node(*http_, timeout_, http::bhttp::verb::post, std::move(node));
}

// A 500 HTML answer to DELETE means the node was not listed ("possibly already gone", §4.11); the caller
// re-reads the list rather than trusting either answer.
boost::asio::awaitable<Result<Done, DimError>> DimClient::remove_node(std::string node) {
  co_return co_await write_node(*http_, timeout_, http::bhttp::verb::delete_, std::move(node));
}

boost::asio::awaitable<Result<bool, DimError>> DimClient::sessions_active() {
  const std::string what = "GET /api/sessions";
  auto res = co_await http_->send(request(http::bhttp::verb::get, "/api/sessions"), timeout_);
  if (!res) co_return unexpected(transport_error(what, res.error()));
  if (res->result() != http::bhttp::status::ok) co_return unexpected(status_error(what, *res));
  auto active = parse_sessions_active(res->body());
  if (!active)
    co_return unexpected(DimError{DimError::Kind::kProtocol, 200, false, what + ": not a JSON array"});
  co_return *active;
}

boost::asio::awaitable<bool> nm_answers(boost::asio::any_io_executor ex, std::string ip, int port,
                                        std::chrono::milliseconds timeout, http::EgressProxies egress) {
  http::Client client(ex, options_for("http://" + ip + ":" + std::to_string(port), timeout, egress));
  auto res = co_await client.send(request(http::bhttp::verb::get, "/api"), timeout);
  co_return res && res->result() == http::bhttp::status::ok;
}

}  // namespace raydog::daliuge
