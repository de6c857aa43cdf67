#pragma once
// The in-memory object store (§7, §8, §10): objects by resource/namespace/name, one global
// resourceVersion counter, server-owned metadata (uid, creationTimestamp, generation), finalizers and
// deletionTimestamp, namespace termination, and a bounded history of changes for watches (410 Expired
// once a requested resourceVersion has left it). Pure: no I/O, no threads; watchers are callbacks.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controller/util/result.hpp"
#include "test/emulator/resources.hpp"
#include "test/emulator/status.hpp"

namespace raydog::emulator {

using ObjPtr = std::shared_ptr<const json>;

struct WatchEvent {
  std::uint64_t rv = 0;
  std::string type;  // ADDED, MODIFIED, DELETED
  std::string store_key;
  ObjPtr object;      // new state (for DELETED: last state carrying the deletion's RV)
  ObjPtr old_object;  // previous state (null for ADDED)
};

struct DeleteOutcome {
  ObjPtr object;
  bool deleted = false;  // false: finalizers hold it; deletionTimestamp is set
};

class Store {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  explicit Store(std::size_t history_limit = 200000);

  std::uint64_t resource_version() const { return rv_; }
  ObjPtr get(const ResourceInfo& info, const std::string& ns, const std::string& name) const;
  // ns "" = every namespace. Ordered by namespace, then name.
  std::vector<ObjPtr> list(const ResourceInfo& info, const std::string& ns) const;
  std::size_t count(const ResourceInfo& info) const;

  // `obj.metadata.namespace` must already be the request's namespace for namespaced kinds.
  Result<ObjPtr, ApiError> create(const ResourceInfo& info, json obj, bool dry_run = false);
  enum class Part { kMain, kStatus };
  // rv_required: a missing metadata.resourceVersion is 422 (custom resources) instead of unconditional.
  Result<ObjPtr, ApiError> update(const ResourceInfo& info, json obj, Part part, bool dry_run = false,
                                  bool rv_required = false);
  // `options` is a DeleteOptions body (preconditions, dryRun) or null.
  Result<DeleteOutcome, ApiError> remove(const ResourceInfo& info, const std::string& ns,
                                         const std::string& name, const json& options, bool dry_run = false);
  // Drops every object of a resource without finalizer processing (CRD cleanup), emitting DELETED.
  void remove_all(const ResourceInfo& info);

  // Changes after `from` for one resource, or 410 Expired when history no longer reaches back that far.
  Result<std::vector<WatchEvent>, ApiError> events_since(const std::string& store_key,
                                                         std::uint64_t from) const;
  std::uint64_t oldest_available() const { return compacted_rv_ + 1; }

  using Sink = std::function<void(const WatchEvent&)>;
  std::uint64_t subscribe(const std::string& store_key, Sink sink);
  void unsubscribe(std::uint64_t id);
  std::size_t watcher_count() const { return sinks_.size(); }

  void set_clock(Clock clock) { clock_ = std::move(clock); }
  std::chrono::system_clock::time_point now() const { return clock_(); }

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name
  ObjPtr commit(const ResourceInfo& info, const std::string& type, json obj, ObjPtr old_obj);
  Result<DeleteOutcome, ApiError> terminate_namespace(const ResourceInfo& info, ObjPtr stored, bool dry_run);
  void maybe_finish_namespace(const std::string& ns);

  std::map<std::string, std::map<Key, ObjPtr>> objects_;  // store_key -> objects
  std::map<std::string, ResourceInfo> infos_;             // store_key -> how to treat its objects
  std::uint64_t rv_ = 1;
  // A change as the history keeps it. The version it made is shared with the store while it is the
  // stored one; once superseded (or deleted) only the history holds it, as JSON text: a parsed object
  // takes about five times the memory of its text, and 10,000 clusters' status writes made the history
  // most of the emulator's RSS. A replay (events_since) parses the text again.
  struct Past {
    std::uint64_t rv = 0;
    std::string type, store_key;
    ObjPtr object;                                   // the version it made, while the store has it
    std::shared_ptr<const std::string> object_text;  // ... once superseded
    std::shared_ptr<const std::string> old_text;     // the version before it (null for ADDED)
  };
  // The text of the version the history holds for `object_key` as a parsed object (the event that made it
  // then keeps the text instead); null when that event was compacted away.
  std::shared_ptr<const std::string> supersede(const std::string& object_key);
  std::deque<Past> history_;
  std::map<std::string, std::uint64_t> made_by_;  // object key -> rv of the event whose `object` it is
  std::size_t history_limit_;
  std::uint64_t compacted_rv_ = 0;
  std::map<std::uint64_t, std::pair<std::string, Sink>> sinks_;
  std::uint64_t next_sink_ = 1;
  Clock clock_;
};

// Helpers on object JSON.
std::string meta_str(const json& obj, const char* field);
std::uint64_t parse_rv(const std::string& rv);  // 0 when not a number

}  // namespace raydog::emulator
