#include "controller/kube/events.hpp"

#include <algorithm>

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>

#include "controller/kube/time.hpp"

namespace raydog::kube {
namespace {

std::string hostname() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == 0) return "unknown";
  return host;
}

const char* type_name(EventType t) {
  return t == EventType::kWarning ? "Warning" : "Normal";
}

// The real server caps messages; keep ours well inside (core/v1 has no hard limit, events.k8s.io 1024).
std::string clip(std::string s, std::size_t n) {
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

}  // namespace

EventRecorder::EventRecorder(net::any_io_executor ex, Api& api, EventRecorderOptions options)
    : ex_(ex), api_(api), options_(std::move(options)), alive_(std::make_shared<bool>(true)) {
  if (options_.instance.empty()) options_.instance = hostname();
  log_ = log::root().with({{"component", "events"}});
}

EventRecorder::~EventRecorder() {
  *alive_ = false;
}

void EventRecorder::record(const json& object, EventType type, std::string reason, std::string message) {
  const json md = object.value("metadata", json::object());
  Item item;
  item.involved = {{"apiVersion", object.value("apiVersion", "")},
                   {"kind", object.value("kind", "")},
                   {"name", md.value("name", "")},
                   {"uid", md.value("uid", "")}};
  if (md.contains("namespace")) item.involved["namespace"] = md.value("namespace", "");
  if (md.contains("resourceVersion")) item.involved["resourceVersion"] = md.value("resourceVersion", "");
  item.ns = md.value("namespace", "");
  if (item.ns.empty()) item.ns = "default";  // events about cluster-scoped objects live in "default"
  item.type = type;
  item.reason = clip(std::move(reason), 128);
  item.message = clip(std::move(message), 1024);
  item.when = std::chrono::system_clock::now();
  item.key = std::hash<std::string>{}(item.involved.value("uid", "") + "|" + item.involved.value("kind", "") +
                                      "|" + item.ns + "/" + item.involved.value("name", "") + "|" +
                                      type_name(type) + "|" + item.reason + "|" + item.message);
  if (queue_.size() >= options_.max_queued) {
    ++dropped_;
    log_.warn("event queue full, dropping event",
              {{"reason", item.reason}, {"object", item.ns + "/" + item.involved.value("name", "")}});
    return;
  }
  queue_.push_back(std::move(item));
  // A burst (1,000 clusters created at once emit ~7,000 events) outgrew the queue with one writer.
  if (writers_ < std::max<std::size_t>(options_.max_in_flight, 1)) {
    ++writers_;
    net::co_spawn(ex_, drain(), net::detached);
  }
}

void EventRecorder::touch(RepeatKey key) {
  auto it = seen_.find(key);
  if (it == seen_.end()) return;
  lru_.erase(it->second.lru);
  lru_.push_front(key);
  it->second.lru = lru_.begin();
}

net::awaitable<void> EventRecorder::drain() {
  auto alive = alive_;
  while (*alive) {
    auto next =
        std::find_if(queue_.begin(), queue_.end(), [&](const Item& i) { return !in_flight_.count(i.key); });
    if (next == queue_.end()) break;
    Item item = std::move(*next);
    queue_.erase(next);
    const RepeatKey key = item.key;
    in_flight_.insert(key);
    co_await write(std::move(item));
    if (!*alive) co_return;
    in_flight_.erase(key);
  }
  if (*alive) --writers_;
}

net::awaitable<bool> EventRecorder::create_event(const Item& item, Seen& seen) {
  const std::string ts = format_time(item.when);
  for (int attempt = 0; attempt < 2; ++attempt) {
    // "<object>.<hex nanoseconds>", as client-go names them.
    char suffix[32];
    auto ns_since_epoch =
        std::chrono::duration_cast<std::chrono::nanoseconds>(item.when.time_since_epoch()).count();
    std::snprintf(suffix, sizeof suffix, "%llx", static_cast<unsigned long long>(ns_since_epoch + attempt));
    std::string name = item.involved.value("name", "event") + "." + suffix;
    json ev = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"name", name}, {"namespace", item.ns}}},
               {"involvedObject", item.involved},
               {"reason", item.reason},
               {"message", item.message},
               {"type", type_name(item.type)},
               {"source", {{"component", options_.component}, {"host", options_.instance}}},
               {"firstTimestamp", ts},
               {"lastTimestamp", ts},
               {"count", 1},
               {"reportingComponent", options_.component},
               {"reportingInstance", options_.instance}};
    auto r = co_await api_.create(resources::kEvents, item.ns, ev, WriteOptions());
    if (r) {
      seen.event_name = name;
      seen.ns = item.ns;
      seen.count = 1;
      seen.first_timestamp = ts;
      co_return true;
    }
    if (!r.error().is(ApiError::Kind::kAlreadyExists)) {
      log_.warn("cannot create event", {{"reason", item.reason}, {"error", r.error().describe()}});
      co_return false;
    }
  }
  co_return false;
}

net::awaitable<void> EventRecorder::write(Item item) {
  auto alive = alive_;
  const auto now = std::chrono::steady_clock::now();
  auto it = seen_.find(item.key);
  if (it != seen_.end() && now - it->second.last_seen <= options_.aggregation_window &&
      !it->second.event_name.empty()) {
    Seen& seen = it->second;
    seen.last_seen = now;
    touch(item.key);
    json patch = {{"count", seen.count + 1}, {"lastTimestamp", format_time(item.when)}};
    std::string name = seen.event_name, ns = seen.ns;
    auto r = co_await api_.patch(resources::kEvents, ns, name, PatchType::kMerge, patch, "", WriteOptions());
    if (!*alive) co_return;
    it = seen_.find(item.key);  // the map may have changed while we waited
    if (r) {
      if (it != seen_.end()) it->second.count = r->value("count", it->second.count + 1);
      co_return;
    }
    if (!r.error().is(ApiError::Kind::kNotFound)) {
      log_.warn("cannot update event count", {{"reason", item.reason}, {"error", r.error().describe()}});
      co_return;
    }
    // The Event was garbage-collected (TTL): start a new one.
  }
  if (it == seen_.end()) {
    lru_.push_front(item.key);
    Seen fresh;
    fresh.lru = lru_.begin();
    it = seen_.emplace(item.key, std::move(fresh)).first;
    while (seen_.size() > options_.max_tracked) {
      seen_.erase(lru_.back());
      lru_.pop_back();
    }
  } else {
    touch(item.key);
  }
  it->second.last_seen = now;
  Seen local = it->second;
  bool ok = co_await create_event(item, local);
  if (!*alive || !ok) co_return;
  it = seen_.find(item.key);
  if (it != seen_.end()) {
    it->second.event_name = local.event_name;
    it->second.ns = local.ns;
    it->second.count = local.count;
    it->second.first_timestamp = local.first_timestamp;
  }
}

}  // namespace raydog::kube
