#pragma once
// Test helpers for the HTTP layer: run one coroutine on a fresh io_context to completion, raw sockets.
#include <doctest/doctest.h>

#include <boost/asio/redirect_error.hpp>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "controller/http/client.hpp"
#include "controller/http/server.hpp"

namespace raydog::http::testing {

// Runs body(ioc) as a coroutine; rethrows its exception. Whatever is still pending when the body returns
// (servers' accept loops, sessions) is destroyed with the io_context.
inline void run(const std::function<net::awaitable<void>(net::io_context&)>& body) {
  net::io_context ioc;
  std::exception_ptr error;
  bool finished = false;
  net::co_spawn(ioc, body(ioc), [&](std::exception_ptr e) {
    error = e;
    finished = true;
    ioc.stop();
  });
  ioc.run();
  if (error) std::rethrow_exception(error);
  REQUIRE(finished);
}

inline ClientOptions client_options(std::string base_url,
                                    std::chrono::milliseconds request_timeout = std::chrono::seconds(30)) {
  ClientOptions o;
  o.base_url = std::move(base_url);
  o.request_timeout = request_timeout;
  return o;
}

inline ServerOptions server_options(std::string listen = "127.0.0.1:0") {
  ServerOptions o;
  o.listen = std::move(listen);
  return o;
}

inline Request make_request(bhttp::verb verb, std::string target, std::string body = {}) {
  Request req{verb, target, 11};
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  return req;
}

// Writes raw bytes on a fresh connection and reads everything until the server closes (or timeout).
inline net::awaitable<std::string> raw_exchange(
    const tcp::endpoint& ep, std::string bytes,
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  beast::tcp_stream s(co_await net::this_coro::executor);
  s.expires_after(timeout);
  co_await s.async_connect(ep, net::use_awaitable);
  co_await net::async_write(s, net::buffer(bytes), net::use_awaitable);
  std::string out;
  for (;;) {
    char buf[4096];
    error_code ec;
    const std::size_t n =
        co_await s.async_read_some(net::buffer(buf), net::redirect_error(net::use_awaitable, ec));
    out.append(buf, n);
    if (ec) break;
  }
  co_return out;
}

// Every line of a stream until its clean end (REQUIREs no transport error).
inline net::awaitable<std::vector<std::string>> read_lines(Stream& stream) {
  std::vector<std::string> lines;
  for (;;) {
    auto l = co_await stream.next_line(std::chrono::seconds(5));
    REQUIRE(l.ok());
    if (!l->has_value()) co_return lines;
    lines.push_back(**l);
  }
}

inline net::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  net::steady_timer t(co_await net::this_coro::executor, d);
  co_await t.async_wait(net::use_awaitable);
}

}  // namespace raydog::http::testing
