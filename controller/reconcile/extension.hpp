#pragma once
// The extension seam: how capabilities beyond "RayDogCluster -> YellowDog objects" (DALiuGE membership
// today; a Ray head client and an autoscaler next) take part in a reconcile without reconcile/ knowing
// them. The loop stays one straight line and calls every extension at fixed points (reconciler.cpp):
//
//   lookup, decode, validate ── begin() per extension ─┬─ side_work_due()? ── side_work() ── status write
//                                                      │                     (paced: nothing else runs)
//                                                      └─ otherwise:
//   credentials ── (a0) start_reads ── observe YellowDog ── (a) observe (collects what a0 started)
//   (b) adjust_desired ── plan ── (c) adjust_actions ── act ── apply what act learned
//   compute_status ── (d) contribute_status ── readiness gates ── status write ── requeue (pace()) ;
//   (g) finalize() before act when the plan removes the finalizer; deleted: (f) forget()
//
// Per-reconcile state lives in the ExtensionPass begin() returns, so an extension needs no map keyed by
// reconcile; what it keeps across reconciles (caches, pacing) it keeps per cluster key and drops in
// forget(). Extensions report YellowDog calls and Events through ExtensionReport; the loop counts the calls
// in ReconcileResult (and so in raydog_yellowdog_calls_total) and emits the Events on the cluster.
//
// Cost rule: begin() returning null (the extension has no part in this cluster) allocates nothing, so a
// steady reconcile of a cluster no extension is involved with costs what it cost without the seam.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.hpp"
#include "controller/reconcile/actions.hpp"
#include "controller/reconcile/observed.hpp"
#include "controller/runtime/log.hpp"

namespace raydog::yellowdog {
class YellowDogApi;
}

namespace raydog::reconcile {

namespace net = boost::asio;

struct ExtensionEvent {
  std::string type;  // Normal | Warning
  std::string reason;
  std::string message;
};

// What an extension did that the loop accounts for.
struct ExtensionReport {
  int yellowdog_calls = 0;
  std::vector<ExtensionEvent> events;  // emitted on the cluster by the loop, in order
};

// The reconcile in progress, as every hook sees it. Built once per reconcile by the loop; `yd` is set
// once the credentials were read (null before, and when they are not usable). An extension that needs
// other clients (Kubernetes, a Ray head) gets them from the wiring when it is constructed.
struct ReconcileScope {
  const std::string& key;             // "namespace/name"
  const api::RayDogCluster& cluster;  // decoded and defaulted; cluster.status is the previous status
  bool valid = false;                 // spec_errors() was empty (computed once, by the loop)
  TimePoint now;
  const log::Logger& log;
  yellowdog::YellowDogApi* yd = nullptr;
  ExtensionReport& report;
};

// One extension's part in one reconcile. Every hook has a default that does nothing.
class ExtensionPass {
 public:
  virtual ~ExtensionPass() = default;

  // (e) Paced side work between full reconciles. Asked first, before credentials: a value means this
  // reconcile may be side work only (no YellowDog observe, plan or act); the loop then runs side_work()
  // of every pass that asked, writes the status if it changed, and requeues after the shortest value.
  virtual std::optional<Millis> side_work_due(const ReconcileScope&) { return std::nullopt; }
  // `status` starts as the previous status; change only what this extension owns.
  virtual net::awaitable<void> side_work(const ReconcileScope&, api::RayDogClusterStatus& /*status*/) {
    co_return;
  }

  // (a0) Start reads that need nothing from this reconcile's YellowDog read, so that they run while
  // YellowDog is read and observe() collects them: a steady reconcile then waits for the slower of the
  // two reads, not for their sum (the Ray view reads the head's GCS at the address it used last time).
  // Called once the credentials were read, before YellowDog is observed. What it starts must own its
  // state: the pass may end (an observe error) before the read does.
  virtual net::awaitable<void> start_reads(const ReconcileScope&) { co_return; }

  // (a) Observe extra state (may do I/O: a Ray head client reading Ray node states). Called only when
  // YellowDog was observed in this reconcile (scope.yd set, no observe error).
  virtual net::awaitable<void> observe(const ReconcileScope&, const Observed&) { co_return; }

  // (b) Adjust what plan reads before it runs (an autoscaler setting per-pool desired node counts).
  virtual void adjust_desired(const ReconcileScope&, Observed&) {}

  // (c) Contribute or rewrite actions after plan and before act (may do I/O: DALiuGE decorates tasks and
  // deregisters NMs before their tasks go; a Ray head client may choose which workers a CancelTasks
  // removes, drain them first, and replace the cancel by a RequeueAfter to finish it later). Called only
  // when YellowDog was observed in this reconcile.
  virtual net::awaitable<void> adjust_actions(const ReconcileScope&, const Observed&, Actions&) { co_return; }

  // (d) Contribute status fields and conditions (pure), after compute_status. The previous status is
  // scope.cluster.status (keep a condition's lastTransitionTime while its status is unchanged).
  virtual void contribute_status(const ReconcileScope&, const Observed&, api::RayDogClusterStatus&) {}

  // Conditions (set by contribute_status) that Ready requires, like a Pod's readinessGates: the loop
  // applies them after every extension contributed (apply_readiness_gates() in status.hpp).
  virtual std::vector<std::string_view> readiness_gates() const { return {}; }

  // (g) The finalizer is about to go (plan ended in RemoveFinalizer: every deletion path, Orphan included,
  // whether or not YellowDog was observed): remove what this extension made outside YellowDog (the head
  // Service), so nothing outlives the resource. Called before act.
  virtual net::awaitable<void> finalize(const ReconcileScope&) { co_return; }

  // After a successful full reconcile that asks for `requeue`: the requeue this extension needs (e.g.
  // shorter, to run side work before the next full reconcile). The loop takes the shortest.
  virtual Millis pace(const ReconcileScope&, Millis requeue) { return requeue; }
};

class Extension {
 public:
  virtual ~Extension() = default;
  virtual std::string_view name() const = 0;

  // This extension's pass for the reconcile `scope`, or null when it has no part in this cluster (then
  // withdraw_status() runs instead of contribute_status()).
  virtual std::unique_ptr<ExtensionPass> begin(const ReconcileScope& scope) = 0;

  // Not involved in this reconcile: remove the status fields and conditions this extension owns, so
  // turning it off for a cluster clears what it reported before. Pure.
  virtual void withdraw_status(api::RayDogClusterStatus&) const {}

  // (f) The cluster `key` was deleted: drop everything kept for it.
  virtual void forget(const std::string& key) = 0;
};

// The extensions a Reconciler calls, in order (owned by the wiring, which outlives the reconciler).
using Extensions = std::vector<Extension*>;

}  // namespace raydog::reconcile
