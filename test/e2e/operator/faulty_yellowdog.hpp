#pragma once
// A YellowDogApi decorator for fault-matrix tests (Beast fail_count style): counts every call and can
//  - fail the n-th call with HTTP 500 without forwarding it ("5xx"),
//  - forward the n-th call, then report it as a lost response ("lost": applied, outcome unknown),
//  - end the process right after the n-th call completed ("exit": a crash with no memory).
// With `record` set it also reports every call, before it is made, with the object it concerns (an id, a
// name; "ns:<namespace>" or "account:" for a search across a namespace or the whole account), so a test can
// tell which clusters a process touched.
#include <unistd.h>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "controller/yellowdog/api.hpp"

namespace raydog::test {

struct FaultPlan {
  enum class Mode { kNone, kServerError, kLostResponse, kExit } mode = Mode::kNone;
  int nth = 0;  // 1-based
};

// (operation, subject): what a YellowDog call concerns.
using YdCallRecorder = std::function<void(const char* op, const std::string& subject)>;

class FaultyYellowDog final : public yellowdog::YellowDogApi {
 public:
  FaultyYellowDog(std::shared_ptr<yellowdog::YellowDogApi> inner, FaultPlan plan,
                  std::shared_ptr<int> counter, YdCallRecorder record = nullptr)
      : inner_(std::move(inner)), plan_(plan), counter_(std::move(counter)), record_(std::move(record)) {}

  template <class T>
  using Async = yellowdog::Async<T>;

#define RAYDOG_FAULTY(Ret, name, Params, Args, op, subject)                   \
  Async<Ret> name Params override {                                           \
    if (record_) record_(op, subject);                                        \
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
                "POST /workerPools/provisioned/template", a.requirement_template_usage.requirement_name)
  RAYDOG_FAULTY(yellowdog::WorkerPool, get_worker_pool, (std::string a), (std::move(a)),
                "GET /workerPools/{id}", a)
  RAYDOG_FAULTY(yellowdog::WorkerPool, get_worker_pool_by_name, (std::string a, std::string b),
                (std::move(a), std::move(b)), "GET /workerPools/{ns}/{name}", b)
  RAYDOG_FAULTY(std::vector<yellowdog::WorkerPoolSummary>, search_worker_pools,
                (yellowdog::WorkerPoolSearch a), (std::move(a)), "GET /workerPools/",
                std::string(a.name ? *a.name : "ns:" + a.namespace_.value_or("")))
  RAYDOG_FAULTY(Done, shut_down_worker_pool, (std::string a), (std::move(a)), "DELETE /workerPools/{id}", a)
  RAYDOG_FAULTY(yellowdog::WorkerPool, resize_worker_pool, (std::string a, std::int64_t b), (std::move(a), b),
                "PUT /workerPools/provisioned/{id}", a)
  RAYDOG_FAULTY(yellowdog::Node, get_node_of_worker, (std::string a), (std::move(a)),
                "GET /workerPools/workers/{id}/node", a)
  RAYDOG_FAULTY(yellowdog::Node, get_node, (std::string a), (std::move(a)), "GET /workerPools/nodes/{id}", a)
  RAYDOG_FAULTY(yellowdog::Node, shut_down_node, (std::string a), (std::move(a)),
                "DELETE /workerPools/nodes/{id}", a)
  RAYDOG_FAULTY(std::vector<yellowdog::Node>, search_nodes, (yellowdog::NodeSearch a), (std::move(a)),
                "GET /workerPools/nodes",
                std::string(a.worker_pool_id ? *a.worker_pool_id
                            : a.instance_id  ? *a.instance_id
                                             : a.worker_tag.value_or("")))
  RAYDOG_FAULTY(yellowdog::WorkRequirement, create_work_requirement, (yellowdog::WorkRequirement a),
                (std::move(a)), "POST /work/requirements", a.name)
  RAYDOG_FAULTY(yellowdog::WorkRequirement, update_work_requirement, (yellowdog::WorkRequirement a),
                (std::move(a)), "PUT /work/requirements", a.name)
  RAYDOG_FAULTY(yellowdog::WorkRequirement, get_work_requirement, (std::string a), (std::move(a)),
                "GET /work/requirements/{id}", a)
  RAYDOG_FAULTY(yellowdog::WorkRequirement, get_work_requirement_by_name, (std::string a, std::string b),
                (std::move(a), std::move(b)), "GET /work/namespaces/{ns}/requirements/{name}", b)
  RAYDOG_FAULTY(std::vector<yellowdog::WorkRequirementSummary>, search_work_requirements,
                (yellowdog::WorkRequirementSearch a), (std::move(a)), "GET /work/requirements",
                std::string(a.name  ? *a.name
                            : a.tag ? *a.tag
                                    : "ns:" + a.namespace_.value_or("")))
  RAYDOG_FAULTY(yellowdog::WorkRequirement, cancel_work_requirement, (std::string a, bool b),
                (std::move(a), b), "PUT /work/requirements/{id}/transition/CANCELLING", a)
  RAYDOG_FAULTY(std::vector<yellowdog::Task>, add_tasks, (std::string a, std::vector<yellowdog::Task> b),
                (std::move(a), std::move(b)), "POST /work/taskGroups/{id}/tasks", a)
  RAYDOG_FAULTY(yellowdog::Task, get_task, (std::string a), (std::move(a)), "GET /work/tasks/{id}", a)
  RAYDOG_FAULTY(std::vector<yellowdog::Task>, search_tasks, (yellowdog::TaskSearch a), (std::move(a)),
                "GET /work/tasks",
                std::string(a.work_requirement_id ? *a.work_requirement_id
                            : a.task_group_id     ? *a.task_group_id
                                                  : a.name.value_or("account:")))
  RAYDOG_FAULTY(yellowdog::Task, cancel_task, (std::string a, bool b), (std::move(a), b),
                "PUT /work/tasks/{id}/cancel", a)
  RAYDOG_FAULTY(yellowdog::ComputeRequirement, get_compute_requirement, (std::string a), (std::move(a)),
                "GET /compute/requirements/{id}", a)
  RAYDOG_FAULTY(yellowdog::ComputeRequirement, terminate_compute_requirement, (std::string a), (std::move(a)),
                "PUT /compute/requirements/{id}/transition/TERMINATED", a)
  RAYDOG_FAULTY(std::vector<yellowdog::Instance>, search_instances, (yellowdog::InstanceSearch a),
                (std::move(a)), "GET /compute/instances", a.compute_requirement_id.value_or(""))
#undef RAYDOG_FAULTY

  Async<std::unique_ptr<yellowdog::UpdateStream<yellowdog::WorkRequirement>>> watch_work_requirement(
      std::string id) override {
    if (record_) record_("GET /updates", id);
    return inner_->watch_work_requirement(std::move(id));
  }
  Async<std::unique_ptr<yellowdog::UpdateStream<yellowdog::WorkerPool>>> watch_worker_pool(
      std::string id) override {
    if (record_) record_("GET /updates", id);
    return inner_->watch_worker_pool(std::move(id));
  }
  Async<std::unique_ptr<yellowdog::UpdateStream<yellowdog::ComputeRequirement>>> watch_compute_requirement(
      std::string id) override {
    if (record_) record_("GET /updates", id);
    return inner_->watch_compute_requirement(std::move(id));
  }
  std::optional<std::chrono::system_clock::time_point> server_time() const override { return inner_->server_time(); }

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
  YdCallRecorder record_;
};

}  // namespace raydog::test
