#pragma once
// The Kubernetes API semantics of the emulator, independent of sockets: a request (method, target,
// headers, body) goes in, a response (code, content type, body) or a watch session comes out. The HTTP
// front (server.cpp) only moves bytes; everything kubectl can observe is decided here and unit-tested.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "test/emulator/builtin_admission.hpp"
#include "test/emulator/resources.hpp"
#include "test/emulator/selectors.hpp"
#include "test/emulator/status.hpp"
#include "test/emulator/store.hpp"
#include "test/emulator/table.hpp"

namespace raydog::emulator {

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path + "?" + query, as received
  std::string accept;
  std::string content_type;
  std::string body;
  std::string host;  // Host header, for legacy /api serverAddressByClientCIDRs
};

struct ApiResponse {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Warning, ...)
};

// A running watch (§8.3): lines are queued as events happen; the HTTP front drains `pending` and waits on
// `on_ready` between events.
class WatchSession {
 public:
  ~WatchSession();
  std::deque<std::string> pending;  // JSON lines, each ending in "\n"
  bool finished = false;            // the stream must end after `pending` is drained (ERROR sent)
  std::function<void()> on_ready;   // called after lines were queued
  bool bookmarks = false;
  std::optional<std::chrono::seconds> timeout;  // timeoutSeconds
  std::string bookmark_line() const;

 private:
  friend class Api;
  Store* store_ = nullptr;
  std::uint64_t sink_ = 0;
  ResourceInfo info_;
  std::string ns_;
  LabelSelector labels_;
  FieldSelector fields_;
  bool table_ = false;
  bool columns_sent_ = false;
  IncludeObject include_ = IncludeObject::kMetadata;
  std::function<std::chrono::system_clock::time_point()> now_;
  void offer(const WatchEvent& ev);
  void push(const std::string& type, const json& object);
};

struct ApiOptions {
  std::size_t history = 200000;
  bool allow_loopback_endpoints = false;  // --allow-loopback-endpoints (test-only; builtin_admission.hpp)
};

class Api {
 public:
  explicit Api(ApiOptions options = {});
  struct Outcome {
    ApiResponse response;                 // meaningful when `watch` is null
    std::unique_ptr<WatchSession> watch;  // a watch stream to serve
  };
  Outcome handle(const ApiRequest& req);
  Store& store() { return store_; }
  Registry& registry() { return registry_; }

 private:
  struct Route;
  using Query = std::map<std::string, std::string>;
  Outcome handle_resource(const ApiRequest& req, const Route& route, const Query& q);
  Result<ApiResponse, ApiError> get_item(const ApiRequest& req, const Route& r, const Query& q);
  Result<ApiResponse, ApiError> list(const ApiRequest& req, const Route& r, const Query& q);
  Result<std::unique_ptr<WatchSession>, ApiError> watch(const ApiRequest& req, const Route& r,
                                                        const Query& q);
  Result<ApiResponse, ApiError> create(const ApiRequest& req, const Route& r, const Query& q);
  Result<ApiResponse, ApiError> update(const ApiRequest& req, const Route& r, const Query& q);
  Result<ApiResponse, ApiError> patch(const ApiRequest& req, const Route& r, const Query& q);
  Result<ApiResponse, ApiError> remove(const ApiRequest& req, const Route& r, const Query& q);
  Result<ApiResponse, ApiError> remove_collection(const ApiRequest& req, const Route& r, const Query& q);
  Result<ApiResponse, ApiError> scale(const ApiRequest& req, const Route& r, const Query& q);

  // Prune/default/validate a custom resource candidate, default/validate a built-in one (Service,
  // EndpointSlice, Endpoints); returns warnings (unknown fields, Warn mode). `stored`: what an update replaces.
  Result<std::vector<std::string>, ApiError> admit(const ResourceInfo& info, json& obj, const Query& q,
                                                   const json* stored = nullptr);
  // Stores `candidate` as an update of the main resource or its status, validating first.
  Result<ObjPtr, ApiError> write_update(const ResourceInfo& info, json candidate, Store::Part part,
                                        const Query& q, bool rv_required, std::vector<std::string>& warnings);
  Result<ObjPtr, ApiError> write_create(const ResourceInfo& info, json obj, const Query& q,
                                        std::vector<std::string>& warnings);
  void after_crd_write(ObjPtr crd);
  Result<ApiResponse, ApiError> delete_crd(const ResourceInfo& info, const std::string& name,
                                           const json& options);
  void finish_crd_deletions();
  ApiResponse object_response(const ApiRequest& req, const ResourceInfo& info, const json& obj, int code,
                              const Query& q, const std::vector<std::string>& warnings = {});

  Registry registry_;
  Store store_;
  BuiltinAdmission builtin_;
};

// Helpers exposed for tests.
std::map<std::string, std::string> parse_query(const std::string& query);
bool query_true(const std::string& v);
std::string dump_json(const json& j);  // never throws on invalid UTF-8

}  // namespace raydog::emulator
