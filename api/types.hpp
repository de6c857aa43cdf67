#pragma once
// RayDogCluster v1alpha1 (group raydog.io): the spec a user writes and the status the operator writes.
//
// Conventions:
// - Optional spec fields are std::optional (maps and lists too), so a manifest round-trips exactly through
//   decode -> encode: what was absent stays absent, an explicit `[]` stays `[]`. Defaulting (defaults.hpp)
//   fills the fields that have a default, exactly as the API server does from the CRD schema.
// - Status is written by the operator: scalars are optional (absent until known), lists are plain vectors
//   that are omitted from JSON when empty (Kubernetes' omitempty).
// - Every field's JSON name, documentation, schema constraints and default are declared once, in fields.hpp;
//   JSON (json.hpp), defaults (defaults.hpp), the CRD schema (crd.hpp) and the field tables of api/README.md
//   are all produced from there. Validation rules are in validation.hpp; YellowDog names in names.hpp.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "api/duration.hpp"

namespace raydog::api {

inline constexpr std::string_view kGroup = "raydog.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "raydog.io/v1alpha1";
inline constexpr std::string_view kKind = "RayDogCluster";
inline constexpr std::string_view kPlural = "raydogclusters";
inline constexpr std::string_view kSingular = "raydogcluster";
inline constexpr std::string_view kShortName = "rdc";
inline constexpr std::string_view kListKind = "RayDogClusterList";

// ---------------------------------------------------------------------------------------------------
// Spec

// A key of a ConfigMap in the cluster's namespace (Kubernetes' ConfigMapKeySelector, without `optional`:
// a script or userdata that is missing is an error, not an empty string).
struct ConfigMapKeySelector {
  std::string name;
  std::string key;
  bool operator==(const ConfigMapKeySelector&) const = default;
};

// Where a script or userdata comes from when it is not inline. One source kind today; a `secretKeyRef`
// could be added without changing the existing field.
struct ValueSource {
  std::optional<ConfigMapKeySelector> config_map_key_ref;
  bool operator==(const ValueSource&) const = default;
};

// One kind of Ray node (head, observability, a worker pool): how its VMs are provisioned on YellowDog
// and what its task runs. Maps onto a provisioned worker pool + one bash task per node.
struct NodeSpec {
  // Compute requirement template: a YellowDog id (`ydid:crt:...`) or `namespace/name`. Required for the
  // head and for every worker pool, and for observability when it is enabled.
  std::optional<std::string> compute_requirement_template;
  std::optional<std::string> images_id;          // overrides the template's image
  std::optional<std::string> user_data;          // inline userdata (node preparation at boot)
  std::optional<ValueSource> user_data_from;     // userdata from a ConfigMap key
  std::optional<std::string> start_script;       // inline bash task script; default: built-in script
  std::optional<ValueSource> start_script_from;  // task script from a ConfigMap key
  std::optional<std::map<std::string, std::string>> instance_tags;  // cloud instance tags
  std::optional<bool> metrics_enabled;                              // YellowDog node metrics (default false)
  bool operator==(const NodeSpec&) const = default;
};

struct WorkerPoolSpec {
  std::string name;                   // DNS label, unique within the cluster (the list's map key)
  std::optional<std::int32_t> nodes;  // desired Ray worker nodes, >= 0 (required)
  NodeSpec node;                      // inline in JSON: the pool's fields sit beside name and nodes
  // Ray's logical resources of one node (name -> Kubernetes quantity), passed to `ray start`.
  std::optional<std::map<std::string, std::string>> ray_resources;
  // Autoscaling bounds (used when spec.autoscaling.enabled): nodes is then only the starting size.
  std::optional<std::int32_t> min_nodes;  // default 0
  std::optional<std::int32_t> max_nodes;  // required when autoscaling is enabled
  std::optional<Duration> idle_timeout;   // overrides spec.autoscaling.idleTimeout
  bool operator==(const WorkerPoolSpec&) const = default;
};

struct ObservabilitySpec {
  std::optional<bool> enabled;  // default false
  NodeSpec node;                // inline in JSON
  bool operator==(const ObservabilitySpec&) const = default;
};

struct CredentialsSecretRef {
  std::string name;                           // Secret in the cluster's namespace (required)
  std::optional<std::string> key_id_key;      // default "keyId"
  std::optional<std::string> key_secret_key;  // default "keySecret"
  bool operator==(const CredentialsSecretRef&) const = default;
};

struct YellowDogSpec {
  std::optional<std::string> api_url;                          // default https://api.yellowdog.ai
  std::optional<CredentialsSecretRef> credentials_secret_ref;  // required
  std::optional<std::string> namespace_name;                   // YellowDog namespace (required)
  std::optional<std::string> tag;                              // tag on every YellowDog object
  bool operator==(const YellowDogSpec&) const = default;
};

enum class DeletionPolicy { kDelete, kOrphan };

// How fast a pool grows with pending demand (KubeRay's upscalingMode): Conservative launches at most as
// many nodes per poll as the pool has (Ray's upscaling_speed 1); Default and Aggressive do not limit.
enum class UpscalingMode { kDefault, kAggressive, kConservative };

// The operator follows Ray's demand (controller/autoscaler): pools grow with pending work and shrink when
// nodes sit idle, between each pool's minNodes and maxNodes.
struct AutoscalingSpec {
  std::optional<bool> enabled;                 // default false
  std::optional<Duration> idle_timeout;        // default 60s
  std::optional<UpscalingMode> upscaling_mode;  // default Default
  std::optional<Duration> poll_interval;       // default 5s
  bool operator==(const AutoscalingSpec&) const = default;
};

// Which head address the operator uses for the head's GCS (6379), dashboard (8265) and DALiuGE's DIM;
// None: the operator never contacts the head (readiness stays task-level).
enum class HeadAccess { kPrivate, kPublic, kNone };

// DALiuGE (daliuge-integration.md): a Data Island Manager on the head, a Node Manager on every worker; the
// operator keeps the DIM's node list equal to the ready workers' NMs.
enum class DimAddress { kPrivate, kPublic };            // which head IP the operator uses to reach the DIM
enum class MembershipPolicy { kImmediate, kWhenIdle };  // planned membership changes: at once, or when idle

struct DaliugePorts {
  std::optional<std::int32_t> dim;     // DIM REST API, default 8001
  std::optional<std::int32_t> nm;      // NM REST API, default 8000
  std::optional<std::int32_t> events;  // NM event publisher (ZeroMQ), default 5555
  std::optional<std::int32_t> rpc;     // NM RPC server (ZeroRPC), default 6666
  bool operator==(const DaliugePorts&) const = default;
};

struct DaliugeSpec {
  std::optional<bool> enabled;                        // default false
  std::optional<std::string> version;                 // daliuge-engine version installed by the userdata
  std::optional<DaliugePorts> ports;                  // defaulted to {} and then each port
  std::optional<std::string> root;                    // DLG_ROOT, default /var/dlg
  std::optional<bool> nm_on_head;                     // also run (and register) an NM on the head
  std::optional<DimAddress> dim_address;              // default Private
  std::optional<MembershipPolicy> membership_policy;  // default Immediate
  std::optional<Duration> max_deferral;               // only with WhenIdle (code default 10m)
  bool operator==(const DaliugeSpec&) const = default;
};

// The head Service (controller/access): how pods in the cluster reach the head by name.
enum class HeadServiceType { kClusterIP, kNodePort, kLoadBalancer };

struct HeadServiceSpec {
  std::optional<bool> enabled;                                    // default true
  std::optional<HeadServiceType> type;                            // default ClusterIP
  std::optional<std::map<std::string, std::string>> annotations;  // on the Service (load balancer settings)
  bool operator==(const HeadServiceSpec&) const = default;
};

struct RayDogClusterSpec {
  std::optional<YellowDogSpec> yellowdog;  // required
  std::optional<Duration> lifetime;        // every task group's taskTimeout
  std::optional<Duration> build_timeout;   // default 10m
  std::optional<NodeSpec> head;            // required
  std::optional<ObservabilitySpec> observability;
  std::optional<std::vector<WorkerPoolSpec>> worker_pools;
  std::optional<bool> suspend;                    // default false
  std::optional<DeletionPolicy> deletion_policy;  // default Delete
  std::optional<DaliugeSpec> daliuge;             // optional DALiuGE layer
  std::optional<HeadAccess> head_access;          // default Private
  std::optional<Duration> ray_join_timeout;       // default 5m: a worker task's Ray node must join by then
  std::optional<Duration> head_unresponsive_timeout;  // default 2m: a head that answered and then did not
  std::optional<Duration> drain_timeout;              // default 10m: a busy node's PREEMPTION drain deadline
  std::optional<AutoscalingSpec> autoscaling;         // absent or disabled: nodes is the exact count
  std::optional<std::string> ray_version;             // Ray the default userdata installs (kDefaultRayVersion)
  std::optional<HeadServiceSpec> head_service;        // absent: enabled, ClusterIP
  bool operator==(const RayDogClusterSpec&) const = default;
};

// ---------------------------------------------------------------------------------------------------
// Status

enum class Phase { kPending, kProvisioning, kRunning, kDegraded, kSuspended, kFailed, kDeleting };

// metav1.Condition. lastTransitionTime (RFC 3339) changes only when `status` changes.
struct Condition {
  std::string type;     // Ready, Synced, HeadReady, WorkersReady, Provisioned, ...
  std::string status;   // "True" | "False" | "Unknown"
  std::string reason;   // CamelCase machine-readable reason
  std::string message;  // human-readable, may be empty
  std::string last_transition_time;
  std::optional<std::int64_t> observed_generation;
  bool operator==(const Condition&) const = default;
};

// Condition types and statuses, so every component spells them the same way.
namespace condition {
inline constexpr std::string_view kReady = "Ready";
inline constexpr std::string_view kSynced = "Synced";
inline constexpr std::string_view kHeadReady = "HeadReady";
inline constexpr std::string_view kWorkersReady = "WorkersReady";
inline constexpr std::string_view kProvisioned = "Provisioned";
inline constexpr std::string_view kDaliugeReady = "DaliugeReady";  // only when spec.daliuge.enabled
inline constexpr std::string_view kRayReady = "RayReady";          // unless spec.headAccess is None
inline constexpr std::string_view kAutoscalingReady = "AutoscalingReady";  // with spec.autoscaling.enabled
inline constexpr std::string_view kTrue = "True";
inline constexpr std::string_view kFalse = "False";
inline constexpr std::string_view kUnknown = "Unknown";
}  // namespace condition

struct WorkRequirementStatus {
  std::optional<std::string> id;
  std::optional<std::string> name;
  std::optional<std::string> status;  // YellowDog WorkRequirementStatus, e.g. RUNNING
  bool operator==(const WorkRequirementStatus&) const = default;
};

struct HeadStatus {
  std::optional<std::string> private_ip;
  std::optional<std::string> public_ip;
  std::optional<std::string> task_id;
  std::optional<std::string> node_id;
  std::optional<std::string> worker_pool_id;
  std::optional<std::string> task_status;  // YellowDog TaskStatus, e.g. EXECUTING
  std::optional<std::string> service_name;  // the head Service, when there is one
  bool operator==(const HeadStatus&) const = default;
};

struct ObservabilityStatus {
  std::optional<std::string> private_ip;
  std::optional<std::string> public_ip;
  std::optional<std::string> grafana_url;
  std::optional<std::string> prometheus_url;
  bool operator==(const ObservabilityStatus&) const = default;
};

// The same addresses by the head Service's name, for pods in the cluster.
struct InClusterEndpoints {
  std::optional<std::string> client;     // ray://<name>-head.<ns>.svc:10001
  std::optional<std::string> dashboard;  // http://<name>-head.<ns>.svc:8265
  std::optional<std::string> gcs;        // <name>-head.<ns>.svc:6379
  bool operator==(const InClusterEndpoints&) const = default;
};

struct EndpointsStatus {
  std::optional<std::string> client;     // ray://IP:10001
  std::optional<std::string> dashboard;  // http://IP:8265
  std::optional<std::string> gcs;        // IP:6379
  std::optional<InClusterEndpoints> in_cluster;
  bool operator==(const EndpointsStatus&) const = default;
};

// A victim of the autoscaler between DrainNode and its task's end.
struct DrainingNodeStatus {
  std::string task_id;
  std::optional<std::string> task_name;
  std::optional<std::string> ray_node_id;  // hex
  std::optional<std::string> since;        // RFC 3339
  bool operator==(const DrainingNodeStatus&) const = default;
};

// What the autoscaler did and could not do for one pool.
struct PoolAutoscalerStatus {
  std::optional<std::string> last_scale_time;    // RFC 3339
  std::optional<std::string> last_scale_reason;  // "up 2: pending demand {CPU: 4}", "down 1: idle longer than 60s"
  std::vector<DrainingNodeStatus> draining;
  std::vector<std::string> infeasible;  // demand this pool would hold but may not launch for (maxNodes)
  bool operator==(const PoolAutoscalerStatus&) const = default;
};

struct WorkerPoolStatus {
  std::string name;  // the spec pool's name (the list's map key)
  std::optional<std::string> worker_pool_id;
  std::optional<std::string> compute_requirement_id;
  std::optional<std::string> task_group_id;
  std::optional<std::string> worker_tag;
  std::optional<std::int32_t> desired_nodes;
  std::optional<std::int32_t> registered_nodes;
  std::optional<std::int32_t> ready_nodes;
  std::optional<std::int32_t> failed_tasks;
  std::optional<std::string> pool_status;  // YellowDog WorkerPoolStatus, e.g. RUNNING
  std::optional<std::string> health;       // Healthy | Progressing | Degraded | Failed (free text allowed)
  std::optional<std::string> message;
  std::optional<std::int32_t> ray_nodes;   // Ray nodes alive (not DEAD) for this pool's live tasks
  std::optional<PoolAutoscalerStatus> autoscaler;  // with spec.autoscaling.enabled
  bool operator==(const WorkerPoolStatus&) const = default;
};

// One Node Manager the operator wants registered (or found registered) with the DIM.
struct DaliugeNodeStatus {
  std::string ip;                    // the NM's private IPv4 (the node string's host)
  std::optional<std::string> pool;   // spec pool name ("head" for an NM on the head)
  std::optional<std::string> url;    // http://IP:NM_PORT
  std::optional<std::string> state;  // Registered | Pending | Unreachable | Deferred | Removing
  std::optional<std::string> message;
  bool operator==(const DaliugeNodeStatus&) const = default;
};

struct DaliugeStatus {
  std::optional<std::string> dim_url;         // http://<head private IP>:DIM_PORT
  std::optional<std::string> dim_public_url;  // http://<head public IP>:DIM_PORT, when known
  std::optional<std::int32_t> desired_node_managers;
  std::optional<std::int32_t> registered_node_managers;  // distinct desired keys in the DIM's list
  std::vector<DaliugeNodeStatus> node_managers;
  bool operator==(const DaliugeStatus&) const = default;
};

// Ray's own view of the cluster, read from the head's GCS (controller/ray).
struct RayNodeCounts {
  std::optional<std::int32_t> alive;  // every node not DEAD (RUNNING, IDLE, DRAINING), head included
  std::optional<std::int32_t> idle;
  std::optional<std::int32_t> draining;
  std::optional<std::int32_t> dead;
  bool operator==(const RayNodeCounts&) const = default;
};

struct RayStatus {
  std::optional<bool> reachable;                // the GCS answered in the last reconcile that asked
  std::optional<std::string> session_name;      // of the GCS incarnation that answered
  std::optional<std::string> version;           // the head's Ray version (dashboard /api/version)
  std::optional<RayNodeCounts> nodes;
  std::optional<std::map<std::string, std::string>> total_resources;  // summed over alive nodes
  std::optional<std::string> unreachable_since;  // RFC 3339: first failed call after an answer
  std::optional<std::string> message;           // why not reachable
  bool operator==(const RayStatus&) const = default;
};

struct RayDogClusterStatus {
  std::optional<std::int64_t> observed_generation;
  std::optional<Phase> phase;
  std::optional<WorkRequirementStatus> work_requirement;
  std::optional<HeadStatus> head;
  std::optional<ObservabilityStatus> observability;
  std::optional<EndpointsStatus> endpoints;
  std::vector<WorkerPoolStatus> worker_pools;
  std::optional<std::int32_t> desired_workers;
  std::optional<std::int32_t> ready_workers;
  std::optional<DaliugeStatus> daliuge;
  std::optional<RayStatus> ray;
  std::vector<Condition> conditions;
  bool operator==(const RayDogClusterStatus&) const = default;
};

// ---------------------------------------------------------------------------------------------------
// The resource

// The subset of metav1.ObjectMeta the operator uses. Other metadata fields (managedFields,
// ownerReferences, ...) are ignored when decoding: the operator changes metadata only through patches.
struct ObjectMeta {
  std::string name;
  std::optional<std::string> namespace_name;
  std::optional<std::string> uid;
  std::optional<std::int64_t> generation;
  std::optional<std::string> resource_version;
  std::optional<std::string> creation_timestamp;
  std::optional<std::string> deletion_timestamp;
  std::optional<std::map<std::string, std::string>> labels;
  std::optional<std::map<std::string, std::string>> annotations;
  std::optional<std::vector<std::string>> finalizers;
  bool operator==(const ObjectMeta&) const = default;
};

struct RayDogCluster {
  ObjectMeta metadata;
  RayDogClusterSpec spec;
  std::optional<RayDogClusterStatus> status;
  bool operator==(const RayDogCluster&) const = default;
};

// Enum spellings (the JSON values), in the order of the enumerators: one table per enum.
template <class E>
struct Spellings;
template <>
struct Spellings<DeletionPolicy> {
  static constexpr std::array<std::string_view, 2> names = {"Delete", "Orphan"};
};
template <>
struct Spellings<HeadAccess> {
  static constexpr std::array<std::string_view, 3> names = {"Private", "Public", "None"};
};
template <>
struct Spellings<HeadServiceType> {
  static constexpr std::array<std::string_view, 3> names = {"ClusterIP", "NodePort", "LoadBalancer"};
};
template <>
struct Spellings<UpscalingMode> {
  static constexpr std::array<std::string_view, 3> names = {"Default", "Aggressive", "Conservative"};
};
template <>
struct Spellings<DimAddress> {
  static constexpr std::array<std::string_view, 2> names = {"Private", "Public"};
};
template <>
struct Spellings<MembershipPolicy> {
  static constexpr std::array<std::string_view, 2> names = {"Immediate", "WhenIdle"};
};
template <>
struct Spellings<Phase> {
  static constexpr std::array<std::string_view, 7> names = {
      "Pending", "Provisioning", "Running", "Degraded", "Suspended", "Failed", "Deleting"};
};

template <class E>
concept SpelledEnum = std::is_enum_v<E> && requires {
  Spellings<E>::names;
};

template <SpelledEnum E>
constexpr std::string_view to_string(E e) {
  return Spellings<E>::names[static_cast<size_t>(e)];
}

// nullopt for an unknown spelling.
template <SpelledEnum E>
constexpr std::optional<E> enum_from_string(std::string_view s) {
  for (size_t i = 0; i < Spellings<E>::names.size(); ++i)
    if (Spellings<E>::names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

}  // namespace raydog::api
