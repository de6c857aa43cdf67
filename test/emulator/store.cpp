#include "test/emulator/store.hpp"

#include <algorithm>
#include <charconv>

#include "test/emulator/meta.hpp"

namespace raydog::emulator {

std::string meta_str(const json& obj, const char* field) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto f = m->find(field);
  return f != m->end() && f->is_string() ? f->get<std::string>() : "";
}

std::uint64_t parse_rv(const std::string& rv) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), v);
  if (ec != std::errc() || p != rv.data() + rv.size()) return 0;
  return v;
}

namespace {

const std::string& ns_store_key() {
  static const std::string k = "/namespaces";
  return k;
}

std::vector<std::string> finalizers_of(const json& obj) {
  std::vector<std::string> out;
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->contains("finalizers") || !(*m)["finalizers"].is_array()) return out;
  for (const auto& f : (*m)["finalizers"])
    if (f.is_string()) out.push_back(f.get<std::string>());
  return out;
}

// The part of an object whose change bumps generation: everything but metadata (and status when status is
// a subresource).
json generation_view(const json& obj, bool has_status) {
  json v = obj;
  v.erase("metadata");
  if (has_status) v.erase("status");
  v.erase("apiVersion");
  v.erase("kind");
  return v;
}

json without_rv(json obj) {
  if (obj.contains("metadata")) {
    obj["metadata"].erase("resourceVersion");
    obj["metadata"].erase("managedFields");
  }
  obj.erase("apiVersion");
  return obj;
}

ApiError invalid_for(const ResourceInfo& info, const std::string& name, std::vector<FieldError> errs) {
  return invalid(info.kind_qualified(), info.group, info.kind, name, errs);
}

}  // namespace

Store::Store(std::size_t history_limit)
    : history_limit_(std::max<std::size_t>(history_limit, 1)),
      clock_([] { return std::chrono::system_clock::now(); }) {}

ObjPtr Store::get(const ResourceInfo& info, const std::string& ns, const std::string& name) const {
  auto s = objects_.find(info.store_key());
  if (s == objects_.end()) return nullptr;
  auto o = s->second.find({info.namespaced ? ns : "", name});
  return o == s->second.end() ? nullptr : o->second;
}

std::vector<ObjPtr> Store::list(const ResourceInfo& info, const std::string& ns) const {
  std::vector<ObjPtr> out;
  auto s = objects_.find(info.store_key());
  if (s == objects_.end()) return out;
  if (ns.empty() || !info.namespaced) {
    out.reserve(s->second.size());
    for (const auto& [k, v] : s->second) out.push_back(v);
    return out;
  }
  for (auto it = s->second.lower_bound({ns, ""}); it != s->second.end() && it->first.first == ns; ++it)
    out.push_back(it->second);
  return out;
}

std::size_t Store::count(const ResourceInfo& info) const {
  auto s = objects_.find(info.store_key());
  return s == objects_.end() ? 0 : s->second.size();
}

ObjPtr Store::commit(const ResourceInfo& info, const std::string& type, json obj, ObjPtr old_obj) {
  ++rv_;
  obj["metadata"]["resourceVersion"] = std::to_string(rv_);
  auto ptr = std::make_shared<const json>(std::move(obj));
  const std::string key = info.store_key();
  // try_emplace: emplace would copy the ResourceInfo (a CRD's whole schema) on every write, to drop it.
  infos_.try_emplace(key, info);
  Key k{info.namespaced ? meta_str(*ptr, "namespace") : "", meta_str(*ptr, "name")};
  if (type == "DELETED")
    objects_[key].erase(k);
  else
    objects_[key][k] = ptr;
  WatchEvent ev{rv_, type, key, ptr, old_obj};
  const std::string object_key = key + '\0' + k.first + '\0' + k.second;
  Past past;
  past.rv = rv_;
  past.type = type;
  past.store_key = key;
  if (old_obj) {
    past.old_text = supersede(object_key);
    if (!past.old_text) past.old_text = std::make_shared<const std::string>(old_obj->dump());
  }
  if (type == "DELETED") {
    past.object_text = std::make_shared<const std::string>(ptr->dump());
    made_by_.erase(object_key);
  } else {
    past.object = ptr;
    made_by_[object_key] = rv_;
  }
  history_.push_back(std::move(past));
  while (history_.size() > history_limit_) {
    compacted_rv_ = history_.front().rv;
    history_.pop_front();
  }
  std::vector<Sink> to_call;
  for (const auto& [id, entry] : sinks_)
    if (entry.first == key) to_call.push_back(entry.second);
  for (const auto& s : to_call) s(ev);
  if (type == "DELETED" && info.namespaced) maybe_finish_namespace(k.first);
  return ptr;
}

Result<ObjPtr, ApiError> Store::create(const ResourceInfo& info, json obj, bool dry_run) {
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
  json& md = obj["metadata"];
  std::string name = meta_str(obj, "name");
  if (name.empty()) {
    std::string gen = meta_str(obj, "generateName");
    if (gen.empty())
      return unexpected(invalid_for(
          info, "",
          {{"FieldValueRequired", "metadata.name", "Required value: name or generateName is required"}}));
    for (int attempt = 0; attempt < 8; ++attempt) {
      name = gen + random_suffix();
      if (!get(info, meta_str(obj, "namespace"), name)) break;
    }
    md["name"] = name;
  }
  bool is_namespace = info.store_key() == ns_store_key();
  std::string why = is_namespace ? check_dns_label(name) : check_dns_subdomain(name);
  if (!why.empty())
    return unexpected(invalid_for(
        info, name, {{"FieldValueInvalid", "metadata.name", "Invalid value: \"" + name + "\": " + why}}));
  std::string ns;
  if (info.namespaced) {
    ns = meta_str(obj, "namespace");
    auto nsit = objects_.find(ns_store_key());
    ObjPtr nsobj;
    if (nsit != objects_.end()) {
      auto f = nsit->second.find({"", ns});
      if (f != nsit->second.end()) nsobj = f->second;
    }
    if (!nsobj) return unexpected(not_found("namespaces", "", "namespaces", ns));
    if (!meta_str(*nsobj, "deletionTimestamp").empty())
      return unexpected(ApiError{403, "Forbidden",
                                 info.qualified() + " \"" + name +
                                     "\" is forbidden: unable to create new content in namespace " + ns +
                                     " because it is being terminated",
                                 json{{"name", name}, {"kind", info.plural}}});
  } else {
    md.erase("namespace");
  }
  if (get(info, ns, name)) return unexpected(already_exists(info.qualified(), info.group, info.plural, name));
  md["uid"] = new_uid();
  md["creationTimestamp"] = format_time(now());
  md.erase("deletionTimestamp");
  md.erase("deletionGracePeriodSeconds");
  md.erase("resourceVersion");
  md.erase("managedFields");
  md.erase("selfLink");
  if (info.tracks_generation)
    md["generation"] = 1;
  else
    md.erase("generation");
  if (info.has_status) obj.erase("status");
  if (is_namespace) {
    obj["spec"] = {{"finalizers", {"kubernetes"}}};
    obj["status"] = {{"phase", "Active"}};
    if (!md.contains("labels") || !md["labels"].is_object()) md["labels"] = json::object();
    md["labels"]["kubernetes.io/metadata.name"] = name;
  }
  if (dry_run) return std::make_shared<const json>(std::move(obj));
  return commit(info, "ADDED", std::move(obj), nullptr);
}

Result<ObjPtr, ApiError> Store::update(const ResourceInfo& info, json obj, Part part, bool dry_run,
                                       bool rv_required) {
  if (!obj.is_object()) return unexpected(bad_request("the body of the request must be a JSON object"));
  std::string name = meta_str(obj, "name");
  std::string ns = info.namespaced ? meta_str(obj, "namespace") : "";
  ObjPtr stored = get(info, ns, name);
  if (!stored) return unexpected(not_found(info.qualified(), info.group, info.plural, name));
  std::string rv = meta_str(obj, "resourceVersion");
  if (!rv.empty() && rv != meta_str(*stored, "resourceVersion"))
    return unexpected(conflict(info.qualified(), info.group, info.plural, name));
  if (rv.empty() && rv_required)
    return unexpected(invalid_for(info, name,
                                  {{"FieldValueInvalid", "metadata.resourceVersion",
                                    "Invalid value: 0x0: must be specified for an update"}}));
  std::string uid = meta_str(obj, "uid");
  if (!uid.empty() && uid != meta_str(*stored, "uid"))
    return unexpected(invalid_for(
        info, name,
        {{"FieldValueInvalid", "metadata.uid", "Invalid value: \"" + uid + "\": field is immutable"}}));

  json result;
  if (part == Part::kStatus) {
    result = *stored;
    if (obj.contains("status"))
      result["status"] = obj["status"];
    else
      result.erase("status");
  } else {
    result = std::move(obj);
    if (!result.contains("metadata") || !result["metadata"].is_object()) result["metadata"] = json::object();
    if (info.has_status) {
      if (stored->contains("status"))
        result["status"] = (*stored)["status"];
      else
        result.erase("status");
    }
    json& md = result["metadata"];
    const json& smd = (*stored)["metadata"];
    for (const char* owned : {"name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                              "deletionGracePeriodSeconds", "generation"}) {
      if (smd.contains(owned))
        md[owned] = smd[owned];
      else
        md.erase(owned);
    }
    md.erase("managedFields");
    md.erase("selfLink");
    if (!meta_str(*stored, "deletionTimestamp").empty()) {
      auto before = finalizers_of(*stored);
      for (const auto& f : finalizers_of(result))
        if (std::find(before.begin(), before.end(), f) == before.end())
          return unexpected(invalid_for(info, name,
                                        {{"FieldValueForbidden", "metadata.finalizers",
                                          "Forbidden: no new finalizers can be added if the object is being "
                                          "deleted, found new finalizers []string{\"" +
                                              f + "\"}"}}));
    }
    if (info.store_key() == ns_store_key()) {
      // Namespaces: spec.finalizers and status are server-owned here.
      if (stored->contains("spec")) result["spec"] = (*stored)["spec"];
      if (stored->contains("status")) result["status"] = (*stored)["status"];
      md["labels"]["kubernetes.io/metadata.name"] = name;
    }
    if (info.tracks_generation &&
        generation_view(result, info.has_status) != generation_view(*stored, info.has_status))
      md["generation"] = smd.value("generation", 0) + 1;
  }
  result["metadata"]["resourceVersion"] = (*stored)["metadata"]["resourceVersion"];
  if (without_rv(result) == without_rv(*stored)) return stored;  // §7.3: no-op write
  if (dry_run) return std::make_shared<const json>(std::move(result));
  if (!meta_str(result, "deletionTimestamp").empty() && finalizers_of(result).empty() &&
      info.store_key() != ns_store_key())
    return commit(info, "DELETED", std::move(result), stored);
  return commit(info, "MODIFIED", std::move(result), stored);
}

Result<DeleteOutcome, ApiError> Store::remove(const ResourceInfo& info, const std::string& ns,
                                              const std::string& name, const json& options, bool dry_run) {
  ObjPtr stored = get(info, ns, name);
  if (!stored) return unexpected(not_found(info.qualified(), info.group, info.plural, name));
  if (options.is_object() && options.contains("preconditions") && options["preconditions"].is_object()) {
    const json& pre = options["preconditions"];
    if (pre.contains("uid") && pre["uid"].is_string() && pre["uid"] != meta_str(*stored, "uid"))
      return unexpected(
          ApiError{409, "Conflict",
                   "Operation cannot be fulfilled on " + info.qualified() + " \"" + name +
                       "\": Precondition failed: UID in precondition: " + pre["uid"].get<std::string>() +
                       ", UID in object meta: " + meta_str(*stored, "uid"),
                   json{{"name", name}, {"group", info.group}, {"kind", info.plural}}});
    if (pre.contains("resourceVersion") && pre["resourceVersion"].is_string() &&
        pre["resourceVersion"] != meta_str(*stored, "resourceVersion"))
      return unexpected(conflict(info.qualified(), info.group, info.plural, name));
  }
  if (info.store_key() == ns_store_key()) return terminate_namespace(info, stored, dry_run);
  if (!finalizers_of(*stored).empty()) {
    if (!meta_str(*stored, "deletionTimestamp").empty() || dry_run) return DeleteOutcome{stored, false};
    json next = *stored;
    next["metadata"]["deletionTimestamp"] = format_time(now());
    next["metadata"]["deletionGracePeriodSeconds"] = 0;
    if (info.tracks_generation) next["metadata"]["generation"] = next["metadata"].value("generation", 0) + 1;
    return DeleteOutcome{commit(info, "MODIFIED", std::move(next), stored), false};
  }
  if (dry_run) return DeleteOutcome{stored, true};
  return DeleteOutcome{commit(info, "DELETED", *stored, stored), true};
}

Result<DeleteOutcome, ApiError> Store::terminate_namespace(const ResourceInfo& info, ObjPtr stored,
                                                           bool dry_run) {
  const std::string ns = meta_str(*stored, "name");
  if (dry_run) return DeleteOutcome{stored, false};
  if (meta_str(*stored, "deletionTimestamp").empty()) {
    json next = *stored;
    next["metadata"]["deletionTimestamp"] = format_time(now());
    next["metadata"]["deletionGracePeriodSeconds"] = 0;
    next["status"]["phase"] = "Terminating";
    stored = commit(info, "MODIFIED", std::move(next), stored);
    // Delete the contents; objects with finalizers stay until their finalizers go.
    std::vector<std::pair<ResourceInfo, std::string>> victims;
    for (const auto& [key, objs] : objects_) {
      auto inf = infos_.find(key);
      if (inf == infos_.end() || !inf->second.namespaced) continue;
      for (auto it = objs.lower_bound({ns, ""}); it != objs.end() && it->first.first == ns; ++it)
        victims.emplace_back(inf->second, it->first.second);
    }
    for (const auto& [vinfo, vname] : victims) (void)remove(vinfo, ns, vname, nullptr);
  }
  maybe_finish_namespace(ns);
  ObjPtr now_obj = get(info, "", ns);
  return DeleteOutcome{now_obj ? now_obj : stored, now_obj == nullptr};
}

void Store::maybe_finish_namespace(const std::string& ns) {
  auto nsit = objects_.find(ns_store_key());
  if (nsit == objects_.end()) return;
  auto f = nsit->second.find({"", ns});
  if (f == nsit->second.end() || meta_str(*f->second, "deletionTimestamp").empty()) return;
  for (const auto& [key, objs] : objects_) {
    auto inf = infos_.find(key);
    if (inf == infos_.end() || !inf->second.namespaced) continue;
    auto it = objs.lower_bound({ns, ""});
    if (it != objs.end() && it->first.first == ns) return;  // not empty yet
  }
  ObjPtr old = f->second;
  json last = *old;
  commit(infos_.at(ns_store_key()), "DELETED", std::move(last), old);
}

void Store::remove_all(const ResourceInfo& info) {
  auto s = objects_.find(info.store_key());
  if (s == objects_.end()) return;
  std::vector<ObjPtr> all;
  for (const auto& [k, v] : s->second) all.push_back(v);
  for (const auto& o : all) commit(info, "DELETED", *o, o);
}

std::shared_ptr<const std::string> Store::supersede(const std::string& object_key) {
  const auto made = made_by_.find(object_key);
  if (made == made_by_.end()) return nullptr;
  const std::uint64_t rv = made->second;
  made_by_.erase(made);
  auto it = std::lower_bound(history_.begin(), history_.end(), rv,
                             [](const Past& e, std::uint64_t v) { return e.rv < v; });
  if (it == history_.end() || it->rv != rv || !it->object) return nullptr;  // compacted away
  it->object_text = std::make_shared<const std::string>(it->object->dump());
  it->object.reset();
  return it->object_text;
}

Result<std::vector<WatchEvent>, ApiError> Store::events_since(const std::string& store_key,
                                                              std::uint64_t from) const {
  if (from < compacted_rv_)
    return unexpected(expired("too old resource version: " + std::to_string(from) + " (" +
                              std::to_string(compacted_rv_ + 1) + ")"));
  std::vector<WatchEvent> out;
  auto parsed = [](const std::shared_ptr<const std::string>& text) -> ObjPtr {
    if (!text) return nullptr;
    return std::make_shared<const json>(json::parse(*text));
  };
  auto it = std::upper_bound(history_.begin(), history_.end(), from,
                             [](std::uint64_t v, const Past& e) { return v < e.rv; });
  for (; it != history_.end(); ++it)
    if (it->store_key == store_key)
      out.push_back(WatchEvent{it->rv, it->type, it->store_key,
                               it->object ? it->object : parsed(it->object_text), parsed(it->old_text)});
  return out;
}

std::uint64_t Store::subscribe(const std::string& store_key, Sink sink) {
  auto id = next_sink_++;
  sinks_[id] = {store_key, std::move(sink)};
  return id;
}

void Store::unsubscribe(std::uint64_t id) {
  sinks_.erase(id);
}

}  // namespace raydog::emulator
