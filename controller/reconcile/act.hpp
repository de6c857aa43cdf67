#pragma once
// act: executes plan's actions in order through the YellowDog and Kubernetes interfaces and stops at the
// first failure (actions.hpp). Idempotent by design:
// - creates are never repeated blindly: a create whose outcome is unknown (5xx, timeout, lost response)
//   stops the list with a Transient error; the next observe finds the object by name and adopts it;
// - "already exists" on a create, "not found" on a shutdown/terminate/cancel and an invalid status
//   transition on a cancel of something already finished are success (the desired end state holds);
// - Kubernetes writes carry the resourceVersion observed, so a 409 means "requeue and look again".
// Events are best-effort: a failure to post one is logged, never fails the reconcile.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "controller/kube/events.hpp"
#include "controller/kube/rest.hpp"
#include "controller/reconcile/actions.hpp"
#include "controller/runtime/log.hpp"
#include "controller/yellowdog/api.hpp"

namespace raydog::reconcile {

namespace net = boost::asio;

// Where act's Events go. Best-effort: emit never fails and never blocks the reconcile.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(const api::RayDogCluster& cluster, const std::string& type, const std::string& reason,
                    const std::string& message) = 0;
};

// core/v1 Events through kube::EventRecorder (involvedObject with uid, aggregated repeats).
class RecorderEventSink final : public EventSink {
 public:
  explicit RecorderEventSink(kube::EventRecorder& recorder) : recorder_(recorder) {}
  void emit(const api::RayDogCluster& cluster, const std::string& type, const std::string& reason,
            const std::string& message) override;

 private:
  kube::EventRecorder& recorder_;
};

struct ActContext {
  kube::Api& kube;
  yellowdog::YellowDogApi* yd = nullptr;  // null when the credentials are not usable (plan plans no YD call)
  EventSink* events = nullptr;
  log::Logger log;
  // The cluster as observed (metadata.resourceVersion guards finalizer patches).
  const api::RayDogCluster* cluster = nullptr;
  // Read only (the WR's task group ids): act never edits what was observed, it reports what it learned.
  const Observed* observed = nullptr;
};

// A pool act provisioned, with the CR target its create asked for (no read needed to compare it).
struct ProvisionedPool {
  yellowdog::WorkerPool pool;
  std::optional<std::int64_t> target_instance_count;
};

struct ActResult {
  ActOutcome outcome;
  std::optional<Millis> requeue_after;  // from a RequeueAfter action
  bool until_tasks_start = false;       // its RequeueAfter::until_tasks_start
  bool object_gone = false;             // RemoveFinalizer succeeded: the object may be deleted now
  int yellowdog_calls = 0;
  // What act learned that the next observe should know (the reconciler applies it: apply_learned).
  std::vector<ProvisionedPool> provisioned;  // pools created (found by id from now on)
  std::vector<std::string> resized_pools;    // ids of pools whose CR target changed (or may have: a
                                             // resize whose answer was lost)
};

net::awaitable<ActResult> act(ActContext ctx, Actions actions);

// A merge patch of `cluster` (subresource "" or "status") carrying nothing but `patch`. The one place
// that spells out the call with named arguments: GCC 12 double-destroys class prvalues passed into a
// coroutine call. Pass named variables here too.
net::awaitable<Result<nlohmann::json, kube::ApiError>> patch_cluster(kube::Api& kube,
                                                                     const api::RayDogCluster& cluster,
                                                                     const nlohmann::json& patch,
                                                                     const std::string& subresource);

}  // namespace raydog::reconcile
