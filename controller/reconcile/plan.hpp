#pragma once
// plan: the pure decision of the reconciler. (observed state, now) -> the ordered actions that move
// YellowDog (and the resource's finalizer) one step towards the spec. Steps, in order (KubeRay style):
//   deletion -> validation gate -> credentials gate -> finalizer -> suspend -> incarnation / build timeout
//   -> sources gate -> pools -> WR + groups -> observability task -> head task -> worker tasks
//   -> obsolete groups/pools -> CR clean-up -> pacing
// Idempotent by construction: a create is planned only for something `observed` does not contain, so
// planning again on the state the actions produce plans no further create.
//
// view() is the shared analysis both plan and compute_status read (which pool/group/task plays which role
// now), so the two can never disagree about what they see.
#include <optional>
#include <string>
#include <vector>

#include "api/field_error.hpp"
#include "controller/reconcile/actions.hpp"
#include "controller/reconcile/desired.hpp"
#include "controller/reconcile/observed.hpp"

namespace raydog::reconcile {

// One node kind (head, observability, one worker pool) as observed now.
struct RoleView {
  RoleNames names;
  std::int64_t desired = 0;  // Ray nodes wanted (head/observability 1)
  const api::NodeSpec* node = nullptr;

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
  Deleting,
  InvalidSpec,
  NoCredentials,
  ObserveFailed,
  Suspended,
  Failed,   // build timeout or lifetime expired (View::failure), held until metadata.generation changes
  Running,  // converging or steady
};

// Why a cluster is Failed (held until metadata.generation changes).
enum class Failure {
  None,
  BuildTimeout,     // the head was not EXECUTING within spec.buildTimeout
  LifetimeExpired,  // spec.lifetime passed since the WR was created, or a task ended TIMED_OUT
};

struct View {
  ClusterNames names;  // of the incarnation to converge (after a bump)
  Lifecycle lifecycle = Lifecycle::Running;
  api::FieldErrors spec_errors;
  std::optional<std::string> source_error;  // a ConfigMap/key the spec refers to is missing
  bool has_finalizer = false;

  bool bump = false;                // the incarnation moves to names.incarnation (WR of the old one finished)
  Failure failure = Failure::None;  // set with Lifecycle::Failed
  bool build_timeout = false;       // detected now on a live WR (event + teardown)
  bool lifetime_expired = false;    // detected now on a live WR (event + teardown)
  bool wr_cancelling = false;       // the current WR is CANCELLING: wait before a new incarnation
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

// The spec's errors: observed.decode_errors (except paths under `status`: a status that does not decode
// is ours to rewrite, not the user's error), then api::validate's errors not about a field that already
// failed to decode. Non-empty -> Lifecycle::InvalidSpec: no YellowDog call at all.
api::FieldErrors spec_errors(const Observed& observed);

Actions plan(const Observed& observed, TimePoint now);

// True when YellowDog shows nothing of this cluster still running (WR finished or absent, every pool
// SHUTDOWN/TERMINATED, every observed CR TERMINATED): the condition to remove the finalizer.
bool torn_down(const Observed& observed);

}  // namespace raydog::reconcile
