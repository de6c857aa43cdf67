#include "test/yellowdog-sim/server.hpp"

#include <zlib.h>

#include <algorithm>
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
// A request brings the simulation up to date before it is answered, but at most this often (more rarely
// when ticks are expensive, see tick()): a tick walks every object, so ticking on each of hundreds of
// requests per second made a large simulation quadratic (the benchmarks' 1,000 clusters spent their time
// here). Time-driven transitions lag by at most this.
constexpr auto kRequestTickGap = std::chrono::milliseconds(5);
constexpr auto kMaxTickGap = std::chrono::seconds(1);

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
        clock{Clock::now(), std::chrono::steady_clock::now(), options.time_scale},
        sim(config, clock.sim_start),
        api(sim, options.page_size),
        injector(config.seed),
        ticker(ioc) {
    api.faults() = std::move(faults);
    for (const auto& [id, secret] : options.keys)
      accepted_auth.emplace_back("yd-key " + id + ":" + secret, id);
    if (options.ray) {
      ray = std::make_unique<RaySim>(sim, options.ray_config);
      api.set_ray(ray.get());
      heads = std::make_unique<RayHeads>(ioc, *ray, clock, options.ray_heads_per_process,
                                         options.ray_local_heads);
    }
  }

  TimePoint sim_now() const { return clock.now(); }

  void tick() {
    const auto start = std::chrono::steady_clock::now();
    last_tick_real = start;
    const TimePoint now = sim_now();
    sim.tick(now);
    if (heads && !stopped) heads->tick(now);
    // A tick that walked 10,000 clusters' objects takes tens of milliseconds: the next one waits at least
    // three times as long, so ticks take at most a quarter of the thread while a busy client (or the
    // ticker) keeps waking the simulation. Quiet ticks cost microseconds and leave the gap at its minimum;
    // a one-off long tick (thousands of fake heads starting at once) delays the next by a second at most.
    const auto cost = std::chrono::steady_clock::now() - start;
    tick_gap = std::clamp<std::chrono::steady_clock::duration>(3 * cost, kRequestTickGap, kMaxTickGap);
  }

  net::awaitable<void> tick_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      ticker.expires_after(std::max<std::chrono::steady_clock::duration>(options.tick_interval, tick_gap));
      boost::system::error_code ec;
      co_await ticker.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (stopped) break;
      tick();
    }
  }

  // `dated`: a YellowDog API answer (not /_sim/), which carries `Date` as a real server's does.
  net::awaitable<void> respond(http::Exchange& ex, const ApiResponse& r, bool dated) {
    auto res = http::make_response(ex.request(), static_cast<bhttp::status>(r.status), r.body);
    for (const auto& [k, v] : r.headers) res.set(k, v);
    if (dated) res.set(bhttp::field::date, date());
    co_await ex.respond(std::move(res));
  }

  // The Date header: the simulated clock as of the answer, i.e. the time of the last tick, which every
  // timestamp in the answer is at or before and every later change will be at or after; so a client can
  // take its next search window (finishedTime.min, statusChangedTime.min) from it in the server's time.
  // IMF-fixdate has whole seconds: rounded down, which keeps such a window inclusive.
  std::string date() const { return format_http_date(sim.now()); }

  net::awaitable<void> stream_updates(http::Exchange& ex, const std::vector<std::string>& segments) {
    bool done = false;
    auto entity = Api::entity_for_updates(sim, segments, done);
    if (!entity) {
      std::string id = segments.size() > 2 ? segments[segments.size() - 2] : "";
      ApiResponse r = error_response(not_found("Entity", id));
      co_await respond(ex, r, true);
      co_return;
    }
    http::ResponseHead head;
    head.result(bhttp::status::ok);
    head.set(bhttp::field::content_type, "text/event-stream");
    head.set(bhttp::field::cache_control, "no-cache");
    head.set(bhttp::field::date, date());
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
    if (control || std::chrono::steady_clock::now() - last_tick_real >= tick_gap) tick();

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
          co_await respond(ex, r, true);
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
        co_await respond(ex, r, true);
        co_return;
      }
    }

    std::string body = std::move(req.body());
    auto enc = req.find(bhttp::field::content_encoding);
    if (enc != req.end() && (enc->value() == "gzip" || enc->value() == "deflate")) {
      auto inflated = gunzip(body);
      if (!inflated) {
        ApiResponse r = error_response(invalid_request("the request body is not valid gzip"));
        co_await respond(ex, r, !control);
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
      co_await respond(ex, r, false);
      co_return;
    }
    // Heads served by helper processes report calls and violations by message: all in before a listing.
    if (control && heads && parsed.segments.size() > 1 && parsed.segments[1] == "ray") heads->sync();
    ApiResponse r = api.handle(ApiRequest{method, target, std::move(body), std::move(caller)});
    // A Ray control shows in the fake heads before it is answered.
    if (control && parsed.segments.size() > 1 && parsed.segments[1] == "ray") tick();
    if (decision.lose_response) {
      api.count_fault(true);
      ex.drop();  // the write was applied; the client never hears about it
      co_return;
    }
    co_await respond(ex, r, !control);
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
  SimClock clock;  // the simulated clock (fixed at construction: safe from any thread)
  std::chrono::steady_clock::time_point last_tick_real;  // of the latest tick (loop or request)
  std::chrono::steady_clock::duration tick_gap = kRequestTickGap;  // the least time between two ticks
  Simulator sim;
  Api api;
  FaultInjector injector;
  net::steady_timer ticker;
  std::vector<std::pair<std::string, std::string>> accepted_auth;  // (Authorization value, key id)
  std::unique_ptr<http::Server> server;
  std::unique_ptr<TaskExecutor> executor;
  std::unique_ptr<IpBlockClaim> block;
  std::vector<std::unique_ptr<IpBlockClaim>> more_blocks;  // claimed as instances need them
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
  // Beyond 32,512 instances (10,000 clusters of five nodes have 50,000) the next block is claimed the same
  // way, so addresses stay distinct and a fake head never finds its address taken by another.
  impl_->sim.claim_ip_block = [impl = impl_.get()]() -> int {
    try {
      impl->more_blocks.push_back(std::make_unique<IpBlockClaim>(std::nullopt));
      return impl->more_blocks.back()->block();
    } catch (const std::exception& e) {
      std::cerr << "yellowdog-sim: no further address block for instances beyond "
                << (impl->more_blocks.size() + 1) * impl->sim.config().instances_per_block
                << ", node addresses repeat from now on: " << e.what() << std::endl;
      return 0;
    }
  };
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
