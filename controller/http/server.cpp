// The Beast HTTP server: one coroutine per connection (Beast's awaitable server examples), a timeout on
// every I/O, keep-alive, 413/400/431 answered before closing, chunked streaming for watches and SSE.
#include "controller/http/server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/redirect_error.hpp>
#include <boost/beast/ssl.hpp>
#include <exception>
#include <set>
#include <stdexcept>
#include <utility>

namespace raydog::http {

namespace {

using net::redirect_error;
using net::use_awaitable;

bool is_parse_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

// "host:port", "[v6]:port", ":port" (all interfaces). Throws std::invalid_argument.
void split_listen(const std::string& listen, std::string& host, std::string& port) {
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      throw std::invalid_argument("bad listen address '" + listen + "'");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
    return;
  }
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("bad listen address '" + listen + "' (no port)");
  host = listen.substr(0, colon);
  port = listen.substr(colon + 1);
  if (host.empty()) host = "0.0.0.0";
}

std::string peer_common_name(SSL* ssl) {
  std::string cn;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  X509* cert = SSL_get1_peer_certificate(ssl);
#else
  X509* cert = SSL_get_peer_certificate(ssl);
#endif
  if (cert == nullptr) return cn;
  // Only a certificate that passed verification names the peer.
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    X509_NAME* name = X509_get_subject_name(cert);
    const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx >= 0) {
      ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
      unsigned char* utf8 = nullptr;
      const int len = ASN1_STRING_to_UTF8(&utf8, data);
      if (len > 0) cn.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
      OPENSSL_free(utf8);
    }
  }
  X509_free(cert);
  return cn;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(net::io_context& io, ServerOptions opts, Handler h)
      : ioc(io), options(std::move(opts)), handler(std::move(h)), acceptor(io) {}

  net::io_context& ioc;
  ServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  tcp::endpoint local;
  bool started = false;
  bool stopping = false;
  // Every open connection's lowest layer, so stop() can close them (Asio 1.74 has no per-operation
  // cancellation: closing the socket is what makes a pending read/write complete).
  std::set<beast::tcp_stream*> connections;

  void report(std::string_view what) {
    if (options.error_log) options.error_log(what);
  }

  void stop_now();
  net::awaitable<void> accept_loop();
  net::awaitable<void> session(tcp::socket socket);
  template <class S>
  net::awaitable<void> serve(S& stream, bool tls);
};

namespace {

// Registers a connection for stop() for as long as its coroutine runs.
class Registration {
 public:
  Registration(std::set<beast::tcp_stream*>& set, beast::tcp_stream* s) : set_(set), s_(s) {
    set_.insert(s_);
  }
  ~Registration() { set_.erase(s_); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  std::set<beast::tcp_stream*>& set_;
  beast::tcp_stream* s_;
};

enum class State { kNone, kStreaming, kDone, kDropped };

// What an exchange needs to know about its server.
class ServerView {
 public:
  ServerView(const ServerOptions& options, const bool& stopping) : options_(options), stopping_(stopping) {}
  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_; }

 private:
  const ServerOptions& options_;
  const bool& stopping_;
};

template <class S>
class ExchangeImpl final : public Exchange {
 public:
  ExchangeImpl(const ServerView& server, S& stream, const Peer& peer, Request req)
      : server_(server), stream_(stream), peer_(peer), req_(std::move(req)) {}

  Request& request() override { return req_; }
  const Peer& peer() const override { return peer_; }
  bool stopping() const override { return server_.stopping(); }

  net::awaitable<void> respond(Response res) override {
    if (state_ == State::kDropped) co_return;
    if (state_ != State::kNone) throw std::logic_error("http: a request was answered twice");
    state_ = State::kDone;
    if (!has_close(res)) res.keep_alive(req_.keep_alive() && !server_.stopping());
    keep_alive_ = res.keep_alive();
    res.prepare_payload();
    error_code ec;
    lowest().expires_after(server_.options().write_timeout);
    co_await bhttp::async_write(stream_, res, redirect_error(use_awaitable, ec));
    if (ec) keep_alive_ = false;
  }

  net::awaitable<bool> begin_stream(ResponseHead head) override {
    if (state_ == State::kDropped) co_return false;
    if (state_ != State::kNone) throw std::logic_error("http: begin_stream after an answer");
    state_ = State::kStreaming;
    if (server_.stopping()) {
      failed_ = true;
      co_return false;
    }
    bhttp::response<bhttp::empty_body> res{std::move(head)};
    res.version(req_.version());
    if (!has_close(res)) res.keep_alive(req_.keep_alive());
    keep_alive_ = res.keep_alive();
    res.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    error_code ec;
    lowest().expires_after(server_.options().write_timeout);
    co_await bhttp::async_write_header(stream_, sr, redirect_error(use_awaitable, ec));
    if (ec) failed_ = true;
    co_return !failed_;
  }

  net::awaitable<bool> write_chunk(std::string_view data) override {
    if (state_ != State::kStreaming || failed_ || server_.stopping()) co_return false;
    if (data.empty()) co_return !peer_closed();  // an empty chunk would end the body: only check
    error_code ec;
    lowest().expires_after(server_.options().write_timeout);
    co_await net::async_write(stream_, bhttp::make_chunk(net::buffer(data.data(), data.size())),
                              redirect_error(use_awaitable, ec));
    if (ec) failed_ = true;
    co_return !failed_;
  }

  net::awaitable<void> end_stream() override {
    if (state_ != State::kStreaming) co_return;
    state_ = State::kDone;
    if (failed_ || server_.stopping()) {
      keep_alive_ = false;
      co_return;
    }
    error_code ec;
    lowest().expires_after(server_.options().write_timeout);
    co_await net::async_write(stream_, bhttp::make_chunk_last(), redirect_error(use_awaitable, ec));
    if (ec) keep_alive_ = false;
  }

  bool peer_closed() const override {
    auto& socket = beast::get_lowest_layer(stream_).socket();
    if (!socket.is_open()) return true;
    char c;
    const auto n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;  // FIN: nothing more will come, and nobody reads what we send
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
  }

  void drop() override {
    state_ = State::kDropped;
    keep_alive_ = false;
    error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  State state() const { return state_; }
  // The connection may carry another request.
  bool reusable() const { return state_ == State::kDone && keep_alive_ && !failed_ && !server_.stopping(); }

 private:
  static bool has_close(const bhttp::fields& f) {
    const auto it = f.find(bhttp::field::connection);
    return it != f.end() && beast::iequals(it->value(), "close");
  }
  static bool has_close(const Response& r) { return has_close(r.base()); }
  static bool has_close(const bhttp::response<bhttp::empty_body>& r) { return has_close(r.base()); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  const ServerView& server_;
  S& stream_;
  const Peer& peer_;
  Request req_;
  State state_ = State::kNone;
  bool keep_alive_ = false;
  bool failed_ = false;
};

// Answers a request that could not be read (413, 400, 431) and stops using the connection.
template <class S>
net::awaitable<void> write_error(S& stream, std::chrono::seconds timeout, bhttp::status status,
                                 std::string_view message) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "text/plain");
  res.keep_alive(false);
  res.body() = std::string(message) + "\n";
  res.prepare_payload();
  error_code ec;
  beast::get_lowest_layer(stream).expires_after(timeout);
  co_await bhttp::async_write(stream, res, redirect_error(use_awaitable, ec));
}

// Reads and discards what the client still sends (the rest of an oversized body) so that closing does
// not reset the connection before the client has read our 413 (a "lingering close").
template <class S>
net::awaitable<void> drain(S& stream, std::chrono::seconds timeout) {
  auto& lowest = beast::get_lowest_layer(stream);
  error_code ec;
  lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
  lowest.expires_after(timeout);
  std::array<char, 16 * 1024> scratch{};
  std::size_t total = 0;
  while (total < 64u * 1024 * 1024) {
    const std::size_t n =
        co_await lowest.async_read_some(net::buffer(scratch), redirect_error(use_awaitable, ec));
    if (ec) break;
    total += n;
  }
}

}  // namespace

net::awaitable<void> Server::Impl::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(redirect_error(use_awaitable, ec));
    if (stopping || ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // EMFILE and friends: back off a little instead of spinning.
      report("accept: " + ec.message());
      net::steady_timer pause(ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    net::co_spawn(ioc, session(std::move(socket)), [self](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        self->report(std::string("connection: ") + ex.what());
      }
    });
  }
}

net::awaitable<void> Server::Impl::session(tcp::socket socket) {
  auto self = shared_from_this();
  beast::tcp_stream tcp_stream(std::move(socket));
  if (options.tls) {
    beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(tcp_stream), *options.tls);
    co_await serve(tls_stream, true);
  } else {
    co_await serve(tcp_stream, false);
  }
}

template <class S>
net::awaitable<void> Server::Impl::serve(S& stream, bool tls) {
  auto& lowest = beast::get_lowest_layer(stream);
  Registration registration(connections, &lowest);
  if (stopping) co_return;
  Peer peer;
  peer.tls = tls;
  {
    error_code ec;
    const auto remote = lowest.socket().remote_endpoint(ec);
    if (!ec) peer.address = remote.address().to_string();
  }
  error_code ec;
  if constexpr (!std::is_same_v<S, beast::tcp_stream>) {
    lowest.expires_after(options.read_timeout);
    co_await stream.async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
    if (ec) co_return;
    peer.client_cert_cn = peer_common_name(stream.native_handle());
  }
  beast::flat_buffer buffer;
  const ServerView view(options, stopping);
  for (;;) {
    if (stopping) break;
    if (buffer.size() == 0) {
      // Idle keep-alive connection: wait for the first byte of the next request.
      lowest.expires_after(options.idle_timeout);
      const std::size_t n =
          co_await stream.async_read_some(buffer.prepare(16 * 1024), redirect_error(use_awaitable, ec));
      if (ec) break;
      buffer.commit(n);
    }
    lowest.expires_after(options.read_timeout);
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(options.body_limit);
    co_await bhttp::async_read(stream, buffer, parser, redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::body_limit) {
      co_await write_error(stream, options.write_timeout, bhttp::status::payload_too_large,
                           "request body too large");
      co_await drain(stream, options.read_timeout);
      break;
    }
    if (ec == bhttp::error::header_limit) {
      co_await write_error(stream, options.write_timeout, bhttp::status::request_header_fields_too_large,
                           "request header too large");
      break;
    }
    if (ec && is_parse_error(ec) && ec != bhttp::error::end_of_stream &&
        ec != bhttp::error::partial_message) {
      co_await write_error(stream, options.write_timeout, bhttp::status::bad_request,
                           "malformed request: " + ec.message());
      break;
    }
    if (ec) break;  // peer gone, timeout, or the server is stopping

    ExchangeImpl<S> exchange(view, stream, peer, parser.release());
    std::string failure;
    try {
      co_await handler(exchange);
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    if (!failure.empty()) report("handler: " + failure);
    if (exchange.state() == State::kNone) {
      co_await exchange.respond(make_response(exchange.request(), bhttp::status::internal_server_error,
                                              R"({"error":"the handler did not answer"})"));
    }
    if (!exchange.reusable()) break;
  }
  // A clean close: stop sending, then let the socket go (TLS close_notify is skipped: every response is
  // framed by Content-Length or chunked encoding, so truncation cannot go unnoticed).
  error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
  lowest.close();
}

Server::Server(net::io_context& ioc, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(ioc, std::move(options), std::move(handler))) {}

Server::~Server() {
  stop();
}

void Server::start() {
  if (impl_->started) return;
  std::string host, port;
  split_listen(impl_->options.listen, host, port);
  error_code ec;
  tcp::endpoint endpoint;
  auto address = net::ip::make_address(host, ec);
  if (!ec) {
    unsigned long port_number = 0;
    try {
      port_number = std::stoul(port);
    } catch (const std::exception&) {
      throw std::invalid_argument("bad listen port in '" + impl_->options.listen + "'");
    }
    if (port_number > 65535)
      throw std::invalid_argument("bad listen port in '" + impl_->options.listen + "'");
    endpoint = tcp::endpoint(address, static_cast<unsigned short>(port_number));
  } else {
    // A name ("localhost"): resolved once, at startup, where blocking is fine.
    tcp::resolver resolver(impl_->ioc);
    auto results = resolver.resolve(host, port, ec);
    if (ec || results.empty()) {
      throw boost::system::system_error(ec ? ec : net::error::host_not_found,
                                        "listen " + impl_->options.listen);
    }
    endpoint = results.begin()->endpoint();
  }
  auto& acceptor = impl_->acceptor;
  auto fail = [&](error_code e) {
    error_code ignored;
    acceptor.close(ignored);
    throw boost::system::system_error(e, "listen " + impl_->options.listen);
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) fail(ec);
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) fail(ec);
  acceptor.bind(endpoint, ec);
  if (ec) fail(ec);
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail(ec);
  impl_->local = acceptor.local_endpoint(ec);
  if (ec) fail(ec);
  impl_->started = true;
  auto impl = impl_;
  net::co_spawn(impl_->ioc, impl_->accept_loop(), [impl](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      impl->report(std::string("accept loop: ") + ex.what());
    }
  });
}

tcp::endpoint Server::local_endpoint() const {
  return impl_->local;
}

std::string Server::base_url() const {
  const auto& ep = impl_->local;
  std::string host;
  if (ep.address().is_v6()) {
    host = ep.address().is_unspecified() ? "[::1]" : "[" + ep.address().to_string() + "]";
  } else {
    host = ep.address().is_unspecified() ? "127.0.0.1" : ep.address().to_string();
  }
  return std::string(impl_->options.tls ? "https" : "http") + "://" + host + ":" + std::to_string(ep.port());
}

void Server::Impl::stop_now() {
  if (stopping) return;
  stopping = true;
  error_code ec;
  acceptor.close(ec);
  // Closing makes every pending read/write complete (posted, not inline), so each connection's
  // coroutine sees stopping and ends.
  auto open = connections;
  for (auto* s : open) {
    s->socket().shutdown(tcp::socket::shutdown_both, ec);
    s->close();
  }
}

void Server::stop() {
  if (impl_) impl_->stop_now();
}

std::size_t Server::open_connections() const {
  return impl_->connections.size();
}

std::shared_ptr<ssl::context> make_server_tls_context(const std::string& cert_chain_pem,
                                                      const std::string& key_pem,
                                                      const std::string& client_ca_pem) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  error_code ec;
  ctx->use_certificate_chain(net::buffer(cert_chain_pem), ec);
  if (ec) throw std::invalid_argument("tls: the server certificate is not readable PEM: " + ec.message());
  ctx->use_private_key(net::buffer(key_pem), ssl::context::pem, ec);
  if (ec) throw std::invalid_argument("tls: the server key is not readable PEM (or does not match)");
  if (!client_ca_pem.empty()) {
    ctx->add_certificate_authority(net::buffer(client_ca_pem), ec);
    if (ec) throw std::invalid_argument("tls: the client CA is not readable PEM: " + ec.message());
    ctx->set_verify_mode(ssl::verify_peer);  // asked for, not required: anonymous clients stay possible
  }
  return ctx;
}

Response make_response(const Request& req, bhttp::status status, std::string body,
                       std::string_view content_type) {
  Response res{status, req.version()};
  res.set(bhttp::field::server, "raydog");
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace raydog::http
