#pragma once
// view: the shared analysis of an observation. Which lifecycle the cluster is in (deleting, invalid,
// suspended, failed, running), which incarnation to converge, and for every node kind (head,
// observability, each worker pool) which pool attempt, task group attempt and task play that role now.
//
// plan and compute_status both read it, so they can never disagree about what they see. Observe picks
// the head/observability task to resolve an address for by the same rule (current_task(), desired.hpp);
// view ignores an address that does not belong to the task it chose.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/field_error.hpp"
#include "controller/reconcile/desired.hpp"
#include "controller/reconcile/observed.hpp"
#include "controller/reconcile/spec_errors.hpp"

namespace raydog::reconcile {

// One node kind (head, observability, one worker pool) as observed now.
struct RoleView {
  RoleNames names;
  std::int64_t desired = 0;  // Ray nodes wanted: desired_nodes() for a worker pool, 1 for head/observability
  const api::NodeSpec* node = nullptr;
  const api::WorkerPoolSpec* pool_spec = nullptr;  // worker pools only

  const ObservedPool* pool = nullptr;  // the live pool attempt of the current revision
  int max_pool_attempt = 0;            // highest attempt seen (live or finished)

  const yellowdog::TaskGroup* group = nullptr;  // the live group attempt in the WR
  std::string group_name;                       // that group's name, or the one to create
  bool group_missing = true;                    // group_name is not in the WR yet

  std::vector<const yellowdog::Task*> tasks;    // tasks of the current group
  std::vector<const yellowdog::Task*> history;  // tasks of every group attempt (backoff, failures)
  std::int64_t live = 0, executing = 0, failed = 0;

  // Replacement backoff after failed tasks (derived from the tasks' finish times: crash-safe, no memory).
  int consecutive_failures = 0;
  std::optional<TimePoint> backoff_until;
  std::string last_error;  // the latest failed task's error text
};

enum class Lifecycle {
  kDeleting,
  kInvalidSpec,
  kApiUrlNotAllowed,  // spec.yellowdog.apiURL is not in --yellowdog-allowed-urls
  kNoCredentials,
  kObserveFailed,
  kSuspended,
  kFailed,   // build timeout or lifetime expired (View::failure), held until metadata.generation changes
  kRunning,  // converging or steady
};

// Why a cluster is Failed (held until metadata.generation changes).
enum class Failure {
  kNone,
  kBuildTimeout,     // the head was not EXECUTING within spec.buildTimeout
  kLifetimeExpired,  // spec.lifetime passed since the WR was created, or a task ended TIMED_OUT
};

struct View {
  ClusterNames names;  // of the incarnation to converge (after a bump)
  Lifecycle lifecycle = Lifecycle::kRunning;
  api::FieldErrors spec_errors;
  std::optional<std::string> source_error;  // a ConfigMap/key the spec refers to is missing
  bool has_finalizer = false;

  bool bump = false;  // the incarnation moves to names.incarnation (WR of the old one finished)
  Failure failure = Failure::kNone;  // set with Lifecycle::kFailed
  bool build_timeout = false;        // detected now on a live WR (event + teardown)
  bool lifetime_expired = false;     // detected now on a live WR (event + teardown)
  bool wr_cancelling = false;        // the current WR is CANCELLING: wait before a new incarnation
  const yellowdog::WorkRequirement* wr = nullptr;  // current incarnation's WR (null after a bump)

  std::optional<RoleView> head;
  std::optional<RoleView> observability;
  std::vector<RoleView> workers;

  const yellowdog::Task* head_task = nullptr;  // current head task
  std::optional<std::string> head_ip, head_public_ip;
  const yellowdog::Task* observability_task = nullptr;
  std::optional<std::string> observability_ip, observability_public_ip;
};

View view(const Observed& observed, TimePoint now);

// Facts about observed YellowDog objects that view, plan and torn_down() share.
bool pool_live(const ObservedPool& p);  // not SHUTDOWN/TERMINATED
// The pool's compute requirement is TERMINATED/TERMINATING (or, without it, the pool says so).
bool cr_done(const ObservedPool& p);
// Neither finished nor CANCELLING: cancelling it is still needed.
bool wr_alive(const yellowdog::WorkRequirement& wr);
// The node observe resolved for task `t` is LOST/DEREGISTERED/TERMINATED.
bool node_gone(const std::optional<NodeAddress>& address, const yellowdog::Task* t);

}  // namespace raydog::reconcile
