#pragma once
// A small async HTTP/1.1 client on Beast + Asio coroutines for the Kubernetes and YellowDog clients:
// plain or TLS (verification on unless explicitly skipped), keep-alive connection reuse, a deadline on
// every request, and streaming responses (Kubernetes watches, YellowDog SSE) on dedicated connections.
// It knows nothing about Kubernetes or YellowDog: authentication headers, retries and error decoding
// belong to the callers.
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "controller/http/proxy.hpp"
#include "controller/http/types.hpp"
#include "controller/util/result.hpp"

namespace raydog::http {

struct TlsOptions {
  std::string ca_pem;              // trusted CAs (PEM); empty: the system store
  bool ca_adds_to_system = false;  // true: ca_pem is trusted besides the system store, not instead of it
  std::string client_cert_pem;     // client certificate (PEM), with client_key_pem
  std::string client_key_pem;
  bool insecure_skip_verify = false;
  std::string server_name;  // overrides the host for SNI and certificate verification
};

// nullopt when `pem` holds at least one readable PEM certificate (what TlsOptions::ca_pem needs), else why
// not. Checked where a CA bundle enters (a flag, a kubeconfig), so a bad file fails at once, by name.
std::optional<std::string> ca_pem_error(const std::string& pem);

struct ClientOptions {
  std::string base_url;  // "http(s)://host:port[/prefix]"; request targets are appended to the prefix
  TlsOptions tls;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};  // TCP connect + TLS handshake
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};  // default whole-request deadline
  std::size_t max_idle_connections = 8;
  std::size_t body_limit = 256 * 1024 * 1024;
  std::string user_agent = "raydog-operator";
  // Egress proxies (proxy.hpp): when they route base_url through a proxy, every connection is a CONNECT
  // tunnel through it (TLS, when the base URL is https, runs end to end inside). Default: direct.
  EgressProxies egress;
};

// A transport failure: nothing (complete) was received. `message` never contains header values
// (credentials travel in headers).
struct TransportError {
  enum class Kind { kConnect, kTls, kTimeout, kClosed, kProtocol, kCancelled } kind;
  error_code ec;
  std::string message;  // e.g. "connect 127.0.0.1:443: Connection refused"
};

// A streamed response: the head, then the body line by line ("\n"-separated; a trailing "\r" is kept
// for the caller to strip) as chunks arrive. Objects may straddle chunks: lines are reassembled.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual const ResponseHead& head() const = 0;
  // The next line, nullopt at the clean end of the body, or an error. `idle_timeout` bounds the wait for
  // more bytes (0: no bound).
  virtual net::awaitable<Result<std::optional<std::string>, TransportError>> next_line(
      std::chrono::milliseconds idle_timeout) = 0;
  // Closes the connection; a pending next_line completes with kCancelled.
  virtual void close() = 0;
};

class Client {
 public:
  // Throws std::invalid_argument when base_url is not an http(s) URL or the TLS material is unreadable
  // (message says which).
  Client(net::any_io_executor ex, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request on a pooled connection (a fresh one if none is idle). Host, User-Agent and
  // Content-Length are filled in; req.target() is relative to the base URL's prefix. A stale pooled
  // connection that fails before any response byte is retried once on a fresh connection (safe: the
  // server never saw the request). Any HTTP status is a successful Result: the caller decides.
  net::awaitable<Result<Response, TransportError>> send(
      Request req, std::optional<std::chrono::milliseconds> timeout = {});

  // Opens a streaming request on a dedicated connection; returns once the response head arrived.
  net::awaitable<Result<std::unique_ptr<Stream>, TransportError>> open_stream(
      Request req, std::optional<std::chrono::milliseconds> head_timeout = {});

  // The proxy this client tunnels through, if any.
  const std::optional<ProxyEndpoint>& proxy() const;
  // Replaces TLS client material (rotated exec-plugin certificates); new connections use it.
  void set_tls(TlsOptions tls);
  const Url& url() const;
  // Closes idle pooled connections.
  void close_idle();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace raydog::http
