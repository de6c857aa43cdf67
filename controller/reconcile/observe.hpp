#pragma once
// observe: fills Observed (observed.hpp) from the cluster object, ConfigMaps and YellowDog, finding every
// YellowDog object by its deterministic name (never only by ids kept in status), so a crash between a create
// and the status write leads to adoption, never a duplicate.
//
// Cost: a full observe is GET WR by name + one task search per group + GET pool and CR per live pool + a
// node/instance lookup per executing head/observability task. The YellowDog namespace's pools are listed
// once per cluster and process (never for a cluster with no finalizer and no WR: nothing was created);
// afterwards the pools are fetched by id, and pools plan may have created since by name (observe.cpp). In steady state the
// reconciler passes the previous full observation as a Snapshot: observe then makes ONE call (GET WR by name)
// and reuses the rest when the WR's fingerprint (status, groups, taskSummary counts) is unchanged.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "controller/kube/rest.hpp"
#include "controller/reconcile/observed.hpp"
#include "controller/yellowdog/api.hpp"

namespace raydog::reconcile {

namespace net = boost::asio;

// Error classification (design §5).
Error classify(const yellowdog::YdError& e);
Error classify(const kube::ApiError& e);

// What the WR says about progress: status + every group's name/status/taskSummary counts. Equal
// fingerprints mean no task changed state since the snapshot.
std::string fingerprint(const yellowdog::WorkRequirement& wr);

// A previous full observation the reconciler may reuse in steady state.
struct Snapshot {
  std::int64_t generation = 0;
  int incarnation = 1;
  std::string fingerprint;
  TimePoint taken;
  std::map<std::string, std::vector<yellowdog::Task>> tasks;
  std::vector<ObservedPool> pools;
  std::optional<NodeAddress> head;
  std::optional<NodeAddress> observability;
};
Snapshot snapshot_of(const Observed& observed, TimePoint now);

// ConfigMap contents for every userDataFrom/startScriptFrom the spec refers to, into observed.sources.
// A missing ConfigMap/key is left out (plan reports it); other errors set observed.observe_error.
net::awaitable<void> observe_sources(kube::Api& kube, Observed& observed);

struct ObserveStats {
  int yellowdog_calls = 0;
  bool from_snapshot = false;
};

// Fills work_requirement, tasks, pools, head and observability from YellowDog. `observed.cluster` must be
// set (defaulted) and `observed.incarnation` derived from its status. An error sets observe_error (and
// NotAuthorised sets credentials.state).
net::awaitable<ObserveStats> observe_yellowdog(yellowdog::YellowDogApi& yd, Observed& observed,
                                               const Snapshot* snapshot);

}  // namespace raydog::reconcile
