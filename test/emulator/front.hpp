#pragma once
// The emulator's HTTP front on the shared server (controller/http): authentication, translation between
// Beast messages and the pure request layer (api.hpp), and watch streaming with timeouts, bookmarks and
// the --drop-watches-every fault.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "test/emulator/api.hpp"

namespace boost::asio {
class io_context;
}

namespace raydog::emulator {

struct FrontOptions {
  std::string listen = "127.0.0.1:0";
  bool tls = false;
  std::string token;  // required bearer token (TLS only); empty: any client cert
  std::string server_cert_pem, server_key_pem, ca_cert_pem;
  std::optional<std::chrono::milliseconds> drop_watches_every;
  std::chrono::seconds bookmark_interval{5};
  bool verbose = false;     // one stderr line per request (never headers)
  std::string request_log;  // a file: one JSON line per request (request_log.hpp); empty: none
};

class Front {
 public:
  Front(boost::asio::io_context& ioc, Api& api, FrontOptions options);
  ~Front();
  void start();                  // binds; throws on failure
  std::string base_url() const;  // "http(s)://127.0.0.1:PORT"
  void stop();                   // ends watches, closes connections

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace raydog::emulator
