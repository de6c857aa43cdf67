// Beast-style fault loops: fail the n-th exchange for every n and every way of failing; the client must
// report each failure as a value and carry on; the server must survive clients that break off anywhere.
#include <doctest/doctest.h>

#include "test/unit/http/test_util.hpp"

using namespace raydog::http;
using namespace raydog::http::testing;
using namespace std::chrono_literals;

namespace {

enum class Fault { kDrop, kPartialHead, kShortBody, kGarbage, kBadChunk, kStall };
constexpr Fault kFaults[] = {Fault::kDrop,    Fault::kPartialHead, Fault::kShortBody,
                             Fault::kGarbage, Fault::kBadChunk,    Fault::kStall};

const char* name(Fault f) {
  switch (f) {
    case Fault::kDrop:
      return "drop";
    case Fault::kPartialHead:
      return "partial head";
    case Fault::kShortBody:
      return "short body";
    case Fault::kGarbage:
      return "garbage";
    case Fault::kBadChunk:
      return "bad chunk";
    case Fault::kStall:
      return "stall";
  }
  return "?";
}

TransportError::Kind expected_kind(Fault f) {
  switch (f) {
    case Fault::kDrop:
    case Fault::kPartialHead:
    case Fault::kShortBody:
      return TransportError::Kind::kClosed;
    case Fault::kGarbage:
    case Fault::kBadChunk:
      return TransportError::Kind::kProtocol;
    case Fault::kStall:
      return TransportError::Kind::kTimeout;
  }
  return TransportError::Kind::kClosed;
}

// A hand-written HTTP server (raw bytes, so it can misbehave in ways the real one never does) that fails
// its `fail_at`-th exchange (1-based, counted over all connections) with `fault`.
struct ScriptedServer {
  ScriptedServer(net::io_context& ioc, Fault f, int n)
      : acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)), fault(f), fail_at(n) {}
  tcp::acceptor acceptor;
  Fault fault;
  int fail_at;
  int exchanges = 0;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()); }

  net::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      tcp::socket s = co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return;
      net::co_spawn(acceptor.get_executor(), serve(std::move(s)), net::detached);
    }
  }

  net::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream s(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      error_code ec;
      bhttp::request<bhttp::string_body> req;
      s.expires_after(10s);
      co_await bhttp::async_read(s, buffer, req, net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return;
      const int n = ++exchanges;
      std::string out;
      if (n != fail_at) {
        out = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      } else {
        switch (fault) {
          case Fault::kDrop:
            break;
          case Fault::kPartialHead:
            out = "HTTP/1.1 200 OK\r\nContent-Le";
            break;
          case Fault::kShortBody:
            out = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
            break;
          case Fault::kGarbage:
            out = "NOT HTTP AT ALL\r\n\r\n";
            break;
          case Fault::kBadChunk:
            out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n";
            break;
          case Fault::kStall: {
            // Never answer; wait for the client to give up.
            char c;
            co_await s.async_read_some(net::buffer(&c, 1), net::redirect_error(net::use_awaitable, ec));
            co_return;
          }
        }
      }
      if (!out.empty()) {
        co_await net::async_write(s, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
        if (ec) co_return;
      }
      if (n == fail_at) {
        s.socket().shutdown(tcp::socket::shutdown_both, ec);
        co_return;
      }
    }
  }
};

constexpr int kRequests = 5;

}  // namespace

TEST_CASE("fault loop: POST, the n-th exchange fails in every way, for every n") {
  for (Fault fault : kFaults) {
    for (int fail_at = 1; fail_at <= kRequests; ++fail_at) {
      CAPTURE(name(fault));
      CAPTURE(fail_at);
      run([&](net::io_context& ioc) -> net::awaitable<void> {
        ScriptedServer server(ioc, fault, fail_at);
        net::co_spawn(ioc, server.accept_loop(), net::detached);
        Client client(ioc.get_executor(), client_options(server.url(), 300ms));
        for (int i = 1; i <= kRequests; ++i) {
          auto r = co_await client.send(make_request(bhttp::verb::post, "/", "{}"));
          if (i == fail_at) {
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().kind == expected_kind(fault));
            CHECK_FALSE(r.error().message.empty());
          } else {
            REQUIRE(r.ok());
            CHECK(r->body() == "ok");
          }
        }
        // POSTs are never resent: one exchange per request.
        CHECK(server.exchanges == kRequests);
      });
    }
  }
}

TEST_CASE("fault loop: GET is resent once when a pooled connection fails before any response byte") {
  for (Fault fault : kFaults) {
    for (int fail_at = 1; fail_at <= kRequests; ++fail_at) {
      CAPTURE(name(fault));
      CAPTURE(fail_at);
      run([&](net::io_context& ioc) -> net::awaitable<void> {
        ScriptedServer server(ioc, fault, fail_at);
        net::co_spawn(ioc, server.accept_loop(), net::detached);
        Client client(ioc.get_executor(), client_options(server.url(), 300ms));
        int failures = 0;
        for (int i = 1; i <= kRequests; ++i) {
          auto r = co_await client.send(make_request(bhttp::verb::get, "/"));
          if (!r.ok()) {
            ++failures;
            CHECK(i == fail_at);
            CHECK(r.error().kind == expected_kind(fault));
          } else {
            CHECK(r->body() == "ok");
          }
        }
        // A drop on a pooled connection (n > 1) is invisible thanks to the retry; everything else fails once.
        const bool retried = fault == Fault::kDrop && fail_at > 1;
        CHECK(failures == (retried ? 0 : 1));
        CHECK(server.exchanges == kRequests + (retried ? 1 : 0));
      });
    }
  }
}

TEST_CASE("fault loop: the server survives a client that breaks off after k bytes, for every k") {
  run([](net::io_context& ioc) -> net::awaitable<void> {
    int handled = 0;
    Server server(ioc, {}, [&](Exchange& ex) -> net::awaitable<void> {
      ++handled;
      co_await ex.respond(make_response(ex.request(), bhttp::status::ok, "ok"));
    });
    server.start();
    const std::string request =
        "POST /x HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
    for (std::size_t k = 0; k < request.size(); ++k) {
      CAPTURE(k);
      beast::tcp_stream s(ioc);
      s.expires_after(5s);
      co_await s.async_connect(server.local_endpoint(), net::use_awaitable);
      if (k > 0) co_await net::async_write(s, net::buffer(request.data(), k), net::use_awaitable);
      error_code ec;
      s.socket().shutdown(tcp::socket::shutdown_both, ec);
      s.close();
    }
    CHECK(handled == 0);
    // The whole request still works, and every broken connection is gone.
    const std::string full = co_await raw_exchange(
        server.local_endpoint(), request + "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    CHECK(full.rfind("HTTP/1.1 200 OK", 0) == 0);
    CHECK(full.find("HTTP/1.1 200 OK", 10) != std::string::npos);  // pipelined second answer
    CHECK(handled == 2);
    for (int i = 0; i < 400 && server.open_connections() != 0; ++i) co_await sleep_for(5ms);
    CHECK(server.open_connections() == 0);
  });
}
