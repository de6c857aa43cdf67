// RestClient against an in-process scripted HTTP server (the shared raydog_http Server on 127.0.0.1:0).
#include "controller/kube/rest_client.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>

#include "controller/http/server.hpp"
#include "test/support/fake_clock.hpp"
#include "test/unit/kube/io_util.hpp"

using namespace raydog::kube;
using raydog::Result;
using raydog::kube::testing::run_until;
namespace http = raydog::http;

namespace {

struct Seen {
  std::string method, target, auth, content_type, body, accept;
};

// Answers the n-th request (1-based) with `script(req, n)`; a response with status 0 means "stream these
// lines" (watch).
struct ScriptedServer {
  using Script = std::function<http::Response(const http::Request&, int n)>;
  ScriptedServer(boost::asio::io_context& io, Script s) : script(std::move(s)) {
    server = std::make_unique<http::Server>(io, http::ServerOptions{},
                                            [this](http::Exchange& ex) { return handle(ex); });
    server->start();
  }
  ~ScriptedServer() { server->stop(); }
  http::net::awaitable<void> handle(http::Exchange& ex) {
    auto& req = ex.request();
    seen.push_back({std::string(req.method_string()), std::string(req.target()),
                    std::string(req[http::bhttp::field::authorization]),
                    std::string(req[http::bhttp::field::content_type]), req.body(),
                    std::string(req[http::bhttp::field::accept])});
    http::Response res = script(req, static_cast<int>(seen.size()));
    if (res.result_int() == 299) {  // marker: stream the body's lines in 7-byte chunks (objects straddle)
      http::ResponseHead head;
      head.result(http::bhttp::status::ok);
      head.set(http::bhttp::field::content_type, "application/json");
      if (!co_await ex.begin_stream(head)) co_return;
      const std::string& all = res.body();
      for (std::size_t i = 0; i < all.size(); i += 7)
        if (!co_await ex.write_chunk(std::string_view(all).substr(i, 7))) co_return;
      co_await ex.end_stream();
      co_return;
    }
    co_await ex.respond(std::move(res));
  }
  std::string url() const { return server->base_url(); }
  Script script;
  std::vector<Seen> seen;
  std::unique_ptr<http::Server> server;
};

http::Response reply(int code, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::Response r{static_cast<http::bhttp::status>(code), 11};
  r.set(http::bhttp::field::content_type, "application/json");
  for (auto& [k, v] : headers) r.set(k, v);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

std::string status(int code, const std::string& reason, const std::string& message,
                   const std::string& extra = "") {
  return R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")" + message +
         R"(","reason":")" + reason + "\"," + (extra.empty() ? "" : extra + ",") + R"("code":)" +
         std::to_string(code) + "}";
}

std::unique_ptr<RestClient> client_for(boost::asio::io_context& io, const std::string& url) {
  RestConfig rc;
  rc.server = url;
  rc.token = "must-not-be-sent-over-http";
  RestOptions o;
  o.retry_base = std::chrono::milliseconds(1);
  o.max_retries = 3;
  auto c = RestClient::create(io.get_executor(), rc, o);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().message));
  return std::move(*c);
}

template <class T>
T run(boost::asio::io_context& io, std::function<boost::asio::awaitable<T>()> fn) {
  std::optional<T> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await fn()); }, boost::asio::detached);
  REQUIRE(run_until(io, [&] { return out.has_value(); }));
  return std::move(*out);
}

const ResourceRef& rdc = resources::kRayDogClusters;

}  // namespace

TEST_CASE("rest: get builds the URL and headers, sends no credentials over http, decodes JSON") {
  boost::asio::io_context io;
  ScriptedServer srv(io, [](const http::Request&, int) {
    return reply(200,
                 R"({"apiVersion":"raydog.io/v1alpha1","kind":"RayDogCluster","metadata":{"name":"x"}})");
  });
  auto c = client_for(io, srv.url());
  auto r = run<Result<json, ApiError>>(io, [&] { return c->get(rdc, "team-a", "x", ""); });
  REQUIRE(r.ok());
  CHECK((*r)["metadata"]["name"] == "x");
  REQUIRE(srv.seen.size() == 1);
  CHECK(srv.seen[0].method == "GET");
  CHECK(srv.seen[0].target == "/apis/raydog.io/v1alpha1/namespaces/team-a/raydogclusters/x");
  CHECK(srv.seen[0].accept == "application/json");
  CHECK(srv.seen[0].auth.empty());
  auto s = run<Result<json, ApiError>>(io, [&] { return c->get(resources::kLeases, "ns", "l", "status"); });
  CHECK(srv.seen[1].target == "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l/status");
  auto core = run<Result<json, ApiError>>(
      io, [&] { return c->get(resources::kNamespaces, "ignored", "default", ""); });
  CHECK(srv.seen[2].target == "/api/v1/namespaces/default");
}

TEST_CASE("rest: Status errors become typed errors") {
  struct Case {
    int code;
    std::string body;
    ApiError::Kind kind;
  };
  std::vector<Case> cases = {
      {404, status(404, "NotFound", "raydogclusters.raydog.io \\\"x\\\" not found"),
       ApiError::Kind::kNotFound},
      {409, status(409, "Conflict", "the object has been modified"), ApiError::Kind::kConflict},
      {409, status(409, "AlreadyExists", "already exists"), ApiError::Kind::kAlreadyExists},
      {422,
       status(
           422, "Invalid", "bad",
           R"("details":{"causes":[{"reason":"FieldValueInvalid","message":"must be >= 0","field":"spec.workerPools[0].nodes"}]})"),
       ApiError::Kind::kInvalid},
      {410, status(410, "Expired", "too old resource version: 1 (5)"), ApiError::Kind::kGone},
      {401, status(401, "Unauthorized", "Unauthorized"), ApiError::Kind::kUnauthorized},
      {403, status(403, "Forbidden", "forbidden"), ApiError::Kind::kForbidden},
      {400, status(400, "BadRequest", "bad selector"), ApiError::Kind::kBadRequest},
      {415, status(415, "UnsupportedMediaType", "no"), ApiError::Kind::kUnsupportedMediaType},
      {502, "<html>bad gateway</html>", ApiError::Kind::kServerError},
  };
  for (const auto& tc : cases) {
    CAPTURE(tc.body);
    boost::asio::io_context io;
    ScriptedServer srv(io, [&](const http::Request&, int) { return reply(tc.code, tc.body); });
    auto c = client_for(io, srv.url());
    // POST: not retried, so one request per case even for 5xx.
    auto r = run<Result<json, ApiError>>(io, [&] {
      return c->create(rdc, "ns", json{{"metadata", {{"name", "x"}}}}, WriteOptions());
    });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == tc.kind);
    CHECK(r.error().code == tc.code);
    CHECK(srv.seen.size() == 1);
    if (tc.kind == ApiError::Kind::kInvalid) {
      REQUIRE(r.error().causes.size() == 1);
      CHECK(r.error().causes[0].field == "spec.workerPools[0].nodes");
      CHECK(r.error().causes[0].type == "FieldValueInvalid");
    }
    if (tc.code == 502) CHECK(r.error().message == "<html>bad gateway</html>");
  }
}

TEST_CASE("rest: 429 is retried with Retry-After for any verb, 5xx only for idempotent verbs") {
  boost::asio::io_context io;
  ScriptedServer srv(io, [](const http::Request& req, int n) {
    if (req.method() == http::bhttp::verb::post) {
      if (n == 1) return reply(429, status(429, "TooManyRequests", "slow down"), {{"Retry-After", "0"}});
      if (n == 2) return reply(201, R"({"metadata":{"name":"x"}})");
      return reply(503, status(503, "ServiceUnavailable", "down"));
    }
    if (n <= 5) return reply(503, status(503, "ServiceUnavailable", "down"));
    return reply(200, R"({"metadata":{"name":"x"}})");
  });
  auto c = client_for(io, srv.url());
  json obj = {{"metadata", {{"name", "x"}}}};
  auto created = run<Result<json, ApiError>>(io, [&] { return c->create(rdc, "ns", obj, WriteOptions()); });
  CHECK(created.ok());
  CHECK(srv.seen.size() == 2);
  CHECK(json::parse(srv.seen[1].body)["apiVersion"] == "raydog.io/v1alpha1");  // defaulted from the ref
  CHECK(json::parse(srv.seen[1].body)["kind"] == "RayDogCluster");

  auto again = run<Result<json, ApiError>>(io, [&] { return c->create(rdc, "ns", obj, WriteOptions()); });
  REQUIRE_FALSE(again.ok());  // a POST that met a 503 may have been applied: not retried
  CHECK(again.error().kind == ApiError::Kind::kServerError);
  CHECK(srv.seen.size() == 3);

  auto got = run<Result<json, ApiError>>(io, [&] { return c->get(rdc, "ns", "x", ""); });
  CHECK(got.ok());  // 503, 503, then 200 (GET is retried)
  CHECK(srv.seen.size() == 6);
}

TEST_CASE("rest: list_all follows continue tokens, writes carry their query and content types") {
  boost::asio::io_context io;
  ScriptedServer srv(io, [](const http::Request& req, int) {
    std::string t(req.target());
    if (req.method() == http::bhttp::verb::get && t.find("continue=") == std::string::npos)
      return reply(
          200,
          R"({"kind":"List","metadata":{"resourceVersion":"10","continue":"tok/1"},"items":[{"metadata":{"name":"a","namespace":"n"}}]})");
    if (req.method() == http::bhttp::verb::get)
      return reply(
          200,
          R"({"kind":"List","metadata":{"resourceVersion":"12"},"items":[{"metadata":{"name":"b","namespace":"n"}}]})");
    return reply(200, R"({"metadata":{"name":"a"}})");
  });
  auto c = client_for(io, srv.url());
  ListOptions lo;
  lo.limit = 1;
  lo.label_selector = "app in (a,b)";
  auto all = run<Result<ObjectList, ApiError>>(io, [&] { return list_all(*c, rdc, "n", lo); });
  REQUIRE(all.ok());
  CHECK(all->items.size() == 2);
  CHECK(all->resource_version == "10");
  CHECK(all->items[0]["kind"] == "RayDogCluster");  // filled in from the ref
  CHECK(srv.seen[0].target ==
        "/apis/raydog.io/v1alpha1/namespaces/n/raydogclusters?labelSelector=app%20in%20%28a%2Cb%29&limit=1");
  CHECK(srv.seen[1].target ==
        "/apis/raydog.io/v1alpha1/namespaces/n/"
        "raydogclusters?labelSelector=app%20in%20%28a%2Cb%29&limit=1&continue=tok%2F1");

  WriteOptions apply;
  apply.field_manager = "raydog-operator";
  apply.force = true;
  run<Result<json, ApiError>>(io, [&] {
    return c->patch(rdc, "n", "a", PatchType::kApply, json{{"spec", {{"x", 1}}}}, "", apply);
  });
  CHECK(srv.seen.back().method == "PATCH");
  CHECK(srv.seen.back().content_type == "application/apply-patch+yaml");
  CHECK(srv.seen.back().target ==
        "/apis/raydog.io/v1alpha1/namespaces/n/raydogclusters/a?fieldManager=raydog-operator&force=true");
  run<Result<json, ApiError>>(io, [&] {
    return c->patch(rdc, "n", "a", PatchType::kMerge, json{{"status", {{"phase", "Running"}}}}, "status",
                    WriteOptions());
  });
  CHECK(srv.seen.back().content_type == "application/merge-patch+json");
  CHECK(srv.seen.back().target == "/apis/raydog.io/v1alpha1/namespaces/n/raydogclusters/a/status");
  run<Result<json, ApiError>>(
      io, [&] { return c->patch(rdc, "n", "a", PatchType::kJson, json::array(), "", WriteOptions()); });
  CHECK(srv.seen.back().content_type == "application/json-patch+json");

  json obj = {{"metadata", {{"name", "a"}, {"namespace", "n"}, {"resourceVersion", "12"}}}};
  run<Result<json, ApiError>>(io, [&] { return c->update(rdc, obj, "status", WriteOptions()); });
  CHECK(srv.seen.back().method == "PUT");
  CHECK(srv.seen.back().target == "/apis/raydog.io/v1alpha1/namespaces/n/raydogclusters/a/status");

  DeleteOptions d;
  d.propagation_policy = "Background";
  d.precondition_uid = "u-1";
  run<Result<json, ApiError>>(io, [&] { return c->remove(rdc, "n", "a", d); });
  CHECK(srv.seen.back().method == "DELETE");
  auto body = json::parse(srv.seen.back().body);
  CHECK(body["propagationPolicy"] == "Background");
  CHECK(body["preconditions"]["uid"] == "u-1");
}

TEST_CASE("rest: watch parses events that straddle chunks and reports 410 before streaming") {
  boost::asio::io_context io;
  ScriptedServer srv(io, [](const http::Request& req, int) {
    std::string t(req.target());
    if (t.find("resourceVersion=1&") != std::string::npos)
      return reply(410, status(410, "Expired", "too old resource version: 1 (50)"));
    std::string lines =
        R"({"type":"ADDED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"11"}}})"
        "\n"
        R"({"type":"BOOKMARK","object":{"kind":"RayDogCluster","metadata":{"resourceVersion":"12"}}})"
        "\r\n\n"
        R"({"type":"DELETED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"13"}}})"
        "\n";
    return reply(299, lines);
  });
  auto c = client_for(io, srv.url());
  WatchOptions wo;
  wo.resource_version = "10";
  wo.timeout = std::chrono::seconds(321);
  auto events = run<std::vector<std::string>>(io, [&]() -> boost::asio::awaitable<std::vector<std::string>> {
    std::vector<std::string> out;
    auto w = co_await c->watch(rdc, "n", wo);
    if (!w) co_return std::vector<std::string>{"error " + w.error().describe()};
    for (;;) {
      auto ev = co_await (*w)->next();
      if (!ev) {
        out.push_back("error " + ev.error().describe());
        break;
      }
      if (!*ev) break;
      out.push_back((*ev)->type + " " + resource_version_of((*ev)->object));
    }
    co_return out;
  });
  CHECK(events == std::vector<std::string>{"ADDED 11", "BOOKMARK 12", "DELETED 13"});
  CHECK(srv.seen[0].target ==
        "/apis/raydog.io/v1alpha1/namespaces/n/"
        "raydogclusters?watch=true&resourceVersion=10&allowWatchBookmarks=true&timeoutSeconds=321");

  wo.resource_version = "1";
  auto gone = run<std::string>(io, [&]() -> boost::asio::awaitable<std::string> {
    auto w = co_await c->watch(rdc, "n", wo);
    co_return w ? std::string("opened") : w.error().describe();
  });
  CHECK(gone == "Gone (410): too old resource version: 1 (50)");
}

TEST_CASE("rest: a dead server is a transport error, retried for GET only up to the limit") {
  boost::asio::io_context io;
  std::string url;
  {
    ScriptedServer srv(io, [](const http::Request&, int) { return reply(200, "{}"); });
    url = srv.url();
  }
  auto c = client_for(io, url);
  auto r = run<Result<json, ApiError>>(io, [&] { return c->get(rdc, "n", "x", ""); });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ApiError::Kind::kTransport);
  CHECK(r.error().message.find("must-not-be-sent") == std::string::npos);
}

// Found by fuzz_http_response: a body whose "kind" was an object made nlohmann's value() throw.
TEST_CASE("rest: decode_status never throws on a body of the wrong shape") {
  auto e = decode_status(422, R"({"kind":{"causes":[]},"message":"x"})");
  CHECK(e.code == 422);
  CHECK(e.message == R"({"kind":{"causes":[]},"message":"x"})");  // not a Status: the body, as text
  e = decode_status(409, R"({"kind":"Status","code":"409","reason":7,"message":["x"],"details":{"causes":5,
                           "retryAfterSeconds":-3}})");
  CHECK(e.code == 409);
  CHECK(e.reason.empty());
  CHECK(e.message.empty());
  CHECK_FALSE(e.retry_after.has_value());
  e = decode_status(429, R"({"kind":"Status","code":99999999999,"details":{"retryAfterSeconds":99999999999}})",
                    "99999999999999");
  CHECK(e.code == 429);
  CHECK_FALSE(e.retry_after.has_value());  // absurd waits are ignored, not overflowed
}

TEST_CASE("rest: pacing - every attempt waits for a token, a watch takes one to open, siblings pace apart") {
  boost::asio::io_context io;
  ScriptedServer srv(io, [](const http::Request& req, int n) {
    if (std::string(req.target()).find("watch=true") != std::string::npos) return reply(299, "");
    if (n == 2) return reply(429, status(429, "TooManyRequests", "slow down"), {{"Retry-After", "0"}});
    return reply(200, R"({"metadata":{"name":"x"}})");
  });
  raydog::runtime::FakeClock clock;
  std::vector<RateLimiterMetric> waits;
  RestConfig rc;
  rc.server = srv.url();
  RestOptions o;
  o.retry_base = std::chrono::milliseconds(1);
  o.limiter = std::make_shared<RequestRateLimiter>(clock, RateLimit{10, 2});
  o.on_rate_limited = [&](const RateLimiterMetric& m) { waits.push_back(m); };
  auto created = RestClient::create(io.get_executor(), rc, o);
  REQUIRE(created.ok());
  auto c = std::move(*created);

  auto first = run<Result<json, ApiError>>(io, [&] { return c->get(rdc, "n", "x", ""); });
  CHECK(first.ok());
  // The second GET takes the burst's last token; its retry after the 429 needs a new one (100 ms away on a
  // clock that stands still): the server sees the retry only once the clock moves.
  std::optional<Result<json, ApiError>> second;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { second.emplace(co_await c->get(rdc, "n", "x", "")); },
      boost::asio::detached);
  REQUIRE(run_until(io, [&] { return srv.seen.size() == 2; }));
  run_until(
      io, [] { return false; }, std::chrono::milliseconds(50));
  CHECK(srv.seen.size() == 2);
  CHECK_FALSE(second.has_value());
  clock.advance(std::chrono::milliseconds(100));
  REQUIRE(run_until(io, [&] { return second.has_value(); }));
  CHECK(second->ok());
  CHECK(srv.seen.size() == 3);
  REQUIRE(waits.size() == 3);
  CHECK(waits[0].waited.count() == 0);
  CHECK(waits[1].waited.count() == 0);
  CHECK(waits[2].waited.count() == doctest::Approx(0.1));
  CHECK(waits[2].method == "GET");
  CHECK_FALSE(waits[2].host.empty());

  // A sibling (the Event recorder's) has a bucket of its own: the main one is empty, it is not.
  auto events_limiter = std::make_shared<RequestRateLimiter>(clock, RateLimit{10, 1});
  auto sibling = c->with_limiter(events_limiter);
  auto watched = run<std::string>(io, [&]() -> boost::asio::awaitable<std::string> {
    auto w = co_await sibling->watch(rdc, "n", WatchOptions());
    if (!w) co_return w.error().describe();
    auto ev = co_await (*w)->next();
    co_return ev && !*ev ? "ended" : "unexpected";
  });
  CHECK(watched == "ended");
  CHECK(srv.seen.size() == 4);
  CHECK(waits.size() == 4);
  CHECK(waits[3].waited.count() == 0);
  // The watch took one token to open, no more while it streamed: the next one is 100 ms away.
  CHECK(events_limiter->reserve() == std::chrono::milliseconds(100));
  // An unpaced sibling reports no waits at all (client-go observes only a paced client).
  auto unpaced = c->with_limiter(nullptr);
  auto got = run<Result<json, ApiError>>(io, [&] { return unpaced->get(rdc, "n", "x", ""); });
  CHECK(got.ok());
  CHECK(waits.size() == 4);
}
