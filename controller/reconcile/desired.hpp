#pragma once
// Pure builders of the desired YellowDog objects of a RayDogCluster (KubeRay style): names per
// incarnation and pool revision, provision requests, the work requirement and its task groups, tasks with
// their script and environment. Every name comes from api/names.hpp plus the suffix rules below
// (README.md "Names" explains why):
//
//   incarnation base  ib   = base                 (incarnation 1)
//                          = base + "-" + k       (incarnation k > 1: after suspend/resume or a rebuild)
//   work requirement       = ib
//   revision name     R    = fit(<names pool name of ib> + "-" + rev)   rev = rev_hash(node spec), 6 hex
//   worker tag             = R                    (stable across re-provision attempts)
//   pool (and CR) name     = R                    (attempt 1)
//                          = fit(R + "-r" + n)    (attempt n > 1: the pool was shut down from outside)
//   task group             = fit(names::task_group(kind, pool) + "-" + rev), tag = role key
//   tasks                  = names::task(kind, ordinal), ordinal = 1 + max seen in the group
#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/names.hpp"
#include "api/types.hpp"
#include "controller/reconcile/observed.hpp"
#include "controller/util/result.hpp"
#include "controller/yellowdog/model.hpp"

namespace raydog::reconcile {

using api::names::TaskKind;

// The role of a node kind; `key` is what the WR's task group carries in `tag`, so an observed group (and
// through its worker tag, a pool) can be traced back to the spec entry it was made for.
//   head -> "head", observability -> "observability", worker pool P -> "worker-" + P
std::string role_key(TaskKind kind, std::string_view pool = {});

// The desired shape of one node kind in one incarnation.
struct RoleNames {
  TaskKind kind = TaskKind::kHead;
  std::string pool;        // spec worker pool name (empty for head/observability)
  std::string key;         // role_key()
  std::string rev;         // 6 hex chars of the hash of the immutable fields
  std::string revision;    // R: the attempt-1 pool name and the worker tag
  std::string task_group;  // group name in the WR
};

struct ClusterNames {
  std::string base;  // names::base(namespace, name, uid)
  int incarnation = 1;
  std::string work_requirement;  // = incarnation base
  RoleNames head;
  std::optional<RoleNames> observability;  // when enabled
  std::vector<RoleNames> workers;          // spec order
  const RoleNames* find_worker(std::string_view pool) const;
};

// Names for the cluster (defaulted) in incarnation k.
// `sources`: the contents of the ConfigMap keys the spec refers to (Observed::sources), hashed into the
// revisions of the nodes that use them, so an edited script or userdata rolls those pools; null or a key not
// read: the reference alone counts.
ClusterNames names_for(const api::RayDogCluster& cluster, int incarnation,
                       const std::map<std::string, std::string>* sources = nullptr);
std::string incarnation_base(std::string_view base, int incarnation);
// The incarnation recorded in status.workRequirement.name (base -> 1, base-k -> k); 1 when absent or
// unrecognised.
int incarnation_from_status(const api::RayDogCluster& cluster);

// The Ray worker nodes wanted in spec worker pool `pool`: observed.desired_nodes_override[pool.name] when
// set, else spec `nodes`; never negative. The one place the `nodes` rule is read (view, observe).
std::int64_t desired_nodes(const Observed& observed, const api::WorkerPoolSpec& pool);
// The pool is sized by the autoscaler (spec.autoscaling.enabled) and may have nodes (maxNodes > 0), whatever
// its starting `nodes`: observe looks for its YellowDog pool even before an override is known.
bool may_autoscale(const api::RayDogClusterSpec& spec, const api::WorkerPoolSpec& pool);

// 6 hex chars of SHA-256 over the canonical JSON of the immutable fields of a node spec: template,
// imagesId, userData(+From), startScript(+From), instanceTags, metricsEnabled.
// A worker pool's rayResources count too (new values need new Ray nodes); absent or empty they change nothing,
// so existing pools keep their revision.
// `builtin_ray_version`: spec.rayVersion when it is set and the node has no userdata of its own (the built-in
// userdata installs that version: a new one needs new nodes). Unset it changes nothing, so a cluster from before
// spec.rayVersion keeps its revisions.
// `builtin_setup`: node_setup() of a node on the built-in userdata (empty: changes nothing).
std::string rev_hash(const api::NodeSpec& node, const std::map<std::string, std::string>* ray_resources = nullptr,
                     const std::optional<std::string>& builtin_ray_version = std::nullopt,
                     const std::map<std::string, std::string>* sources = nullptr,
                     const std::vector<std::pair<std::string, std::string>>& builtin_setup = {});

// What the built-in userdata installs on a node kind beyond Ray (scripts/node-userdata.sh settings): with
// spec.observability enabled, Prometheus on the head (its metrics relay) and on the observability node, and
// Grafana there. Empty otherwise, so clusters without observability keep their revisions.
std::vector<std::pair<std::string, std::string>> node_setup(const api::RayDogClusterSpec& spec, TaskKind kind);

// The task environment that carries a pool's rayResources to `ray start` (scripts/ray-worker.sh) and to the
// simulator: RAYDOG_NUM_CPUS, RAYDOG_NUM_GPUS, RAYDOG_MEMORY and RAYDOG_OBJECT_STORE_MEMORY (whole numbers,
// bytes for the memories), RAYDOG_RAY_RESOURCES (the custom ones, a JSON object). Values are validated quantities.
inline constexpr std::string_view kNumCpusEnv = "RAYDOG_NUM_CPUS";
inline constexpr std::string_view kNumGpusEnv = "RAYDOG_NUM_GPUS";
inline constexpr std::string_view kMemoryEnv = "RAYDOG_MEMORY";
inline constexpr std::string_view kObjectStoreMemoryEnv = "RAYDOG_OBJECT_STORE_MEMORY";
inline constexpr std::string_view kCustomResourcesEnv = "RAYDOG_RAY_RESOURCES";
std::map<std::string, std::string> ray_resources_env(const std::map<std::string, std::string>& ray_resources);

// Attempt n of an object named after `base`: `base` for n = 1, fit(base + marker + n) after ("-r" pools,
// "-g" task groups); attempt_of() inverts it (nullopt: not an attempt name of `base`), cheaply for names
// of other bases, which plan asks about on every reconcile.
std::string attempt_name(std::string_view base, std::string_view marker, int attempt);
std::optional<int> attempt_of(std::string_view base, std::string_view marker, std::string_view name);
// Pool name of attempt n (1-based) of revision R, and the inverse (nullopt: not an attempt of R).
std::string pool_attempt_name(std::string_view revision, int attempt);
std::optional<int> pool_attempt(std::string_view revision, std::string_view pool_name);

// "<configmap>/<key>": the key of Observed::sources.
std::string source_key(const api::ConfigMapKeySelector& selector);

// The task script of a node kind: inline startScript, else startScriptFrom (from observed sources), else
// the built-in default. Error: the ConfigMap/key that was not found.
Result<std::string, std::string> task_script(TaskKind kind, const api::NodeSpec& node,
                                             const std::map<std::string, std::string>& sources);
// The Ray release the built-in userdata installs: spec.rayVersion, else api::kDefaultRayVersion.
std::string ray_version(const api::RayDogClusterSpec& spec);

// The node userdata: inline userData, else userDataFrom, else none.
Result<std::optional<std::string>, std::string> user_data(const api::NodeSpec& node,
                                                          const std::map<std::string, std::string>& sources);

// POST /workerPools/provisioned/template body for attempt `pool_name` of a role.
yellowdog::ProvisionRequest provision_request(const api::RayDogCluster& cluster, const RoleNames& role,
                                              std::string_view pool_name, const api::NodeSpec& node,
                                              std::int64_t nodes, const std::optional<std::string>& userdata);

// The task group of a role: bash, workerTags [R], namespaces [yd namespace], taskTimeout = lifetime,
// finishIfAllTasksFinished=false, finishIfAnyTaskFailed=false (groups are healed in place).
yellowdog::TaskGroup task_group(const api::RayDogCluster& cluster, const RoleNames& role);
// The WR with the groups of every role, in order head, observability, workers (empty groups).
yellowdog::WorkRequirement work_requirement(const api::RayDogCluster& cluster, const ClusterNames& names);

// Environment variables the operator gives Ray tasks and later reads back from observed ones: plan checks
// that a worker (and the head) points at the current head and observability node, status counts the
// workers that do. A Snapshot keeps only these of an observed task's environment (TaskRecord).
inline constexpr std::string_view kHeadIpEnv = "RAY_HEAD_IP";
inline constexpr std::string_view kObservabilityHostEnv = "OBSERVABILITY_HOST";
inline constexpr std::array<std::string_view, 2> kEnvironmentReadBack{kHeadIpEnv, kObservabilityHostEnv};

// What maps a Ray node to its task (ray-gcs.md §4.4): Ray reads both at `ray start` and reports them in the
// GCS node state (instance_id, ray_node_type_name). The instance id is "<task group>/<task name>", not the
// task id: the id exists only once YellowDog created the task, the name is the operator's and unique within
// the work requirement (names are unique per group). The Ray view (controller/ray) also accepts the id.
inline constexpr std::string_view kRayNodeTypeEnv = "RAY_NODE_TYPE_NAME";
inline constexpr std::string_view kRayInstanceIdEnv = "RAY_CLOUD_INSTANCE_ID";
std::string ray_instance_id(std::string_view task_group, std::string_view task_name);

// One bash task: arguments ["taskdata.txt"], taskData = script, environment = env.
yellowdog::Task task(TaskKind kind, int ordinal, const std::string& script,
                     const std::map<std::string, std::string>& env);

// Task helpers shared by plan, status and observe.
bool is_live(const yellowdog::Task& t);       // waiting or in progress
bool is_executing(const yellowdog::Task& t);  // EXECUTING
// The value of environment variable `key` of a task; nullptr when it has none.
const std::string* env_of(const yellowdog::Task& t, std::string_view key);
// The task of a group that currently plays the role: the live task with the highest ordinal, preferring
// an EXECUTING one. nullptr when none is live.
const yellowdog::Task* current_task(const std::vector<yellowdog::Task>& tasks, TaskKind kind);
// 1 + the largest ordinal among the tasks' names (1 for none).
int next_ordinal(const std::vector<yellowdog::Task>& tasks, TaskKind kind);

}  // namespace raydog::reconcile
