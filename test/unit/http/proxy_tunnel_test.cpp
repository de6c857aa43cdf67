// The client through a CONNECT proxy (test/support/connect_proxy): requests, keep-alive and streams travel
// in the tunnel; refusals, authentication and an absent proxy come back as precise transport errors.
#include <doctest/doctest.h>

#include "test/support/closed_port.hpp"
#include "test/support/connect_proxy.hpp"
#include "test/unit/http/test_util.hpp"

using namespace raydog::http;
using namespace raydog::http::testing;
using namespace std::chrono_literals;
namespace rt = raydog::test;

namespace {

ClientOptions via(const std::string& base_url, const std::string& proxy_url, std::string_view no_proxy = {}) {
  ClientOptions o = client_options(base_url, 5s);
  auto parsed = EgressProxies::parse(proxy_url, proxy_url, no_proxy);
  REQUIRE(parsed.error.empty());
  o.egress = parsed.proxies;
  return o;
}

Handler echo_peer() {
  return [](Exchange& ex) -> net::awaitable<void> {
    if (ex.request().target() == "/watch") {
      ResponseHead head;
      head.result(bhttp::status::ok);
      co_await ex.begin_stream(std::move(head));
      co_await ex.write_chunk("one\ntw");
      co_await ex.write_chunk("o\n");
      co_await ex.end_stream();
      co_return;
    }
    co_await ex.respond(make_response(ex.request(), bhttp::status::ok,
                                      std::string(ex.request().target()) + "|" +
                                          std::string(ex.request()[bhttp::field::host]),
                                      "text/plain"));
  };
}

std::string target_of(const Server& server) {
  return "127.0.0.1:" + std::to_string(server.local_endpoint().port());
}

}  // namespace

TEST_CASE("proxy: requests and streams travel through one CONNECT tunnel per connection") {
  rt::ConnectProxy proxy;
  run([&](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, {}, echo_peer());
    server.start();
    Client client(ioc.get_executor(), via(server.base_url(), proxy.url()));
    REQUIRE(client.proxy());
    CHECK(client.proxy()->display() == proxy.url());
    for (int i = 0; i < 3; ++i) {
      auto r = co_await client.send(make_request(bhttp::verb::get, "/a"));
      REQUIRE(r.ok());
      CHECK(r->body() == "/a|" + target_of(server));  // origin-form target, the target's Host
    }
    CHECK(proxy.connects_to(target_of(server)) == 1);  // keep-alive reuses the tunnel
    auto s = co_await client.open_stream(make_request(bhttp::verb::get, "/watch"));
    REQUIRE(s.ok());
    const std::vector<std::string> lines = co_await read_lines(**s);
    CHECK(lines == std::vector<std::string>{"one", "two"});
    CHECK(proxy.connects_to(target_of(server)) == 2);  // a stream has its own connection, hence tunnel
    CHECK(proxy.tunnels_opened() == 2);
  });
}

TEST_CASE("proxy: NO_PROXY entries go direct") {
  rt::ConnectProxy proxy;
  run([&](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, {}, echo_peer());
    server.start();
    Client client(ioc.get_executor(), via(server.base_url(), proxy.url(), target_of(server)));
    CHECK_FALSE(client.proxy());
    auto r = co_await client.send(make_request(bhttp::verb::get, "/a"));
    REQUIRE(r.ok());
    CHECK(proxy.connects().empty());
  });
}

TEST_CASE("proxy: a refusal, a missing or wrong credential and an absent proxy are precise errors") {
  rt::ConnectProxy::Options demands;
  demands.required_authorization = "Basic dXNlcjpzM2NyZXQ=";  // user:s3cret
  rt::ConnectProxy proxy(demands);
  run([&](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, {}, echo_peer());
    server.start();
    const std::string host_port = proxy.url().substr(7);

    Client anonymous(ioc.get_executor(), via(server.base_url(), proxy.url()));
    auto r = co_await anonymous.send(make_request(bhttp::verb::get, "/a"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == TransportError::Kind::kConnect);
    CHECK(r.error().message == "proxy " + proxy.url() + " CONNECT " + target_of(server) +
                                   ": refused: 407 Proxy Authentication Required (no credentials in the proxy URL)");

    Client wrong(ioc.get_executor(), via(server.base_url(), "http://user:guess@" + host_port));
    r = co_await wrong.send(make_request(bhttp::verb::get, "/a"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.ends_with("407 Proxy Authentication Required (credentials refused)"));
    CHECK(r.error().message.find("guess") == std::string::npos);

    Client right(ioc.get_executor(), via(server.base_url(), "http://user:s3cret@" + host_port));
    r = co_await right.send(make_request(bhttp::verb::get, "/a"));
    REQUIRE(r.ok());
    CHECK(r->body() == "/a|" + target_of(server));

    proxy.set_refuse_status(403);
    Client refused(ioc.get_executor(), via(server.base_url(), "http://user:s3cret@" + host_port));
    auto s = co_await refused.open_stream(make_request(bhttp::verb::get, "/watch"));
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == TransportError::Kind::kConnect);
    CHECK(s.error().message.ends_with(": refused: 403 Refused By Test"));

    // A proxy that is not there: the error names the proxy and the target it was meant for.
    const std::string dead = raydog::test::closed_loopback_address();
    Client nowhere(ioc.get_executor(), via(server.base_url(), "http://" + dead));
    r = co_await nowhere.send(make_request(bhttp::verb::get, "/a"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == TransportError::Kind::kConnect);
    CHECK(r.error().message.starts_with("connect proxy http://" + dead + " (for " +
                                        target_of(server) + "): "));
  });
}
