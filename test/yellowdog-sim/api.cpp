#include "test/yellowdog-sim/api.hpp"

#include <algorithm>
#include <cctype>
#include <functional>

#include "controller/http/url.hpp"
#include "test/yellowdog-sim/ray_model.hpp"
#include "test/yellowdog-sim/search.hpp"
#include "test/yellowdog-sim/serialize.hpp"

namespace raydog::ydsim {

namespace {

enum class Ep {
  kUnknown,
  kProvisionPool,
  kResizePool,
  kNodeOfWorker,
  kSearchNodes,
  kGetNode,
  kShutdownNode,
  kSearchPools,
  kPoolUpdates,
  kGetPool,
  kShutdownPool,
  kGetPoolByName,
  kCreateWr,
  kUpdateWr,
  kSearchWrs,
  kGetWr,
  kWrUpdates,
  kTransitionWr,
  kGetWrByName,
  kAddTasksByNames,
  kAddTasks,
  kSearchTasks,
  kGetTask,
  kCancelTask,
  kTransitionCr,
  kGetCr,
  kCrUpdates,
  kSearchInstances,
};

struct Route {
  Ep ep = Ep::kUnknown;
  std::string pattern = "unknown";
  std::vector<std::string> params;
};

bool literal_under_pools(const std::string& s) {
  return s == "provisioned" || s == "configured" || s == "nodes" || s == "workers" || s == "namespaces";
}

Route route(const std::string& m, const std::vector<std::string>& s) {
  auto n = s.size();
  auto r = [&](Ep ep, std::string pattern, std::vector<std::string> params = {}) {
    return Route{ep, m + " " + pattern, std::move(params)};
  };
  if (n >= 1 && s[0] == "workerPools") {
    // Literal second segments first (§4.1 precedence).
    if (n == 3 && s[1] == "provisioned" && s[2] == "template" && m == "POST")
      return r(Ep::kProvisionPool, "/workerPools/provisioned/template");
    if (n == 3 && s[1] == "provisioned" && m == "PUT")
      return r(Ep::kResizePool, "/workerPools/provisioned/{id}", {s[2]});
    if (n == 4 && s[1] == "workers" && s[3] == "node" && m == "GET")
      return r(Ep::kNodeOfWorker, "/workerPools/workers/{id}/node", {s[2]});
    if (n == 2 && s[1] == "nodes" && m == "GET") return r(Ep::kSearchNodes, "/workerPools/nodes");
    if (n == 3 && s[1] == "nodes" && m == "GET") return r(Ep::kGetNode, "/workerPools/nodes/{id}", {s[2]});
    if (n == 3 && s[1] == "nodes" && m == "DELETE")
      return r(Ep::kShutdownNode, "/workerPools/nodes/{id}", {s[2]});
    if (n >= 2 && literal_under_pools(s[1])) return Route{};
    if (n == 1 && m == "GET") return r(Ep::kSearchPools, "/workerPools/");
    if (n == 3 && s[2] == "updates" && m == "GET")
      return r(Ep::kPoolUpdates, "/workerPools/{id}/updates", {s[1]});
    if (n == 2 && m == "GET") return r(Ep::kGetPool, "/workerPools/{id}", {s[1]});
    if (n == 2 && m == "DELETE") return r(Ep::kShutdownPool, "/workerPools/{id}", {s[1]});
    if (n == 3 && m == "GET") return r(Ep::kGetPoolByName, "/workerPools/{namespace}/{name}", {s[1], s[2]});
    return Route{};
  }
  if (n >= 2 && s[0] == "work") {
    if (s[1] == "namespaces") {
      if (n == 5 && s[3] == "requirements" && m == "GET")
        return r(Ep::kGetWrByName, "/work/namespaces/{namespace}/requirements/{name}", {s[2], s[4]});
      if (n == 8 && s[3] == "requirements" && s[5] == "taskGroups" && s[7] == "tasks" && m == "POST")
        return r(Ep::kAddTasksByNames,
                 "/work/namespaces/{namespace}/requirements/{name}/taskGroups/{name}/tasks",
                 {s[2], s[4], s[6]});
      return Route{};
    }
    if (s[1] == "requirements") {
      if (n == 2 && m == "POST") return r(Ep::kCreateWr, "/work/requirements");
      if (n == 2 && m == "PUT") return r(Ep::kUpdateWr, "/work/requirements");
      if (n == 2 && m == "GET") return r(Ep::kSearchWrs, "/work/requirements");
      if (n == 3 && m == "GET") return r(Ep::kGetWr, "/work/requirements/{id}", {s[2]});
      if (n == 4 && s[3] == "updates" && m == "GET")
        return r(Ep::kWrUpdates, "/work/requirements/{id}/updates", {s[2]});
      if (n == 5 && s[3] == "transition" && m == "PUT")
        return r(Ep::kTransitionWr, "/work/requirements/{id}/transition/" + s[4], {s[2], s[4]});
      return Route{};
    }
    if (s[1] == "taskGroups" && n == 4 && s[3] == "tasks" && m == "POST")
      return r(Ep::kAddTasks, "/work/taskGroups/{id}/tasks", {s[2]});
    if (s[1] == "tasks") {
      if (n == 2 && m == "GET") return r(Ep::kSearchTasks, "/work/tasks");
      if (n == 3 && m == "GET") return r(Ep::kGetTask, "/work/tasks/{id}", {s[2]});
      if (n == 4 && s[3] == "cancel" && m == "PUT")
        return r(Ep::kCancelTask, "/work/tasks/{id}/cancel", {s[2]});
    }
    return Route{};
  }
  if (n >= 2 && s[0] == "compute") {
    if (s[1] == "requirements") {
      if (n == 5 && s[3] == "transition" && m == "PUT")
        return r(Ep::kTransitionCr, "/compute/requirements/{id}/transition/" + s[4], {s[2], s[4]});
      if (n == 3 && m == "GET") return r(Ep::kGetCr, "/compute/requirements/{id}", {s[2]});
      if (n == 4 && s[3] == "updates" && m == "GET")
        return r(Ep::kCrUpdates, "/compute/requirements/{id}/updates", {s[2]});
    }
    if (n == 2 && s[1] == "instances" && m == "GET") return r(Ep::kSearchInstances, "/compute/instances");
  }
  return Route{};
}

ApiResponse json_response(int status, const json& body) {
  return ApiResponse{status, body.dump(), {}};
}

template <class T>
ApiResponse reply(const SimResult<T*>& r) {
  if (!r) return error_response(r.error());
  return json_response(200, to_json(**r));
}

std::optional<std::string> value(const Query& q, const std::string& key) {
  return query_value(q, key);
}

Result<json, ApiError> parse_body(const std::string& body) {
  if (body.empty()) return unexpected(invalid_request("a JSON body is required"));
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    return unexpected(invalid_request(std::string("malformed JSON: ") + e.what()));
  }
}

}  // namespace

ParsedTarget parse_target(std::string_view target) {
  ParsedTarget out;
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  std::size_t start = 0;
  if (!path.empty() && path[0] == '/') start = 1;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.segments.push_back(http::percent_decode(path.substr(start, slash - start)));
    start = slash + 1;
  }
  if (!out.segments.empty() && out.segments.back().empty()) out.segments.pop_back();  // trailing slash
  if (qpos != std::string_view::npos) {
    std::string_view q = target.substr(qpos + 1);
    std::size_t p = 0;
    while (p <= q.size()) {
      auto amp = q.find('&', p);
      if (amp == std::string_view::npos) amp = q.size();
      std::string_view kv = q.substr(p, amp - p);
      if (!kv.empty()) {
        auto eq = kv.find('=');
        std::string k = http::url_decode(kv.substr(0, eq));
        std::string v = eq == std::string_view::npos ? "" : http::url_decode(kv.substr(eq + 1));
        out.query.emplace(std::move(k), std::move(v));
      }
      p = amp + 1;
    }
  }
  return out;
}

bool query_true(const Query& q, const std::string& key) {
  auto it = q.find(key);
  if (it == q.end() || it->second.size() != 4) return false;
  std::string v = it->second;
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "true";
}

ApiResponse error_response(const ApiError& e) {
  return json_response(e.status, error_json(e.error_type, e.message));
}

FaultInjector::Decision FaultInjector::decide(const FaultSettings& s) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double fail = u(rng_), which = u(rng_), lose = u(rng_);
  Decision d;
  if (fail < s.fail_rate && !s.fail_codes.empty()) {
    auto idx = std::min(static_cast<std::size_t>(which * s.fail_codes.size()), s.fail_codes.size() - 1);
    d.fail_code = s.fail_codes[idx];
  } else if (lose < s.lose_response_rate) {
    d.lose_response = true;
  }
  return d;
}

std::string Api::pattern(const std::string& method, const std::vector<std::string>& segments) {
  if (!segments.empty() && segments[0] == "_sim") return "";
  return route(method, segments).pattern;
}

void Api::count_call(const std::string& pattern) {
  if (!pattern.empty()) ++calls_[pattern];
}

bool Api::is_updates_path(const std::vector<std::string>& s) {
  auto ep = route("GET", s).ep;
  return ep == Ep::kWrUpdates || ep == Ep::kPoolUpdates || ep == Ep::kCrUpdates;
}

std::optional<json> Api::entity_for_updates(Simulator& sim, const std::vector<std::string>& s, bool& done) {
  Route r = route("GET", s);
  switch (r.ep) {
    case Ep::kWrUpdates:
      if (auto w = sim.find_work_requirement(r.params[0])) {
        done = finished((*w)->status);
        return to_json(**w);
      }
      return std::nullopt;
    case Ep::kPoolUpdates:
      if (auto p = sim.find_pool(r.params[0])) {
        done = (*p)->status == PoolStatus::kTerminated;
        return to_json(**p);
      }
      return std::nullopt;
    case Ep::kCrUpdates:
      if (auto c = sim.find_compute_requirement(r.params[0])) {
        done = (*c)->status == CrStatus::kTerminated;
        return to_json(**c);
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

ApiResponse Api::handle(const ApiRequest& req) {
  if (req.method != "GET") ++mutations_;
  ApiResponse r = dispatch(req);
  if (!req.key_id.empty() && (req.method == "POST" || req.method == "PUT") && r.status / 100 == 2)
    record_creator(req.key_id, r.body);
  return r;
}

namespace {
// Every YellowDog id in `j` (objects and arrays, any depth).
void collect_ids(const json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if ((k == "id" || k == "computeRequirementId") && v.is_string() &&
          v.get_ref<const std::string&>().starts_with("ydid:"))
        out.push_back(v.get<std::string>());
      else if (v.is_structured())
        collect_ids(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collect_ids(v, out);
  }
}
}  // namespace

void Api::record_creator(const std::string& key_id, const std::string& response_body) {
  const json j = json::parse(response_body, nullptr, false);
  if (j.is_discarded()) return;
  std::vector<std::string> ids;
  collect_ids(j, ids);
  for (auto& id : ids) created_by_.try_emplace(std::move(id), key_id);  // the first creator stays
}

ApiResponse Api::work_requirement_reply(const SimResult<WorkRequirement*>& r) {
  if (!r) return error_response(r.error());
  CachedBody& c = wr_bodies_[*r];
  if (c.body.empty() || c.changes != sim_.changes() || c.mutations != mutations_) {
    c.body = to_json(**r).dump();
    c.changes = sim_.changes();
    c.mutations = mutations_;
  }
  return ApiResponse{200, c.body, {}};
}

ApiResponse Api::dispatch(const ApiRequest& req) {
  ParsedTarget t = parse_target(req.target);
  if (!t.segments.empty() && t.segments[0] == "_sim") return handle_sim(req.method, t, req.body);
  Route r = route(req.method, t.segments);
  const Query& q = t.query;
  const auto& p = r.params;
  auto body_json = [&]() { return parse_body(req.body); };
  switch (r.ep) {
    case Ep::kUnknown:
      return error_response(
          ApiError{404, "NotFoundException",
                   "No endpoint for " + req.method + " " + req.target.substr(0, req.target.find('?'))});
    case Ep::kProvisionPool: {
      auto b = body_json();
      if (!b) return error_response(b.error());
      return reply(sim_.provision_pool(*b));
    }
    case Ep::kResizePool: {
      auto size = value(q, "size");
      int n = -1;
      try {
        if (size) n = std::stoi(*size);
      } catch (...) {
      }
      if (n < 0) return error_response(invalid_request("size query parameter is required"));
      return reply(sim_.resize_pool(p[0], n));
    }
    case Ep::kNodeOfWorker:
      return reply(sim_.node_of_worker(p[0]));
    case Ep::kGetNode:
      return reply(sim_.find_node(p[0]));
    case Ep::kShutdownNode:
      return reply(sim_.shutdown_node(p[0]));
    case Ep::kSearchNodes:
      return search_nodes(sim_, q, page_size_);
    case Ep::kSearchPools:
      return search_worker_pools(sim_, q, page_size_);
    case Ep::kGetPool:
      return reply(sim_.find_pool(p[0]));
    case Ep::kShutdownPool:
      return reply(sim_.shutdown_pool(p[0]));
    case Ep::kGetPoolByName:
      return reply(sim_.find_pool_by_name(p[0], p[1]));
    case Ep::kCreateWr: {
      auto b = body_json();
      if (!b) return error_response(b.error());
      return reply(sim_.create_work_requirement(*b));
    }
    case Ep::kUpdateWr: {
      auto b = body_json();
      if (!b) return error_response(b.error());
      return reply(sim_.update_work_requirement(*b));
    }
    case Ep::kSearchWrs:
      return search_work_requirements(sim_, q, page_size_);
    case Ep::kGetWr:
      return work_requirement_reply(sim_.find_work_requirement(p[0]));
    case Ep::kGetWrByName:
      return work_requirement_reply(sim_.find_work_requirement_by_name(p[0], p[1]));
    case Ep::kTransitionWr:
      return reply(sim_.transition_work_requirement(p[0], p[1], query_true(q, "abort")));
    case Ep::kAddTasks:
    case Ep::kAddTasksByNames: {
      std::string tg_id;
      if (r.ep == Ep::kAddTasks) {
        tg_id = p[0];
      } else {
        auto g = sim_.find_task_group_by_names(p[0], p[1], p[2]);
        if (!g) return error_response(g.error());
        tg_id = (*g)->id;
      }
      auto b = body_json();
      if (!b) return error_response(b.error());
      auto added = sim_.add_tasks(tg_id, *b);
      if (!added) return error_response(added.error());
      json out = json::array();
      for (Task* task : *added) out.push_back(to_json(*task));
      return json_response(200, out);
    }
    case Ep::kSearchTasks:
      return search_tasks(sim_, q, page_size_);
    case Ep::kGetTask:
      return reply(sim_.find_task(p[0]));
    case Ep::kCancelTask:
      return reply(sim_.cancel_task(p[0], query_true(q, "abort")));
    case Ep::kTransitionCr:
      if (p[1] != "TERMINATED")
        return error_response(ApiError{403, "InvalidComputeRequirementStatusException",
                                       "The simulator only supports the transition to TERMINATED"});
      return reply(sim_.terminate_compute_requirement(p[0]));
    case Ep::kGetCr:
      return reply(sim_.find_compute_requirement(p[0]));
    case Ep::kSearchInstances:
      return search_instances(sim_, q, page_size_);
    case Ep::kWrUpdates:
    case Ep::kPoolUpdates:
    case Ep::kCrUpdates:
      return error_response(ApiError{400, "InvalidRequestException", "update streams need the HTTP server"});
  }
  return error_response(ApiError{500, "InternalServerException", "unhandled route"});
}

// ---- /_sim/ -------------------------------------------------------------------------------------------

json Api::stats() const {
  json calls = json::object();
  std::uint64_t total = 0;
  for (const auto& [k, v] : calls_) {
    calls[k] = v;
    total += v;
  }
  // Counted by enum value first (a /_sim/stats of 10,000 clusters, polled by the benchmarks, walks 250,000
  // objects: a JSON lookup per object made it 75 ms), then named.
  auto tally = [](const auto& objects, auto status_of) {
    std::vector<std::uint64_t> counts;
    for (const auto& o : objects) {
      const auto v = static_cast<std::size_t>(status_of(o));
      if (v >= counts.size()) counts.resize(v + 1);
      ++counts[v];
    }
    json out = json::object();
    for (std::size_t v = 0; v < counts.size(); ++v)
      if (counts[v] > 0)
        out[std::string(to_string(static_cast<decltype(status_of(objects.front()))>(v)))] = counts[v];
    return out;
  };
  std::vector<const TaskGroup*> groups;
  for (const auto& wr : sim_.work_requirements())
    for (const auto& g : wr->groups) groups.push_back(g.get());
  std::vector<const Worker*> workers;
  for (const auto& n : sim_.nodes())
    for (const auto& w : n->workers) workers.push_back(w.get());
  const json objects = {
      {"workRequirements", tally(sim_.work_requirements(), [](const auto& o) { return o->status; })},
      {"taskGroups", tally(groups, [](const auto& o) { return o->status; })},
      {"tasks", tally(sim_.tasks(), [](const auto& o) { return o->status; })},
      {"workerPools", tally(sim_.pools(), [](const auto& o) { return o->status; })},
      {"computeRequirements", tally(sim_.compute_requirements(), [](const auto& o) { return o->status; })},
      {"instances", tally(sim_.instances(), [](const auto& o) { return o->status; })},
      {"nodes", tally(sim_.nodes(), [](const auto& o) { return o->status; })},
      {"workers", tally(workers, [](const auto& o) { return o->status; })}};
  return {
      {"calls", calls},
      {"totalCalls", total},
      {"faults", {{"injected", injected_}, {"droppedResponses", dropped_}}},
      {"objects", objects},
      {"fullTicks", sim_.full_ticks()},
      {"ipBlock", sim_.config().ip_block},
      {"ipBlocks", sim_.ip_blocks().empty() ? std::vector<int>{sim_.config().ip_block} : sim_.ip_blocks()},
      {"now", format_timestamp(sim_.now())}};
}

std::string Api::objects() const {
  // Written object by object: one JSON tree of 10,000 clusters' objects took gigabytes and seconds.
  std::string out = "{";
  auto list = [&](const char* name, const auto& objects, bool last) {
    out += "\"";
    out += name;
    out += "\":[";
    bool first = true;
    for (const auto& o : objects) {
      if (!first) out += ',';
      first = false;
      out += to_json(*o).dump();
    }
    out += last ? "]" : "],";
  };
  list("workRequirements", sim_.work_requirements(), false);
  list("tasks", sim_.tasks(), false);
  list("workerPools", sim_.pools(), false);
  list("computeRequirements", sim_.compute_requirements(), false);
  list("instances", sim_.instances(), false);
  list("nodes", sim_.nodes(), true);
  out += "}";
  return out;
}

namespace {
json faults_json(const FaultSettings& f) {
  return {{"failRate", f.fail_rate},
          {"failCodes", f.fail_codes},
          {"loseResponseRate", f.lose_response_rate},
          {"latencyMs", f.latency.count()},
          {"retryAfterSeconds", f.retry_after_seconds}};
}
}  // namespace

ApiResponse Api::handle_sim(const std::string& m, const ParsedTarget& t, const std::string& body) {
  const auto& s = t.segments;
  auto n = s.size();
  if (n >= 2 && s[1] == "ray") {
    if (!ray_)
      return error_response(ApiError{404, "NotFoundException", "yellowdog-sim runs without --ray: no /_sim/ray/ API"});
    return ray_->handle(m, s, body);
  }
  if (n == 2 && s[1] == "stats" && m == "GET") return json_response(200, stats());
  if (n == 2 && s[1] == "objects" && m == "GET") return ApiResponse{200, objects(), {}};
  if (n == 2 && s[1] == "created-by" && m == "GET") return json_response(200, json(created_by_));
  if (n == 2 && s[1] == "reset-counters" && m == "POST") {
    calls_.clear();
    injected_ = dropped_ = 0;
    return json_response(200, stats());
  }
  if (n == 2 && s[1] == "faults" && m == "GET") return json_response(200, faults_json(faults_));
  if (n == 2 && s[1] == "faults" && m == "PUT") {
    auto b = parse_body(body);
    if (!b) return error_response(b.error());
    FaultSettings f = faults_;
    try {
      if (b->contains("failRate")) f.fail_rate = (*b)["failRate"].get<double>();
      if (b->contains("failCodes")) f.fail_codes = (*b)["failCodes"].get<std::vector<int>>();
      if (b->contains("loseResponseRate")) f.lose_response_rate = (*b)["loseResponseRate"].get<double>();
      if (b->contains("latencyMs")) f.latency = Millis((*b)["latencyMs"].get<long long>());
      if (b->contains("retryAfterSeconds")) f.retry_after_seconds = (*b)["retryAfterSeconds"].get<int>();
    } catch (const json::exception& e) {
      return error_response(invalid_request(std::string("bad fault settings: ") + e.what()));
    }
    faults_ = f;
    return json_response(200, faults_json(faults_));
  }
  if (n == 4 && s[1] == "tasks" && s[3] == "exit" && m == "POST") {
    int code = 0;
    if (auto c = value(t.query, "code")) {
      try {
        code = std::stoi(*c);
      } catch (...) {
        return error_response(invalid_request("code must be an integer"));
      }
    }
    return reply(sim_.task_exit(s[2], code));
  }
  if (n == 4 && s[1] == "nodes" && s[3] == "lose" && m == "POST") return reply(sim_.lose_node(s[2]));
  if (n == 4 && s[1] == "instances" && s[3] == "lose" && m == "POST") return reply(sim_.lose_instance(s[2]));
  if (n == 4 && s[1] == "workerPools" && s[3] == "fail-provisioning" && m == "POST")
    return reply(sim_.fail_provisioning(s[2]));
  if (n == 4 && s[1] == "workerPools" && s[3] == "refuse-shutdown" && (m == "POST" || m == "DELETE"))
    return reply(sim_.refuse_shutdown(s[2], m == "POST"));
  return error_response(ApiError{404, "NotFoundException", "No simulator endpoint " + m + " /" + [&] {
                                   std::string p;
                                   for (std::size_t i = 0; i < n; ++i) p += (i ? "/" : "") + s[i];
                                   return p;
                                 }()});
}

}  // namespace raydog::ydsim
