#include "test/support/fake_kube_api.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "controller/kube/time.hpp"

namespace raydog::kube {
namespace {

ApiError err(ApiError::Kind kind, int code, std::string reason, std::string message) {
  ApiError e;
  e.kind = kind;
  e.code = code;
  e.reason = std::move(reason);
  e.message = std::move(message);
  return e;
}
ApiError not_found(const ResourceRef& ref, const std::string& name) {
  return err(ApiError::Kind::kNotFound, 404, "NotFound", ref.qualified() + " \"" + name + "\" not found");
}
ApiError conflict(const ResourceRef& ref, const std::string& name) {
  return err(
      ApiError::Kind::kConflict, 409, "Conflict",
      "Operation cannot be fulfilled on " + ref.qualified() + " \"" + name +
          "\": the object has been modified; please apply your changes to the latest version and try again");
}
ApiError invalid(const ResourceRef& ref, const std::string& name, const std::string& field,
                 const std::string& what) {
  ApiError e = err(ApiError::Kind::kInvalid, 422, "Invalid",
                   ref.kind + " \"" + name + "\" is invalid: " + field + ": " + what);
  e.causes.push_back({"FieldValueInvalid", what, field});
  return e;
}

std::string name_of(const json& o) {
  return o.contains("metadata") ? o["metadata"].value("name", "") : "";
}
std::string ns_of(const json& o) {
  return o.contains("metadata") ? o["metadata"].value("namespace", "") : "";
}

bool has_finalizers(const json& o) {
  auto md = o.find("metadata");
  if (md == o.end()) return false;
  auto f = md->find("finalizers");
  return f != md->end() && f->is_array() && !f->empty();
}
bool being_deleted(const json& o) {
  return o.contains("metadata") && o["metadata"].contains("deletionTimestamp");
}

// Everything outside metadata and status: a change bumps generation.
json spec_part(const json& o) {
  json c = o;
  c.erase("metadata");
  c.erase("status");
  return c;
}

}  // namespace

struct FakeApi::WatchState {
  explicit WatchState(net::any_io_executor ex) : timer(ex) {}
  std::string resource;
  std::string ns;
  std::deque<WatchEvent> events;
  bool ended = false;   // server side finished: drain, then nullopt
  bool closed = false;  // client closed
  net::steady_timer timer;
  void wake() { timer.cancel(); }
};

class FakeWatch : public WatchStream {
 public:
  explicit FakeWatch(std::shared_ptr<FakeApi::WatchState> st) : st_(std::move(st)) {}
  ~FakeWatch() override { close(); }
  net::awaitable<Result<std::optional<WatchEvent>, ApiError>> next() override {
    auto st = st_;  // keep alive across suspension even if this stream is destroyed
    while (st->events.empty() && !st->ended && !st->closed) {
      st->timer.expires_at(net::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await st->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    if (st->closed) co_return unexpected(err(ApiError::Kind::kTransport, 0, "", "watch closed"));
    if (st->events.empty()) co_return std::optional<WatchEvent>{};
    WatchEvent ev = std::move(st->events.front());
    st->events.pop_front();
    co_return std::optional<WatchEvent>(std::move(ev));
  }
  void close() override {
    st_->closed = true;
    st_->wake();
  }

 private:
  std::shared_ptr<FakeApi::WatchState> st_;
};

FakeApi::FakeApi(net::any_io_executor ex) : ex_(std::move(ex)) {
  set_status_subresource(resources::kRayDogClusters, true);
}
FakeApi::~FakeApi() {
  for (auto& w : watches_)
    if (auto st = w.lock()) {
      st->ended = true;
      st->wake();
    }
}

void FakeApi::set_status_subresource(const ResourceRef& ref, bool enabled) {
  if (enabled)
    status_subresource_.insert(ref.qualified());
  else
    status_subresource_.erase(ref.qualified());
}
void FakeApi::set_history_limit(std::size_t n) {
  history_limit_ = n;
  while (history_.size() > history_limit_) {
    oldest_rv_ = history_.front().rv;
    history_.pop_front();
  }
}
void FakeApi::expire_history() {
  history_.clear();
  oldest_rv_ = rv_;
}
void FakeApi::close_watches() {
  for (auto& w : watches_)
    if (auto st = w.lock()) {
      st->ended = true;
      st->wake();
    }
  watches_.clear();
}
void FakeApi::send_bookmarks(const ResourceRef& ref) {
  json bm = {{"apiVersion", ref.api_version()},
             {"kind", ref.kind},
             {"metadata", {{"resourceVersion", std::to_string(rv_)}}}};
  for (auto& w : watches_)
    if (auto st = w.lock(); st && !st->ended && !st->closed && st->resource == ref.qualified()) {
      st->events.push_back({"BOOKMARK", bm});
      st->wake();
    }
}
int FakeApi::calls(const std::string& verb) const {
  auto it = calls_.find(verb);
  return it == calls_.end() ? 0 : it->second;
}
std::size_t FakeApi::open_watches() const {
  std::size_t n = 0;
  for (auto& w : watches_)
    if (auto st = w.lock(); st && !st->closed && !st->ended) ++n;
  return n;
}

std::optional<ApiError> FakeApi::check_fault(const std::string& verb, const ResourceRef& ref,
                                             const std::string& name) {
  ++calls_[verb];
  if (fault) return fault(verb, ref, name);
  return std::nullopt;
}

void FakeApi::emit(const ResourceRef& ref, const std::string& ns, const std::string& type,
                   const json& object) {
  history_.push_back({rv_, ref.qualified(), ns, type, object});
  while (history_.size() > history_limit_) {
    oldest_rv_ = history_.front().rv;
    history_.pop_front();
  }
  std::erase_if(watches_, [](const std::weak_ptr<WatchState>& w) { return w.expired(); });
  for (auto& w : watches_) {
    auto st = w.lock();
    if (!st || st->ended || st->closed || st->resource != ref.qualified()) continue;
    if (!st->ns.empty() && st->ns != ns) continue;
    st->events.push_back({type, object});
    st->wake();
  }
}

json FakeApi::upsert(const ResourceRef& ref, json object) {
  auto& b = bucket(ref);
  std::string ns = ref.namespaced ? ns_of(object) : "";
  std::string key = make_key(ns, name_of(object));
  auto it = b.find(key);
  bool fresh = it == b.end();
  object["apiVersion"] = ref.api_version();
  object["kind"] = ref.kind;
  auto& md = object["metadata"];
  if (fresh) {
    md["uid"] = "uid-" + std::to_string(++uid_counter_);
    md["creationTimestamp"] = format_time(std::chrono::system_clock::now());
    md["generation"] = 1;
  } else {
    md["uid"] = it->second["metadata"]["uid"];
    md["creationTimestamp"] = it->second["metadata"]["creationTimestamp"];
    md["generation"] = it->second["metadata"].value("generation", 1);
  }
  md["resourceVersion"] = next_rv();
  b[key] = object;
  emit(ref, ns, fresh ? "ADDED" : "MODIFIED", object);
  return object;
}

bool FakeApi::erase(const ResourceRef& ref, const std::string& ns, const std::string& name) {
  auto& b = bucket(ref);
  auto it = b.find(make_key(ref.namespaced ? ns : "", name));
  if (it == b.end()) return false;
  json last = it->second;
  b.erase(it);
  last["metadata"]["resourceVersion"] = next_rv();
  emit(ref, ns, "DELETED", last);
  return true;
}

std::vector<json> FakeApi::objects(const ResourceRef& ref) const {
  std::vector<json> out;
  if (auto it = store_.find(ref.qualified()); it != store_.end())
    for (const auto& [k, v] : it->second) out.push_back(v);
  return out;
}

std::optional<json> FakeApi::object(const ResourceRef& ref, const std::string& ns,
                                    const std::string& name) const {
  auto it = store_.find(ref.qualified());
  if (it == store_.end()) return std::nullopt;
  auto o = it->second.find(make_key(ref.namespaced ? ns : "", name));
  if (o == it->second.end()) return std::nullopt;
  return o->second;
}

net::awaitable<Result<json, ApiError>> FakeApi::get(ResourceRef ref, std::string ns, std::string name,
                                                    std::string) {
  if (auto f = check_fault("get", ref, name)) co_return unexpected(*f);
  auto o = object(ref, ns, name);
  if (!o) co_return unexpected(not_found(ref, name));
  co_return *o;
}

net::awaitable<Result<ObjectList, ApiError>> FakeApi::list(ResourceRef ref, std::string ns, ListOptions) {
  if (auto f = check_fault("list", ref, "")) co_return unexpected(*f);
  ObjectList l;
  for (auto& o : objects(ref))
    if (ns.empty() || ns_of(o) == ns) l.items.push_back(std::move(o));
  l.resource_version = std::to_string(rv_);
  co_return l;
}

net::awaitable<Result<json, ApiError>> FakeApi::create(ResourceRef ref, std::string ns, json object,
                                                       WriteOptions) {
  std::string name = name_of(object);
  if (auto f = check_fault("create", ref, name)) co_return unexpected(*f);
  if (name.empty())
    co_return unexpected(
        invalid(ref, name, "metadata.name", "Required value: name or generateName is required"));
  if (ref.namespaced) object["metadata"]["namespace"] = ns;
  if (this->object(ref, ns, name)) {
    ApiError e = err(ApiError::Kind::kAlreadyExists, 409, "AlreadyExists",
                     ref.qualified() + " \"" + name + "\" already exists");
    co_return unexpected(e);
  }
  if (status_subresource_.count(ref.qualified())) object.erase("status");
  object["metadata"].erase("resourceVersion");
  co_return upsert(ref, std::move(object));
}

Result<json, ApiError> FakeApi::do_update(const ResourceRef& ref, json object, const std::string& subresource,
                                          bool from_patch) {
  std::string name = name_of(object);
  std::string ns = ref.namespaced ? ns_of(object) : "";
  auto stored_opt = this->object(ref, ns, name);
  if (!stored_opt) return unexpected(not_found(ref, name));
  const json& stored = *stored_opt;
  std::string rv = resource_version_of(object);
  if (rv.empty() && !from_patch)
    return unexpected(invalid(ref, name, "metadata.resourceVersion",
                              "Invalid value: 0x0: must be specified for an update"));
  if (!rv.empty() && rv != resource_version_of(stored)) return unexpected(conflict(ref, name));

  json next;
  const bool has_status_sub = status_subresource_.count(ref.qualified()) > 0;
  if (subresource == "status") {
    next = stored;
    if (object.contains("status"))
      next["status"] = object["status"];
    else
      next.erase("status");
  } else {
    next = object;
    // Server-owned metadata comes from the stored object.
    for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp", "generation", "namespace"})
      if (stored["metadata"].contains(k))
        next["metadata"][k] = stored["metadata"][k];
      else
        next["metadata"].erase(k);
    if (has_status_sub) {
      if (stored.contains("status"))
        next["status"] = stored["status"];
      else
        next.erase("status");
    }
    if (being_deleted(stored)) {
      std::set<std::string> before;
      if (stored["metadata"].contains("finalizers"))
        for (auto& f : stored["metadata"]["finalizers"]) before.insert(f.get<std::string>());
      if (next["metadata"].contains("finalizers") && next["metadata"]["finalizers"].is_array())
        for (auto& f : next["metadata"]["finalizers"])
          if (f.is_string() && !before.count(f.get<std::string>()))
            return unexpected(
                invalid(ref, name, "metadata.finalizers",
                        "Forbidden: no new finalizers can be added if the object is being deleted"));
    }
    bool spec_changed = spec_part(next) != spec_part(stored) ||
                        (!has_status_sub && next.value("status", json()) != stored.value("status", json()));
    if (spec_changed) next["metadata"]["generation"] = stored["metadata"].value("generation", 1) + 1;
  }
  next["apiVersion"] = ref.api_version();
  next["kind"] = ref.kind;
  next["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"];
  if (next == stored) return stored;  // no-op write: no RV bump, no event
  if (being_deleted(next) && !has_finalizers(next)) {
    erase(ref, ns, name);
    return next;
  }
  next["metadata"]["resourceVersion"] = next_rv();
  bucket(ref)[make_key(ns, name)] = next;
  emit(ref, ns, "MODIFIED", next);
  return next;
}

net::awaitable<Result<json, ApiError>> FakeApi::update(ResourceRef ref, json object, std::string subresource,
                                                       WriteOptions) {
  if (auto f = check_fault("update", ref, name_of(object))) co_return unexpected(*f);
  co_return do_update(ref, std::move(object), subresource, false);
}

net::awaitable<Result<json, ApiError>> FakeApi::patch(ResourceRef ref, std::string ns, std::string name,
                                                      PatchType type, json patch, std::string subresource,
                                                      WriteOptions options) {
  if (auto f = check_fault("patch", ref, name)) co_return unexpected(*f);
  auto stored = object(ref, ns, name);
  if (type == PatchType::kApply && options.field_manager.empty())
    co_return unexpected(invalid(ref, name, "fieldManager", "Required value: is required for apply patch"));
  if (!stored) {
    if (type != PatchType::kApply) co_return unexpected(not_found(ref, name));
    patch["metadata"]["name"] = name;
    if (ref.namespaced) patch["metadata"]["namespace"] = ns;
    co_return upsert(ref, std::move(patch));
  }
  if (type == PatchType::kStrategic && status_subresource_.count(ref.qualified()))
    co_return unexpected(err(ApiError::Kind::kUnsupportedMediaType, 415, "UnsupportedMediaType",
                             "the body of the request was in an unknown format"));
  json next = *stored;
  std::string patched_rv;
  if (type == PatchType::kJson) {
    try {
      next = stored->patch(patch);
    } catch (const std::exception& e) {
      co_return unexpected(
          err(ApiError::Kind::kInvalid, 422, "Invalid", std::string("json patch: ") + e.what()));
    }
  } else {
    next.merge_patch(patch);
  }
  // A resourceVersion in the patch result that differs from the stored one is a precondition.
  std::string rv = resource_version_of(next);
  if (!rv.empty() && rv != resource_version_of(*stored)) co_return unexpected(conflict(ref, name));
  next["metadata"]["resourceVersion"] = resource_version_of(*stored);
  next["metadata"]["name"] = name;
  if (ref.namespaced) next["metadata"]["namespace"] = ns;
  co_return do_update(ref, std::move(next), subresource, true);
}

net::awaitable<Result<json, ApiError>> FakeApi::remove(ResourceRef ref, std::string ns, std::string name,
                                                       DeleteOptions options) {
  if (auto f = check_fault("delete", ref, name)) co_return unexpected(*f);
  auto stored = object(ref, ns, name);
  if (!stored) co_return unexpected(not_found(ref, name));
  if (!options.precondition_uid.empty() && options.precondition_uid != (*stored)["metadata"].value("uid", ""))
    co_return unexpected(conflict(ref, name));
  if (!options.precondition_resource_version.empty() &&
      options.precondition_resource_version != resource_version_of(*stored))
    co_return unexpected(conflict(ref, name));
  if (has_finalizers(*stored)) {
    if (being_deleted(*stored)) co_return *stored;
    json next = *stored;
    next["metadata"]["deletionTimestamp"] = format_time(std::chrono::system_clock::now());
    next["metadata"]["deletionGracePeriodSeconds"] = 0;
    next["metadata"]["generation"] = next["metadata"].value("generation", 1) + 1;
    next["metadata"]["resourceVersion"] = next_rv();
    bucket(ref)[make_key(ref.namespaced ? ns : "", name)] = next;
    emit(ref, ns, "MODIFIED", next);
    co_return next;
  }
  erase(ref, ns, name);
  co_return json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Success"}};
}

net::awaitable<Result<std::unique_ptr<WatchStream>, ApiError>> FakeApi::watch(ResourceRef ref, std::string ns,
                                                                              WatchOptions options) {
  if (auto f = check_fault("watch", ref, "")) co_return unexpected(*f);
  auto st = std::make_shared<WatchState>(ex_);
  st->resource = ref.qualified();
  st->ns = ref.namespaced ? ns : "";
  const std::string& rv = options.resource_version;
  if (rv.empty() || rv == "0") {
    for (auto& o : objects(ref))
      if (st->ns.empty() || ns_of(o) == st->ns) st->events.push_back({"ADDED", o});
  } else {
    std::uint64_t from = std::stoull(rv);
    if (from < oldest_rv_) {
      json status = {
          {"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", json::object()},
          {"status", "Failure"},
          {"message", "too old resource version: " + rv + " (" + std::to_string(oldest_rv_ + 1) + ")"},
          {"reason", "Expired"},
          {"code", 410}};
      st->events.push_back({"ERROR", status});
      st->ended = true;
    } else {
      for (const auto& h : history_)
        if (h.rv > from && h.resource == st->resource && (st->ns.empty() || h.ns == st->ns))
          st->events.push_back({h.type, h.object});
    }
  }
  if (!st->ended) watches_.push_back(st);
  co_return std::unique_ptr<WatchStream>(std::make_unique<FakeWatch>(st));
}

}  // namespace raydog::kube
