#pragma once
// The yellowdog-sim binary as a child process on 127.0.0.1:0, and a synchronous facade over the shared
// raydog_http client to talk to it (http_test, ray_sim_test).
#include <doctest/doctest.h>
#include <zlib.h>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controller/http/client.hpp"
#include "test/support/process.hpp"

namespace raydog::ydsim::testing {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace http = raydog::http;
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using raydog::test::ChildProcess;
using raydog::test::TempDir;

// A provisioned worker pool request of `nodes` nodes, one worker each, tagged with its own name.
inline json pool_body(const std::string& name, int nodes) {
  return {{"requirementTemplateUsage",
           {{"templateId", "ray/template"},
            {"requirementName", name},
            {"requirementNamespace", "ray"},
            {"targetInstanceCount", nodes}}},
          {"provisionedProperties",
           {{"createNodeWorkers", {{"targetType", "PER_NODE"}, {"targetCount", 1}}},
            {"minNodes", 0},
            {"maxNodes", nodes},
            {"workerTag", name}}}};
}

struct SimProcess {
  explicit SimProcess(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{raydog::test::bin_path("yellowdog-sim"),
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--write-url",
                                  dir.file("url"),
                                  "--boot-delay",
                                  "100ms",
                                  "--register-delay",
                                  "100ms",
                                  "--task-start-delay",
                                  "100ms"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    raydog::test::ProcessOptions opts;
    opts.stdout_file = dir.file("stdout");
    opts.stderr_file = dir.file("stderr");
    proc = std::make_unique<ChildProcess>(argv, opts);
    auto u = raydog::test::wait_for_file(dir.file("url"), 30s, proc.get());
    REQUIRE_MESSAGE(u, "yellowdog-sim did not start: " << raydog::test::read_file(dir.file("stderr")));
    url = *u;
    while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
  }
  TempDir dir;
  std::unique_ptr<ChildProcess> proc;
  std::string url;
};

using SendResult = raydog::Result<http::Response, http::TransportError>;

inline net::awaitable<void> do_send(http::Client* c, http::Request req, std::optional<SendResult>* out) {
  *out = co_await c->send(std::move(req), std::chrono::milliseconds(20000));
}
inline net::awaitable<void> do_open(
    http::Client* c, http::Request req,
    std::optional<raydog::Result<std::unique_ptr<http::Stream>, http::TransportError>>* out) {
  *out = co_await c->open_stream(std::move(req), std::chrono::milliseconds(20000));
}
inline net::awaitable<void> do_line(
    http::Stream* s, std::optional<raydog::Result<std::optional<std::string>, http::TransportError>>* out) {
  *out = co_await s->next_line(std::chrono::milliseconds(20000));
}

inline std::string gzip(const std::string& data) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A synchronous facade over the shared raydog_http client for test code.
struct Http {
  explicit Http(const std::string& url, std::string auth = "")
      : client(ioc.get_executor(), options_for(url)), auth(std::move(auth)) {}

  // Fields set one by one: a designated initializer trips -Wmissing-field-initializers (-Werror in CI).
  static http::ClientOptions options_for(const std::string& url) {
    http::ClientOptions o;
    o.base_url = url;
    return o;
  }

  SendResult send(const std::string& method, const std::string& target, const std::string& body = "",
                  bool gzipped = false) {
    http::Request req{bhttp::string_to_verb(method), target, 11};
    if (!auth.empty()) req.set(bhttp::field::authorization, auth);
    if (!body.empty()) {
      req.set(bhttp::field::content_type, "application/json");
      if (gzipped) {
        req.set(bhttp::field::content_encoding, "gzip");
        req.body() = gzip(body);
      } else {
        req.body() = body;
      }
      req.prepare_payload();
    }
    std::optional<SendResult> out;
    net::co_spawn(ioc, do_send(&client, std::move(req), &out), net::detached);
    ioc.restart();
    ioc.run_for(30s);
    REQUIRE(out.has_value());
    return std::move(*out);
  }
  // Expects a 200 and returns the JSON.
  json ok(const std::string& method, const std::string& target, const json& body = nullptr, bool gz = false) {
    auto r = send(method, target, body.is_null() ? "" : body.dump(), gz);
    REQUIRE_MESSAGE(r.ok(), method << " " << target << ": " << (r.ok() ? "" : r.error().message));
    INFO(method << " " << target << " -> " << r->body());
    REQUIRE(r->result_int() == 200);
    return json::parse(r->body());
  }
  std::unique_ptr<http::Stream> open(const std::string& target) {
    http::Request req{bhttp::verb::get, target, 11};
    if (!auth.empty()) req.set(bhttp::field::authorization, auth);
    req.set(bhttp::field::accept, "text/event-stream");
    std::optional<raydog::Result<std::unique_ptr<http::Stream>, http::TransportError>> out;
    net::co_spawn(ioc, do_open(&client, std::move(req), &out), net::detached);
    ioc.restart();
    ioc.run_for(30s);
    REQUIRE(out.has_value());
    REQUIRE(out->ok());
    return std::move(out->value());
  }
  // The next SSE event's data (skips comments and the event line); nullopt at the end of the stream.
  std::optional<json> next_event(http::Stream& s, std::string* event_name = nullptr) {
    for (;;) {
      std::optional<raydog::Result<std::optional<std::string>, http::TransportError>> out;
      net::co_spawn(ioc, do_line(&s, &out), net::detached);
      ioc.restart();
      ioc.run_for(30s);
      REQUIRE(out.has_value());
      REQUIRE(out->ok());
      if (!out->value()) return std::nullopt;
      std::string line = *out->value();
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("event: ", 0) == 0 && event_name) *event_name = line.substr(7);
      if (line.rfind("data: ", 0) == 0) return json::parse(line.substr(6));
    }
  }
  // Polls (the simulator runs in real time) until pred holds; no fixed sleeps.
  json wait_for(const std::string& target, const std::function<bool(const json&)>& pred,
                std::chrono::seconds limit = 30s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    json last;
    while (std::chrono::steady_clock::now() < deadline) {
      last = ok("GET", target);
      if (pred(last)) return last;
      net::steady_timer t(ioc, 20ms);
      t.async_wait([](auto) {});
      ioc.restart();
      ioc.run();
    }
    FAIL("condition not met for " << target << "; last: " << last.dump());
    return last;
  }

  net::io_context ioc;
  http::Client client;
  std::string auth;
};

}  // namespace raydog::ydsim::testing
