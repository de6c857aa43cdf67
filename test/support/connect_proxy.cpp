#include "test/support/connect_proxy.hpp"

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <array>
#include <list>
#include <mutex>
#include <thread>

namespace raydog::test {
namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using net::ip::tcp;
using net::redirect_error;
using net::use_awaitable;
using error_code = boost::system::error_code;

// Both ends of one tunnel; either pump closing them ends the other.
struct Tunnel {
  tcp::socket client;
  tcp::socket upstream;
  explicit Tunnel(tcp::socket c) : client(std::move(c)), upstream(client.get_executor()) {}
  void close() {
    error_code ec;
    client.close(ec);
    upstream.close(ec);
  }
};

net::awaitable<void> pump(std::shared_ptr<Tunnel> t, tcp::socket& from, tcp::socket& to) {
  std::array<char, 16 * 1024> buf{};
  for (;;) {
    error_code ec;
    const std::size_t n = co_await from.async_read_some(net::buffer(buf), redirect_error(use_awaitable, ec));
    if (ec) break;
    co_await net::async_write(to, net::buffer(buf.data(), n), redirect_error(use_awaitable, ec));
    if (ec) break;
  }
  t->close();
}

// Loopback targets only: "127.x.y.z:port", "[::1]:port" or "localhost:port".
bool loopback_target(const std::string& target, tcp::endpoint& out) {
  const auto colon = target.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = target.substr(0, colon);
  const std::string port = target.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec || !address.is_loopback()) return false;
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  const int p = std::stoi(port);
  if (p < 1 || p > 65535) return false;
  out = tcp::endpoint(address, static_cast<unsigned short>(p));
  return true;
}

}  // namespace

// Coroutines use `this`: the Impl outlives them, since the destructor closes every socket and waits for
// the io_context to run out of work.
struct ConnectProxy::Impl {
  Options options;
  unsigned short port = 0;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  mutable std::mutex mu;
  std::vector<std::string> connects;
  std::size_t opened = 0;
  std::list<std::weak_ptr<Tunnel>> tunnels;

  net::awaitable<void> answer(tcp::socket& s, int status, const std::string& reason) {
    const std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                             "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    error_code ec;
    co_await net::async_write(s, net::buffer(text), redirect_error(use_awaitable, ec));
  }

  net::awaitable<void> serve(tcp::socket socket) {
    auto tunnel = std::make_shared<Tunnel>(std::move(socket));
    {
      std::lock_guard lock(mu);
      tunnels.remove_if([](const std::weak_ptr<Tunnel>& w) { return w.expired(); });
      tunnels.push_back(tunnel);
    }
    boost::beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> parser;
    error_code ec;
    co_await bhttp::async_read_header(tunnel->client, buffer, parser, redirect_error(use_awaitable, ec));
    if (ec) co_return tunnel->close();
    const auto& req = parser.get();
    if (req.method() != bhttp::verb::connect) {
      co_await answer(tunnel->client, 405, "Method Not Allowed");
      co_return tunnel->close();
    }
    const std::string target(req.target());
    int refuse = 0;
    {
      std::lock_guard lock(mu);
      connects.push_back(target);
      refuse = options.refuse_status;
    }
    if (refuse != 0) {
      co_await answer(tunnel->client, refuse, "Refused By Test");
      co_return tunnel->close();
    }
    if (!options.required_authorization.empty()) {
      const auto it = req.find(bhttp::field::proxy_authorization);
      if (it == req.end() || it->value() != options.required_authorization) {
        co_await answer(tunnel->client, 407, "Proxy Authentication Required");
        co_return tunnel->close();
      }
    }
    tcp::endpoint endpoint;
    if (!loopback_target(target, endpoint)) {
      co_await answer(tunnel->client, 403, "Forbidden");
      co_return tunnel->close();
    }
    co_await tunnel->upstream.async_connect(endpoint, redirect_error(use_awaitable, ec));
    if (ec) {
      co_await answer(tunnel->client, 502, "Bad Gateway");
      co_return tunnel->close();
    }
    const std::string established = "HTTP/1.1 200 Connection Established\r\n\r\n";
    co_await net::async_write(tunnel->client, net::buffer(established), redirect_error(use_awaitable, ec));
    if (ec) co_return tunnel->close();
    if (buffer.size() > 0) {  // bytes the client sent right behind its request belong to the tunnel
      co_await net::async_write(tunnel->upstream, buffer.data(), redirect_error(use_awaitable, ec));
      if (ec) co_return tunnel->close();
    }
    {
      std::lock_guard lock(mu);
      ++opened;
    }
    net::co_spawn(ioc, pump(tunnel, tunnel->upstream, tunnel->client), net::detached);
    co_await pump(tunnel, tunnel->client, tunnel->upstream);
  }

  net::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(redirect_error(use_awaitable, ec));
      if (ec) co_return;
      net::co_spawn(ioc, serve(std::move(socket)), net::detached);
    }
  }
};

ConnectProxy::ConnectProxy() : ConnectProxy(Options{}) {}

ConnectProxy::ConnectProxy(Options options) : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
  const tcp::endpoint local(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(local.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(local);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  net::co_spawn(impl_->ioc, impl_->accept_loop(), net::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

ConnectProxy::~ConnectProxy() {
  // Closing every socket ends every coroutine; run() then returns for want of work.
  net::post(impl_->ioc, [impl = impl_.get()] {
    error_code ec;
    impl->acceptor.close(ec);
    std::lock_guard lock(impl->mu);
    for (auto& weak : impl->tunnels) {
      if (auto t = weak.lock()) t->close();
    }
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

unsigned short ConnectProxy::port() const {
  return impl_->port;
}

std::string ConnectProxy::url() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

std::vector<std::string> ConnectProxy::connects() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connects;
}

std::size_t ConnectProxy::connects_to(const std::string& target) const {
  std::lock_guard lock(impl_->mu);
  return static_cast<std::size_t>(std::count(impl_->connects.begin(), impl_->connects.end(), target));
}

std::size_t ConnectProxy::tunnels_opened() const {
  std::lock_guard lock(impl_->mu);
  return impl_->opened;
}

void ConnectProxy::set_refuse_status(int status) {
  std::lock_guard lock(impl_->mu);
  impl_->options.refuse_status = status;
}

}  // namespace raydog::test
