// The dashboard's GET /api/version: parsing, the version floor, and a served answer.
#include <doctest/doctest.h>

#include "controller/ray/dashboard.hpp"
#include "test/support/closed_port.hpp"
#include "test/unit/http/test_util.hpp"

using namespace raydog::ray;
namespace http = raydog::http;

TEST_CASE("dashboard version: the answer's fields, and bodies that are not one") {
  auto v = parse_dashboard_version(
      R"({"version":"5","ray_version":"2.49.2","ray_commit":"abc123","session_name":"session_2026-12-06_09-00"})");
  REQUIRE(v);
  CHECK(v->api_version == "5");
  CHECK(v->ray_version == "2.49.2");
  CHECK(v->ray_commit == "abc123");
  CHECK(v->session_name == "session_2026-12-06_09-00");
  auto old = parse_dashboard_version(R"({"version":"3","ray_version":"2.9.3","ray_commit":"x"})");
  REQUIRE(old);
  CHECK(old->session_name.empty());
  CHECK_FALSE(parse_dashboard_version(R"({"version":"5"})"));
  CHECK_FALSE(parse_dashboard_version(R"({"ray_version":2.4})"));
  CHECK_FALSE(parse_dashboard_version("<html>502</html>"));
}

TEST_CASE("dashboard version: Ray 2.10 or newer is required for the GCS autoscaler state") {
  CHECK(ray_at_least("2.10.0", kMinRayMajor, kMinRayMinor));
  CHECK(ray_at_least("2.49.2", kMinRayMajor, kMinRayMinor));
  CHECK(ray_at_least("3.0.0.dev0", kMinRayMajor, kMinRayMinor));
  CHECK_FALSE(ray_at_least("2.9.3", kMinRayMajor, kMinRayMinor));
  CHECK_FALSE(ray_at_least("1.13.0", kMinRayMajor, kMinRayMinor));
  CHECK_FALSE(ray_at_least("", kMinRayMajor, kMinRayMinor));
  CHECK_FALSE(ray_at_least("two.ten", kMinRayMajor, kMinRayMinor));
  CHECK_FALSE(ray_at_least("2", kMinRayMajor, kMinRayMinor));
}

TEST_CASE("dashboard version: served by a head, refused by a closed port") {
  http::testing::run([](http::net::io_context& ioc) -> http::net::awaitable<void> {
    http::Server server(ioc, {}, [](http::Exchange& ex) -> http::net::awaitable<void> {
      if (ex.request().target() == "/api/version") {
        co_await ex.respond(http::make_response(ex.request(), http::bhttp::status::ok,
                                                R"({"version":"5","ray_version":"2.49.2","ray_commit":"c"})",
                                                "application/json"));
      } else {
        co_await ex.respond(http::make_response(ex.request(), http::bhttp::status::not_found, "{}"));
      }
    });
    server.start();
    auto v = co_await dashboard_version(ioc.get_executor(), server.base_url(), {}, std::chrono::seconds(5));
    REQUIRE(v.ok());
    CHECK(v->ray_version == "2.49.2");
    const std::string url = "http://" + raydog::test::closed_loopback_address();
    auto down = co_await dashboard_version(ioc.get_executor(), url, {}, std::chrono::seconds(5));
    REQUIRE_FALSE(down.ok());
    CHECK(down.error().kind == HeadError::Kind::kUnreachable);
    CHECK(down.error().message.rfind("GET " + url + "/api/version: connect", 0) == 0);
  });
}
