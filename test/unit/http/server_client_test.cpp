// Plain-HTTP server and client against each other on 127.0.0.1:0.
#include <doctest/doctest.h>

#include <set>

#include "test/unit/http/test_util.hpp"

using namespace raydog::http;
using namespace raydog::http::testing;
using namespace std::chrono_literals;

TEST_CASE("round trip: method, target with prefix, body, headers") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    std::string seen_host, seen_agent;
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      seen_host = std::string(ex.request()[bhttp::field::host]);
      seen_agent = std::string(ex.request()[bhttp::field::user_agent]);
      auto res = make_response(ex.request(), bhttp::status::created,
                               std::string(ex.request().target()) + "|" + ex.request().body());
      res.set("X-Peer", ex.peer().address);
      co_await ex.respond(std::move(res));
    });
    server.start();
    CHECK(server.base_url().rfind("http://127.0.0.1:", 0) == 0);
    Client client(ioc.get_executor(), client_options(server.base_url() + "/api/"));
    auto r = co_await client.send(make_request(bhttp::verb::post, "/v1/things?x=1", R"({"a":1})"));
    REQUIRE(r.ok());
    CHECK(r->result() == bhttp::status::created);
    CHECK(r->body() == R"(/api/v1/things?x=1|{"a":1})");
    CHECK((*r)[bhttp::field::content_type] == "application/json");
    CHECK((*r)["X-Peer"] == "127.0.0.1");
    CHECK(seen_host == client.url().host_header());
    CHECK(seen_agent == "raydog-operator");
  });
}

TEST_CASE("keep-alive: sequential requests reuse one connection") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, "ok"));
    });
    std::size_t max_open = 0;
    server.start();
    Client client(ioc.get_executor(), client_options(server.base_url()));
    for (int i = 0; i < 5; ++i) {
      auto r = co_await client.send(make_request(bhttp::verb::get, "/x"));
      REQUIRE(r.ok());
      CHECK(r->body() == "ok");
      max_open = std::max(max_open, server.open_connections());
    }
    CHECK(max_open == 1);
    // Connection: close from the client side closes the connection after the response.
    auto req = make_request(bhttp::verb::get, "/x");
    req.keep_alive(false);
    auto r = co_await client.send(std::move(req));
    REQUIRE(r.ok());
    CHECK_FALSE(r->keep_alive());
  });
}

TEST_CASE("keep-alive: connection counting via the server") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    int requests = 0;
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      ++requests;
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, "ok"));
    });
    server.start();
    Client client(ioc.get_executor(), client_options(server.base_url()));
    for (int i = 0; i < 10; ++i) {
      auto r = co_await client.send(make_request(bhttp::verb::get, "/"));
      REQUIRE(r.ok());
      CHECK(server.open_connections() == 1);
    }
    CHECK(requests == 10);
    client.close_idle();
    // The server notices the close; poll instead of sleeping a fixed time.
    for (int i = 0; i < 200 && server.open_connections() != 0; ++i) co_await sleep_for(5ms);
    CHECK(server.open_connections() == 0);
  });
}

TEST_CASE("a stale pooled connection is replaced transparently") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    ServerOptions opts;
    opts.idle_timeout = 1s;  // the server drops idle keep-alive connections quickly
    int requests = 0;
    Server server(ioc, opts, [&](Exchange& ex) -> net::awaitable<void> {
      ++requests;
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, "ok"));
    });
    server.start();
    Client client(ioc.get_executor(), client_options(server.base_url()));
    REQUIRE((co_await client.send(make_request(bhttp::verb::post, "/a", "{}"))).ok());
    for (int i = 0; i < 400 && server.open_connections() != 0; ++i) co_await sleep_for(10ms);
    REQUIRE(server.open_connections() == 0);
    // A POST on the stale connection must not fail: the staleness check discards it before writing.
    auto r = co_await client.send(make_request(bhttp::verb::post, "/b", "{}"));
    REQUIRE(r.ok());
    CHECK(requests == 2);
  });
}

TEST_CASE("body limit: 413 and the connection is closed") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    ServerOptions opts;
    opts.body_limit = 1024;
    int handled = 0;
    Server server(ioc, opts, [&](Exchange& ex) -> net::awaitable<void> {
      ++handled;
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, "ok"));
    });
    server.start();
    Client client(ioc.get_executor(), client_options(server.base_url()));
    auto small = co_await client.send(make_request(bhttp::verb::post, "/", std::string(1000, 'a')));
    REQUIRE(small.ok());
    CHECK(small->result() == bhttp::status::ok);
    // Larger than the socket buffers, so the lingering close matters.
    auto big = co_await client.send(make_request(bhttp::verb::post, "/", std::string(4 * 1024 * 1024, 'b')));
    REQUIRE(big.ok());
    CHECK(big->result() == bhttp::status::payload_too_large);
    CHECK_FALSE(big->keep_alive());
    CHECK(handled == 1);
    auto again = co_await client.send(make_request(bhttp::verb::get, "/"));
    REQUIRE(again.ok());
    CHECK(again->result() == bhttp::status::ok);
  });
}

TEST_CASE("malformed request: 400, and the server keeps serving") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, "ok"));
    });
    server.start();
    const auto ep = server.local_endpoint();
    const std::string bad1 = co_await raw_exchange(ep, "GARBAGE\r\n\r\n");
    CHECK(bad1.rfind("HTTP/1.1 400", 0) == 0);
    const std::string bad2 =
        co_await raw_exchange(ep, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n");
    CHECK(bad2.rfind("HTTP/1.1 400", 0) == 0);
    const std::string huge_header = co_await raw_exchange(
        ep, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100 * 1024, 'h') + "\r\n\r\n");
    CHECK(huge_header.rfind("HTTP/1.1 431", 0) == 0);
    // A client that half-sends a request and goes away is not answered.
    const std::string partial = co_await raw_exchange(ep, "GET / HTTP/1.1\r\nHost: x\r\n", 300ms);
    CHECK(partial.empty());
    Client client(ioc.get_executor(), client_options(server.base_url()));
    auto r = co_await client.send(make_request(bhttp::verb::get, "/"));
    REQUIRE(r.ok());
    CHECK(r->body() == "ok");
  });
}

TEST_CASE("a handler that throws or does not answer gives 500, the server survives") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    std::vector<std::string> errors;
    ServerOptions opts;
    opts.error_log = [&](std::string_view what) { errors.emplace_back(what); };
    Server server(ioc, opts, [&](Exchange& ex) -> net::awaitable<void> {
      if (ex.request().target() == "/throw") throw std::runtime_error("boom");
      if (ex.request().target() == "/silent") co_return;
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, "ok"));
    });
    server.start();
    Client client(ioc.get_executor(), client_options(server.base_url()));
    auto a = co_await client.send(make_request(bhttp::verb::get, "/throw"));
    REQUIRE(a.ok());
    CHECK(a->result() == bhttp::status::internal_server_error);
    auto b = co_await client.send(make_request(bhttp::verb::get, "/silent"));
    REQUIRE(b.ok());
    CHECK(b->result() == bhttp::status::internal_server_error);
    auto c = co_await client.send(make_request(bhttp::verb::get, "/fine"));
    REQUIRE(c.ok());
    CHECK(c->result() == bhttp::status::ok);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("boom") != std::string::npos);
  });
}

TEST_CASE("streaming: lines reassembled across chunk boundaries") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      ResponseHead head;
      head.result(bhttp::status::ok);
      head.set(bhttp::field::content_type, "application/json");
      REQUIRE(co_await ex.begin_stream(std::move(head)));
      // One object split over three chunks, two objects in one chunk, an empty chunk (ignored), a line
      // without a final newline.
      for (std::string_view part :
           {std::string_view(R"({"type":"ADD)"), std::string_view(R"(ED","n":)"), std::string_view("1}\n"),
            std::string_view("{\"n\":2}\n{\"n\":3}\n"), std::string_view(""), std::string_view("tail")}) {
        CHECK(co_await ex.write_chunk(part));
        co_await sleep_for(1ms);  // separate TCP segments
      }
      co_await ex.end_stream();
    });
    server.start();
    Client client(ioc.get_executor(), client_options(server.base_url()));
    auto opened = co_await client.open_stream(make_request(bhttp::verb::get, "/watch"));
    REQUIRE(opened.ok());
    auto& stream = **opened;
    CHECK(stream.head().result() == bhttp::status::ok);
    CHECK(stream.head()[bhttp::field::content_type] == "application/json");
    std::vector<std::string> lines;
    for (;;) {
      auto line = co_await stream.next_line(5s);
      REQUIRE(line.ok());
      if (!line->has_value()) break;
      lines.push_back(**line);
    }
    CHECK(lines == std::vector<std::string>{R"({"type":"ADDED","n":1})", R"({"n":2})", R"({"n":3})", "tail"});
  });
}

TEST_CASE("streaming: idle timeout, close() cancels a pending read, stop() ends streams") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    int streams_ended = 0;
    bool saw_stopping = false;
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      ResponseHead head;
      head.result(bhttp::status::ok);
      REQUIRE(co_await ex.begin_stream(std::move(head)));
      CHECK(co_await ex.write_chunk("first\n"));
      // A watch that only sends bookmarks now and then: keep going until the peer or the server goes.
      while (co_await ex.write_chunk("")) {
        if (ex.stopping()) break;
        co_await sleep_for(5ms);
        if (ex.request().target() == "/chatty" && !(co_await ex.write_chunk("tick\n"))) break;
      }
      saw_stopping = saw_stopping || ex.stopping();
      ++streams_ended;
      co_await ex.end_stream();
    });
    server.start();
    Client client(ioc.get_executor(), client_options(server.base_url()));

    auto quiet = co_await client.open_stream(make_request(bhttp::verb::get, "/quiet"));
    REQUIRE(quiet.ok());
    auto l1 = co_await (*quiet)->next_line(5s);
    REQUIRE(l1.ok());
    CHECK(**l1 == "first");
    auto l2 = co_await (*quiet)->next_line(50ms);
    REQUIRE_FALSE(l2.ok());
    CHECK(l2.error().kind == TransportError::Kind::kTimeout);

    auto chatty = co_await client.open_stream(make_request(bhttp::verb::get, "/chatty"));
    REQUIRE(chatty.ok());
    auto c1 = co_await (*chatty)->next_line(5s);
    REQUIRE(c1.ok());
    CHECK(**c1 == "first");
    auto c2 = co_await (*chatty)->next_line(5s);
    REQUIRE(c2.ok());
    CHECK(**c2 == "tick");

    // close() from another coroutine while next_line waits.
    auto third = co_await client.open_stream(make_request(bhttp::verb::get, "/quiet"));
    REQUIRE(third.ok());
    REQUIRE((co_await (*third)->next_line(5s)).ok());
    Stream* raw = third->get();
    net::co_spawn(
        ioc,
        [raw]() -> net::awaitable<void> {
          co_await sleep_for(20ms);
          raw->close();
        },
        net::detached);
    auto cancelled = co_await raw->next_line(10s);
    REQUIRE_FALSE(cancelled.ok());
    CHECK(cancelled.error().kind == TransportError::Kind::kCancelled);

    // Server::stop(): running streams see stopping()/write failure and the client sees the end.
    server.stop();
    server.stop();  // twice is fine
    bool chatty_ended = false;
    for (int i = 0; i < 100000; ++i) {
      auto l = co_await (*chatty)->next_line(5s);
      if (!l.ok() || !l->has_value()) {
        chatty_ended = true;
        break;
      }
    }
    CHECK(chatty_ended);
    for (int i = 0; i < 400 && (server.open_connections() != 0 || streams_ended < 3); ++i)
      co_await sleep_for(5ms);
    CHECK(server.open_connections() == 0);
    CHECK(streams_ended == 3);
    CHECK(saw_stopping);
    // A stopped server accepts nothing.
    auto refused = co_await client.send(make_request(bhttp::verb::get, "/"), 2s);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == TransportError::Kind::kConnect);
  });
}

TEST_CASE("client timeouts: a server that never answers, connect to a closed port") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    // A listening socket nobody accepts from: connect succeeds (backlog), no response ever comes.
    tcp::acceptor silent(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const auto port = silent.local_endpoint().port();
    Client client(ioc.get_executor(), client_options("http://127.0.0.1:" + std::to_string(port), 150ms));
    auto r = co_await client.send(make_request(bhttp::verb::get, "/"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == TransportError::Kind::kTimeout);
    auto s = co_await client.open_stream(make_request(bhttp::verb::get, "/watch"), 100ms);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == TransportError::Kind::kTimeout);

    // A handler that never answers: the per-request deadline ends it.
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      while (!ex.stopping()) co_await sleep_for(5ms);
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, "late"));
    });
    server.start();
    Client c2(ioc.get_executor(), client_options(server.base_url()));
    auto r2 = co_await c2.send(make_request(bhttp::verb::get, "/"), 100ms);
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().kind == TransportError::Kind::kTimeout);
    CHECK(r2.error().message.find("timed out") != std::string::npos);
    server.stop();

    // Nothing listens on a port we just released.
    tcp::acceptor temp(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const auto free_port = temp.local_endpoint().port();
    temp.close();
    Client c3(ioc.get_executor(), client_options("http://127.0.0.1:" + std::to_string(free_port)));
    auto r3 = co_await c3.send(make_request(bhttp::verb::get, "/"));
    REQUIRE_FALSE(r3.ok());
    CHECK(r3.error().kind == TransportError::Kind::kConnect);
    CHECK(r3.error().message.find("connect 127.0.0.1:") == 0);
  });
}

TEST_CASE("drop(): the client gets kClosed, a dropped POST is not resent") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    int posts = 0;
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      if (ex.request().method() == bhttp::verb::post) {
        ++posts;
        ex.drop();
        co_return;
      }
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, "ok"));
    });
    server.start();
    Client client(ioc.get_executor(), client_options(server.base_url()));
    // Fresh connection.
    auto a = co_await client.send(make_request(bhttp::verb::post, "/", "{}"));
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().kind == TransportError::Kind::kClosed);
    CHECK(posts == 1);
    // Pooled connection: still one POST at the server, still kClosed.
    REQUIRE((co_await client.send(make_request(bhttp::verb::get, "/"))).ok());
    auto b = co_await client.send(make_request(bhttp::verb::post, "/", "{}"));
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().kind == TransportError::Kind::kClosed);
    CHECK(posts == 2);
  });
}

TEST_CASE("bad base URLs are rejected with a message") {
  net::io_context ioc;
  CHECK_THROWS_AS(Client(ioc.get_executor(), client_options("ftp://x")), std::invalid_argument);
  CHECK_THROWS_WITH(Client(ioc.get_executor(), client_options("nonsense")),
                    doctest::Contains("not an http(s) URL"));
  Server busy(ioc, server_options("127.0.0.1:0"), [](Exchange&) -> net::awaitable<void> { co_return; });
  busy.start();
  Server clash(ioc, server_options("127.0.0.1:" + std::to_string(busy.local_endpoint().port())),
               [](Exchange&) -> net::awaitable<void> { co_return; });
  CHECK_THROWS_AS(clash.start(), boost::system::system_error);
  Server bad(ioc, server_options("nohostport"), [](Exchange&) -> net::awaitable<void> { co_return; });
  CHECK_THROWS_AS(bad.start(), std::invalid_argument);
}
