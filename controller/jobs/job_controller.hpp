#pragma once
// The RayDogJob reconcile: observe (the job from the informer cache, its cluster from the API server, the
// job on the head's dashboard), plan (job_plan.hpp, pure), act (Kubernetes writes, the Jobs API), report
// (one status merge patch, guarded by the job's resourceVersion so a stale cache never writes an old
// attempt over a newer one).
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "controller/jobs/job_plan.hpp"
#include "controller/jobs/jobs_api.hpp"
#include "controller/kube/events.hpp"
#include "controller/kube/rest.hpp"
#include "controller/runtime/controller.hpp"

namespace raydog::jobs {

class JobController {
 public:
  using Lookup = std::function<std::optional<nlohmann::json>(const std::string&)>;
  using Now = std::function<TimePoint()>;

  JobController(kube::Api& kube, Lookup lookup, JobsApi& head, kube::EventRecorder& events,
                JobPlanOptions options = {}, Now now = [] { return Clock::now(); });

  boost::asio::awaitable<runtime::ReconcileOutcome> reconcile(std::string key);

 private:
  boost::asio::awaitable<std::optional<std::string>> observe(const nlohmann::json& object, JobObserved& o);
  // Runs the plan's actions in order; a failed one stops the rest (its message is returned).
  boost::asio::awaitable<std::optional<std::string>> act(const nlohmann::json& object, JobObserved& o,
                                                         JobPlan& plan);
  boost::asio::awaitable<std::optional<std::string>> write_status(const nlohmann::json& object,
                                                                  const api::RayDogJobStatus& status);
  void event(const nlohmann::json& object, const Event& e);

  kube::Api& kube_;
  Lookup lookup_;
  JobsApi& head_;
  kube::EventRecorder& events_;
  JobPlanOptions options_;
  Now now_;
};

}  // namespace raydog::jobs
