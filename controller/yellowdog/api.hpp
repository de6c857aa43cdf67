#pragma once
// The YellowDog operations a Ray cluster lifecycle needs (yellowdog-api.md §4.1), as an interface: the
// reconciler depends on YellowDogApi only, and its tests substitute a fake. YellowDogClient
// (client.hpp) is the implementation that talks HTTP to the platform (or to yellowdog-sim).
//
// Every operation is a coroutine returning a value or a YdError. Searches follow slices to the end.
// Parameters are taken by value: a coroutine outlives its caller's temporaries.
#include <utility>  // first: Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/util/result.hpp"
#include "controller/yellowdog/errors.hpp"
#include "controller/yellowdog/model.hpp"
#include "controller/yellowdog/requests.hpp"

namespace raydog::yellowdog {

template <class T>
using YdResult = Result<T, YdError>;
template <class T>
using Async = boost::asio::awaitable<YdResult<T>>;

// An application key. Comes from a Kubernetes Secret; never logged.
struct Credentials {
  std::string key_id;
  std::string key_secret;
};

// A `/updates` SSE stream (§4.1): each `entity_updated` event carries the full entity.
template <class T>
class UpdateStream {
 public:
  virtual ~UpdateStream() = default;
  // The next entity, nullopt when the server ended the stream. `idle_timeout` bounds the wait for the
  // next byte (0: unbounded); a timeout is a kTransport error and the stream should then be closed.
  virtual Async<std::optional<T>> next(std::chrono::milliseconds idle_timeout) = 0;
  virtual void close() = 0;
};

class YellowDogApi {
 public:
  virtual ~YellowDogApi() = default;

  // ---- worker pools (§4.2, §4.9, §4.10) ----
  // A create: never retried once it may have been applied (maybe_applied); resolve by name.
  virtual Async<WorkerPool> provision_worker_pool(ProvisionRequest request) = 0;
  virtual Async<WorkerPool> get_worker_pool(std::string id) = 0;
  virtual Async<WorkerPool> get_worker_pool_by_name(std::string ns, std::string name) = 0;
  virtual Async<std::vector<WorkerPoolSummary>> search_worker_pools(WorkerPoolSearch search) = 0;
  virtual Async<Done> shut_down_worker_pool(std::string id) = 0;
  virtual Async<WorkerPool> resize_worker_pool(std::string id, std::int64_t size) = 0;
  virtual Async<Node> get_node_of_worker(std::string worker_id) = 0;
  virtual Async<Node> get_node(std::string id) = 0;
  // DELETE /workerPools/nodes/{id}: graceful shutdown of exactly this node's VM (drained scale-down).
  virtual Async<Node> shut_down_node(std::string id) = 0;
  virtual Async<std::vector<Node>> search_nodes(NodeSearch search) = 0;

  // ---- work requirements, tasks (§4.3-§4.8) ----
  virtual Async<WorkRequirement> create_work_requirement(WorkRequirement wr) = 0;  // a create
  // PUT of the complete object (as fetched, groups appended); treated as a create (not repeated).
  virtual Async<WorkRequirement> update_work_requirement(WorkRequirement wr) = 0;
  virtual Async<WorkRequirement> get_work_requirement(std::string id) = 0;
  virtual Async<WorkRequirement> get_work_requirement_by_name(std::string ns, std::string name) = 0;
  virtual Async<std::vector<WorkRequirementSummary>> search_work_requirements(
      WorkRequirementSearch search) = 0;
  virtual Async<WorkRequirement> cancel_work_requirement(std::string id, bool abort) = 0;
  virtual Async<std::vector<Task>> add_tasks(std::string task_group_id,
                                             std::vector<Task> tasks) = 0;  // a create
  virtual Async<Task> get_task(std::string id) = 0;
  virtual Async<std::vector<Task>> search_tasks(TaskSearch search) = 0;
  virtual Async<Task> cancel_task(std::string id, bool abort) = 0;

  // ---- compute (§4.9, §4.10) ----
  virtual Async<ComputeRequirement> get_compute_requirement(std::string id) = 0;
  virtual Async<ComputeRequirement> terminate_compute_requirement(std::string id) = 0;
  virtual Async<std::vector<Instance>> search_instances(InstanceSearch search) = 0;

  // ---- update streams (§4.1) ----
  virtual Async<std::unique_ptr<UpdateStream<WorkRequirement>>> watch_work_requirement(std::string id) = 0;
  virtual Async<std::unique_ptr<UpdateStream<WorkerPool>>> watch_worker_pool(std::string id) = 0;
  virtual Async<std::unique_ptr<UpdateStream<ComputeRequirement>>> watch_compute_requirement(
      std::string id) = 0;

  // The server's clock: the `Date` of the latest answer (any status), nullopt before the first one or when
  // the server sends none. The observer starts its search windows from it, so they do not depend on this
  // machine's clock agreeing with YellowDog's.
  virtual std::optional<std::chrono::system_clock::time_point> server_time() const { return std::nullopt; }
};

}  // namespace raydog::yellowdog
