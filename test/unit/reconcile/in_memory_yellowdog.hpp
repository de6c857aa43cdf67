#pragma once
// An in-process YellowDogApi for observe and act tests: objects kept in plain vectors the test seeds and
// inspects, every call logged (operation + its key argument), and a fault hook that answers a call with
// an error instead of applying it. Names are unique per (kind, namespace) and task names per group, as
// on the platform (yellowdog-api.md §1): a create with a taken name answers kAlreadyExists, so a test
// that runs something twice sees duplicates refused instead of silently stored.
//
// Not modelled: slices (a search returns everything), timing (pools, CRs and tasks stay in the status a
// test gives them until advance(); cancels, shutdowns and terminations jump to the final status; a WR
// cancel leaves its tasks alone), update streams (an error).
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/yellowdog/api.hpp"

namespace raydog::reconcile::testing {

class InMemoryYellowDog final : public yellowdog::YellowDogApi {
 public:
  template <class T>
  using Async = yellowdog::Async<T>;

  // ---- state (seed and inspect directly) ----
  std::vector<yellowdog::WorkerPool> pools;
  std::vector<yellowdog::ComputeRequirement> compute_requirements;
  std::vector<yellowdog::WorkRequirement> work_requirements;
  std::vector<yellowdog::Task> tasks;
  std::vector<yellowdog::Node> nodes;
  std::map<std::string, std::vector<yellowdog::Instance>> instances;  // by compute requirement id

  // ---- what the code under test asked for ----
  struct Call {
    std::string op;   // the method name, e.g. "get_worker_pool"
    std::string arg;  // its key argument (an id, a name, "ns/name"), empty for searches
  };
  std::vector<Call> calls;
  std::size_t count(std::string_view op) const;
  // Every request body of the creates and updates, in order (what reached "the platform").
  std::vector<yellowdog::ProvisionRequest> provision_requests;
  std::vector<yellowdog::WorkRequirement> work_requirement_writes;              // creates and PUTs
  std::vector<std::pair<std::string, std::int64_t>> resizes;                    // pool id, size
  std::vector<std::pair<std::string, std::vector<yellowdog::Task>>> task_adds;  // group id, tasks

  // Asked before a call is applied; an error returned is the answer (nothing applied, call logged).
  std::function<std::optional<yellowdog::YdError>(const Call&)> fault;
  // Convenience for `fault`: an HTTP 500 for every call of `op`.
  void fail_all(std::string op);
  // Asked after a create (provision, WR create/update, add tasks) was applied: true answers a transport
  // error with maybe_applied instead of the result (the response was lost on the way back).
  std::function<bool(const Call&)> lose_response;

  // Moves the platform on as if enough time had passed: every live pool RUNNING with all the nodes its
  // CR asks for (CR RUNNING), every waiting task EXECUTING on a new worker of a new node (private IP
  // 10.0.0.n, instance public IP 203.0.113.n) in the pool its group's worker tag names.
  void advance();

  // ---- seeding helpers ----
  // A RUNNING provisioned pool with its CR (target `nodes`) and `running` RUNNING nodes; returns the pool.
  yellowdog::WorkerPool& add_pool(const std::string& ns, const std::string& name, std::int64_t nodes,
                                  std::int64_t running);
  yellowdog::ComputeRequirement* compute_requirement(const std::string& id);
  yellowdog::WorkerPool* pool_named(const std::string& name);
  yellowdog::WorkRequirement* work_requirement_named(const std::string& name);
  std::vector<const yellowdog::Task*> tasks_in_group(const std::string& group_id) const;

  // ---- YellowDogApi ----
  Async<yellowdog::WorkerPool> provision_worker_pool(yellowdog::ProvisionRequest request) override;
  Async<yellowdog::WorkerPool> get_worker_pool(std::string id) override;
  Async<yellowdog::WorkerPool> get_worker_pool_by_name(std::string ns, std::string name) override;
  Async<std::vector<yellowdog::WorkerPoolSummary>> search_worker_pools(
      yellowdog::WorkerPoolSearch search) override;
  Async<Done> shut_down_worker_pool(std::string id) override;
  Async<yellowdog::WorkerPool> resize_worker_pool(std::string id, std::int64_t size) override;
  Async<yellowdog::Node> get_node_of_worker(std::string worker_id) override;
  Async<yellowdog::Node> get_node(std::string id) override;
  Async<std::vector<yellowdog::Node>> search_nodes(yellowdog::NodeSearch search) override;
  Async<yellowdog::Node> shut_down_node(std::string id) override;
  Async<yellowdog::WorkRequirement> create_work_requirement(yellowdog::WorkRequirement wr) override;
  Async<yellowdog::WorkRequirement> update_work_requirement(yellowdog::WorkRequirement wr) override;
  Async<yellowdog::WorkRequirement> get_work_requirement(std::string id) override;
  Async<yellowdog::WorkRequirement> get_work_requirement_by_name(std::string ns, std::string name) override;
  Async<std::vector<yellowdog::WorkRequirementSummary>> search_work_requirements(
      yellowdog::WorkRequirementSearch search) override;
  Async<yellowdog::WorkRequirement> cancel_work_requirement(std::string id, bool abort) override;
  Async<std::vector<yellowdog::Task>> add_tasks(std::string task_group_id,
                                                std::vector<yellowdog::Task> tasks) override;
  Async<yellowdog::Task> get_task(std::string id) override;
  Async<std::vector<yellowdog::Task>> search_tasks(yellowdog::TaskSearch search) override;
  Async<yellowdog::Task> cancel_task(std::string id, bool abort) override;
  Async<yellowdog::ComputeRequirement> get_compute_requirement(std::string id) override;
  Async<yellowdog::ComputeRequirement> terminate_compute_requirement(std::string id) override;
  Async<std::vector<yellowdog::Instance>> search_instances(yellowdog::InstanceSearch search) override;
  Async<std::unique_ptr<yellowdog::UpdateStream<yellowdog::WorkRequirement>>> watch_work_requirement(
      std::string id) override;
  Async<std::unique_ptr<yellowdog::UpdateStream<yellowdog::WorkerPool>>> watch_worker_pool(
      std::string id) override;
  Async<std::unique_ptr<yellowdog::UpdateStream<yellowdog::ComputeRequirement>>> watch_compute_requirement(
      std::string id) override;

 private:
  // Logs the call; the injected error, if any.
  std::optional<yellowdog::YdError> enter(std::string op, std::string arg);
  std::optional<yellowdog::YdError> lost();
  // The WR as the platform reports it: each group's taskSummary counted from `tasks`.
  yellowdog::WorkRequirement reported(yellowdog::WorkRequirement wr) const;
  std::string next_id(std::string_view kind);
  int next_id_ = 1;
};

// A YdError of `kind` for operation `op`, as the client would report it.
yellowdog::YdError yd_error(yellowdog::YdErrorKind kind, std::string op, std::string message = "injected");

}  // namespace raydog::reconcile::testing
