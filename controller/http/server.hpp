#pragma once
// A small async HTTP/1.1 server on Beast + Asio coroutines, plain or TLS, used by the Kubernetes API
// emulator, the YellowDog simulator, the fake DALiuGE DIM and the operator's health/metrics endpoints.
//
// One coroutine per connection; keep-alive; a timeout on every read and write; a body limit answered with
// 413; request handlers are coroutines too, so a handler may stream (watch, SSE) for as long as it likes.
// Everything runs on the io_context's single thread (design §2): handlers need no locks.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "controller/http/types.hpp"

namespace raydog::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";        // "host:port"; "[::1]:0"; port 0 = any free port
  std::shared_ptr<ssl::context> tls;         // null: plain HTTP
  std::size_t body_limit = 3 * 1024 * 1024;  // larger bodies get 413 and the connection is closed
  std::chrono::seconds read_timeout{30};     // for one request's header+body once it has started
  std::chrono::seconds idle_timeout{120};    // keep-alive connection without a request
  std::chrono::seconds write_timeout{30};    // one write (a whole response, or one stream chunk)
  // Told about failures no client sees (a handler threw, accept failed). The HTTP layer does not log by
  // itself (it sits below the runtime); owners pass their logger here. May be empty.
  std::function<void(std::string_view what)> error_log;
};

struct Peer {
  std::string address;  // remote IP
  bool tls = false;
  std::string client_cert_cn;  // verified client certificate's CN (empty when none was presented)
};

// One request and the means to answer it. A handler must do exactly one of: respond(), a
// begin_stream()/write_chunk()*/end_stream() sequence, or drop(). Returning without any of them
// answers 500.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual Request& request() = 0;
  virtual const Peer& peer() const = 0;

  // Sends a complete response (Content-Length set from the body; keep-alive follows the request).
  virtual net::awaitable<void> respond(Response res) = 0;

  // Streams: chunked transfer encoding. begin_stream sends the head with the given status and headers
  // (the fields of `head` plus chunked). write_chunk returns false once the peer is gone or the server
  // is stopping: the handler should then return promptly. An empty chunk writes nothing and only checks.
  virtual net::awaitable<bool> begin_stream(ResponseHead head) = 0;
  virtual net::awaitable<bool> write_chunk(std::string_view data) = 0;
  virtual net::awaitable<void> end_stream() = 0;

  // Closes the connection without answering: "applied but response lost" fault injection.
  virtual void drop() = 0;

  // True once Server::stop() was called: long-running handlers (watches) should finish.
  virtual bool stopping() const = 0;

  // True once the client has closed its side (checked without blocking). A streaming handler that is
  // waiting for events can poll this (or write an empty chunk, which returns false then) so that a
  // vanished watcher does not linger until the next event.
  virtual bool peer_closed() const { return false; }
};

using Handler = std::function<net::awaitable<void>(Exchange&)>;

class Server {
 public:
  Server(net::io_context& ioc, ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (throws boost::system::system_error with the address in the message when it
  // cannot), then accepts in the background on the io_context.
  void start();
  tcp::endpoint local_endpoint() const;
  std::string base_url() const;  // "http(s)://127.0.0.1:PORT" ([::1] for IPv6)
  // Stops accepting, closes idle connections, makes stopping() true for running streams and closes
  // their sockets. Safe to call twice; the destructor calls it. Like everything here it runs on the
  // io_context's thread (or while the io_context is not running): from another thread, post it.
  void stop();
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// A TLS server context from PEM text (TLS 1.2+). With `client_ca_pem`, clients are asked for a certificate
// (verified against it; optional for the client) and its CN shows up as Peer::client_cert_cn. Throws
// std::invalid_argument naming which input is unreadable (never its content).
std::shared_ptr<ssl::context> make_server_tls_context(const std::string& cert_chain_pem,
                                                      const std::string& key_pem,
                                                      const std::string& client_ca_pem = {});

// Helpers for handlers.
Response make_response(const Request& req, bhttp::status status, std::string body,
                       std::string_view content_type = "application/json");

}  // namespace raydog::http
