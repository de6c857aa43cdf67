#include "controller/ray/dashboard.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "controller/http/client.hpp"
#include "controller/util/json_read.hpp"

namespace raydog::ray {

std::optional<DashboardVersion> parse_dashboard_version(std::string_view body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("ray_version") || !j["ray_version"].is_string()) return std::nullopt;
  DashboardVersion v;
  v.api_version = json_string_or(j, "version");
  v.ray_version = json_string_or(j, "ray_version");
  v.ray_commit = json_string_or(j, "ray_commit");
  v.session_name = json_string_or(j, "session_name");
  return v;
}

bool ray_at_least(std::string_view version, int major, int minor) {
  int parts[2] = {0, 0};
  const char* p = version.data();
  const char* end = version.data() + version.size();
  for (int i = 0; i < 2; ++i) {
    auto [next, ec] = std::from_chars(p, end, parts[i]);
    if (ec != std::errc() || next == p) return false;
    p = next;
    if (i == 0) {
      if (p == end || *p != '.') return false;
      ++p;
    }
  }
  return parts[0] > major || (parts[0] == major && parts[1] >= minor);
}

boost::asio::awaitable<Result<DashboardVersion, HeadError>> dashboard_version(
    boost::asio::any_io_executor ex, std::string dashboard_url, http::EgressProxies egress,
    std::chrono::milliseconds deadline) {
  const std::string what = "GET " + dashboard_url + "/api/version";
  http::ClientOptions o;
  o.base_url = dashboard_url;
  o.connect_timeout = deadline;
  o.request_timeout = deadline;
  o.max_idle_connections = 0;
  o.body_limit = 64 * 1024;
  o.egress = std::move(egress);
  std::optional<http::Client> client;
  try {
    client.emplace(ex, o);
  } catch (const std::exception& e) {
    co_return unexpected(HeadError{HeadError::Kind::kProtocol, what + ": " + e.what()});
  }
  http::Request req{http::bhttp::verb::get, "/api/version", 11};
  req.set(http::bhttp::field::accept, "application/json");
  auto res = co_await client->send(std::move(req), deadline);
  if (!res) {
    const bool timeout = res.error().kind == http::TransportError::Kind::kTimeout;
    co_return unexpected(HeadError{timeout ? HeadError::Kind::kTimeout : HeadError::Kind::kUnreachable,
                                   what + ": " + res.error().message});
  }
  if (res->result() != http::bhttp::status::ok)
    co_return unexpected(HeadError{HeadError::Kind::kProtocol, what + ": HTTP " + std::to_string(res->result_int())});
  auto v = parse_dashboard_version(res->body());
  if (!v) co_return unexpected(HeadError{HeadError::Kind::kProtocol, what + ": not a Ray version answer"});
  co_return std::move(*v);
}

}  // namespace raydog::ray
