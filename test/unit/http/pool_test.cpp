// Connection pool under concurrency, IPv6 loopback, HEAD, and streams over non-chunked bodies.
#include <doctest/doctest.h>

#include "test/unit/http/test_util.hpp"

using namespace raydog::http;
using namespace raydog::http::testing;
using namespace std::chrono_literals;

TEST_CASE("pool: concurrent sends on one client each get an answer, idle connections are capped") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    std::size_t peak = 0;
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      co_await sleep_for(5ms);  // overlap the requests
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, std::string(ex.request().target())));
    });
    server.start();
    ClientOptions o = client_options(server.base_url());
    o.max_idle_connections = 3;
    Client client(ioc.get_executor(), o);
    constexpr int kConcurrent = 12;
    int answered = 0, wrong = 0;
    for (int round = 0; round < 2; ++round) {
      int finished = 0;
      for (int i = 0; i < kConcurrent; ++i) {
        net::co_spawn(
            ioc,
            [&, i]() -> net::awaitable<void> {
              const std::string target = "/r" + std::to_string(i);
              auto r = co_await client.send(make_request(bhttp::verb::get, target));
              if (r.ok() && r->body() == target) {
                ++answered;
              } else {
                ++wrong;
              }
              ++finished;
            },
            net::detached);
      }
      while (finished < kConcurrent) {
        peak = std::max(peak, server.open_connections());
        co_await sleep_for(1ms);
      }
    }
    CHECK(answered == 2 * kConcurrent);
    CHECK(wrong == 0);
    CHECK(peak <= static_cast<std::size_t>(kConcurrent));
    // Only max_idle_connections stay open once everything is idle.
    for (int i = 0; i < 400 && server.open_connections() > 3; ++i) co_await sleep_for(5ms);
    CHECK(server.open_connections() <= 3);
  });
}

TEST_CASE("IPv6 loopback: [::1]:0 server and client (skipped when the host has no ::1)") {
  {
    net::io_context probe;
    error_code ec;
    tcp::acceptor a(probe);
    a.open(tcp::v6(), ec);
    if (!ec) a.bind(tcp::endpoint(net::ip::make_address("::1"), 0), ec);
    if (ec) {
      MESSAGE("no IPv6 loopback here: " << ec.message());
      return;
    }
  }
  run([](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, server_options("[::1]:0"), [](Exchange& ex) -> net::awaitable<void> {
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, ex.peer().address));
    });
    server.start();
    CHECK(server.base_url().rfind("http://[::1]:", 0) == 0);
    Client client(ioc.get_executor(), client_options(server.base_url()));
    CHECK(client.url().host == "::1");
    auto r = co_await client.send(make_request(bhttp::verb::get, "/"));
    REQUIRE(r.ok());
    CHECK(r->body() == "::1");
  });
}

TEST_CASE("HEAD responses carry no body, streams read Content-Length and empty bodies") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, {}, [](Exchange& ex) -> net::awaitable<void> {
      const auto target = ex.request().target();
      if (target == "/empty") {
        co_await ex.respond(make_response(ex.request(), bhttp::status::no_content, ""));
      } else {
        auto res = make_response(ex.request(), bhttp::status::ok, "line1\nline2\r\nlast");
        if (ex.request().method() == bhttp::verb::head) res.body().clear();
        if (ex.request().method() == bhttp::verb::head) res.content_length(17);
        co_await ex.respond(std::move(res));
      }
    });
    server.start();
    Client client(ioc.get_executor(), client_options(server.base_url()));
    auto head = co_await client.send(make_request(bhttp::verb::head, "/doc"));
    REQUIRE(head.ok());
    CHECK(head->result() == bhttp::status::ok);
    CHECK(head->body().empty());
    // The connection stays usable after a HEAD.
    auto get = co_await client.send(make_request(bhttp::verb::get, "/doc"));
    REQUIRE(get.ok());
    CHECK(get->body() == "line1\nline2\r\nlast");
    CHECK(server.open_connections() == 1);

    auto s = co_await client.open_stream(make_request(bhttp::verb::get, "/doc"));
    REQUIRE(s.ok());
    const std::vector<std::string> lines = co_await read_lines(**s);
    CHECK(lines == std::vector<std::string>{"line1", "line2\r", "last"});  // "\r" kept for the caller

    auto e = co_await client.open_stream(make_request(bhttp::verb::get, "/empty"));
    REQUIRE(e.ok());
    CHECK((*e)->head().result() == bhttp::status::no_content);
    auto none = co_await (*e)->next_line(5s);
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
  });
}

TEST_CASE("a streaming handler notices a vanished client without the server stopping") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    bool handler_ended = false, saw_closed = false;
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      ResponseHead head;
      head.result(bhttp::status::ok);
      co_await ex.begin_stream(std::move(head));
      co_await ex.write_chunk("hello\n");
      // A watch with no events: only heartbeat checks.
      while (co_await ex.write_chunk("")) co_await sleep_for(5ms);
      saw_closed = ex.peer_closed();
      co_await ex.end_stream();
      handler_ended = true;
    });
    server.start();
    Client client(ioc.get_executor(), client_options(server.base_url()));
    auto s = co_await client.open_stream(make_request(bhttp::verb::get, "/watch"));
    REQUIRE(s.ok());
    auto first = co_await (*s)->next_line(5s);
    REQUIRE(first.ok());
    CHECK(**first == "hello");
    (*s)->close();
    for (int i = 0; i < 1000 && !handler_ended; ++i) co_await sleep_for(5ms);
    CHECK(handler_ended);
    CHECK(saw_closed);
    for (int i = 0; i < 400 && server.open_connections() != 0; ++i) co_await sleep_for(5ms);
    CHECK(server.open_connections() == 0);
  });
}
