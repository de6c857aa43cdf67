#pragma once
// A scripted, in-process YellowDog stand-in for client tests: just enough of §4.1 (pools, WRs, tasks,
// sliced task search, SSE) on raydog::http::Server, plus fault injection on the n-th request
// (Beast fail_count style) and a log of every request it saw.
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controller/http/server.hpp"

namespace raydog::yellowdog::testing {

enum class Fault {
  kNone,
  kStatus500,     // answer 500 InternalServerException without applying
  kStatus429,     // answer 429 with Retry-After: 0 without applying
  kCloseBefore,   // close the connection without applying or answering
  kLostResponse,  // apply, then close without answering ("applied but response lost")
  kGarbage,       // apply, then answer 200 with a non-JSON body
};

struct SeenRequest {
  std::string method;
  std::string target;
  std::string authorization;
  std::string content_encoding;
  std::size_t body_bytes = 0;
  bool faulted = false;
};

class FakeYellowDog {
 public:
  explicit FakeYellowDog(http::net::io_context& ioc);
  ~FakeYellowDog();
  std::string base_url() const { return server_->base_url(); }
  void stop() { server_->stop(); }

  // Fault the n-th request (1-based) with `fault`; 0 disables.
  void fail_nth(std::size_t n, Fault fault) {
    fail_at_ = n;
    fault_ = fault;
  }
  // When set, every request must carry exactly this Authorization value, else 401 echoing what came.
  std::optional<std::string> required_authorization;
  std::size_t task_page_size = 2;
  // Raw SSE bytes written for /updates streams, chunk by chunk, then the stream ends.
  std::vector<std::string> sse_chunks;

  const std::vector<SeenRequest>& seen() const { return seen_; }
  std::size_t count(const std::string& method, const std::string& path_prefix) const;

  nlohmann::json pools = nlohmann::json::array();
  nlohmann::json requirements = nlohmann::json::array();
  nlohmann::json tasks = nlohmann::json::array();

 private:
  http::net::awaitable<void> handle(http::Exchange& ex);
  // Applies the request to the state; returns status and body.
  std::pair<int, nlohmann::json> apply(const std::string& method, const std::vector<std::string>& path,
                                       const std::map<std::string, std::string>& query,
                                       const std::string& body);
  std::size_t next_id_ = 1;
  std::size_t fail_at_ = 0;
  Fault fault_ = Fault::kNone;
  std::vector<SeenRequest> seen_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace raydog::yellowdog::testing
