#pragma once
// A small HTTP CONNECT proxy for tests: it listens on 127.0.0.1:<free port> on its own thread, opens
// tunnels to loopback targets only (anything else gets 403: tests never reach beyond the machine), and
// records every CONNECT it was asked for, so a test can prove traffic went through it. It can demand
// Proxy-Authorization and can refuse every tunnel with a chosen status.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace raydog::test {

class ConnectProxy {
 public:
  struct Options {
    std::string required_authorization;  // e.g. "Basic dTpw": other requests get 407
    int refuse_status = 0;               // non-zero: every CONNECT is answered with this status
  };
  ConnectProxy();
  explicit ConnectProxy(Options options);
  ~ConnectProxy();  // stops accepting and closes every tunnel
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  unsigned short port() const;
  std::string url() const;  // "http://127.0.0.1:<port>"
  // Every CONNECT target asked for ("127.0.0.1:8443"), in order, whether it was granted or not.
  std::vector<std::string> connects() const;
  std::size_t connects_to(const std::string& target) const;
  std::size_t tunnels_opened() const;
  void set_refuse_status(int status);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace raydog::test
