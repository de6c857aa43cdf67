#pragma once
// The HTTP shape of every YellowDog operation (yellowdog-api.md §4.1), as plain data: method, target,
// JSON body and how safe it is to repeat. Pure and Beast-free, so paths, query flattening (§3, §5.5) and
// body encoding (gzip over 2 KiB for /work/..., §2) are unit-tested without a socket.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/yellowdog/model.hpp"

namespace raydog::yellowdog {

// How safe a request is to repeat when its outcome is unknown (retry.hpp decides with it).
enum class RequestClass {
  kRead,        // GET: always safe to repeat
  kIdempotent,  // transitions, DELETE, resize: repeating converges on the same state
  kCreate,      // POST that creates, PUT of a WR that appends groups: never repeat blindly
};

struct ApiCall {
  std::string method;               // "GET", "POST", "PUT", "DELETE"
  std::string target;               // path + query, relative to the base URL
  std::string operation;            // "GET /work/requirements/{id}": for errors, logs and metrics
  std::optional<std::string> body;  // JSON text
  RequestClass request_class = RequestClass::kRead;
};

// Query parameters in order; lists become repeated keys (§3).
class Query {
 public:
  Query& add(std::string key, std::string value);
  Query& add(std::string key, const char* value) { return add(std::move(key), std::string(value)); }
  Query& add(std::string key, const std::optional<std::string>& value);
  Query& add_all(const std::string& key, const std::vector<std::string>& values);
  bool empty() const { return params_.empty(); }
  std::string encode() const;  // "a=1&b=x%20y" (no leading '?')

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// Percent-encodes a path segment; ':' stays literal because YDIDs are inserted verbatim (§2).
std::string encode_path_segment(std::string_view s);
std::string encode_query_component(std::string_view s);

// Search filters (§5.5). Empty/absent fields are not sent.
// Time ranges (§5.5: `field.min` / `field.max`) are timestamps in YellowDog's form (format_timestamp).
struct WorkRequirementSearch {
  std::optional<std::string> namespace_;  // sent as `namespace` (the form RayDog uses)
  std::optional<std::string> name, tag;
  std::vector<std::string> statuses;
  std::optional<std::string> status_changed_time_min;  // `statusChangedTime.min`
};
struct TaskSearch {
  std::optional<std::string> work_requirement_id, task_group_id, name, tag;
  std::vector<std::string> statuses;
  std::optional<std::string> finished_time_min;  // `finishedTime.min`; with no WR or group: the account's
  std::optional<std::string> started_time_min;   // `startedTime.min`, likewise
};
struct WorkerPoolSearch {
  std::optional<std::string> namespace_, name;
  std::vector<std::string> statuses;
};
struct NodeSearch {
  std::optional<std::string> worker_pool_id, worker_tag, instance_id;
  std::vector<std::string> statuses;
};
struct InstanceSearch {
  std::optional<std::string> compute_requirement_id;
  std::vector<std::string> statuses;
};

// Paging of a search: the slice to fetch (none: the first) and the page size (none: server default).
struct Page {
  std::optional<std::string> slice_id;
  std::optional<int> size;
};

namespace calls {
ApiCall provision_worker_pool(const ProvisionRequest& request);
ApiCall get_worker_pool(std::string_view id);
ApiCall get_worker_pool_by_name(std::string_view ns, std::string_view name);
ApiCall search_worker_pools(const WorkerPoolSearch& search, const Page& page);
ApiCall shut_down_worker_pool(std::string_view id);
ApiCall resize_worker_pool(std::string_view id, std::int64_t size);
ApiCall get_node_of_worker(std::string_view worker_id);
ApiCall get_node(std::string_view id);
ApiCall shut_down_node(std::string_view id);
ApiCall search_nodes(const NodeSearch& search, const Page& page);

ApiCall create_work_requirement(const WorkRequirement& wr);
ApiCall update_work_requirement(const WorkRequirement& wr);
ApiCall get_work_requirement(std::string_view id);
ApiCall get_work_requirement_by_name(std::string_view ns, std::string_view name);
ApiCall search_work_requirements(const WorkRequirementSearch& search, const Page& page);
ApiCall cancel_work_requirement(std::string_view id, bool abort);

ApiCall add_tasks(std::string_view task_group_id, const std::vector<Task>& tasks);
ApiCall get_task(std::string_view id);
ApiCall search_tasks(const TaskSearch& search, const Page& page);
ApiCall cancel_task(std::string_view id, bool abort);

ApiCall get_compute_requirement(std::string_view id);
ApiCall terminate_compute_requirement(std::string_view id);
ApiCall search_instances(const InstanceSearch& search, const Page& page);

ApiCall work_requirement_updates(std::string_view id);
ApiCall worker_pool_updates(std::string_view id);
ApiCall compute_requirement_updates(std::string_view id);
}  // namespace calls

// The bytes to send for a call: gzip-compressed (with Content-Encoding: gzip) when the path is under
// /work/ and the body is larger than `gzip_threshold` bytes, as the official SDK does.
struct EncodedBody {
  std::string bytes;
  bool gzip = false;
};
EncodedBody encode_body(const ApiCall& call, std::size_t gzip_threshold = 2048);

}  // namespace raydog::yellowdog
