#pragma once
// A YellowDogApi decorator for fault-matrix tests (Beast fail_count style): counts every call and can
//  - fail the n-th call with HTTP 500 without forwarding it ("5xx"),
//  - forward the n-th call, then report it as a lost response ("lost": applied, outcome unknown),
//  - end the process right after the n-th call completed ("exit": a crash with no memory).
#include <unistd.h>
#include <atomic>
#include <cstdlib>
#include <memory>

#include "controller/yellowdog/api.hpp"

namespace raydog::test {

struct FaultPlan {
  enum class Mode { kNone, kServerError, kLostResponse, kExit } mode = Mode::kNone;
  int nth = 0;  // 1-based
};

class FaultyYellowDog final : public yellowdog::YellowDogApi {
 public:
  FaultyYellowDog(std::shared_ptr<yellowdog::YellowDogApi> inner, FaultPlan plan,
                  std::shared_ptr<int> counter)
      : inner_(std::move(inner)), plan_(plan), counter_(std::move(counter)) {}

  template <class T>
  using Async = yellowdog::Async<T>;

#define RAYDOG_FAULTY(Ret, name, Params, Args, op)                            \
  Async<Ret> name Params override {                                           \
    int n = ++*counter_;                                                      \
    if (plan_.mode == FaultPlan::Mode::kServerError && n == plan_.nth)        \
      co_return unexpected(injected(op, false));                              \
    auto r = co_await inner_->name Args;                                      \
    if (plan_.mode == FaultPlan::Mode::kExit && n == plan_.nth) ::_exit(137); \
    if (plan_.mode == FaultPlan::Mode::kLostResponse && n == plan_.nth)       \
      co_return unexpected(injected(op, true));                               \
    co_return r;                                                              \
  }

  RAYDOG_FAULTY(yellowdog::WorkerPool, provision_worker_pool, (yellowdog::ProvisionRequest a), (std::move(a)),
                "POST /workerPools/provisioned/template")
  RAYDOG_FAULTY(yellowdog::WorkerPool, get_worker_pool, (std::string a), (std::move(a)),
                "GET /workerPools/{id}")
  RAYDOG_FAULTY(yellowdog::WorkerPool, get_worker_pool_by_name, (std::string a, std::string b),
                (std::move(a), std::move(b)), "GET /workerPools/{ns}/{name}")
  RAYDOG_FAULTY(std::vector<yellowdog::WorkerPoolSummary>, search_worker_pools,
                (yellowdog::WorkerPoolSearch a), (std::move(a)), "GET /workerPools/")
  RAYDOG_FAULTY(Done, shut_down_worker_pool, (std::string a), (std::move(a)), "DELETE /workerPools/{id}")
  RAYDOG_FAULTY(yellowdog::WorkerPool, resize_worker_pool, (std::string a, std::int64_t b), (std::move(a), b),
                "PUT /workerPools/provisioned/{id}")
  RAYDOG_FAULTY(yellowdog::Node, get_node_of_worker, (std::string a), (std::move(a)),
                "GET /workerPools/workers/{id}/node")
  RAYDOG_FAULTY(yellowdog::Node, get_node, (std::string a), (std::move(a)), "GET /workerPools/nodes/{id}")
  RAYDOG_FAULTY(yellowdog::Node, shut_down_node, (std::string a), (std::move(a)),
                "DELETE /workerPools/nodes/{id}")
  RAYDOG_FAULTY(std::vector<yellowdog::Node>, search_nodes, (yellowdog::NodeSearch a), (std::move(a)),
                "GET /workerPools/nodes")
  RAYDOG_FAULTY(yellowdog::WorkRequirement, create_work_requirement, (yellowdog::WorkRequirement a),
                (std::move(a)), "POST /work/requirements")
  RAYDOG_FAULTY(yellowdog::WorkRequirement, update_work_requirement, (yellowdog::WorkRequirement a),
                (std::move(a)), "PUT /work/requirements")
  RAYDOG_FAULTY(yellowdog::WorkRequirement, get_work_requirement, (std::string a), (std::move(a)),
                "GET /work/requirements/{id}")
  RAYDOG_FAULTY(yellowdog::WorkRequirement, get_work_requirement_by_name, (std::string a, std::string b),
                (std::move(a), std::move(b)), "GET /work/namespaces/{ns}/requirements/{name}")
  RAYDOG_FAULTY(std::vector<yellowdog::WorkRequirementSummary>, search_work_requirements,
                (yellowdog::WorkRequirementSearch a), (std::move(a)), "GET /work/requirements")
  RAYDOG_FAULTY(yellowdog::WorkRequirement, cancel_work_requirement, (std::string a, bool b),
                (std::move(a), b), "PUT /work/requirements/{id}/transition/CANCELLING")
  RAYDOG_FAULTY(std::vector<yellowdog::Task>, add_tasks, (std::string a, std::vector<yellowdog::Task> b),
                (std::move(a), std::move(b)), "POST /work/taskGroups/{id}/tasks")
  RAYDOG_FAULTY(yellowdog::Task, get_task, (std::string a), (std::move(a)), "GET /work/tasks/{id}")
  RAYDOG_FAULTY(std::vector<yellowdog::Task>, search_tasks, (yellowdog::TaskSearch a), (std::move(a)),
                "GET /work/tasks")
  RAYDOG_FAULTY(yellowdog::Task, cancel_task, (std::string a, bool b), (std::move(a), b),
                "PUT /work/tasks/{id}/cancel")
  RAYDOG_FAULTY(yellowdog::ComputeRequirement, get_compute_requirement, (std::string a), (std::move(a)),
                "GET /compute/requirements/{id}")
  RAYDOG_FAULTY(yellowdog::ComputeRequirement, terminate_compute_requirement, (std::string a), (std::move(a)),
                "PUT /compute/requirements/{id}/transition/TERMINATED")
  RAYDOG_FAULTY(std::vector<yellowdog::Instance>, search_instances, (yellowdog::InstanceSearch a),
                (std::move(a)), "GET /compute/instances")
#undef RAYDOG_FAULTY

  Async<std::unique_ptr<yellowdog::UpdateStream<yellowdog::WorkRequirement>>> watch_work_requirement(
      std::string id) override {
    return inner_->watch_work_requirement(std::move(id));
  }
  Async<std::unique_ptr<yellowdog::UpdateStream<yellowdog::WorkerPool>>> watch_worker_pool(
      std::string id) override {
    return inner_->watch_worker_pool(std::move(id));
  }
  Async<std::unique_ptr<yellowdog::UpdateStream<yellowdog::ComputeRequirement>>> watch_compute_requirement(
      std::string id) override {
    return inner_->watch_compute_requirement(std::move(id));
  }

 private:
  static yellowdog::YdError injected(const char* op, bool lost) {
    yellowdog::YdError e;
    e.kind = lost ? yellowdog::YdErrorKind::kTransport : yellowdog::YdErrorKind::kServerError;
    e.http_status = lost ? 0 : 500;
    e.message = lost ? "injected: response lost" : "injected: HTTP 500";
    e.maybe_applied = lost;
    e.operation = op;
    return e;
  }

  std::shared_ptr<yellowdog::YellowDogApi> inner_;
  FaultPlan plan_;
  std::shared_ptr<int> counter_;
};

}  // namespace raydog::test
