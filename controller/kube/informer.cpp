#include "controller/kube/informer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "controller/util/enum_names.hpp"

namespace raydog::kube {

struct Informer::Shared {
  explicit Shared(net::any_io_executor ex) : timer(ex) {}
  net::steady_timer timer;
  WatchStream* watch = nullptr;  // the open watch, owned by watch_once()'s frame
};

namespace {
constexpr EnumName<InformerEvent> kEventNames[] = {{InformerEvent::kAdded, "ADDED"},
                                                   {InformerEvent::kUpdated, "UPDATED"},
                                                   {InformerEvent::kStatusUpdated, "STATUS_UPDATED"},
                                                   {InformerEvent::kDeleted, "DELETED"}};
}  // namespace

const char* to_string(InformerEvent e) {
  return name_of(kEventNames, e, "?");
}

Informer::Informer(net::any_io_executor ex, Api& api, InformerOptions options)
    : ex_(ex),
      api_(api),
      options_(std::move(options)),
      log_(log::root().with({{"component", "informer"}, {"resource", options_.resource.qualified()}})),
      rng_(std::random_device{}()),
      shared_(std::make_shared<Shared>(ex)) {
  backoff_ = options_.backoff_initial;
}

Informer::~Informer() {
  stop();
}

void Informer::add_handler(Handler handler) {
  handlers_.push_back(std::move(handler));
}
void Informer::on_synced(std::function<void()> callback) {
  synced_callbacks_.push_back(std::move(callback));
}

void Informer::start() {
  net::co_spawn(ex_, run(), net::detached);
}

void Informer::stop() {
  stopped_ = true;
  shared_->timer.cancel();
  if (shared_->watch) shared_->watch->close();
}

bool Informer::has_synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}
void strip_managed_fields(json& object) {
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) return;
  md->erase("managedFields");
  auto ann = md->find("annotations");
  if (ann != md->end() && ann->is_object()) {
    ann->erase("kubectl.kubernetes.io/last-applied-configuration");
    if (ann->empty()) md->erase("annotations");
  }
}

Informer::Cached Informer::cached_of(const json& object) {
  Cached c{resource_version_of(object), Gzipped::of(object.dump()), 0};
  // Hash every top-level field but status, and metadata without the fields every write changes.
  std::hash<std::string> h;
  std::size_t digest = 0;
  if (object.is_object())
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (it.key() == "status") continue;
      std::string text;
      if (it.key() == "metadata" && it->is_object()) {
        json meta = *it;
        meta.erase("resourceVersion");
        meta.erase("managedFields");
        text = meta.dump();
      } else {
        text = it->dump();
      }
      digest = digest * 1000003u ^ h(it.key()) ^ (h(text) << 1);
    }
  c.non_status = digest;
  return c;
}
InformerEvent Informer::update_kind(const Cached& before, const Cached& after) {
  return before.non_status == after.non_status ? InformerEvent::kStatusUpdated : InformerEvent::kUpdated;
}
// Our own compressed dump(): always inflates and parses (the exceptions are for a broken invariant).
json Informer::body_of(const Cached& cached) {
  auto text = cached.body.inflate();
  if (!text) throw std::logic_error("informer: a cached object does not inflate");
  return json::parse(*text);
}
std::optional<json> Informer::get(const std::string& key) const {
  Cached cached;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) return std::nullopt;
    cached = it->second;
  }
  return body_of(cached);
}
std::map<std::string, json> Informer::snapshot() const {
  std::lock_guard lock(mu_);
  std::map<std::string, json> out;
  for (const auto& [k, v] : cache_) out.emplace(k, body_of(v));
  return out;
}
std::vector<std::string> Informer::keys(std::string_view ns) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  if (ns.empty()) {
    for (const auto& [k, v] : cache_) out.push_back(k);
    return out;
  }
  // Keys are "namespace/name", so one namespace is one contiguous range of the sorted cache.
  const std::string prefix = std::string(ns) + "/";
  for (auto it = cache_.lower_bound(prefix); it != cache_.end() && it->first.starts_with(prefix); ++it)
    out.push_back(it->first);
  return out;
}
std::size_t Informer::size() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

void Informer::notify(InformerEvent e, const std::string& key) {
  for (auto& h : handlers_) h(e, key);
}

std::chrono::milliseconds Informer::next_backoff() {
  // Exponential with up to 50% jitter so a fleet of clients does not reconnect in lockstep.
  auto base = backoff_;
  std::uniform_real_distribution<double> jitter(1.0, 1.5);
  backoff_ = std::min(options_.backoff_max, backoff_ * 2);
  return std::chrono::milliseconds(static_cast<long>(base.count() * jitter(rng_)));
}

net::awaitable<void> Informer::sleep(std::chrono::milliseconds d) {
  if (stopped_) co_return;
  shared_->timer.expires_after(d);
  boost::system::error_code ec;
  co_await shared_->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
}

net::awaitable<bool> Informer::list_and_replace() {
  ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.limit = options_.page_size;
  ++stats_.lists;
  auto l = co_await list_all(api_, options_.resource, options_.ns, lo);
  if (!l) {
    // A kind the API server does not serve (its CRD is not installed, e.g. RayDogJob where only the
    // cluster CRD was applied) is said once; the list is retried with backoff until it is served.
    if (l.error().kind == ApiError::Kind::kNotFound) {
      if (!not_served_said_)
        log_.info("the API server does not serve this resource (is its CRD installed?): waiting for it",
                  {{"error", l.error().describe()}});
      not_served_said_ = true;
      co_return false;
    }
    log_.warn("list failed", {{"error", l.error().describe()}});
    co_return false;
  }
  if (not_served_said_) log_.info("the resource is served now");
  not_served_said_ = false;
  std::map<std::string, Cached> fresh;
  for (auto& item : l->items) {
    std::string key = object_key(item);
    if (options_.transform) options_.transform(item);
    if (!key.empty()) fresh.emplace(std::move(key), cached_of(item));
  }
  // Diff old vs new: vanished keys get one DELETED (the watch that would have told us is gone), new keys
  // ADDED, changed resourceVersions UPDATED; unchanged objects stay quiet.
  std::vector<std::pair<InformerEvent, std::string>> events;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, old] : cache_)
      if (!fresh.count(key)) events.emplace_back(InformerEvent::kDeleted, key);
    for (const auto& [key, obj] : fresh) {
      auto it = cache_.find(key);
      if (it == cache_.end())
        events.emplace_back(InformerEvent::kAdded, key);
      else if (it->second.resource_version != obj.resource_version)
        events.emplace_back(update_kind(it->second, obj), key);
    }
    cache_ = std::move(fresh);
  }
  rv_ = l->resource_version;
  need_list_ = false;
  log_.debug("listed", {{"items", size()}, {"resourceVersion", rv_}});
  for (const auto& [e, key] : events) notify(e, key);
  bool first_sync = false;
  {
    std::lock_guard lock(mu_);
    first_sync = !synced_;
    synced_ = true;
  }
  if (first_sync) {
    log_.info("cache synced", {{"items", size()}});
    for (auto& cb : synced_callbacks_) cb();
  }
  co_return true;
}

void Informer::apply(const std::string& type, json object) {
  std::string key = object_key(object);
  std::string rv = resource_version_of(object);
  if (!rv.empty()) rv_ = rv;
  if (key.empty()) return;
  ++stats_.events;
  if (type == "DELETED") {
    bool existed = false;
    {
      std::lock_guard lock(mu_);
      existed = cache_.erase(key) > 0;
    }
    if (existed) notify(InformerEvent::kDeleted, key);
    return;
  }
  InformerEvent event = InformerEvent::kAdded;
  if (options_.transform) options_.transform(object);
  Cached fresh = cached_of(object);
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      event = update_kind(it->second, fresh);
      it->second = std::move(fresh);
    } else {
      cache_.emplace(key, std::move(fresh));
    }
  }
  notify(event, key);
}

net::awaitable<void> Informer::watch_once() {
  WatchOptions wo;
  wo.label_selector = options_.label_selector;
  wo.field_selector = options_.field_selector;
  wo.resource_version = rv_;
  wo.allow_bookmarks = true;
  auto lo = options_.min_watch_timeout.count(), hi = std::max(options_.max_watch_timeout.count(), lo + 1);
  wo.timeout = std::chrono::seconds(std::uniform_int_distribution<long>(lo, hi - 1)(rng_));
  ++stats_.watches;
  auto w = co_await api_.watch(options_.resource, options_.ns, wo);
  if (!w) {
    ++stats_.watch_errors;
    if (w.error().is(ApiError::Kind::kGone)) {
      log_.info("watch expired, relisting", {{"resourceVersion", rv_}});
      ++stats_.relists_after_gone;
      need_list_ = true;
      co_return;
    }
    log_.warn("watch failed", {{"error", w.error().describe()}});
    co_await sleep(next_backoff());
    co_return;
  }
  std::unique_ptr<WatchStream> stream = std::move(*w);
  shared_->watch = stream.get();
  if (stopped_) stream->close();
  bool got_event = false;
  for (;;) {
    auto ev = co_await stream->next();
    if (stopped_) break;
    if (!ev) {
      ++stats_.watch_errors;
      log_.debug("watch interrupted", {{"error", ev.error().describe()}});
      // A dropped connection after a healthy stream is normal; reconnect quickly the first time.
      if (!got_event) {
        shared_->watch = nullptr;
        co_await sleep(next_backoff());
        co_return;
      }
      break;
    }
    if (!*ev) break;  // clean end (timeoutSeconds): re-watch from rv_
    got_event = true;
    backoff_ = options_.backoff_initial;
    WatchEvent& e = **ev;
    if (e.type == "BOOKMARK") {
      ++stats_.bookmarks;
      if (auto rv = resource_version_of(e.object); !rv.empty()) rv_ = rv;
    } else if (e.type == "ERROR") {
      ApiError err = status_to_error(e.object);
      if (err.is(ApiError::Kind::kGone)) {
        log_.info("watch expired, relisting", {{"resourceVersion", rv_}, {"message", err.message}});
        ++stats_.relists_after_gone;
        need_list_ = true;
      } else {
        ++stats_.watch_errors;
        log_.warn("watch error event", {{"error", err.describe()}});
        shared_->watch = nullptr;
        co_await sleep(next_backoff());
        co_return;
      }
      break;
    } else if (e.type == "ADDED" || e.type == "MODIFIED" || e.type == "DELETED") {
      apply(e.type, std::move(e.object));
    } else {
      log_.warn("unknown watch event type", {{"type", e.type}});
    }
  }
  shared_->watch = nullptr;
  stream->close();
}

net::awaitable<void> Informer::run() {
  running_ = true;
  auto shared = shared_;  // keeps the timer alive for the coroutine's last steps
  while (!stopped_) {
    if (need_list_) {
      if (!co_await list_and_replace()) {
        co_await sleep(next_backoff());
        continue;
      }
      backoff_ = options_.backoff_initial;
    }
    if (stopped_) break;
    co_await watch_once();
  }
  running_ = false;
  log_.debug("informer stopped");
}

}  // namespace raydog::kube
