// WATCH (§8.3): history replay or synthetic ADDEDs, then live events filtered per watcher (selectors
// evaluated on old and new state), optionally as one-row Tables.
#include "test/emulator/api.hpp"
#include "test/emulator/api_internal.hpp"

namespace raydog::emulator {

std::string WatchSession::bookmark_line() const {
  json o = {{"type", "BOOKMARK"},
            {"object",
             {{"kind", info_.kind},
              {"apiVersion", info_.api_version()},
              {"metadata", {{"resourceVersion", std::to_string(store_->resource_version())}}}}}};
  return dump_json(o) + "\n";
}

void WatchSession::push(const std::string& type, const json& object) {
  json ev = {{"type", type}};
  if (table_) {
    json md = {{"resourceVersion", object["metadata"].value("resourceVersion", "")}};
    ev["object"] = make_table(info_, {&object}, md, include_, now_(), !columns_sent_);
    columns_sent_ = true;
  } else {
    ev["object"] = object;
  }
  pending.push_back(dump_json(ev) + "\n");
}

void WatchSession::offer(const WatchEvent& ev) {
  auto matches = [&](const json* o) {
    if (!o) return false;
    if (info_.namespaced && !ns_.empty() && meta_str(*o, "namespace") != ns_) return false;
    return labels_.matches(*o) && fields_.matches(*o);
  };
  bool now_match = matches(ev.object.get());
  if (ev.type == "DELETED") {
    if (now_match) push("DELETED", *ev.object);
    return;
  }
  bool old_match = matches(ev.old_object.get());
  if (ev.type == "ADDED" || !ev.old_object) {
    if (now_match) push("ADDED", *ev.object);
  } else if (old_match && now_match) {
    push("MODIFIED", *ev.object);
  } else if (!old_match && now_match) {
    push("ADDED", *ev.object);
  } else if (old_match && !now_match) {
    // As the API server's watch cache: the object as this watcher last saw it (it matched then), at the
    // event's resourceVersion.
    json gone = *ev.old_object;
    gone["metadata"]["resourceVersion"] = std::to_string(ev.rv);
    push("DELETED", gone);
  }
}

Result<std::unique_ptr<WatchSession>, ApiError> Api::watch(const ApiRequest& req, const Route& r,
                                                           const Query& q) {
  auto labels = LabelSelector::parse(qget(q, "labelSelector"));
  if (!labels) return unexpected(labels.error());
  auto fields = FieldSelector::parse(qget(q, "fieldSelector"), r.info->group, r.info->kind);
  if (!fields) return unexpected(fields.error());
  auto inc = include_object(q);
  if (!inc) return unexpected(inc.error());
  auto s = std::make_unique<WatchSession>();
  s->store_ = &store_;
  s->info_ = *r.info;
  s->ns_ = r.ns;
  s->labels_ = std::move(labels).value();
  s->fields_ = std::move(fields).value();
  s->table_ = wants_table(req.accept);
  s->include_ = *inc;
  s->now_ = [this] { return store_.now(); };
  s->bookmarks = query_true(qget(q, "allowWatchBookmarks"));
  if (auto t = qget(q, "timeoutSeconds"); !t.empty()) {
    long secs = std::strtol(t.c_str(), nullptr, 10);
    if (secs > 0) s->timeout = std::chrono::seconds(secs);
  }
  std::string rv = qget(q, "resourceVersion");
  bool initial_events = query_true(qget(q, "sendInitialEvents"));
  if (rv.empty() || rv == "0" || initial_events) {
    for (const auto& o : store_.list(*r.info, r.ns))
      if (s->labels_.matches(*o) && s->fields_.matches(*o)) s->push("ADDED", *o);
    if (initial_events) {
      json bm = {{"type", "BOOKMARK"},
                 {"object",
                  {{"kind", r.info->kind},
                   {"apiVersion", r.info->api_version()},
                   {"metadata",
                    {{"resourceVersion", std::to_string(store_.resource_version())},
                     {"annotations", {{"k8s.io/initial-events-end", "true"}}}}}}}};
      s->pending.push_back(dump_json(bm) + "\n");
    }
  } else {
    std::uint64_t from = parse_rv(rv);
    if (from == 0 && rv != "0") return unexpected(bad_request("invalid resource version: " + rv));
    auto events = store_.events_since(r.info->store_key(), from);
    if (!events) {
      json ev = {{"type", "ERROR"}, {"object", status_json(events.error())}};
      s->pending.push_back(dump_json(ev) + "\n");
      s->finished = true;
      return s;
    }
    for (const auto& ev : *events) s->offer(ev);
  }
  WatchSession* raw = s.get();
  s->sink_ = store_.subscribe(r.info->store_key(), [raw](const WatchEvent& ev) {
    raw->offer(ev);
    if (!raw->pending.empty() && raw->on_ready) raw->on_ready();
  });
  return s;
}

}  // namespace raydog::emulator
