#include "test/emulator/front.hpp"

#include <iostream>
#include <random>
#include <set>
#include <stdexcept>

#include "controller/http/server.hpp"
#include "test/emulator/request_log.hpp"
#include "test/emulator/request_stats.hpp"

namespace raydog::emulator {

namespace http = raydog::http;
namespace net = boost::asio;
using namespace std::chrono_literals;

struct Front::Impl : std::enable_shared_from_this<Impl> {
  net::io_context& ioc;
  Api& api;
  FrontOptions options;
  std::unique_ptr<http::Server> server;
  std::set<net::steady_timer*> watch_timers;
  bool stopping = false;
  RequestLog request_log;  // --request-log
  std::mt19937 rng{std::random_device{}()};
  RequestStats stats;  // served at /_emulator/stats (not counted itself)

  Impl(net::io_context& c, Api& a, FrontOptions o) : ioc(c), api(a), options(std::move(o)) {}

  bool authorized(http::Exchange& ex, const std::string& path) const {
    if (!options.tls) return true;
    // Health and version are readable anonymously (the kubectl dispatcher probes /version first).
    if (path == "/version" || path == "/healthz" || path == "/readyz" || path == "/livez") return true;
    if (!ex.peer().client_cert_cn.empty()) return true;
    auto auth = ex.request()[http::bhttp::field::authorization];
    std::string expected = "Bearer " + options.token;
    return !options.token.empty() && auth.size() == expected.size() && std::string(auth) == expected;
  }

  net::awaitable<void> handle(http::Exchange& ex) {
    auto& req = ex.request();
    std::string target(req.target());
    std::string path = target.substr(0, target.find('?'));
    if (!authorized(ex, path)) {
      co_await respond(ex, error_response(unauthorized()));
      co_return;
    }
    if (path == "/_emulator/stats" || path == "/_emulator/reset-counters") {
      if (path == "/_emulator/reset-counters") stats.reset();
      ApiResponse r;
      r.code = 200;
      r.body = stats.to_json();
      co_await respond(ex, std::move(r));
      co_return;
    }
    const std::string user_agent(req[http::bhttp::field::user_agent]);
    ApiRequest areq{std::string(req.method_string()),
                    target,
                    std::string(req[http::bhttp::field::accept]),
                    std::string(req[http::bhttp::field::content_type]),
                    std::move(req.body()),
                    std::string(req[http::bhttp::field::host])};
    auto out = api.handle(areq);
    request_log.record(areq.method, target, user_agent, out.watch ? 200 : out.response.code, areq.body);
    stats.record(areq.method, target, out.watch ? 200 : out.response.code);
    if (options.verbose)
      std::cerr << "kube-emulator: " << areq.method << " " << target << " -> "
                << (out.watch ? std::string("watch") : std::to_string(out.response.code)) << std::endl;
    if (!out.watch) {
      co_await respond(ex, std::move(out.response));
      co_return;
    }
    co_await stream_watch(ex, std::move(out.watch));
  }

  static ApiResponse error_response(const ApiError& e) {
    ApiResponse r;
    r.code = e.code;
    r.body = dump_json(status_json(e));
    return r;
  }

  net::awaitable<void> respond(http::Exchange& ex, ApiResponse r) {
    http::Response res{static_cast<http::bhttp::status>(r.code), ex.request().version()};
    res.set(http::bhttp::field::content_type, r.content_type);
    res.set(http::bhttp::field::cache_control, "no-cache, private");
    for (const auto& [k, v] : r.headers) res.insert(k, v);
    res.keep_alive(ex.request().keep_alive());
    res.body() = std::move(r.body);
    res.prepare_payload();
    co_await ex.respond(std::move(res));
  }

  net::awaitable<void> stream_watch(http::Exchange& ex, std::unique_ptr<WatchSession> session) {
    http::ResponseHead head;
    head.result(http::bhttp::status::ok);
    head.version(11);
    head.set(http::bhttp::field::content_type, "application/json");
    head.set(http::bhttp::field::cache_control, "no-cache, private");
    if (!co_await ex.begin_stream(std::move(head))) co_return;
    auto now = std::chrono::steady_clock::now();
    // Without timeoutSeconds the real server keeps a watch 30-60 minutes.
    auto lifetime =
        session->timeout
            ? std::chrono::duration_cast<std::chrono::milliseconds>(*session->timeout)
            : std::chrono::milliseconds(std::uniform_int_distribution<long>(1800000, 3600000)(rng));
    if (options.drop_watches_every) lifetime = std::min(lifetime, *options.drop_watches_every);
    auto deadline = now + lifetime;
    auto next_bookmark = now + options.bookmark_interval;
    net::steady_timer timer(ioc);
    watch_timers.insert(&timer);
    struct Unregister {
      Impl* self;
      net::steady_timer* t;
      ~Unregister() { self->watch_timers.erase(t); }
    } unregister{this, &timer};
    session->on_ready = [&timer] { timer.cancel(); };
    for (;;) {
      while (!session->pending.empty()) {
        std::string line = std::move(session->pending.front());
        session->pending.pop_front();
        if (!co_await ex.write_chunk(line)) co_return;
      }
      if (session->finished || stopping || ex.stopping()) break;
      if (ex.peer_closed()) co_return;  // the watcher went away: free the session now, not at the next event
      now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      if (session->bookmarks && now >= next_bookmark) {
        session->pending.push_back(session->bookmark_line());
        next_bookmark = now + options.bookmark_interval;
        continue;
      }
      // Wake for events (on_ready cancels the timer), the deadline, a bookmark, or a liveness check.
      auto wake = std::min(deadline, now + options.bookmark_interval);
      if (session->bookmarks) wake = std::min(wake, next_bookmark);
      timer.expires_at(wake);
      boost::system::error_code ec;  // operation_aborted: woken by on_ready or stop()
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    session->on_ready = nullptr;
    co_await ex.end_stream();
  }
};

Front::Front(net::io_context& ioc, Api& api, FrontOptions options)
    : impl_(std::make_shared<Impl>(ioc, api, std::move(options))) {}

Front::~Front() {
  stop();
}

void Front::start() {
  if (!impl_->request_log.open(impl_->options.request_log))
    throw std::runtime_error("cannot write the request log " + impl_->options.request_log);
  http::ServerOptions so;
  so.listen = impl_->options.listen;
  // Bodies up to 16 MiB reach the request layer, which answers the real server's 413 Status above 3 MiB.
  so.body_limit = 16 * 1024 * 1024;
  so.write_timeout = 60s;
  so.idle_timeout = 300s;
  if (impl_->options.tls) {
    auto ctx = std::make_shared<http::ssl::context>(http::ssl::context::tls_server);
    ctx->set_options(http::ssl::context::default_workarounds | http::ssl::context::no_sslv2 |
                     http::ssl::context::no_sslv3 | http::ssl::context::no_tlsv1 |
                     http::ssl::context::no_tlsv1_1);
    ctx->use_certificate_chain(net::buffer(impl_->options.server_cert_pem));
    ctx->use_private_key(net::buffer(impl_->options.server_key_pem), http::ssl::context::pem);
    ctx->add_certificate_authority(net::buffer(impl_->options.ca_cert_pem));
    // Ask for a client certificate but do not require one: bearer-token clients have none.
    ctx->set_verify_mode(http::ssl::verify_peer);
    ctx->set_verify_callback([](bool, http::ssl::verify_context&) { return true; });
    so.tls = ctx;
  }
  std::weak_ptr<Impl> weak = impl_;
  impl_->server =
      std::make_unique<http::Server>(impl_->ioc, so, [weak](http::Exchange& ex) -> net::awaitable<void> {
        if (auto self = weak.lock()) co_await self->handle(ex);
      });
  impl_->server->start();
}

std::string Front::base_url() const {
  return impl_->server ? impl_->server->base_url() : "";
}

void Front::stop() {
  if (!impl_ || impl_->stopping) return;
  impl_->stopping = true;
  for (auto* t : impl_->watch_timers) t->cancel();
  if (impl_->server) impl_->server->stop();
}

}  // namespace raydog::emulator
