#include "controller/yellowdog/requests.hpp"

#include <stdexcept>

#include "controller/http/url.hpp"
#include "controller/util/gzip.hpp"

namespace raydog::yellowdog {
namespace {

std::string with_query(std::string path, const Query& q) {
  if (q.empty()) return path;
  return path + "?" + q.encode();
}

ApiCall call(std::string method, std::string target, std::string operation, RequestClass cls,
             std::optional<std::string> body = std::nullopt) {
  ApiCall c;
  c.method = std::move(method);
  c.target = std::move(target);
  c.operation = std::move(operation);
  c.request_class = cls;
  c.body = std::move(body);
  return c;
}

// A call on one object, `prefix` + id + `suffix`; the operation (for logs and metrics) says "{id}".
ApiCall on_object(std::string method, std::string_view prefix, std::string_view id, std::string_view suffix,
                  RequestClass cls, const Query& q = {}, std::optional<std::string> body = std::nullopt) {
  std::string target = std::string(prefix) + encode_path_segment(id) + std::string(suffix);
  std::string operation = method + " " + std::string(prefix) + "{id}" + std::string(suffix);
  return call(std::move(method), with_query(std::move(target), q), std::move(operation), cls,
              std::move(body));
}
ApiCall read_object(std::string_view prefix, std::string_view id, std::string_view suffix = "") {
  return on_object("GET", prefix, id, suffix, RequestClass::kRead);
}

// A search (§3, §5.5): the filters in `q`, then the page.
ApiCall search(const std::string& path, Query q, const Page& page) {
  if (page.size) q.add("size", std::to_string(*page.size));
  q.add("sliceId", page.slice_id);
  return call("GET", with_query(path, q), "GET " + path, RequestClass::kRead);
}

Query abort_query(bool abort) {
  Query q;
  q.add("abort", abort ? "true" : "false");
  return q;
}

}  // namespace

Query& Query::add(std::string key, std::string value) {
  params_.emplace_back(std::move(key), std::move(value));
  return *this;
}
Query& Query::add(std::string key, const std::optional<std::string>& value) {
  if (value) params_.emplace_back(std::move(key), *value);
  return *this;
}
Query& Query::add_all(const std::string& key, const std::vector<std::string>& values) {
  for (const auto& v : values) params_.emplace_back(key, v);
  return *this;
}
std::string Query::encode() const {
  std::string out;
  for (const auto& [k, v] : params_) {
    if (!out.empty()) out += '&';
    out += encode_query_component(k) + "=" + encode_query_component(v);
  }
  return out;
}

std::string encode_path_segment(std::string_view s) {
  return http::percent_encode(s, ":");
}
std::string encode_query_component(std::string_view s) {
  return http::percent_encode(s, ":");
}

namespace calls {

ApiCall provision_worker_pool(const ProvisionRequest& request) {
  return call("POST", "/workerPools/provisioned/template", "POST /workerPools/provisioned/template",
              RequestClass::kCreate, Json(request).dump());
}
ApiCall get_worker_pool(std::string_view id) {
  return read_object("/workerPools/", id);
}
ApiCall get_worker_pool_by_name(std::string_view ns, std::string_view name) {
  return call("GET", "/workerPools/" + encode_path_segment(ns) + "/" + encode_path_segment(name),
              "GET /workerPools/{namespace}/{name}", RequestClass::kRead);
}
ApiCall search_worker_pools(const WorkerPoolSearch& s, const Page& page) {
  Query q;
  q.add("namespace", s.namespace_).add("name", s.name).add_all("statuses", s.statuses).add("sliced", "true");
  return search("/workerPools/", std::move(q), page);
}
ApiCall shut_down_worker_pool(std::string_view id) {
  return on_object("DELETE", "/workerPools/", id, "", RequestClass::kIdempotent);
}
ApiCall resize_worker_pool(std::string_view id, std::int64_t size) {
  Query q;
  q.add("size", std::to_string(size));
  return on_object("PUT", "/workerPools/provisioned/", id, "", RequestClass::kIdempotent, q);
}
ApiCall get_node_of_worker(std::string_view worker_id) {
  return read_object("/workerPools/workers/", worker_id, "/node");
}
ApiCall get_node(std::string_view id) {
  return read_object("/workerPools/nodes/", id);
}
ApiCall shut_down_node(std::string_view id) {
  return on_object("DELETE", "/workerPools/nodes/", id, "", RequestClass::kIdempotent);
}
ApiCall search_nodes(const NodeSearch& s, const Page& page) {
  Query q;
  q.add("workerPoolId", s.worker_pool_id)
      .add("workerTag", s.worker_tag)
      .add("instanceId", s.instance_id)
      .add_all("statuses", s.statuses);
  return search("/workerPools/nodes", std::move(q), page);
}

ApiCall create_work_requirement(const WorkRequirement& wr) {
  return call("POST", "/work/requirements", "POST /work/requirements", RequestClass::kCreate,
              Json(wr).dump());
}
ApiCall update_work_requirement(const WorkRequirement& wr) {
  // Appends groups: repeating it after a lost response could append twice, so it is treated as a create.
  return call("PUT", "/work/requirements", "PUT /work/requirements", RequestClass::kCreate, Json(wr).dump());
}
ApiCall get_work_requirement(std::string_view id) {
  return read_object("/work/requirements/", id);
}
ApiCall get_work_requirement_by_name(std::string_view ns, std::string_view name) {
  return call("GET",
              "/work/namespaces/" + encode_path_segment(ns) + "/requirements/" + encode_path_segment(name),
              "GET /work/namespaces/{namespace}/requirements/{name}", RequestClass::kRead);
}
ApiCall search_work_requirements(const WorkRequirementSearch& s, const Page& page) {
  Query q;
  q.add("namespace", s.namespace_).add("name", s.name).add("tag", s.tag).add_all("statuses", s.statuses);
  q.add("statusChangedTime.min", s.status_changed_time_min);
  q.add("sliced", "true");
  return search("/work/requirements", std::move(q), page);
}
ApiCall cancel_work_requirement(std::string_view id, bool abort) {
  return on_object("PUT", "/work/requirements/", id, "/transition/CANCELLING", RequestClass::kIdempotent,
                   abort_query(abort));
}

ApiCall add_tasks(std::string_view task_group_id, const std::vector<Task>& tasks) {
  return on_object("POST", "/work/taskGroups/", task_group_id, "/tasks", RequestClass::kCreate, {},
                   Json(tasks).dump());
}
ApiCall get_task(std::string_view id) {
  return read_object("/work/tasks/", id);
}
ApiCall search_tasks(const TaskSearch& s, const Page& page) {
  Query q;
  q.add("workRequirementId", s.work_requirement_id)
      .add("taskGroupId", s.task_group_id)
      .add("name", s.name)
      .add("tag", s.tag)
      .add_all("statuses", s.statuses)
      .add("finishedTime.min", s.finished_time_min)
      .add("startedTime.min", s.started_time_min);
  return search("/work/tasks", std::move(q), page);
}
ApiCall cancel_task(std::string_view id, bool abort) {
  return on_object("PUT", "/work/tasks/", id, "/cancel", RequestClass::kIdempotent, abort_query(abort));
}

ApiCall get_compute_requirement(std::string_view id) {
  return read_object("/compute/requirements/", id);
}
ApiCall terminate_compute_requirement(std::string_view id) {
  return on_object("PUT", "/compute/requirements/", id, "/transition/TERMINATED", RequestClass::kIdempotent);
}
ApiCall search_instances(const InstanceSearch& s, const Page& page) {
  Query q;
  q.add("computeRequirementId", s.compute_requirement_id).add_all("statuses", s.statuses);
  return search("/compute/instances", std::move(q), page);
}

ApiCall work_requirement_updates(std::string_view id) {
  return read_object("/work/requirements/", id, "/updates");
}
ApiCall worker_pool_updates(std::string_view id) {
  return read_object("/workerPools/", id, "/updates");
}
ApiCall compute_requirement_updates(std::string_view id) {
  return read_object("/compute/requirements/", id, "/updates");
}

}  // namespace calls

EncodedBody encode_body(const ApiCall& call, std::size_t gzip_threshold) {
  EncodedBody out;
  if (!call.body) return out;
  std::string_view path = call.target;
  bool work = path.substr(0, 6) == "/work/" || path == "/work";
  if (work && call.body->size() > gzip_threshold) {
    out.bytes = gzip_compress(*call.body);
    out.gzip = true;
  } else {
    out.bytes = *call.body;
  }
  return out;
}

}  // namespace raydog::yellowdog
