#include "test/yellowdog-sim/server.hpp"

#include <zlib.h>

#include <iostream>

#include "controller/http/server.hpp"

#include <boost/asio/redirect_error.hpp>
#include "test/yellowdog-sim/executor.hpp"
#include "test/yellowdog-sim/ip_block.hpp"
#include "test/yellowdog-sim/ray_heads.hpp"
#include "test/yellowdog-sim/serialize.hpp"

namespace raydog::ydsim {

namespace net = boost::asio;
namespace http = raydog::http;
namespace bhttp = boost::beast::http;

namespace {
constexpr auto kSseKeepAlive = std::chrono::seconds(15);
// A request brings the simulation up to date before it is answered, but at most this often: a tick walks
// every object, so ticking on each of hundreds of requests per second made a large simulation quadratic
// (the benchmarks' 1,000 clusters spent their time here). Time-driven transitions lag by at most this.
constexpr auto kRequestTickGap = std::chrono::milliseconds(5);

// Constant-time comparison: the expected header carries the secret.
bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

ApiError injected_error(int code) {
  if (code == 429)
    return ApiError{429, "TooManyRequestsException", "Too many requests (injected by yellowdog-sim)"};
  if (code >= 500)
    return ApiError{code, "InternalServerException", "Server error (injected by yellowdog-sim)"};
  return ApiError{code, "InvalidRequestException", "Error (injected by yellowdog-sim)"};
}
}  // namespace

std::optional<std::string> gunzip(std::string_view data, std::size_t limit) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return std::nullopt;  // +32: gzip or zlib header, detected
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return std::nullopt;
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > limit) {
      inflateEnd(&zs);
      return std::nullopt;
    }
  } while (rc != Z_STREAM_END && (zs.avail_in > 0 || zs.avail_out == 0));
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

struct SimServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::io_context& ioc, SimConfig config, SimServerOptions opts, FaultSettings faults)
      : ioc(ioc),
        options(std::move(opts)),
        sim_start(Clock::now()),
        real_start(std::chrono::steady_clock::now()),
        sim(config, sim_start),
        api(sim, options.page_size),
        injector(config.seed),
        ticker(ioc) {
    api.faults() = std::move(faults);
    for (const auto& [id, secret] : options.keys)
      accepted_auth.emplace_back("yd-key " + id + ":" + secret, id);
    if (options.ray) {
      ray = std::make_unique<RaySim>(sim, options.ray_config);
      api.set_ray(ray.get());
      // The clock reads only members fixed at construction: safe from gRPC's threads.
      heads = std::make_unique<RayHeads>(ioc, *ray, [this] { return sim_now(); });
    }
  }

  TimePoint sim_now() const {
    auto real = std::chrono::steady_clock::now() - real_start;
    auto scaled = std::chrono::duration<double, std::nano>(real) * options.time_scale;
    return sim_start + std::chrono::duration_cast<Clock::duration>(scaled);
  }

  void tick() {
    last_tick_real = std::chrono::steady_clock::now();
    const TimePoint now = sim_now();
    sim.tick(now);
    if (heads && !stopped) heads->tick(now);
  }

  net::awaitable<void> tick_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      ticker.expires_after(options.tick_interval);
      boost::system::error_code ec;
      co_await ticker.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (stopped) break;
      tick();
    }
  }

  net::awaitable<void> respond(http::Exchange& ex, const ApiResponse& r) {
    auto res = http::make_response(ex.request(), static_cast<bhttp::status>(r.status), r.body);
    for (const auto& [k, v] : r.headers) res.set(k, v);
    co_await ex.respond(std::move(res));
  }

  net::awaitable<void> stream_updates(http::Exchange& ex, const std::vector<std::string>& segments) {
    bool done = false;
    auto entity = Api::entity_for_updates(sim, segments, done);
    if (!entity) {
      std::string id = segments.size() > 2 ? segments[segments.size() - 2] : "";
      ApiResponse r = error_response(not_found("Entity", id));
      co_await respond(ex, r);
      co_return;
    }
    http::ResponseHead head;
    head.result(bhttp::status::ok);
    head.set(bhttp::field::content_type, "text/event-stream");
    head.set(bhttp::field::cache_control, "no-cache");
    if (!co_await ex.begin_stream(std::move(head))) co_return;
    std::string last = entity->dump();
    std::string event = "event: entity_updated\ndata: " + last + "\n\n";
    if (!co_await ex.write_chunk(event)) co_return;
    net::steady_timer timer(ioc);
    auto quiet_since = std::chrono::steady_clock::now();
    while (!done && !ex.stopping() && !stopped) {
      timer.expires_after(options.tick_interval);
      boost::system::error_code ec;
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (ex.stopping() || stopped) break;
      entity = Api::entity_for_updates(sim, segments, done);
      if (!entity) break;
      std::string now = entity->dump();
      if (now != last) {
        last = std::move(now);
        event = "event: entity_updated\ndata: " + last + "\n\n";
        if (!co_await ex.write_chunk(event)) co_return;
        quiet_since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - quiet_since > kSseKeepAlive) {
        event = ":keep-alive\n\n";
        if (!co_await ex.write_chunk(event)) co_return;  // also notices a vanished client
        quiet_since = std::chrono::steady_clock::now();
      }
    }
    co_await ex.end_stream();
  }

  net::awaitable<void> handle(http::Exchange& ex) {
    auto self = shared_from_this();
    auto& req = ex.request();
    std::string method(req.method_string());
    std::string target(req.target());
    ParsedTarget parsed = parse_target(target);
    bool control = !parsed.segments.empty() && parsed.segments[0] == "_sim";
    if (control || std::chrono::steady_clock::now() - last_tick_real >= kRequestTickGap) tick();

    FaultInjector::Decision decision;
    std::string caller;  // the key id that authenticated the request
    if (!control) {
      api.count_call(Api::pattern(method, parsed.segments));
      decision = injector.decide(api.faults());
      if (!accepted_auth.empty()) {
        auto it = req.find(bhttp::field::authorization);
        const std::string* key = nullptr;
        if (it != req.end())
          for (const auto& [header, id] : accepted_auth)
            if (same(it->value(), header)) key = &id;
        if (!key) {
          // Never echo what was sent: it may be a (wrong) secret. (Named locals around co_await: GCC 12
          // double-destroys some temporaries inside co_await expressions.)
          ApiResponse r =
              error_response(ApiError{401, "NotAuthorisedException", "Missing or invalid application key"});
          co_await respond(ex, r);
          co_return;
        }
        caller = *key;
      }
      if (api.faults().latency.count() > 0) {
        net::steady_timer t(ioc);
        t.expires_after(api.faults().latency);
        boost::system::error_code ec;
        co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
      }
      if (decision.fail_code) {
        api.count_fault(false);
        ApiResponse r = error_response(injected_error(*decision.fail_code));
        if (*decision.fail_code == 429 || *decision.fail_code == 503)
          r.headers.emplace_back("Retry-After", std::to_string(api.faults().retry_after_seconds));
        co_await respond(ex, r);
        co_return;
      }
    }

    std::string body = std::move(req.body());
    auto enc = req.find(bhttp::field::content_encoding);
    if (enc != req.end() && (enc->value() == "gzip" || enc->value() == "deflate")) {
      auto inflated = gunzip(body);
      if (!inflated) {
        ApiResponse r = error_response(invalid_request("the request body is not valid gzip"));
        co_await respond(ex, r);
        co_return;
      }
      body = std::move(*inflated);
    }

    if (method == "GET" && Api::is_updates_path(parsed.segments)) {
      co_await stream_updates(ex, parsed.segments);
      co_return;
    }
    if (control && method == "PUT" && parsed.segments.size() == 2 && parsed.segments[1] == "keys") {
      ApiResponse r = replace_keys(body);
      co_await respond(ex, r);
      co_return;
    }
    ApiResponse r = api.handle(ApiRequest{method, target, std::move(body), std::move(caller)});
    // A Ray control shows in the fake heads before it is answered.
    if (control && parsed.segments.size() > 1 && parsed.segments[1] == "ray") tick();
    if (decision.lose_response) {
      api.count_fault(true);
      ex.drop();  // the write was applied; the client never hears about it
      co_return;
    }
    co_await respond(ex, r);
  }

  // PUT /_sim/keys {"keys": [{"id", "secret"}, ...]}: the application keys accepted from now on (a rotation:
  // the old key is refused at once). The answer names the ids only: secrets are never echoed.
  ApiResponse replace_keys(const std::string& body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("keys") || !j["keys"].is_array() || j["keys"].empty())
      return error_response(invalid_request("keys must be a non-empty array of {\"id\", \"secret\"}"));
    std::vector<std::pair<std::string, std::string>> next;
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& k : j["keys"]) {
      if (!k.is_object() || !k.contains("id") || !k.contains("secret") || !k["id"].is_string() ||
          !k["secret"].is_string() || k["id"].get<std::string>().empty())
        return error_response(invalid_request("keys[]: each key needs a non-empty string id and a string secret"));
      next.emplace_back("yd-key " + k["id"].get<std::string>() + ":" + k["secret"].get<std::string>(),
                        k["id"].get<std::string>());
      ids.push_back(k["id"]);
    }
    accepted_auth = std::move(next);
    return ApiResponse{200, nlohmann::json{{"keys", ids}}.dump(), {}};
  }

  net::io_context& ioc;
  SimServerOptions options;
  TimePoint sim_start;
  std::chrono::steady_clock::time_point real_start;
  std::chrono::steady_clock::time_point last_tick_real;  // of the latest tick (loop or request)
  Simulator sim;
  Api api;
  FaultInjector injector;
  net::steady_timer ticker;
  std::vector<std::pair<std::string, std::string>> accepted_auth;  // (Authorization value, key id)
  std::unique_ptr<http::Server> server;
  std::unique_ptr<TaskExecutor> executor;
  std::unique_ptr<IpBlockClaim> block;
  std::unique_ptr<RaySim> ray;
  std::unique_ptr<RayHeads> heads;  // after `ray`: destroyed first (its gRPC handlers use ray's call log)
  bool stopped = false;
};

namespace {
net::awaitable<void> dispatch(std::weak_ptr<SimServer::Impl> weak, http::Exchange& ex) {
  auto self = weak.lock();
  if (!self) co_return;
  co_await self->handle(ex);
}
}  // namespace

SimServer::SimServer(net::io_context& ioc, SimConfig config, SimServerOptions options, FaultSettings faults)
    : impl_(std::make_shared<Impl>(ioc, config, std::move(options), std::move(faults))) {}

SimServer::~SimServer() {
  stop();
}

void SimServer::start() {
  impl_->block = std::make_unique<IpBlockClaim>(impl_->options.ip_block);
  impl_->sim.set_ip_block(impl_->block->block());
  http::ServerOptions so;
  so.listen = impl_->options.listen;
  so.body_limit = 64 * 1024 * 1024;
  so.error_log = [](std::string_view what) { std::cerr << "yellowdog-sim: " << what << "\n"; };
  if (!impl_->options.tls_cert_pem.empty())
    so.tls = http::make_server_tls_context(impl_->options.tls_cert_pem, impl_->options.tls_key_pem);
  std::weak_ptr<Impl> weak = impl_;
  // The lambda only forwards: a coroutine lambda's captures would die with the lambda object.
  impl_->server = std::make_unique<http::Server>(impl_->ioc, so,
                                                 [weak](http::Exchange& ex) { return dispatch(weak, ex); });
  impl_->server->start();
  if (!impl_->options.execute_dir.empty()) {
    impl_->executor = std::make_unique<TaskExecutor>(impl_->ioc, impl_->sim, impl_->options.execute_dir);
    impl_->executor->start();
  }
  net::co_spawn(impl_->ioc, impl_->tick_loop(), net::detached);
}

std::string SimServer::base_url() const {
  return impl_->server ? impl_->server->base_url() : "";
}

int SimServer::ip_block() const {
  return impl_->sim.config().ip_block;
}

void SimServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->ticker.cancel();
  if (impl_->server) impl_->server->stop();
  if (impl_->executor) impl_->executor->stop();
  if (impl_->heads) impl_->heads->stop();
}

}  // namespace raydog::ydsim
