#include "controller/yellowdog/requests.hpp"

#include <zlib.h>

#include <cctype>
#include <stdexcept>

namespace raydog::yellowdog {
namespace {

std::string percent_encode(std::string_view s, std::string_view keep) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        keep.find(c) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string seg(std::string_view s) {
  return encode_path_segment(s);
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

std::string with_query(std::string path, const Query& q) {
  if (q.empty()) return path;
  return path + "?" + q.encode();
}

void add_page(Query& q, const Page& page) {
  if (page.size) q.add("size", std::to_string(*page.size));
  q.add("sliceId", page.slice_id);
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
  return percent_encode(s, ":");
}
std::string encode_query_component(std::string_view s) {
  return percent_encode(s, ":");
}

namespace calls {

ApiCall provision_worker_pool(const ProvisionRequest& request) {
  return call("POST", "/workerPools/provisioned/template", "POST /workerPools/provisioned/template",
              RequestClass::kCreate, Json(request).dump());
}
ApiCall get_worker_pool(std::string_view id) {
  return call("GET", "/workerPools/" + seg(id), "GET /workerPools/{id}", RequestClass::kRead);
}
ApiCall get_worker_pool_by_name(std::string_view ns, std::string_view name) {
  return call("GET", "/workerPools/" + seg(ns) + "/" + seg(name), "GET /workerPools/{namespace}/{name}",
              RequestClass::kRead);
}
ApiCall search_worker_pools(const WorkerPoolSearch& s, const Page& page) {
  Query q;
  q.add("namespace", s.namespace_).add("name", s.name).add_all("statuses", s.statuses).add("sliced", "true");
  add_page(q, page);
  return call("GET", with_query("/workerPools/", q), "GET /workerPools/", RequestClass::kRead);
}
ApiCall shut_down_worker_pool(std::string_view id) {
  return call("DELETE", "/workerPools/" + seg(id), "DELETE /workerPools/{id}", RequestClass::kIdempotent);
}
ApiCall resize_worker_pool(std::string_view id, std::int64_t size) {
  Query q;
  q.add("size", std::to_string(size));
  return call("PUT", with_query("/workerPools/provisioned/" + seg(id), q),
              "PUT /workerPools/provisioned/{id}", RequestClass::kIdempotent);
}
ApiCall get_node_of_worker(std::string_view worker_id) {
  return call("GET", "/workerPools/workers/" + seg(worker_id) + "/node", "GET /workerPools/workers/{id}/node",
              RequestClass::kRead);
}
ApiCall get_node(std::string_view id) {
  return call("GET", "/workerPools/nodes/" + seg(id), "GET /workerPools/nodes/{id}", RequestClass::kRead);
}
ApiCall search_nodes(const NodeSearch& s, const Page& page) {
  Query q;
  q.add("workerPoolId", s.worker_pool_id)
      .add("workerTag", s.worker_tag)
      .add("instanceId", s.instance_id)
      .add_all("statuses", s.statuses);
  add_page(q, page);
  return call("GET", with_query("/workerPools/nodes", q), "GET /workerPools/nodes", RequestClass::kRead);
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
  return call("GET", "/work/requirements/" + seg(id), "GET /work/requirements/{id}", RequestClass::kRead);
}
ApiCall get_work_requirement_by_name(std::string_view ns, std::string_view name) {
  return call("GET", "/work/namespaces/" + seg(ns) + "/requirements/" + seg(name),
              "GET /work/namespaces/{namespace}/requirements/{name}", RequestClass::kRead);
}
ApiCall search_work_requirements(const WorkRequirementSearch& s, const Page& page) {
  Query q;
  q.add("namespace", s.namespace_).add("name", s.name).add("tag", s.tag).add_all("statuses", s.statuses);
  q.add("sliced", "true");
  add_page(q, page);
  return call("GET", with_query("/work/requirements", q), "GET /work/requirements", RequestClass::kRead);
}
ApiCall cancel_work_requirement(std::string_view id, bool abort) {
  Query q;
  q.add("abort", abort ? "true" : "false");
  return call("PUT", with_query("/work/requirements/" + seg(id) + "/transition/CANCELLING", q),
              "PUT /work/requirements/{id}/transition/CANCELLING", RequestClass::kIdempotent);
}

ApiCall add_tasks(std::string_view task_group_id, const std::vector<Task>& tasks) {
  return call("POST", "/work/taskGroups/" + seg(task_group_id) + "/tasks", "POST /work/taskGroups/{id}/tasks",
              RequestClass::kCreate, Json(tasks).dump());
}
ApiCall get_task(std::string_view id) {
  return call("GET", "/work/tasks/" + seg(id), "GET /work/tasks/{id}", RequestClass::kRead);
}
ApiCall search_tasks(const TaskSearch& s, const Page& page) {
  Query q;
  q.add("workRequirementId", s.work_requirement_id)
      .add("taskGroupId", s.task_group_id)
      .add("name", s.name)
      .add("tag", s.tag)
      .add_all("statuses", s.statuses);
  add_page(q, page);
  return call("GET", with_query("/work/tasks", q), "GET /work/tasks", RequestClass::kRead);
}
ApiCall cancel_task(std::string_view id, bool abort) {
  Query q;
  q.add("abort", abort ? "true" : "false");
  return call("PUT", with_query("/work/tasks/" + seg(id) + "/cancel", q), "PUT /work/tasks/{id}/cancel",
              RequestClass::kIdempotent);
}

ApiCall get_compute_requirement(std::string_view id) {
  return call("GET", "/compute/requirements/" + seg(id), "GET /compute/requirements/{id}",
              RequestClass::kRead);
}
ApiCall terminate_compute_requirement(std::string_view id) {
  return call("PUT", "/compute/requirements/" + seg(id) + "/transition/TERMINATED",
              "PUT /compute/requirements/{id}/transition/TERMINATED", RequestClass::kIdempotent);
}
ApiCall search_instances(const InstanceSearch& s, const Page& page) {
  Query q;
  q.add("computeRequirementId", s.compute_requirement_id).add_all("statuses", s.statuses);
  add_page(q, page);
  return call("GET", with_query("/compute/instances", q), "GET /compute/instances", RequestClass::kRead);
}

ApiCall work_requirement_updates(std::string_view id) {
  return call("GET", "/work/requirements/" + seg(id) + "/updates", "GET /work/requirements/{id}/updates",
              RequestClass::kRead);
}
ApiCall worker_pool_updates(std::string_view id) {
  return call("GET", "/workerPools/" + seg(id) + "/updates", "GET /workerPools/{id}/updates",
              RequestClass::kRead);
}
ApiCall compute_requirement_updates(std::string_view id) {
  return call("GET", "/compute/requirements/" + seg(id) + "/updates",
              "GET /compute/requirements/{id}/updates", RequestClass::kRead);
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

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  // windowBits 15 + 16: gzip header and trailer instead of zlib's.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

std::optional<std::string> gzip_decompress(std::string_view data, std::size_t limit) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return std::nullopt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > limit) break;
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) break;  // truncated input
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || out.size() > limit) return std::nullopt;
  return out;
}

}  // namespace raydog::yellowdog
