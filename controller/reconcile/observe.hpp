#pragma once
// observe: fills Observed (observed.hpp) from the cluster object, ConfigMaps and YellowDog, finding every
// YellowDog object by its deterministic name (never only by ids kept in status), so a crash between a create
// and the status write leads to adoption, never a duplicate.
//
// Cost (per reconcile; ObserveHints says what may be reused):
// - vouched (a steady Snapshot and a ChangeFeed that saw no change since it was read, change_feed.hpp):
//   nothing at all;
// - otherwise always: GET WR by name (the heartbeat: its task summary moves when any task changes state);
// - steady (a Snapshot whose WR fingerprint still matches): nothing else, one call in all;
// - otherwise: one task search for the whole WR; per live pool a GET by id, skipped for a pool that was
//   settled (RUNNING, all nodes registered) at this generation with no task ended since; its CR only when
//   the generation changed since it was read (or provisioned: our own create says the target); node and
//   instance lookups only for a head/observability task that is new or moved to another worker;
// - pools: the YellowDog namespace is listed once per cluster and process (never for a cluster with no
//   finalizer and no WR: nothing was created); afterwards by id, and by name only for pools plan may have
//   created that act did not report (a lost response).
// The reconciler passes no hints on a cluster's first observe in the process and every --resync-period:
// then everything is read again.
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
// The part of the fingerprint that moves when tasks end (finished counts per group, statuses).
std::string finished_signature(const yellowdog::WorkRequirement& wr);

// A pool and its CR as kept across reconciles (Snapshot, the process's pool index): only the fields plan
// and status read. A yellowdog::WorkerPool with its CR is ~1.2 KB before any string or unknown field; at
// 1,000 clusters x 3 pools, kept twice, that was most of the operator's memory.
struct PoolRecord {
  struct Cr {
    std::string id;
    std::string status;
    std::optional<std::int64_t> target_instance_count;
    yellowdog::ComputeRequirement observed() const;
  };
  std::string id, status, compute_requirement_id;
  bool provisioned = true;
  std::optional<std::string> name, namespace_, created_time, worker_tag;
  std::optional<std::int64_t> max_nodes;
  std::optional<std::int64_t> running_nodes;  // nodeSummary RUNNING (unset: no node summary)
  std::optional<Cr> cr;

  static PoolRecord of(const ObservedPool& pool);
  ObservedPool observed() const;
};

// A task as a Snapshot keeps it: what plan, status and the DALiuGE registrar read of an observed task (id,
// name, status, worker, start/finish times, errors, the kEnvironmentReadBack variables). A full
// yellowdog::Task is 648 bytes before its strings, environment map and unknown fields; kept for ~5 tasks
// per steady cluster it was the largest part of the operator's heap at 1,000 clusters.
struct TaskRecord {
  std::string id, name;  // empty: absent
  yellowdog::TaskStatus status;
  std::optional<std::string> worker_id, node_id, started_time, finished_time;
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<yellowdog::TaskError> errors;

  static TaskRecord of(const yellowdog::Task& task);
  yellowdog::Task observed() const;
};

// A previous full observation the reconciler may reuse in steady state.
struct Snapshot {
  std::int64_t generation = 0;
  int incarnation = 1;
  std::size_t fingerprint = 0;  // hash of fingerprint(WR): equality is all that is asked of it
  std::map<std::string, std::vector<TaskRecord>> tasks;  // by task group name
  std::vector<PoolRecord> pools;
  // When the work requirement was read (the reconcile's start: never later than the read), and the work
  // requirement itself when a ChangeFeed may vouch for it (trimmed: what plan, status and the extensions
  // read), so a vouched reconcile reads nothing at all. The reconciler keeps it only for a steady cluster
  // (plan's requeue is the steady one): a converging one waits for tasks to start, which the feed does not
  // report.
  TimePoint read_at{};
  std::optional<yellowdog::WorkRequirement> work_requirement;
  // The node addresses of the same observation are not repeated here: the reconciler keeps them
  // (KnownAddresses) for every cluster, snapshot or not.
};
// `keep_work_requirement`: also keep the (trimmed) work requirement, for a ChangeFeed's vouched reconciles.
Snapshot snapshot_of(const Observed& observed, TimePoint read_at = {}, bool keep_work_requirement = false);
// The work requirement without what no reader of a snapshot needs: ids, names, statuses and the groups'
// worker tags only (no task summaries: only observe's fingerprint reads them, and a vouched observe takes
// none; they were ~4 KB per cluster in maps and optionals, heaptrack at N=1000).
yellowdog::WorkRequirement trimmed(const yellowdog::WorkRequirement& wr);
// The snapshot's tasks and pools back into `observed`, as plan and status read them (observe's steady path).
void restore(const Snapshot& snapshot, Observed& observed);

// ConfigMap contents for every userDataFrom/startScriptFrom the spec refers to, into observed.sources.
// A missing ConfigMap/key is left out (plan reports it); other errors set observed.observe_error.
net::awaitable<void> observe_sources(kube::Api& kube, Observed& observed);

struct ObserveStats {
  int yellowdog_calls = 0;
  bool from_snapshot = false;
  bool vouched = false;  // from the snapshot without reading anything (hints.vouched)
};

// Head/observability node addresses resolved by an earlier observe; reused while the same task runs on
// the same worker (IP lookups cost two calls per node).
struct KnownAddresses {
  std::optional<NodeAddress> head;
  std::optional<NodeAddress> observability;
};

// What observe may reuse from earlier observations of the same cluster. All empty/false: read everything
// (the reconciler does that on a cluster's first observe in this process and every resync period).
struct ObserveHints {
  // Steady: one call when the WR fingerprint is unchanged. Used only with `addresses`, which must be
  // those of the snapshot's observation (the head and observability addresses it reuses).
  const Snapshot* snapshot = nullptr;
  const KnownAddresses* addresses = nullptr;  // node addresses of tasks still on the same worker
  bool reuse_settled_pools = false;           // settled pools and their CRs (see observe.cpp)
  // A ChangeFeed vouched that nothing changed since the snapshot was read: not even the work requirement
  // is read (the snapshot must hold it).
  bool vouched = false;
};

// Fills work_requirement, tasks, pools, head and observability from YellowDog. `observed.cluster` must be
// set (defaulted) and `observed.incarnation` derived from its status. An error sets observe_error (and
// NotAuthorised sets credentials.state).
net::awaitable<ObserveStats> observe_yellowdog(yellowdog::YellowDogApi& yd, Observed& observed,
                                               const ObserveHints& hints);

// Act provisioned `pool` for this cluster: the next observe fetches it by id instead of looking it up by
// name (when this process already knows the cluster's pools; otherwise the lookup finds it).
// `target_instance_count`: what the provision asked for (the CR's target; no read needed to compare it).
void remember_pool(const Observed& observed, const yellowdog::WorkerPool& pool,
                   std::optional<std::int64_t> target_instance_count);

// Act resized the pool `pool_id` of this cluster: its remembered CR is stale (the next observe reads it).
void forget_compute_requirement(const Observed& observed, const std::string& pool_id);

}  // namespace raydog::reconcile
