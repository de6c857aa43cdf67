#pragma once
// A small async client for the DALiuGE Data Island Manager's node API and the Node Manager's readiness
// probe (daliuge-integration.md §2, §3), on the shared controller/http client. Every call has a deadline.
//
//   GET    /api/nodes           -> 200 JSON array of node strings (a multiset, in insertion order)
//   POST   /api/node/<node>     -> 200 {"Status": "Success"}   (appends one more entry, even a duplicate)
//   DELETE /api/node/<node>     -> 200 {"Status": "Success"}   (removes the first match; absent: 500 HTML)
//   GET    /api/sessions        -> 200 [{"sessionId", "status": {node: state|null}, "size"}]
//   NM: GET /api                -> 200 {"sessions": [...]}
//
// Writes are never retried here (the DIM's POST is not idempotent, and DELETE removes one entry per call):
// the client keeps no idle connections, so the HTTP layer's resend of a request on a stale pooled
// connection cannot happen either. A write that fails in any way is reported as an error; the caller
// treats its outcome as unknown and re-reads the list before the next write.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "controller/http/proxy.hpp"
#include "controller/util/result.hpp"

namespace raydog::http {
class Client;
}

namespace raydog::daliuge {

struct DimError {
  enum class Kind {
    kTransport,  // connect refused/reset, timeout, closed without an answer
    kStatus,     // an HTTP status other than the expected one
    kProtocol,   // 200 with a body that is not what the API returns
  };
  Kind kind = Kind::kTransport;
  int status = 0;        // for kStatus
  bool timeout = false;  // for kTransport
  std::string message;   // "POST /api/node/10.0.0.7:8000:5555:6666: timeout"
};

class DimClient {
 public:
  // base_url: "http://IP:PORT". Throws std::invalid_argument when it is not an http URL.
  DimClient(boost::asio::any_io_executor ex, const std::string& base_url, std::chrono::milliseconds timeout,
            const http::EgressProxies& egress = {});
  ~DimClient();
  DimClient(const DimClient&) = delete;
  DimClient& operator=(const DimClient&) = delete;

  const std::string& base_url() const { return base_url_; }

  boost::asio::awaitable<Result<std::vector<std::string>, DimError>> nodes();
  boost::asio::awaitable<Result<Done, DimError>> add_node(std::string node);
  boost::asio::awaitable<Result<Done, DimError>> remove_node(std::string node);
  // True when some session has a state 0-3 (PRISTINE..RUNNING) on some node (§4.8).
  boost::asio::awaitable<Result<bool, DimError>> sessions_active();

 private:
  std::string base_url_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<http::Client> http_;
};

// GET http://ip:port/api answers 200 within `timeout` (the NM is up: §2 "Readiness").
boost::asio::awaitable<bool> nm_answers(boost::asio::any_io_executor ex, std::string ip, int port,
                                        std::chrono::milliseconds timeout, http::EgressProxies egress = {});

}  // namespace raydog::daliuge
