#pragma once
// What `observe` (loop) hands to `plan` and `compute_status` (core): everything the pure functions need to
// decide, with no I/O left to do. The contract between the two halves of the reconciler: observe fills it,
// plan/status only read it.
//
// How observe finds things (all by deterministic names, desired.hpp says which):
// - `cluster`: the RayDogCluster from the informer cache, DEFAULTED (api::apply_defaults). Its `status`
//   is the previous status (the incarnation, the head IP the workers were pointed at, condition times).
// - `incarnation`: parsed from status.workRequirement.name with incarnation_from_status() (desired.hpp);
//   1 when absent.
// - `work_requirement`: GET by name (namespace, names_for(cluster, incarnation).work_requirement), absent
//   on 404.
// - `tasks`: every task (any status) of every group of that WR, keyed by task GROUP NAME.
// - `pools`: every worker pool in the YellowDog namespace whose name starts with `names.base + "-"` (all
//   incarnations, revisions and re-provision attempts; finished ones too), each with its compute
//   requirement when it could be fetched.
// - `head` / `observability`: addresses resolved for the CURRENT task of that role when it is EXECUTING.
//   Which task is current is decided by view() (view.hpp) with the rule of current_task() (desired.hpp),
//   which observe applies to the role's group; plan and status ignore an address whose task_id is not
//   the current task's id.
// - `sources`: the contents of every ConfigMap key the spec refers to (userDataFrom, startScriptFrom).
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/field_error.hpp"
#include "api/types.hpp"
#include "controller/yellowdog/model.hpp"

namespace raydog::reconcile {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

inline constexpr std::string_view kFinalizer = "raydog.io/cleanup";

// Flags of the controller that change what plan decides (main.cpp parses them, the loop passes them on).
struct PlanOptions {
  Millis cleanup_timeout = std::chrono::minutes(10);    // deletion gives up after this (Warning event)
  Millis requeue_converging = std::chrono::seconds(2);  // poll interval while something changes
  Millis requeue_steady = std::chrono::seconds(60);     // poll interval when steady (loop adds jitter)
  Millis credentials_retry = std::chrono::seconds(30);  // slow retry for credential/config problems
  Millis backoff_initial = std::chrono::seconds(5);     // failed worker task replacement backoff
  Millis backoff_max = std::chrono::minutes(5);
};

// The YellowDog credentials the Secret gave us. Never holds the key values: observe reads the values into
// the client, only their state reaches plan and status.
enum class CredentialsState {
  kUnknown,         // not read yet (nothing is planned against YellowDog)
  kOk,              // Secret and both keys present
  kSecretNotFound,  // the Secret does not exist
  kKeyNotFound,     // the Secret exists, a key is missing or empty
  kNotAuthorised,   // YellowDog answered 401/403 with them
};
struct CredentialsObservation {
  CredentialsState state = CredentialsState::kUnknown;
  // Which Secret/key, e.g. `Secret "default/yd" has no key "keySecret"`. Never a value.
  std::string message;
};

// How an error is handled (design §5). observe and act classify; status reports; the loop paces.
enum class ErrorKind {
  kTransient,      // 429/5xx/transport: backoff with jitter (work queue rate limiter)
  kNotAuthorised,  // YellowDog 401/403: slow retry, Synced=False reason NotAuthorised
  kInvalid,        // YellowDog 4xx validation: terminal until the spec changes
  kConflict,       // Kubernetes 409: requeue now, no error log
  kNotFound,       // a referenced object vanished between observe and act: requeue
  kUnknown,
};
struct Error {
  ErrorKind kind = ErrorKind::kUnknown;
  std::string message;  // secrets never appear here
};

// The address of the node running a task (task -> workerId -> node -> instance).
struct NodeAddress {
  std::string task_id;
  std::optional<std::string> worker_id;
  std::optional<std::string> node_id;
  std::optional<std::string> worker_pool_id;
  std::optional<std::string> private_ip;  // node details.privateIpAddress
  std::optional<std::string> public_ip;   // the CR instance whose id.instanceId == node details.instanceId
  std::optional<yellowdog::NodeStatus> node_status;  // LOST/DEREGISTERED/TERMINATED: the node is gone
};

struct ObservedPool {
  yellowdog::WorkerPool pool;
  std::optional<yellowdog::ComputeRequirement> compute_requirement;
};

struct Observed {
  api::RayDogCluster cluster;  // defaulted; cluster.status = previous status
  // What api::decode_cluster could not read (an unknown field or a wrong type that slipped past the CRD
  // schema, e.g. an older CRD): treated like validation errors (Synced=False InvalidSpec with the paths,
  // Stalled, no YellowDog call), never only a log line.
  api::FieldErrors decode_errors;
  // The spec's errors (decode + validation, spec_errors.hpp), recorded once per reconcile by
  // record_spec_errors() before anything decides on them. Unset: spec_errors() computes them when asked.
  std::optional<api::FieldErrors> spec_errors;
  PlanOptions options;

  // Desired Ray worker nodes per spec worker pool name, consulted by desired_nodes() (desired.hpp) before
  // spec.workerPools[].nodes. Empty from observe: the spec decides. The seam for an autoscaler: it fills
  // a count per pool it manages, and every reader (view, plan, status, observe's pool lookups) follows it.
  std::map<std::string, std::int64_t> desired_nodes_override;
  // Task ids an autoscaler chose to remove (idle nodes past their timeout, busy ones over maxNodes): a
  // drained scale-down takes them before its own victim order (controller/ray/decisions.hpp).
  std::set<std::string> scale_down_victims;
  // Why spec.yellowdog.apiURL may not receive keys (--yellowdog-allowed-urls), when it may not. Set before
  // the Secret would be read; then neither the Secret nor YellowDog is touched.
  std::optional<std::string> api_url_refusal;
  CredentialsObservation credentials;

  // Reading YellowDog failed: plan returns nothing (the loop retries with backoff) and status keeps the
  // previous YellowDog-derived fields with Synced=False.
  std::optional<Error> observe_error;

  int incarnation = 1;
  std::optional<yellowdog::WorkRequirement> work_requirement;
  std::map<std::string, std::vector<yellowdog::Task>> tasks;  // by task group name
  std::vector<ObservedPool> pools;

  std::optional<NodeAddress> head;           // current head task's node, when resolved
  std::optional<NodeAddress> observability;  // current observability task's node, when resolved

  // ConfigMap contents by source_key(selector) (desired.hpp: "<configmap>/<key>"). A key the spec refers
  // to that is absent here means "ConfigMap or key not found".
  std::map<std::string, std::string> sources;
};

}  // namespace raydog::reconcile
