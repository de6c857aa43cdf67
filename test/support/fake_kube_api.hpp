#pragma once
// An in-memory Api with the server semantics the controller relies on (global resourceVersion, uid,
// generation, 404/409/422, finalizers + deletionTimestamp, status subresource, merge/JSON/apply patches,
// watches with a bounded history and 410 Expired) plus fault injection. For unit tests of the informer,
// leader election, events and the reconciler; runs on the test's io_context thread like everything else.
//
// Not modelled: label/field selectors (ignored), paging (one page), strategic merge for built-ins (merge).
#include <boost/asio/any_io_executor.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "controller/kube/rest.hpp"

namespace raydog::kube {

class FakeApi : public Api {
 public:
  explicit FakeApi(net::any_io_executor ex);
  ~FakeApi() override;

  net::awaitable<Result<json, ApiError>> get(ResourceRef ref, std::string ns, std::string name,
                                             std::string subresource) override;
  net::awaitable<Result<ObjectList, ApiError>> list(ResourceRef ref, std::string ns,
                                                    ListOptions options) override;
  net::awaitable<Result<json, ApiError>> create(ResourceRef ref, std::string ns, json object,
                                                WriteOptions options) override;
  net::awaitable<Result<json, ApiError>> update(ResourceRef ref, json object, std::string subresource,
                                                WriteOptions options) override;
  net::awaitable<Result<json, ApiError>> patch(ResourceRef ref, std::string ns, std::string name,
                                               PatchType type, json patch, std::string subresource,
                                               WriteOptions options) override;
  net::awaitable<Result<json, ApiError>> remove(ResourceRef ref, std::string ns, std::string name,
                                                DeleteOptions options) override;
  net::awaitable<Result<std::unique_ptr<WatchStream>, ApiError>> watch(ResourceRef ref, std::string ns,
                                                                       WatchOptions options) override;

  // --- test controls (synchronous; call on the io thread or before it runs) ---
  // Fails a call when it returns an error: (verb "get|list|create|update|patch|delete|watch", ref, name).
  std::function<std::optional<ApiError>(const std::string& verb, const ResourceRef& ref,
                                        const std::string& name)>
      fault;
  // Resources whose main-resource writes keep the stored status (CRs with subresources.status).
  void set_status_subresource(const ResourceRef& ref, bool enabled);
  // Watch history kept for resuming; older resourceVersions get 410 Expired. Default 1000.
  void set_history_limit(std::size_t n);
  // Forgets all history: every watch resumed from an older RV gets 410.
  void expire_history();
  // Ends every open watch cleanly (as a server's timeoutSeconds would).
  void close_watches();
  // Sends a BOOKMARK with the current resourceVersion to every open watch.
  void send_bookmarks(const ResourceRef& ref);
  // Direct store access that behaves like a write (RV bump, watch event) without faults.
  json upsert(const ResourceRef& ref, json object);
  bool erase(const ResourceRef& ref, const std::string& ns, const std::string& name);
  std::vector<json> objects(const ResourceRef& ref) const;
  std::optional<json> object(const ResourceRef& ref, const std::string& ns, const std::string& name) const;
  int calls(const std::string& verb) const;
  std::size_t open_watches() const;
  std::uint64_t resource_version() const { return rv_; }

  struct WatchState;  // shared by the store and an open FakeWatch

 private:
  struct HistoryEntry {
    std::uint64_t rv;
    std::string resource;
    std::string ns;
    std::string type;
    json object;
  };
  std::optional<ApiError> check_fault(const std::string& verb, const ResourceRef& ref,
                                      const std::string& name);
  std::map<std::string, json>& bucket(const ResourceRef& ref) { return store_[ref.qualified()]; }
  void emit(const ResourceRef& ref, const std::string& ns, const std::string& type, const json& object);
  Result<json, ApiError> do_update(const ResourceRef& ref, json object, const std::string& subresource,
                                   bool from_patch);
  std::string next_rv() { return std::to_string(++rv_); }

  net::any_io_executor ex_;
  std::map<std::string, std::map<std::string, json>> store_;
  std::set<std::string> status_subresource_;
  std::deque<HistoryEntry> history_;
  std::size_t history_limit_ = 1000;
  std::uint64_t oldest_rv_ = 0;  // history is complete for RVs > oldest_rv_
  std::uint64_t rv_ = 100;
  std::uint64_t uid_counter_ = 0;
  std::map<std::string, int> calls_;
  std::vector<std::weak_ptr<WatchState>> watches_;
};

}  // namespace raydog::kube
