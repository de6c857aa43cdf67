// The Beast HTTP client: a pool of idle keep-alive connections per base URL, TLS with peer and host name
// verification, a deadline per request, and streaming responses read line by line.
#include "controller/http/client.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

namespace raydog::http {

namespace {

using net::redirect_error;
using net::use_awaitable;
using Clock = std::chrono::steady_clock;

// Idle pooled connections older than this are not reused (servers close theirs after a while anyway).
constexpr auto kMaxIdleAge = std::chrono::seconds(90);

std::shared_ptr<ssl::context> make_tls_context(const TlsOptions& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  error_code ec;
  if (tls.insecure_skip_verify) {
    ctx->set_verify_mode(ssl::verify_none);
  } else {
    ctx->set_verify_mode(ssl::verify_peer);
    if (tls.ca_pem.empty() || tls.ca_adds_to_system) {
      ctx->set_default_verify_paths(ec);
      if (ec) throw std::invalid_argument("tls: cannot load the system CA store: " + ec.message());
    }
    if (!tls.ca_pem.empty()) {
      ctx->add_certificate_authority(net::buffer(tls.ca_pem), ec);
      if (ec)
        throw std::invalid_argument("tls: the CA data is not a readable PEM certificate: " + ec.message());
    }
  }
  if (!tls.client_cert_pem.empty() || !tls.client_key_pem.empty()) {
    if (tls.client_cert_pem.empty() || tls.client_key_pem.empty()) {
      throw std::invalid_argument("tls: a client certificate needs both the certificate and the key");
    }
    ctx->use_certificate_chain(net::buffer(tls.client_cert_pem), ec);
    if (ec) throw std::invalid_argument("tls: the client certificate is not readable PEM: " + ec.message());
    // The key's content never goes into a message.
    ctx->use_private_key(net::buffer(tls.client_key_pem), ssl::context::pem, ec);
    if (ec) throw std::invalid_argument("tls: the client key is not readable PEM (or does not match)");
  }
  return ctx;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)net::ip::make_address(host, ec);
  return !ec;
}

bool is_idempotent(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::options:
    case bhttp::verb::put:
    case bhttp::verb::delete_:
    case bhttp::verb::trace:
      return true;
    default:
      return false;
  }
}

struct Conn {
  std::shared_ptr<ssl::context> ctx;  // keeps the context alive for the TLS stream
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  Clock::time_point idle_since{};

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void close() {
    error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }
  // A pooled connection the server has closed (or sent garbage on) since its last response.
  bool looks_stale() {
    auto& sock = lowest().socket();
    if (!sock.is_open()) return true;
    char c;
    const auto n = ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;  // EOF
    if (n > 0) return true;   // unsolicited bytes (or a TLS alert): not a clean idle connection
    return !(errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

TransportError make_error(TransportError::Kind kind, error_code ec, std::string message) {
  return TransportError{kind, ec, std::move(message)};
}

// Maps a failed write/read to a transport error kind.
TransportError classify(const error_code& ec, const std::string& what, bool cancelled) {
  using K = TransportError::Kind;
  const std::string msg = what + ": " + ec.message();
  if (cancelled || ec == net::error::operation_aborted)
    return make_error(K::kCancelled, ec, what + ": cancelled");
  if (ec == beast::error::timeout) return make_error(K::kTimeout, ec, what + ": timed out");
  if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
      ec == net::error::broken_pipe || ec == net::error::connection_aborted ||
      ec == net::error::not_connected || ec == net::error::bad_descriptor ||
      ec == bhttp::error::partial_message || ec == ssl::error::stream_truncated) {
    return make_error(K::kClosed, ec, msg);
  }
  if (ec.category() == net::error::get_ssl_category()) return make_error(K::kTls, ec, msg);
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    return make_error(K::kProtocol, ec, msg);
  }
  return make_error(K::kClosed, ec, msg);
}

struct Outcome {
  error_code ec;
  bool write_failed = false;
  bool got_bytes = false;
  bool keep_alive = false;
  std::optional<Response> res;
};

template <class S>
net::awaitable<Outcome> exchange(S& stream, beast::tcp_stream& lowest, const Request& req,
                                 Clock::time_point deadline, std::size_t body_limit) {
  Outcome out;
  lowest.expires_at(deadline);
  co_await bhttp::async_write(stream, req, redirect_error(use_awaitable, out.ec));
  if (out.ec) {
    out.write_failed = true;
    co_return out;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(256 * 1024);
  parser.body_limit(body_limit);
  if (req.method() == bhttp::verb::head) parser.skip(true);
  beast::flat_buffer buffer;
  // The head first, then the body: Beast 1.74's eager parsing (what a whole-message read does) carries on
  // past a Content-Length over body_limit and reserves that many bytes, so a server announcing petabytes
  // could make us throw (found by fuzz_http_response). Read alone, the head stops at body_limit.
  co_await bhttp::async_read_header(stream, buffer, parser, redirect_error(use_awaitable, out.ec));
  if (!out.ec && !parser.is_done())
    co_await bhttp::async_read(stream, buffer, parser, redirect_error(use_awaitable, out.ec));
  out.got_bytes = buffer.size() > 0 || parser.got_some();
  if (out.ec) co_return out;
  out.res = parser.release();
  // Leftover bytes after a complete response mean the connection is out of step: do not reuse it.
  out.keep_alive = out.res->keep_alive() && buffer.size() == 0;
  lowest.expires_never();
  co_return out;
}

}  // namespace

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  net::any_io_executor ex;
  ClientOptions options;
  Url url;
  std::shared_ptr<ssl::context> ctx;  // null for plain http
  std::optional<ProxyEndpoint> proxy;  // set: every connection is a CONNECT tunnel through it
  std::vector<std::unique_ptr<Conn>> idle;

  std::string endpoint_name() const { return url.host_header(); }
  std::string sni_name() const {
    return options.tls.server_name.empty() ? url.host : options.tls.server_name;
  }

  std::unique_ptr<Conn> take_idle() {
    while (!idle.empty()) {
      auto conn = std::move(idle.back());
      idle.pop_back();
      if (Clock::now() - conn->idle_since < kMaxIdleAge && !conn->looks_stale()) return conn;
      conn->close();
    }
    return nullptr;
  }

  void put_idle(std::unique_ptr<Conn> conn) {
    if (conn->ctx != ctx || idle.size() >= options.max_idle_connections) {  // rotated TLS material, or full
      conn->close();
      return;
    }
    conn->idle_since = Clock::now();
    idle.push_back(std::move(conn));
  }

  void close_idle() {
    for (auto& c : idle) c->close();
    idle.clear();
  }

  void prepare(Request& req) const {
    req.target(url.prefix + std::string(req.target()));
    req.set(bhttp::field::host, url.host_header());
    if (req.find(bhttp::field::user_agent) == req.end())
      req.set(bhttp::field::user_agent, options.user_agent);
    req.prepare_payload();
  }

  // Asks the proxy for a tunnel to the target (RFC 9110 §9.3.6) on a fresh TCP connection. Any 2xx opens
  // it; anything else is a refusal, reported with the proxy's status line (Proxy-Authorization never is).
  net::awaitable<Result<Done, TransportError>> open_tunnel(beast::tcp_stream& stream, Clock::time_point deadline) {
    using K = TransportError::Kind;
    auto self = shared_from_this();
    const std::string where = "proxy " + proxy->display() + " CONNECT " + endpoint_name();
    bhttp::request<bhttp::empty_body> req{bhttp::verb::connect, endpoint_name(), 11};
    req.set(bhttp::field::host, endpoint_name());
    req.set(bhttp::field::user_agent, options.user_agent);
    if (!proxy->authorization.empty()) req.set(bhttp::field::proxy_authorization, proxy->authorization);
    stream.expires_at(deadline);
    error_code ec;
    co_await bhttp::async_write(stream, req, redirect_error(use_awaitable, ec));
    if (ec) co_return unexpected(classify(ec, where, false));
    // A CONNECT answer has no body whatever its headers say; bytes after the head belong to the tunnel,
    // and a proxy may not send any before we speak.
    bhttp::response_parser<bhttp::empty_body> parser;
    parser.skip(true);
    parser.header_limit(64 * 1024);
    beast::flat_buffer buffer;
    co_await bhttp::async_read_header(stream, buffer, parser, redirect_error(use_awaitable, ec));
    if (ec == beast::error::timeout) co_return unexpected(make_error(K::kTimeout, ec, where + ": timed out"));
    if (ec) co_return unexpected(classify(ec, where, false));
    const auto& res = parser.get();
    if (res.result_int() / 100 != 2) {
      std::string reason = std::to_string(res.result_int()) + " " + std::string(res.reason());
      if (res.result() == bhttp::status::proxy_authentication_required)
        reason += proxy->authorization.empty() ? " (no credentials in the proxy URL)" : " (credentials refused)";
      co_return unexpected(make_error(K::kConnect, {}, where + ": refused: " + reason));
    }
    if (buffer.size() > 0)
      co_return unexpected(make_error(K::kProtocol, {}, where + ": the proxy sent bytes before the tunnel opened"));
    stream.expires_never();
    co_return Done{};
  }

  net::awaitable<Result<std::unique_ptr<Conn>, TransportError>> connect(Clock::time_point deadline) {
    using K = TransportError::Kind;
    auto self = shared_from_this();
    const auto connect_deadline = std::min(deadline, Clock::now() + options.connect_timeout);
    // With a proxy the TCP connection goes to the proxy, and the tunnel to the target is asked for next.
    const std::string& dial_host = proxy ? proxy->host : url.host;
    const std::string& dial_port = proxy ? proxy->port : url.port;
    const std::string where = proxy ? "proxy " + proxy->display() + " (for " + endpoint_name() + ")" : endpoint_name();
    error_code ec;
    std::vector<tcp::endpoint> endpoints;
    auto address = net::ip::make_address(dial_host, ec);
    if (!ec) {
      endpoints.emplace_back(address, static_cast<unsigned short>(std::stoi(dial_port)));
    } else {
      // Asio 1.74 has no per-operation cancellation: a timer cancels the resolver. Both handlers hold the
      // resolver by shared_ptr, so whichever runs last is safe.
      auto resolver = std::make_shared<tcp::resolver>(ex);
      net::steady_timer guard(ex);
      guard.expires_at(connect_deadline);
      guard.async_wait([resolver](error_code e) {
        if (!e) resolver->cancel();
      });
      ec = {};
      auto results = co_await resolver->async_resolve(dial_host, dial_port, redirect_error(use_awaitable, ec));
      const bool expired = guard.expiry() <= Clock::now();
      guard.cancel();
      if (ec) {
        if (expired || ec == net::error::operation_aborted) {
          co_return unexpected(make_error(K::kTimeout, ec, "resolve " + dial_host + ": timed out"));
        }
        co_return unexpected(make_error(K::kConnect, ec, "resolve " + dial_host + ": " + ec.message()));
      }
      for (const auto& r : results) endpoints.push_back(r.endpoint());
    }
    auto conn = std::make_unique<Conn>();
    auto tcp_stream = std::make_unique<beast::tcp_stream>(ex);
    tcp_stream->expires_at(connect_deadline);
    ec = {};
    co_await tcp_stream->async_connect(endpoints, redirect_error(use_awaitable, ec));
    if (ec == beast::error::timeout) {
      co_return unexpected(make_error(K::kTimeout, ec, "connect " + where + ": timed out"));
    }
    if (ec) co_return unexpected(make_error(K::kConnect, ec, "connect " + where + ": " + ec.message()));
    tcp_stream->socket().set_option(tcp::no_delay(true), ec);
    if (proxy) {
      auto tunnel = co_await open_tunnel(*tcp_stream, connect_deadline);
      if (!tunnel) co_return unexpected(std::move(tunnel).error());
    }
    const std::string target = endpoint_name();
    if (!ctx) {
      tcp_stream->expires_never();
      conn->plain = std::move(tcp_stream);
      co_return conn;
    }
    conn->ctx = ctx;
    conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*tcp_stream), *ctx);
    const std::string name = sni_name();
    if (!is_ip_literal(name)) SSL_set_tlsext_host_name(conn->tls->native_handle(), name.c_str());
    if (!options.tls.insecure_skip_verify) conn->tls->set_verify_callback(ssl::host_name_verification(name));
    beast::get_lowest_layer(*conn->tls).expires_at(connect_deadline);
    ec = {};
    co_await conn->tls->async_handshake(ssl::stream_base::client, redirect_error(use_awaitable, ec));
    if (ec == beast::error::timeout) {
      co_return unexpected(make_error(K::kTimeout, ec, "tls handshake " + target + ": timed out"));
    }
    if (ec) {
      std::string reason = ec.message();
      const long verify = SSL_get_verify_result(conn->tls->native_handle());
      if (verify != X509_V_OK) reason += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      co_return unexpected(make_error(K::kTls, ec, "tls handshake " + target + ": " + reason));
    }
    beast::get_lowest_layer(*conn->tls).expires_never();
    co_return conn;
  }
};

namespace {

// A streamed response on its own connection: the parser carries on from the head through the body.
template <class S>
class StreamImpl final : public Stream {
 public:
  StreamImpl(std::unique_ptr<Conn> conn, S& stream, std::size_t line_limit)
      : conn_(std::move(conn)), stream_(stream), line_limit_(line_limit) {
    parser_.header_limit(256 * 1024);
    parser_.body_limit((std::numeric_limits<std::uint64_t>::max)());  // a watch has no end
  }
  ~StreamImpl() override { close(); }

  net::awaitable<Result<Done, TransportError>> start(const Request& req, Clock::time_point deadline,
                                                     const std::string& where) {
    auto& lowest = conn_->lowest();
    lowest.expires_at(deadline);
    error_code ec;
    co_await bhttp::async_write(stream_, req, redirect_error(use_awaitable, ec));
    if (ec) co_return unexpected(classify(ec, "send " + where, closed_));
    co_await bhttp::async_read_header(stream_, buffer_, parser_, redirect_error(use_awaitable, ec));
    if (ec) co_return unexpected(classify(ec, "read " + where, closed_));
    lowest.expires_never();
    head_ = parser_.get().base();
    if (parser_.is_done()) eof_ = true;  // no body (204, Content-Length: 0)
    co_return Done{};
  }

  const ResponseHead& head() const override { return head_; }

  net::awaitable<Result<std::optional<std::string>, TransportError>> next_line(
      std::chrono::milliseconds idle_timeout) override {
    using K = TransportError::Kind;
    for (;;) {
      const auto nl = pending_.find('\n', scanned_);
      if (nl != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        scanned_ = 0;
        co_return std::optional<std::string>(std::move(line));
      }
      scanned_ = pending_.size();
      if (eof_) {
        if (pending_.empty()) co_return std::optional<std::string>();
        std::string last = std::move(pending_);
        pending_.clear();
        scanned_ = 0;
        co_return std::optional<std::string>(std::move(last));
      }
      if (closed_)
        co_return unexpected(make_error(K::kCancelled, net::error::operation_aborted, "stream closed"));
      if (pending_.size() > line_limit_) {
        co_return unexpected(make_error(K::kProtocol, {}, "stream: a line exceeds the body limit"));
      }
      auto& lowest = conn_->lowest();
      if (idle_timeout.count() > 0) {
        lowest.expires_after(idle_timeout);
      } else {
        lowest.expires_never();
      }
      std::array<char, 16 * 1024> chunk{};
      parser_.get().body().data = chunk.data();
      parser_.get().body().size = chunk.size();
      error_code ec;
      co_await bhttp::async_read_some(stream_, buffer_, parser_, redirect_error(use_awaitable, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
      if (closed_)
        co_return unexpected(make_error(K::kCancelled, net::error::operation_aborted, "stream closed"));
      if (ec) co_return unexpected(classify(ec, "stream", false));
      pending_.append(chunk.data(), chunk.size() - parser_.get().body().size);
      if (parser_.is_done()) eof_ = true;
    }
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    conn_->close();
  }

 private:
  std::unique_ptr<Conn> conn_;
  S& stream_;
  std::size_t line_limit_;
  bhttp::response_parser<bhttp::buffer_body> parser_;
  beast::flat_buffer buffer_;
  ResponseHead head_;
  std::string pending_;
  std::size_t scanned_ = 0;  // pending_[0, scanned_) has no '\n'
  bool eof_ = false;
  bool closed_ = false;
};

}  // namespace

Client::Client(net::any_io_executor ex, ClientOptions options) : impl_(std::make_shared<Impl>()) {
  impl_->ex = std::move(ex);
  if (!parse_url(options.base_url, impl_->url)) {
    throw std::invalid_argument("http client: '" + options.base_url + "' is not an http(s) URL");
  }
  if (impl_->url.tls()) impl_->ctx = make_tls_context(options.tls);
  impl_->proxy = options.egress.route(impl_->url);
  impl_->options = std::move(options);
}

Client::~Client() {
  impl_->close_idle();
}

net::awaitable<Result<Response, TransportError>> Client::send(
    Request req, std::optional<std::chrono::milliseconds> timeout) {
  auto self = impl_;
  const auto deadline = Clock::now() + timeout.value_or(self->options.request_timeout);
  self->prepare(req);
  const std::string where = std::string(req.method_string()) + " " + self->endpoint_name();
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Conn> conn = attempt == 0 ? self->take_idle() : nullptr;
    const bool reused = conn != nullptr;
    if (!conn) {
      auto fresh = co_await self->connect(deadline);
      if (!fresh) co_return unexpected(std::move(fresh).error());
      conn = std::move(fresh.value());
    }
    Outcome out;
    if (conn->tls) {
      out = co_await exchange(*conn->tls, conn->lowest(), req, deadline, self->options.body_limit);
    } else {
      out = co_await exchange(*conn->plain, conn->lowest(), req, deadline, self->options.body_limit);
    }
    if (!out.ec) {
      if (out.keep_alive) {
        self->put_idle(std::move(conn));
      } else {
        conn->close();
      }
      co_return std::move(*out.res);
    }
    conn->close();
    // A pooled connection the server closed while it sat idle fails before any response byte. Resending
    // is safe when the request never left (write failed) or repeating it is harmless (idempotent method);
    // a POST whose response was lost is not resent (the server may have applied it).
    const bool stale = reused && attempt == 0 && !out.got_bytes && out.ec != beast::error::timeout &&
                       (out.write_failed || is_idempotent(req.method()));
    if (stale) continue;
    co_return unexpected(classify(out.ec, where, false));
  }
}

net::awaitable<Result<std::unique_ptr<Stream>, TransportError>> Client::open_stream(
    Request req, std::optional<std::chrono::milliseconds> head_timeout) {
  auto self = impl_;
  const auto deadline = Clock::now() + head_timeout.value_or(self->options.request_timeout);
  self->prepare(req);
  const std::string where = std::string(req.method_string()) + " " + self->endpoint_name();
  auto fresh = co_await self->connect(deadline);
  if (!fresh) co_return unexpected(std::move(fresh).error());
  std::unique_ptr<Conn> conn = std::move(fresh.value());
  const std::size_t line_limit = self->options.body_limit;
  if (conn->tls) {
    auto& s = *conn->tls;
    auto stream =
        std::make_unique<StreamImpl<beast::ssl_stream<beast::tcp_stream>>>(std::move(conn), s, line_limit);
    auto started = co_await stream->start(req, deadline, where);
    if (!started) co_return unexpected(std::move(started).error());
    co_return std::unique_ptr<Stream>(std::move(stream));
  }
  auto& s = *conn->plain;
  auto stream = std::make_unique<StreamImpl<beast::tcp_stream>>(std::move(conn), s, line_limit);
  auto started = co_await stream->start(req, deadline, where);
  if (!started) co_return unexpected(std::move(started).error());
  co_return std::unique_ptr<Stream>(std::move(stream));
}

void Client::set_tls(TlsOptions tls) {
  if (!impl_->url.tls()) {
    impl_->options.tls = std::move(tls);
    return;
  }
  auto ctx = make_tls_context(tls);  // throws before anything changes
  impl_->ctx = std::move(ctx);
  impl_->options.tls = std::move(tls);
  impl_->close_idle();
}

const std::optional<ProxyEndpoint>& Client::proxy() const {
  return impl_->proxy;
}

const Url& Client::url() const {
  return impl_->url;
}

void Client::close_idle() {
  impl_->close_idle();
}

std::optional<std::string> ca_pem_error(const std::string& pem) {
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return std::string("no PEM certificate in it");
  ssl::context ctx(ssl::context::tls_client);
  error_code ec;
  ctx.add_certificate_authority(net::buffer(pem), ec);
  if (ec) return "not a readable PEM certificate bundle: " + ec.message();
  return std::nullopt;
}

}  // namespace raydog::http
