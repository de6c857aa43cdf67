#pragma once
// The status of RayDogCluster v1alpha1, one declaration per field (see fields.hpp). Written by the operator;
// decoded leniently (unknown fields ignored: a newer operator may have written a newer status).
#include "api/describe.hpp"
#include "api/types.hpp"

namespace raydog::api {

template <class V, Of<Condition> S>
void describe(V& v, S& s) {
  using namespace field;
  // The constraints of metav1.Condition, as Kubernetes publishes them.
  v.field(
      "type", s.type, "Condition type (status.conditions lists the types this resource sets).", required,
      MaxLength{316},
      Pattern{
          "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)"
          "?[A-Za-z0-9])$"});
  v.field("status", s.status, "True, False or Unknown.", required, OneOf{{"True", "False", "Unknown"}});
  v.field("reason", s.reason, "Machine-readable CamelCase reason for the last transition.", required,
          MaxLength{1024}, MinLength{1}, Pattern{"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"});
  v.field("message", s.message, "Human-readable details (may be empty).", required, MaxLength{32768});
  v.field("lastTransitionTime", s.last_transition_time, "When status last changed (RFC 3339).", required,
          Format{"date-time"});
  v.field("observedGeneration", s.observed_generation, "metadata.generation the condition was computed from.",
          Minimum{0});
  v.required_order({"type", "status", "lastTransitionTime", "reason", "message"});
}

template <class V, Of<WorkRequirementStatus> S>
void describe(V& v, S& s) {
  v.field("id", s.id, "Work requirement id.");
  v.field("name", s.name, "Work requirement name (derived from namespace, name and uid).");
  v.field("status", s.status, "YellowDog work requirement status (RUNNING, CANCELLED, ...).");
}

template <class V, Of<HeadStatus> S>
void describe(V& v, S& s) {
  v.field("privateIP", s.private_ip, "Private IP of the head VM; workers connect to it.");
  v.field("publicIP", s.public_ip, "Public IP of the head VM, when it has one.");
  v.field("taskId", s.task_id, "YellowDog task id of the head task.");
  v.field("nodeId", s.node_id, "YellowDog node id the head task runs on.");
  v.field("workerPoolId", s.worker_pool_id, "YellowDog worker pool id of the head.");
  v.field("taskStatus", s.task_status, "YellowDog status of the head task (EXECUTING when up).");
  v.field("serviceName", s.service_name,
          "The head Service (spec.headService) in the cluster's namespace: its EndpointSlice follows the head.");
}

template <class V, Of<ObservabilityStatus> S>
void describe(V& v, S& s) {
  v.field("privateIP", s.private_ip, "Private IP of the observability VM.");
  v.field("publicIP", s.public_ip, "Public IP of the observability VM, when it has one.");
  v.field("grafanaURL", s.grafana_url, "Grafana URL.");
  v.field("prometheusURL", s.prometheus_url, "Prometheus URL.");
}

template <class V, Of<EndpointsStatus> S>
void describe(V& v, S& s) {
  v.field("client", s.client, "Ray client address (ray://IP:10001).");
  v.field("dashboard", s.dashboard, "Ray dashboard URL (http://IP:8265).");
  v.field("gcs", s.gcs, "Ray GCS address (IP:6379) for `ray start --address`.");
  v.field("inCluster", s.in_cluster, "The same addresses through the head Service, for pods in the cluster.");
}

template <class V, Of<InClusterEndpoints> S>
void describe(V& v, S& s) {
  v.field("client", s.client, "Ray client address (ray://<name>-head.<namespace>.svc:10001).");
  v.field("dashboard", s.dashboard, "Ray dashboard URL (http://<name>-head.<namespace>.svc:8265).");
  v.field("gcs", s.gcs, "Ray GCS address (<name>-head.<namespace>.svc:6379).");
}

template <class V, Of<DrainingNodeStatus> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("taskId", s.task_id, "YellowDog task id of the node.", required);
  v.field("taskName", s.task_name, "YellowDog task name of the node.");
  v.field("rayNodeId", s.ray_node_id, "Ray node id (hex).");
  v.field("since", s.since, "When the drain was accepted, or first seen after an operator restart (RFC 3339).");
}

template <class V, Of<PoolAutoscalerStatus> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("lastScaleTime", s.last_scale_time, "When the autoscaler last changed this pool's size (RFC 3339).");
  v.field("lastScaleReason", s.last_scale_reason, "Why: the direction, the count and the demand or idle time.");
  v.field("draining", s.draining, "Nodes between their drain and their task's end.",
          ItemDoc{"A node being drained before its task is cancelled."});
  v.field("infeasible", s.infeasible,
          "Demand this pool would hold but may not launch for (maxNodes reached).",
          ItemDoc{"What waits and why, e.g. \"2 requests this pool could hold: maxNodes 1 reached\"."});
}

template <class V, Of<WorkerPoolStatus> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("name", s.name, "Name of the pool in spec.workerPools.", required);
  v.field("workerPoolId", s.worker_pool_id, "YellowDog worker pool id.");
  v.field("computeRequirementId", s.compute_requirement_id, "YellowDog compute requirement id of the pool.");
  v.field("taskGroupId", s.task_group_id, "YellowDog task group id of the pool's tasks.");
  v.field("workerTag", s.worker_tag, "Worker tag that binds the pool's VMs to its task group.");
  v.field("desiredNodes", s.desired_nodes,
          "Ray worker nodes wanted: spec nodes, or the autoscaler's current target (0 while suspended).");
  v.field("registeredNodes", s.registered_nodes, "VMs registered with YellowDog.");
  v.field("readyNodes", s.ready_nodes, "Ray worker tasks EXECUTING.");
  v.field("failedTasks", s.failed_tasks, "Tasks of this pool that failed (replaced by the operator).");
  v.field("poolStatus", s.pool_status,
          "YellowDog worker pool status (PENDING, RUNNING, IDLE, SHUTDOWN, ...).");
  v.field("health", s.health, "Summary: Healthy, Progressing, Degraded or Failed.");
  v.field("message", s.message, "Details about the pool's health.");
  v.field("rayNodes", s.ray_nodes,
          "Ray nodes alive (RUNNING, IDLE or DRAINING in the head's GCS) for this pool's tasks (absent "
          "with headAccess None or while the head cannot be read).");
  v.field("autoscaler", s.autoscaler, "What the autoscaler did for this pool (with spec.autoscaling.enabled).");
}

template <class V, Of<DaliugeNodeStatus> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("ip", s.ip, "Private IPv4 of the NM's node (the host of its node string).", required);
  v.field("pool", s.pool, "Worker pool of the node (\"head\" for an NM on the head).");
  v.field("url", s.url, "NM REST URL (http://IP:NM_PORT).");
  v.field("state", s.state,
          "Registered, Pending (ready, not registered yet), Unreachable (its NM does not answer), Deferred "
          "(waiting for an idle DIM) or Removing.");
  v.field("message", s.message, "Details about the registration state.");
}

template <class V, Of<DaliugeStatus> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("dimURL", s.dim_url, "DIM URL at the head's private IP (http://IP:DIM_PORT).");
  v.field("dimPublicURL", s.dim_public_url, "DIM URL at the head's public IP, when it has one.");
  v.field("desiredNodeManagers", s.desired_node_managers,
          "NMs that should be registered: ready workers whose NM answers.");
  v.field("registeredNodeManagers", s.registered_node_managers, "Desired NMs found in the DIM's node list.");
  v.field("nodeManagers", s.node_managers, "Each desired or registered NM with its pool, IP, URL and state.",
          ItemDoc{"A Node Manager and its registration with the DIM."});
}

template <class V, Of<RayNodeCounts> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("alive", s.alive, "Nodes not DEAD (RUNNING, IDLE or DRAINING), the head included.");
  v.field("idle", s.idle, "Alive nodes with no work.");
  v.field("draining", s.draining, "Nodes draining before they stop (scale-down).");
  v.field("dead", s.dead, "Nodes the GCS still lists as DEAD.");
}

template <class V, Of<RayStatus> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("reachable", s.reachable, "The head's GCS answered the operator's last read.");
  v.field("sessionName", s.session_name, "Ray session of the GCS that answered (changes when the head restarts).");
  v.field("version", s.version, "Ray version of the head (its dashboard's /api/version).");
  v.field("nodes", s.nodes, "Ray nodes by state.");
  v.field("totalResources", s.total_resources,
          "Logical resources of the alive nodes, summed (Ray's names: CPU, GPU, memory in bytes, ...).");
  v.field("unreachableSince", s.unreachable_since,
          "When the GCS, having answered before, first failed to answer (RFC 3339); absent while it answers.");
  v.field("message", s.message, "Why the head's GCS could not be read.");
}

template <class V, Of<RayDogClusterStatus> S>
void describe(V& v, S& s) {
  using namespace field;
  v.ignore_unknown_fields();  // a newer operator may have written a newer status
  v.field("observedGeneration", s.observed_generation, "metadata.generation this status was computed from.",
          Minimum{0});
  v.field("phase", s.phase, "Lifecycle phase.");
  v.field("workRequirement", s.work_requirement, "The cluster's YellowDog work requirement.");
  v.field("head", s.head, "The Ray head node.");
  v.field("observability", s.observability, "The observability node.");
  v.field("endpoints", s.endpoints, "Addresses of the Ray cluster.");
  v.field("workerPools", s.worker_pools, "Observed state of each worker pool, keyed by name.",
          ItemDoc{"Observed state of one worker pool."}, ListMapKey{"name"});
  v.field("desiredWorkers", s.desired_workers, "Ray worker nodes wanted over all pools.");
  v.field("readyWorkers", s.ready_workers, "Ray worker nodes running over all pools.");
  v.field("daliuge", s.daliuge, "DALiuGE managers of the cluster (when spec.daliuge.enabled).");
  v.field("ray", s.ray, "Ray's own view, read from the head's GCS (absent with spec.headAccess None).");
  v.field(
      "conditions", s.conditions,
      "Ready (lifecycle summary), Synced (last reconcile succeeded), HeadReady, WorkersReady, Provisioned "
      "(all nodes were ready once), RayReady (unless headAccess is None: the head's GCS answers and every "
      "EXECUTING worker task has a live Ray node; Ready requires it), DaliugeReady (when DALiuGE is "
      "enabled: the DIM answers and lists every desired NM exactly once), AutoscalingReady (when autoscaling "
      "is enabled: the head's demand was read and every demand can be placed).",
      ItemDoc{"A standard Kubernetes condition (metav1.Condition)."}, ListMapKey{"type"});
}

}  // namespace raydog::api
