// The searches of the REST surface (search.hpp): filters, time ranges, slices.
#include "test/yellowdog-sim/search.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <utility>
#include <vector>

#include "test/yellowdog-sim/serialize.hpp"

namespace raydog::ydsim {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

ApiResponse json_response(int status, const json& body) {
  return ApiResponse{status, body.dump(), {}};
}

std::vector<std::string> values(const Query& q, const std::string& key) {
  std::vector<std::string> out;
  auto [b, e] = q.equal_range(key);
  for (auto it = b; it != e; ++it) {
    // Also accept comma-separated lists ("statuses=RUNNING,IDLE").
    const std::string& v = it->second;
    std::size_t start = 0;
    while (start <= v.size()) {
      auto comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      if (comma > start) out.push_back(v.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return out;
}
// A scalar filter: absent, or equal.
bool eq_filter(const Query& q, const std::string& key, const std::string& actual) {
  auto v = query_value(q, key);
  return !v || *v == actual;
}
// A list filter: absent, or one of.
bool in_filter(const std::vector<std::string>& allowed, std::string_view actual) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), actual) != allowed.end();
}

// ---- time ranges: `<field>.min` / `<field>.max`, both inclusive -----------------------------------------

struct TimeRange {
  std::optional<TimePoint> min, max;
  bool given() const { return min || max; }
  // Compared at the wire's millisecond precision: a bound copied from an object's JSON includes it.
  bool contains(const std::optional<TimePoint>& t) const {
    if (!given()) return true;
    if (!t) return false;
    const TimePoint at = std::chrono::floor<Millis>(*t);
    return (!min || at >= *min) && (!max || at <= *max);
  }
};

Result<TimeRange, ApiError> time_range(const Query& q, const std::string& field) {
  TimeRange r;
  for (const bool is_min : {true, false}) {
    const std::string key = field + (is_min ? ".min" : ".max");
    const auto v = query_value(q, key);
    if (!v) continue;
    auto t = parse_timestamp(*v);
    if (!t) {
      // An offset's '+' sent unencoded arrives as a space ("...05.678 02:00").
      std::string fixed = *v;
      if (const auto sp = fixed.rfind(' '); sp != std::string::npos && sp + 6 == fixed.size()) {
        fixed[sp] = '+';
        t = parse_timestamp(fixed);
      }
    }
    if (!t)
      return unexpected(
          invalid_request(key + " must be an ISO-8601 timestamp such as 2026-01-02T03:04:05.678Z, got '" +
                          v->substr(0, 64) + "'"));
    (is_min ? r.min : r.max) = *t;
  }
  return r;
}

// ---- slices (§3) ------------------------------------------------------------------------------------

struct Paging {
  bool plain = false;  // the legacy plain array: everything, no slices
  std::size_t size = 50;
  bool descending = false;
  std::size_t offset = 0;              // "o<N>": searches in creation order
  std::optional<std::uint64_t> after;  // "k<key>": searches answered from a time index
};

// `keyset`: the search pages by index key, else by offset.
Result<Paging, ApiError> paging(const Query& q, std::size_t default_size, bool legacy_plain, bool keyset) {
  Paging p;
  p.size = default_size;
  p.descending = query_value(q, "sortDirection") == "DESCENDING";
  if (legacy_plain && !query_true(q, "sliced")) {
    p.plain = true;
    return p;
  }
  if (auto s = query_value(q, "size")) {
    try {
      long v = std::stol(*s);
      if (v < 1 || v > 1000) throw std::out_of_range("size");
      p.size = static_cast<std::size_t>(v);
    } catch (...) {
      return unexpected(invalid_request("size must be an integer in 1..1000"));
    }
  }
  if (auto s = query_value(q, "sliceId")) {
    const char kind = keyset ? 'k' : 'o';
    if (s->size() < 2 || (*s)[0] != kind || !std::all_of(s->begin() + 1, s->end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        }))
      return unexpected(invalid_request("invalid sliceId"));
    try {
      const auto n = std::stoull(s->substr(1));
      if (keyset)
        p.after = n;
      else
        p.offset = static_cast<std::size_t>(n);
    } catch (...) {
      return unexpected(invalid_request("invalid sliceId"));
    }
  }
  return p;
}

// A search in creation order, paged by offset: the candidates are filtered lazily, so a page costs the
// candidates up to its end (and to the next match, for nextSliceId), not a filter of every object; only the
// answered page is serialised.
template <class T, class Match, class ToJson>
ApiResponse offset_page(const std::vector<const T*>& candidates, const Query& q, std::size_t default_size,
                        bool legacy_plain, Match match, ToJson to_json_fn) {
  auto p = paging(q, default_size, legacy_plain, false);
  if (!p) return error_response(p.error());
  json page = json::array();
  std::size_t matched = 0;
  bool more = false;
  auto visit = [&](const T& o) {
    if (!match(o)) return true;
    if (p->plain) {
      page.push_back(to_json_fn(o));
      return true;
    }
    if (matched >= p->offset + p->size) {
      more = true;
      return false;
    }
    if (matched++ >= p->offset) page.push_back(to_json_fn(o));
    return true;
  };
  if (p->descending) {
    for (auto it = candidates.rbegin(); it != candidates.rend(); ++it)
      if (!visit(**it)) break;
  } else {
    for (const T* c : candidates)
      if (!visit(*c)) break;
  }
  if (p->plain) return json_response(200, page);
  json out = {{"items", std::move(page)}};
  if (more) out["nextSliceId"] = "o" + std::to_string(p->offset + p->size);
  return json_response(200, out);
}

template <class T>
std::vector<const T*> pointers(const std::vector<std::unique_ptr<T>>& all) {
  std::vector<const T*> out;
  out.reserve(all.size());
  for (const auto& o : all) out.push_back(o.get());
  return out;
}

// A search answered from a time index. `walk(descending, after, visit)` offers candidates in key order
// (ascending, or descending), starting after the cursor, until `visit(key, object)` returns false; only the
// page and one more match are looked at.
template <class T, class Walk, class Match, class ToJson>
ApiResponse keyset_page(const Query& q, std::size_t default_size, bool legacy_plain, Walk walk, Match match,
                        ToJson to_json_fn) {
  auto p = paging(q, default_size, legacy_plain, true);
  if (!p) return error_response(p.error());
  json page = json::array();
  std::uint64_t last = 0;
  bool more = false;
  walk(p->descending, p->after, [&](std::uint64_t key, const T& o) {
    if (!match(o)) return true;
    if (!p->plain && page.size() == p->size) {
      more = true;
      return false;
    }
    page.push_back(to_json_fn(o));
    last = key;
    return true;
  });
  if (p->plain) return json_response(200, page);
  json out = {{"items", std::move(page)}};
  if (more) out["nextSliceId"] = "k" + std::to_string(last);
  return json_response(200, out);
}

// Walks a time index between the range's bounds: a binary search to the first entry, then the answer.
template <class Index, class Visit>
void walk_index(const Index& idx, const TimeRange& r, bool descending, std::optional<std::uint64_t> after,
                Visit&& visit) {
  const auto& e = idx.entries();
  if (!descending) {
    std::size_t i = r.min ? idx.first_at_or_after(*r.min) : 0;
    if (after) i = std::max(i, idx.first_key_above(*after));
    for (; i < e.size(); ++i) {
      if (r.max && e[i].at > *r.max) break;
      if (Index::valid(e[i]) && !visit(e[i].key, *e[i].obj)) break;
    }
  } else {
    std::size_t end = r.max ? idx.first_after(*r.max) : e.size();
    if (after) end = std::min(end, idx.first_key_from(*after));
    for (std::size_t i = end; i-- > 0;) {
      if (r.min && e[i].at < *r.min) break;
      if (Index::valid(e[i]) && !visit(e[i].key, *e[i].obj)) break;
    }
  }
}

// Walks a few candidates (the tasks of one work requirement) in index key order.
template <class T, class Visit>
void walk_sorted(std::vector<std::pair<std::uint64_t, const T*>> c, bool descending,
                 std::optional<std::uint64_t> after, Visit&& visit) {
  std::sort(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (!descending) {
    auto it = after ? std::upper_bound(c.begin(), c.end(), *after,
                                       [](std::uint64_t k, const auto& x) { return k < x.first; })
                    : c.begin();
    for (; it != c.end(); ++it)
      if (!visit(it->first, *it->second)) break;
  } else {
    auto end = after ? std::lower_bound(c.begin(), c.end(), *after,
                                        [](const auto& x, std::uint64_t k) { return x.first < k; })
                     : c.end();
    while (end != c.begin()) {
      --end;
      if (!visit(end->first, *end->second)) break;
    }
  }
}

// The tasks a search has to look at, in creation order: those of one task group or work requirement when
// the query names it (the operator's every poll does; walking all tasks made a search O(simulation)).
std::vector<const Task*> search_scope(Simulator& sim, const Query& q) {
  std::vector<const Task*> out;
  if (auto tg_id = query_value(q, "taskGroupId")) {
    auto g = sim.find_task_group(*tg_id);
    if (g) out.assign((*g)->tasks.begin(), (*g)->tasks.end());
    return out;
  }
  auto wr_id = query_value(q, "workRequirementId");
  if (!wr_id) {
    out.assign(sim.tasks().begin(), sim.tasks().end());
    return out;
  }
  auto wr = sim.find_work_requirement(*wr_id);
  if (!wr) return out;
  for (const auto& g : (*wr)->groups) out.insert(out.end(), g->tasks.begin(), g->tasks.end());
  std::sort(out.begin(), out.end(), [](const Task* a, const Task* b) { return a->seq < b->seq; });
  return out;
}

}  // namespace

std::optional<std::string> query_value(const Query& q, const std::string& key) {
  auto it = q.find(key);
  if (it == q.end()) return std::nullopt;
  return it->second;
}

ApiResponse search_work_requirements(Simulator& sim, const Query& q, std::size_t page_size) {
  const auto created = time_range(q, "createdTime");
  if (!created) return error_response(created.error());
  const auto changed = time_range(q, "statusChangedTime");
  if (!changed) return error_response(changed.error());
  const auto statuses = values(q, "statuses"), namespaces = values(q, "namespaces");
  const auto healthy = query_value(q, "isHealthy");
  auto match = [&](const WorkRequirement& wr) {
    if (!created->contains(wr.created) || !changed->contains(wr.status_changed) ||
        !in_filter(statuses, to_string(wr.status)))
      return false;
    const std::string ns = wr.ns();
    if (!eq_filter(q, "namespace", ns) || !in_filter(namespaces, ns) || !eq_filter(q, "name", wr.name()) ||
        !eq_filter(q, "tag", wr.spec.value("tag", std::string())))
      return false;
    return !healthy || (lower(*healthy) == "true") == summary_json(wr)["healthy"].get<bool>();
  };
  auto json_of = [](const WorkRequirement& wr) { return summary_json(wr); };
  if (changed->given()) {
    auto walk = [&](bool descending, std::optional<std::uint64_t> after, auto&& visit) {
      walk_index(sim.status_changed_index(), *changed, descending, after, visit);
    };
    return keyset_page<WorkRequirement>(q, page_size, true, walk, match, json_of);
  }
  // Creation order is createdTime order (the simulated clock never goes back): a createdTime range is a
  // binary search.
  const auto& all = sim.work_requirements();
  auto begin = all.begin(), end = all.end();
  if (created->min)
    begin = std::partition_point(all.begin(), all.end(), [&](const auto& wr) {
      return std::chrono::floor<Millis>(wr->created) < *created->min;
    });
  if (created->max)
    end = std::partition_point(begin, all.end(), [&](const auto& wr) {
      return std::chrono::floor<Millis>(wr->created) <= *created->max;
    });
  std::vector<const WorkRequirement*> candidates;
  candidates.reserve(static_cast<std::size_t>(end - begin));
  for (auto it = begin; it < end; ++it) candidates.push_back(it->get());
  return offset_page(candidates, q, page_size, true, match, json_of);
}

ApiResponse search_tasks(Simulator& sim, const Query& q, std::size_t page_size) {
  const auto started = time_range(q, "startedTime");
  if (!started) return error_response(started.error());
  const auto finished = time_range(q, "finishedTime");
  if (!finished) return error_response(finished.error());
  const auto statuses = values(q, "statuses");
  const auto has_errors = query_value(q, "hasErrors");
  const auto tag_prefix = query_value(q, "tagStartsWith");
  auto match = [&](const Task& task) {
    if (!started->contains(task.started) || !finished->contains(task.finished) ||
        !in_filter(statuses, to_string(task.status)) ||
        !eq_filter(q, "workRequirementId", task.group->wr->id) ||
        !eq_filter(q, "taskGroupId", task.group->id) || !eq_filter(q, "name", task.name()))
      return false;
    const std::string tag = task.spec.value("tag", std::string());
    if (!eq_filter(q, "tag", tag)) return false;
    if (tag_prefix && tag.rfind(*tag_prefix, 0) != 0) return false;
    return !has_errors || (lower(*has_errors) == "true") != task.errors.empty();
  };
  auto json_of = [](const Task& t) { return to_json(t); };
  if (!finished->given() && !started->given())
    return offset_page(search_scope(sim, q), q, page_size, false, match, json_of);
  // A time range: answered in that time's order from its index (finishedTime's when both are given).
  const bool by_finish = finished->given();
  if (query_value(q, "workRequirementId") || query_value(q, "taskGroupId")) {
    // A few tasks: those of the scope that are in the index, sorted by key.
    std::vector<std::pair<std::uint64_t, const Task*>> candidates;
    for (const Task* t : search_scope(sim, q))
      if (const auto key = by_finish ? t->finished_key : t->started_key; key != 0)
        candidates.emplace_back(key, t);
    auto walk = [&](bool descending, std::optional<std::uint64_t> after, auto&& visit) {
      walk_sorted(std::move(candidates), descending, after, visit);
    };
    return keyset_page<Task>(q, page_size, false, walk, match, json_of);
  }
  auto walk = [&](bool descending, std::optional<std::uint64_t> after, auto&& visit) {
    if (by_finish)
      walk_index(sim.finished_index(), *finished, descending, after, visit);
    else
      walk_index(sim.started_index(), *started, descending, after, visit);
  };
  return keyset_page<Task>(q, page_size, false, walk, match, json_of);
}

ApiResponse search_worker_pools(Simulator& sim, const Query& q, std::size_t page_size) {
  const auto created = time_range(q, "createdTime");
  if (!created) return error_response(created.error());
  const auto statuses = values(q, "statuses"), namespaces = values(q, "namespaces");
  const auto type = query_value(q, "type");
  auto match = [&](const WorkerPool& pool) {
    return eq_filter(q, "namespace", pool.ns) && in_filter(namespaces, pool.ns) &&
           eq_filter(q, "name", pool.name) && in_filter(statuses, to_string(pool.status)) &&
           created->contains(pool.created) && (!type || type->find("Provisioned") != std::string::npos);
  };
  return offset_page(pointers(sim.pools()), q, page_size, true, match,
                     [](const WorkerPool& p) { return summary_json(p); });
}

ApiResponse search_nodes(Simulator& sim, const Query& q, std::size_t page_size) {
  const auto statuses = values(q, "statuses"), worker_statuses = values(q, "workerStatuses");
  const auto tg = query_value(q, "workerTaskGroupId");
  auto match = [&](const Node& n) {
    if (!eq_filter(q, "workerPoolId", n.pool->id) || !eq_filter(q, "instanceId", n.instance->instance_id) ||
        !eq_filter(q, "workerTag", n.pool->worker_tag) || !in_filter(statuses, to_string(n.status)))
      return false;
    if (tg && std::none_of(n.workers.begin(), n.workers.end(),
                           [&](const auto& w) { return w->claimed_by && w->claimed_by->id == *tg; }))
      return false;
    return worker_statuses.empty() || std::any_of(n.workers.begin(), n.workers.end(), [&](const auto& w) {
             return in_filter(worker_statuses, to_string(w->status));
           });
  };
  return offset_page(pointers(sim.nodes()), q, page_size, false, match,
                     [](const Node& n) { return to_json(n); });
}

ApiResponse search_instances(Simulator& sim, const Query& q, std::size_t page_size) {
  const auto statuses = values(q, "statuses");
  auto match = [&](const Instance& i) {
    return eq_filter(q, "computeRequirementId", i.cr->id) &&
           eq_filter(q, "computeSourceId", i.cr->source_id) &&
           eq_filter(q, "privateIpAddress", i.private_ip) && eq_filter(q, "publicIpAddress", i.public_ip) &&
           eq_filter(q, "hostname", i.hostname) && in_filter(statuses, to_string(i.status));
  };
  // By compute requirement (the operator's query, one per head address) from the requirement's own list, in
  // the same creation order: a scan of every instance made 10,000 such lookups quadratic.
  std::vector<const Instance*> candidates;
  if (const auto cr_id = query_value(q, "computeRequirementId")) {
    if (auto cr = sim.find_compute_requirement(*cr_id))
      candidates.assign((*cr)->instances.begin(), (*cr)->instances.end());
  } else {
    candidates = pointers(sim.instances());
  }
  return offset_page(candidates, q, page_size, false, match, [](const Instance& i) { return to_json(i); });
}

}  // namespace raydog::ydsim
