#include "test/unit/yellowdog/fake_yellowdog.hpp"

#include "controller/util/gzip.hpp"
#include "controller/yellowdog/requests.hpp"

namespace raydog::yellowdog::testing {
using nlohmann::json;

namespace {

json error_body(const std::string& type, const std::string& message) {
  return json{{"errorType", type}, {"message", message}, {"detail", json::array()}};
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    out.push_back(http::percent_decode(path.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

json* find_by(json& array, const std::string& key, const std::string& value) {
  for (auto& o : array)
    if (o.value(key, "") == value) return &o;
  return nullptr;
}

}  // namespace

FakeYellowDog::FakeYellowDog(http::net::io_context& ioc) {
  http::ServerOptions o;
  o.listen = "127.0.0.1:0";
  server_ = std::make_unique<http::Server>(ioc, o, [this](http::Exchange& ex) { return handle(ex); });
  server_->start();
}

FakeYellowDog::~FakeYellowDog() {
  server_->stop();
}

std::size_t FakeYellowDog::count(const std::string& method, const std::string& path_prefix) const {
  std::size_t n = 0;
  for (const auto& r : seen_)
    if (r.method == method && r.target.rfind(path_prefix, 0) == 0) ++n;
  return n;
}

http::net::awaitable<void> FakeYellowDog::handle(http::Exchange& ex) {
  auto& req = ex.request();
  SeenRequest seen;
  seen.method = std::string(req.method_string());
  seen.target = std::string(req.target());
  seen.authorization = std::string(req[http::bhttp::field::authorization]);
  seen.content_encoding = std::string(req[http::bhttp::field::content_encoding]);
  seen.body_bytes = req.body().size();
  seen_.push_back(seen);
  const std::size_t n = seen_.size();
  const Fault fault = n == fail_at_ ? fault_ : Fault::kNone;
  seen_.back().faulted = fault != Fault::kNone;

  auto respond = [&](int status, const json& body) {
    auto res = http::make_response(req, static_cast<http::bhttp::status>(status), body.dump());
    if (status == 429) res.set(http::bhttp::field::retry_after, "0");
    return ex.respond(std::move(res));
  };

  if (required_authorization && seen.authorization != *required_authorization) {
    // A careless server echoing the credentials back: the client must not pass them on.
    co_await respond(401, error_body("NotAuthorisedException", "bad key: " + seen.authorization));
    co_return;
  }
  switch (fault) {
    case Fault::kStatus500:
      co_await respond(500, error_body("InternalServerException", "injected"));
      co_return;
    case Fault::kStatus429:
      co_await respond(429, json::object());
      co_return;
    case Fault::kCloseBefore:
      ex.drop();
      co_return;
    default:
      break;
  }

  std::string target(req.target());
  std::string path = target.substr(0, target.find('?'));
  std::map<std::string, std::string> query;
  if (auto q = target.find('?'); q != std::string::npos) {
    std::string qs = target.substr(q + 1);
    std::size_t start = 0;
    while (start < qs.size()) {
      auto amp = qs.find('&', start);
      if (amp == std::string::npos) amp = qs.size();
      auto kv = qs.substr(start, amp - start);
      auto eq = kv.find('=');
      query[http::url_decode(kv.substr(0, eq))] =
          eq == std::string::npos ? "" : http::url_decode(kv.substr(eq + 1));
      start = amp + 1;
    }
  }
  std::string body = req.body();
  if (seen.content_encoding == "gzip") {
    auto inflated = gzip_decompress(body);
    if (!inflated) {
      co_await respond(400, error_body("InvalidRequestException", "bad gzip"));
      co_return;
    }
    body = *inflated;
  }

  if (path.size() > 8 && path.substr(path.size() - 8) == "/updates") {
    http::ResponseHead head;
    head.result(http::bhttp::status::ok);
    head.set(http::bhttp::field::content_type, "text/event-stream");
    if (!co_await ex.begin_stream(std::move(head))) co_return;
    for (const auto& c : sse_chunks)
      if (!co_await ex.write_chunk(c)) co_return;
    co_await ex.end_stream();
    co_return;
  }

  auto [status, out] = apply(seen.method, split_path(path), query, body);
  if (fault == Fault::kLostResponse) {
    ex.drop();
    co_return;
  }
  if (fault == Fault::kGarbage) {
    co_await ex.respond(http::make_response(req, http::bhttp::status::ok, "<html>oops", "text/html"));
    co_return;
  }
  co_await respond(status, out);
}

std::pair<int, json> FakeYellowDog::apply(const std::string& method, const std::vector<std::string>& p,
                                          const std::map<std::string, std::string>& query,
                                          const std::string& body) {
  auto id = [&](const char* kind) {
    return "ydid:" + std::string(kind) + ":000000:" + std::to_string(next_id_++);
  };
  auto not_found = std::make_pair(404, error_body("NotFoundException", "not found"));
  json in = body.empty() ? json() : json::parse(body, nullptr, false);
  if (!body.empty() && in.is_discarded()) return {400, error_body("InvalidRequestException", "bad json")};

  if (p.size() == 3 && p[0] == "workerPools" && p[1] == "provisioned" && p[2] == "template" &&
      method == "POST") {
    auto& u = in["requirementTemplateUsage"];
    for (auto& pool : pools)
      if (pool["name"] == u["requirementName"] && pool["namespace"] == u["requirementNamespace"])
        return {400, error_body("InvalidRequestException", "Worker pool already exists")};
    json pool{{"type", "co.yellowdog.platform.model.ProvisionedWorkerPool"},
              {"id", id("wrkrpool")},
              {"name", u["requirementName"]},
              {"namespace", u["requirementNamespace"]},
              {"status", "PENDING"},
              {"properties", in["provisionedProperties"]},
              {"computeRequirementId", id("compreq")}};
    pools.push_back(pool);
    return {200, pool};
  }
  if (p.size() == 2 && p[0] == "workerPools" && method == "GET") {
    if (auto* pool = find_by(pools, "id", p[1])) return {200, *pool};
    return not_found;
  }
  if (p.size() == 3 && p[0] == "workerPools" && method == "GET") {
    for (auto& pool : pools)
      if (pool["namespace"] == p[1] && pool["name"] == p[2]) return {200, pool};
    return not_found;
  }
  if (p.size() == 2 && p[0] == "workerPools" && method == "DELETE") {
    if (auto* pool = find_by(pools, "id", p[1])) {
      (*pool)["status"] = "SHUTDOWN";
      return {200, json::object()};
    }
    return not_found;
  }
  if (p.size() == 2 && p[0] == "work" && p[1] == "requirements" && method == "POST") {
    for (auto& wr : requirements)
      if (wr["name"] == in["name"] && wr["namespace"] == in["namespace"])
        return {400, error_body("InvalidRequestException", "Work requirement already exists")};
    in["id"] = id("workreq");
    in["status"] = "RUNNING";
    int i = 1;
    for (auto& g : in["taskGroups"]) {
      g["id"] = in["id"].get<std::string>() + ":" + std::to_string(i++);
      g["status"] = "PENDING";
    }
    requirements.push_back(in);
    return {200, in};
  }
  if (p.size() == 5 && p[0] == "work" && p[1] == "namespaces" && p[3] == "requirements" && method == "GET") {
    for (auto& wr : requirements)
      if (wr["namespace"] == p[2] && wr["name"] == p[4]) return {200, wr};
    return not_found;
  }
  if (p.size() == 3 && p[0] == "work" && p[1] == "requirements" && method == "GET") {
    if (auto* wr = find_by(requirements, "id", p[2])) return {200, *wr};
    return not_found;
  }
  if (p.size() == 5 && p[0] == "work" && p[1] == "requirements" && p[3] == "transition" && method == "PUT") {
    auto* wr = find_by(requirements, "id", p[2]);
    if (!wr) return not_found;
    if (p[4] != "CANCELLING" || (*wr)["status"] == "CANCELLED")
      return {403, error_body("InvalidWorkRequirementStatusException", "cannot transition")};
    (*wr)["status"] = "CANCELLING";
    return {200, *wr};
  }
  if (p.size() == 4 && p[0] == "work" && p[1] == "taskGroups" && p[3] == "tasks" && method == "POST") {
    if (!in.is_array()) return {400, error_body("InvalidRequestException", "expected an array")};
    json out = json::array();
    for (auto t : in) {
      t["id"] = id("task");
      t["taskGroupId"] = p[2];
      t["status"] = "READY";
      tasks.push_back(t);
      out.push_back(t);
    }
    return {200, out};
  }
  if (p.size() == 2 && p[0] == "work" && p[1] == "tasks" && method == "GET") {
    std::vector<json> matching;
    for (auto& t : tasks)
      if (!query.count("taskGroupId") || t["taskGroupId"] == query.at("taskGroupId")) matching.push_back(t);
    std::size_t start = query.count("sliceId") ? std::stoul(query.at("sliceId")) : 0;
    json slice{{"items", json::array()}};
    for (std::size_t i = start; i < matching.size() && i < start + task_page_size; ++i)
      slice["items"].push_back(matching[i]);
    if (start + task_page_size < matching.size())
      slice["nextSliceId"] = std::to_string(start + task_page_size);
    return {200, slice};
  }
  if (p.size() == 3 && p[0] == "work" && p[1] == "tasks" && method == "GET") {
    if (auto* t = find_by(tasks, "id", p[2])) return {200, *t};
    return not_found;
  }
  return {404, error_body("NotFoundException", "no route " + method)};
}

}  // namespace raydog::yellowdog::testing
