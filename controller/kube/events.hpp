#pragma once
// core/v1 Events about an object (kube-api-wire.md §13.2, §14.5): involvedObject carries the uid (so
// `kubectl describe` shows them), type Normal/Warning, reason + message, source and reportingComponent
// "raydog-operator". Repeats of the same (object, type, reason, message) within the aggregation window
// bump count/lastTimestamp with a merge patch instead of creating new Events.
//
// Best-effort by design: record() never blocks and never fails its caller. Writes are queued and sent one
// at a time by a background coroutine on the io thread (ordered, so a repeat cannot race its create);
// failures are logged and dropped; the queue is bounded.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "controller/kube/rest.hpp"
#include "controller/runtime/log.hpp"

namespace raydog::kube {

enum class EventType { kNormal, kWarning };

struct EventRecorderOptions {
  std::string component = "raydog-operator";
  std::string instance;  // reportingInstance / source.host; empty: the hostname
  std::chrono::seconds aggregation_window{std::chrono::minutes(10)};
  std::size_t max_tracked = 4096;  // distinct repeat keys remembered (least recently used dropped)
  std::size_t max_queued = 1000;   // pending writes; beyond this new events are dropped with a log line
  std::size_t max_in_flight = 4;   // concurrent writes, never two of the same repeat key
};

class EventRecorder {
 public:
  EventRecorder(net::any_io_executor ex, Api& api, EventRecorderOptions options = {});
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // `object` is the involved object as read from the API (apiVersion, kind, metadata.name/namespace/uid/
  // resourceVersion are used). Call on the io thread.
  void record(const json& object, EventType type, std::string reason, std::string message);
  void normal(const json& object, std::string reason, std::string message) {
    record(object, EventType::kNormal, std::move(reason), std::move(message));
  }
  void warning(const json& object, std::string reason, std::string message) {
    record(object, EventType::kWarning, std::move(reason), std::move(message));
  }

  // Writes not yet completed (queued or in flight). Tests poll this; shutdown may wait for 0.
  std::size_t pending() const { return queue_.size() + in_flight_.size(); }
  std::size_t dropped() const { return dropped_; }

 private:
  // An event repeats another when uid, kind, namespace/name, type, reason and message are equal. Kept as a
  // 64-bit hash of those, not the string (the key was ~two thirds of an entry: 4096 entries, ~1.4 MB). A
  // collision, ~1e-12 among 4096 keys, would only fold one event into the other's count.
  using RepeatKey = std::uint64_t;
  struct Item {
    RepeatKey key = 0;
    json involved;
    std::string ns;
    EventType type;
    std::string reason;
    std::string message;
    std::chrono::system_clock::time_point when;
  };
  struct Seen {
    std::string event_name;
    std::string ns;
    int count = 0;
    std::string first_timestamp;
    std::chrono::steady_clock::time_point last_seen;
    std::list<RepeatKey>::iterator lru;
  };
  // One writer: takes the oldest queued event whose repeat key is not being written (the writer of that
  // key takes it next, so counts stay in order) until none is left.
  net::awaitable<void> drain();
  net::awaitable<void> write(Item item);
  net::awaitable<bool> create_event(const Item& item, Seen& seen);
  void touch(RepeatKey key);

  net::any_io_executor ex_;
  Api& api_;
  EventRecorderOptions options_;
  log::Logger log_;
  std::deque<Item> queue_;
  std::size_t writers_ = 0;
  std::set<RepeatKey> in_flight_;
  std::size_t dropped_ = 0;
  std::map<RepeatKey, Seen> seen_;
  std::list<RepeatKey> lru_;  // most recent first
  std::shared_ptr<bool> alive_;
};

}  // namespace raydog::kube
