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
  const Observed* observed = nullptr;
};

struct ActResult {
  ActOutcome outcome;
  std::optional<Millis> requeue_after;  // from a RequeueAfter action
  bool object_gone = false;             // RemoveFinalizer succeeded: the object may be deleted now
  int yellowdog_calls = 0;
};

net::awaitable<ActResult> act(ActContext ctx, Actions actions);

}  // namespace raydog::reconcile
