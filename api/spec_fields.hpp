#pragma once
// The spec of RayDogCluster v1alpha1, one declaration per field (see fields.hpp).
#include "api/defaults.hpp"
#include "api/describe.hpp"
#include "api/quantity.hpp"
#include "api/types.hpp"
#include "api/validation.hpp"

namespace raydog::api {

// CEL rules (x-kubernetes-validations). Each has a twin check in validation.cpp.
inline constexpr const char* kRuleStartScript = "!(has(self.startScript) && has(self.startScriptFrom))";
inline constexpr const char* kRuleUserData = "!(has(self.userData) && has(self.userDataFrom))";
inline constexpr const char* kRuleObservabilityTemplate =
    "!has(self.enabled) || !self.enabled || has(self.computeRequirementTemplate)";
inline constexpr const char* kRuleSecretKeysDiffer =
    "!has(self.keyIdKey) || !has(self.keySecretKey) || self.keyIdKey != self.keySecretKey";
inline constexpr const char* kRulePositiveDuration = "duration(self) > duration('0s')";  // on every Duration
inline constexpr const char* kRuleTagKeys = "self.all(k, size(k) >= 1 && size(k) <= 128)";
inline constexpr const char* kRulePortsDistinct =
    "self.dim != self.nm && self.dim != self.events && self.dim != self.rpc && self.nm != self.events && "
    "self.nm != self.rpc && self.events != self.rpc";
inline constexpr const char* kRuleHeadAccessNoneNeedsNoHead =
    "!has(self.headAccess) || self.headAccess != 'None' || !has(self.daliuge) || !has(self.daliuge.enabled) || "
    "!self.daliuge.enabled";
// Names are only bounded: a character-class rule (matches) on map keys, whose length no schema can bound,
// risks the API server's CEL cost limit. Values have a maxLength, so their rule stays cheap.
inline constexpr const char* kRuleRayResourceNames = "self.all(k, size(k) >= 1 && size(k) <= 63)";
// ray start takes whole CPUs, GPUs and bytes: those values are written without a fraction or milli.
inline constexpr const char* kRuleRayWholeResources =
    "self.all(k, !(k in ['CPU', 'GPU', 'memory', 'object_store_memory']) || "
    "self[k].matches('^[+]?[0-9]+(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+]?[0-9]+)?$'))";
inline constexpr const char* kRulePoolMinMax = "!has(self.minNodes) || !has(self.maxNodes) || self.minNodes <= self.maxNodes";
inline constexpr const char* kRuleAutoscalingNeedsHead =
    "!has(self.autoscaling) || !has(self.autoscaling.enabled) || !self.autoscaling.enabled || "
    "!has(self.headAccess) || self.headAccess != 'None'";
inline constexpr const char* kRuleAutoscaledPools =
    "!has(self.autoscaling) || !has(self.autoscaling.enabled) || !self.autoscaling.enabled || "
    "!has(self.workerPools) || self.workerPools.all(p, has(p.maxNodes) && has(p.rayResources) && size(p.rayResources) > 0 && "
    "p.nodes <= p.maxNodes && (!has(p.minNodes) || p.nodes >= p.minNodes))";
inline constexpr const char* kRuleMaxDeferralWhenIdle =
    "!has(self.maxDeferral) || (has(self.membershipPolicy) && self.membershipPolicy == 'WhenIdle')";

// ---------------------------------------------------------------------------------------------------
// Spec

template <class V, Of<ConfigMapKeySelector> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("name", s.name, "Name of the ConfigMap.", required, Pattern{kDnsSubdomainPattern},
          MaxLength{kMaxDnsSubdomainLength});
  v.field("key", s.key, "Key within the ConfigMap whose value is used.", required,
          Pattern{kConfigMapKeyPattern}, MaxLength{kMaxDnsSubdomainLength});
}

template <class V, Of<ValueSource> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("configMapKeyRef", s.config_map_key_ref, "A key of a ConfigMap in the RayDogCluster's namespace.",
          required);
}

// Inline in head, observability and every worker pool.
template <class V, Of<NodeSpec> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("computeRequirementTemplate", s.compute_requirement_template,
          "YellowDog compute requirement template the node's VMs are provisioned from: a template id "
          "(ydid:crt:...) or namespace/name. Each Ray node gets its own VM.",
          Pattern{kTemplateRefPattern}, MinLength{1});
  v.field("imagesId", s.images_id,
          "YellowDog image family or image id overriding the template's image (optional).", MinLength{1});
  v.field("userData", s.user_data,
          "Userdata script run as root when the VM boots (node preparation: YellowDog agent, Python, Ray). "
          "Mutually exclusive with userDataFrom. When both are absent the operator's built-in userdata is used "
          "(scripts/node-userdata.sh: Python venv and Ray spec.rayVersion, DALiuGE when enabled); \"\" turns it "
          "off (the template's or image's own setup).");
  v.field(
      "userDataFrom", s.user_data_from,
      "Userdata read from a key of a ConfigMap in the RayDogCluster's namespace instead of given inline.");
  v.field("startScript", s.start_script,
          "Bash script of the node's YellowDog task; it must start Ray and block (`ray start ... --block`). "
          "Default: the operator's built-in script for the node kind. Mutually exclusive with "
          "startScriptFrom.",
          MinLength{1});
  v.field("startScriptFrom", s.start_script_from,
          "The task script read from a key of a ConfigMap in the RayDogCluster's namespace instead of given "
          "inline.");
  v.field(
      "instanceTags", s.instance_tags,
      "Cloud tags put on the node's VMs (key -> value; keys 1-128 characters, values up to 256, at most 50 "
      "tags).",
      ValueMaxLength{kMaxInstanceTagValueLength}, MaxProperties{kMaxInstanceTags},
      Rule{kRuleTagKeys, "tag keys must be 1 to 128 characters"});
  v.field("metricsEnabled", s.metrics_enabled,
          "Enable YellowDog's node metrics collection on the node's worker pool.", Default{false});
  v.object_rule(
      {kRuleStartScript, "startScript and startScriptFrom are mutually exclusive", ".startScriptFrom"});
  v.object_rule({kRuleUserData, "userData and userDataFrom are mutually exclusive", ".userDataFrom"});
}

template <class V, Of<WorkerPoolSpec> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("name", s.name,
          "Name of the pool, unique within the cluster: a DNS label (lower case letters, digits and '-', at "
          "most 63). Renaming a pool removes it and adds a new one.",
          required, Pattern{kDnsLabelPattern}, MaxLength{kMaxDnsLabelLength});
  v.field("nodes", s.nodes,
          "Desired number of Ray worker nodes (VMs) in this pool. 0 keeps the pool defined without VMs. "
          "Changing it scales the pool. With spec.autoscaling.enabled only the starting size (within "
          "[minNodes, maxNodes]); the autoscaler decides after that (status.workerPools[].desiredNodes).",
          required, Minimum{0}, Maximum{kMaxNodesPerPool});
  v.field("minNodes", s.min_nodes,
          "With spec.autoscaling.enabled: the fewest nodes the autoscaler keeps, idle or not (default 0).",
          Minimum{0}, Maximum{kMaxNodesPerPool});
  v.field("maxNodes", s.max_nodes,
          "With spec.autoscaling.enabled (then required): the most nodes the autoscaler may run. Lowering it "
          "below the pool's size drains the excess (nodes not joined yet first, then idle ones, then busy ones).",
          Minimum{0}, Maximum{kMaxNodesPerPool});
  v.field("idleTimeout", s.idle_timeout,
          "With spec.autoscaling.enabled: how long a node of this pool may sit idle before it is drained and "
          "removed (default spec.autoscaling.idleTimeout).");
  v.field("rayResources", s.ray_resources,
          "Ray's logical resources of one node of this pool, given to `ray start` (name -> Kubernetes quantity): "
          "CPU (--num-cpus) and GPU (--num-gpus) as whole numbers, memory and object_store_memory in bytes "
          "(--memory, --object-store-memory; 32Gi works), any other name a custom resource (--resources), e.g. "
          "{CPU: \"8\", GPU: \"1\", memory: \"32Gi\", accel_a100: \"1\"}. Absent: Ray detects the VM's CPUs, GPUs "
          "and memory. Changing it replaces the pool's nodes.",
          ValuePattern{kQuantityPattern}, ValueMaxLength{kMaxRayResourceValueLength}, MaxProperties{kMaxRayResources},
          Rule{kRuleRayResourceNames, "resource names must be 1 to 63 characters"},
          Rule{kRuleRayWholeResources,
               "CPU, GPU, memory and object_store_memory are whole numbers: digits, optionally with a suffix such "
               "as k, Gi or e3"});
  v.embed(s.node, Requires{"computeRequirementTemplate"});
  v.object_rule({kRulePoolMinMax, "minNodes must not exceed maxNodes", ".minNodes"});
}

template <class V, Of<AutoscalingSpec> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("enabled", s.enabled,
          "Let the operator size the worker pools from Ray's demand (the head's GCS): pools grow with pending "
          "work and shrink when nodes sit idle, between each pool's minNodes and maxNodes. Needs the head "
          "(headAccess Private or Public), and maxNodes and rayResources on every pool.",
          Default{false});
  v.field("idleTimeout", s.idle_timeout,
          "How long a worker node may sit idle (no Ray work) before it is drained and removed; a pool's "
          "idleTimeout overrides it.",
          Default{kDefaultIdleTimeout});
  v.field("upscalingMode", s.upscaling_mode,
          "How fast pools grow: Default and Aggressive launch every node the demand needs at once, "
          "Conservative at most as many per poll as the pool has (at least 1), as Ray's upscaling_speed 1.",
          Default{kDefaultUpscalingMode});
  v.field("pollInterval", s.poll_interval,
          "How often the operator reads the head's demand and idle nodes (one GCS call per poll).",
          Default{kDefaultPollInterval});
}

template <class V, Of<HeadServiceSpec> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("enabled", s.enabled,
          "Keep a Service <name>-head (no selector) and its EndpointSlice pointing at the head's address "
          "(headAccess: the private IP unless Public), with ports client 10001, dashboard 8265, gcs 6379, "
          "metrics 8080 (and dim with DALiuGE), so pods reach Ray at ray://<name>-head.<namespace>.svc:10001.",
          Default{true});
  v.field("type", s.type, "The Service's type: ClusterIP, NodePort or LoadBalancer.",
          Default{kDefaultHeadServiceType});
  v.field("annotations", s.annotations,
          "Annotations put on the Service (e.g. a cloud load balancer's settings).");
}

template <class V, Of<ObservabilitySpec> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("enabled", s.enabled,
          "Run an observability node: Prometheus, to which the head relays the metrics of every live Ray node, "
          "and Grafana with Ray's dashboards, embedded by the Ray dashboard. Requires computeRequirementTemplate.",
          Default{false});
  v.embed(s.node);
  v.object_rule({kRuleObservabilityTemplate, "computeRequirementTemplate is required when enabled",
                 ".computeRequirementTemplate"});
}

template <class V, Of<CredentialsSecretRef> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("name", s.name, "Name of the Secret.", required, Pattern{kDnsSubdomainPattern},
          MaxLength{kMaxDnsSubdomainLength});
  v.field("keyIdKey", s.key_id_key, "Key of the Secret holding the application key id.",
          Default{kDefaultKeyIdKey}, Pattern{kConfigMapKeyPattern}, MaxLength{kMaxDnsSubdomainLength});
  v.field("keySecretKey", s.key_secret_key, "Key of the Secret holding the application key secret.",
          Default{kDefaultKeySecretKey}, Pattern{kConfigMapKeyPattern}, MaxLength{kMaxDnsSubdomainLength});
  v.object_rule({kRuleSecretKeysDiffer, "must differ from keyIdKey", ".keySecretKey"});
}

template <class V, Of<YellowDogSpec> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("apiURL", s.api_url, "Base URL of the YellowDog REST API.", Default{kDefaultApiUrl},
          Pattern{kApiUrlPattern});
  v.field("credentialsSecretRef", s.credentials_secret_ref,
          "Secret in the RayDogCluster's namespace holding a YellowDog application key. The key never "
          "appears in logs, events or status.",
          required);
  v.field("namespace", s.namespace_name,
          "YellowDog namespace of every object the operator creates (work requirement, worker pools, compute "
          "requirements): lower case letters, digits, '_' and '-', starting with a letter, at most 60 "
          "characters.",
          required, Pattern{kYellowDogNamePattern}, MaxLength{kMaxYellowDogNameLength});
  v.field("tag", s.tag, "Tag put on every YellowDog object the operator creates (optional).",
          MaxLength{kMaxTagLength});
  v.required_order({"namespace", "credentialsSecretRef"});
}

template <class V, Of<DaliugePorts> S>
void describe(V& v, S& s) {
  using namespace field;
  const auto port = [&](std::string_view key, auto& member, std::int32_t fallback, std::string_view doc) {
    v.field(key, member, doc, Default{fallback}, Minimum{kMinPort}, Maximum{kMaxPort});
  };
  port("dim", s.dim, kDefaultDimPort,
       "DIM REST API on the head; the operator registers Node Managers through it.");
  port("nm", s.nm, kDefaultNmPort, "Node Manager REST API on every worker (the DIM calls it).");
  port("events", s.events, kDefaultEventsPort,
       "Node Manager event publisher (ZeroMQ PUB); other NMs subscribe to it.");
  port("rpc", s.rpc, kDefaultRpcPort, "Node Manager RPC server (ZeroRPC); other NMs call it.");
  v.object_rule({kRulePortsDistinct, "ports must be distinct"});
}

template <class V, Of<DaliugeSpec> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("enabled", s.enabled,
          "Run DALiuGE managers on the cluster's nodes and register the NMs with the DIM.", Default{false});
  v.field("version", s.version,
          "daliuge-engine version the node userdata installs (pip), e.g. 6.6.0. Absent: the image must "
          "provide the `dlg` command.",
          Pattern{kPipVersionPattern}, MaxLength{kMaxPipVersionLength});
  // `ports: {}` is defaulted first, so the port defaults apply to it (the API server defaults the fields of
  // a defaulted object too).
  v.field("ports", s.ports,
          "TCP ports of the DALiuGE managers (1-65535, all different: the head may run a DIM and an NM).",
          Default{DaliugePorts{}});
  v.field("root", s.root, "DLG_ROOT on every node (workspace, logs, pid files): an absolute path.",
          Default{kDefaultDlgRoot}, Pattern{kDlgRootPattern}, MaxLength{kMaxDlgRootLength});
  v.field("nmOnHead", s.nm_on_head,
          "Also run a Node Manager on the head node and register it (with the head's private IP).",
          Default{false});
  // No schema default: absent means "as spec.headAccess" (dim_address_of()).
  v.field("dimAddress", s.dim_address,
          "Which head address the operator uses to reach the DIM: Private or Public (the operator must be "
          "able to reach that address on the DIM port). Default: the one spec.headAccess names.");
  v.field("membershipPolicy", s.membership_policy,
          "When planned membership changes (scale up/down, pool removal) reach the DIM: Immediate, or "
          "WhenIdle (wait while a DALiuGE session is active, at most maxDeferral). Dead NMs are always "
          "removed at once.",
          Default{kDefaultMembershipPolicy});
  // No schema default: only allowed with WhenIdle. The operator uses kDefaultMaxDeferral.
  v.field("maxDeferral", s.max_deferral,
          "Longest wait for an idle DIM under membershipPolicy WhenIdle (default 10m). Only with WhenIdle.");
  v.object_rule({kRuleMaxDeferralWhenIdle, "only allowed with membershipPolicy WhenIdle", ".maxDeferral"});
}

template <class V, Of<RayDogClusterSpec> S>
void describe(V& v, S& s) {
  using namespace field;
  v.field("yellowdog", s.yellowdog, "Where and as whom the cluster runs on YellowDog.", required);
  v.field("lifetime", s.lifetime,
          "Maximum lifetime of the cluster's Ray nodes: every task group's taskTimeout on YellowDog. Absent: "
          "no limit.");
  v.field(
      "buildTimeout", s.build_timeout,
      "How long the head node may take to reach EXECUTING. When it is exceeded the cluster becomes Failed "
      "and its YellowDog objects are torn down.",
      Default{kDefaultBuildTimeout});
  v.field("head", s.head,
          "The Ray head node: one YellowDog worker pool with one VM and one task running `ray start --head`. "
          "Its private IP is published in status.head and status.endpoints.",
          required, Requires{"computeRequirementTemplate"});
  v.field("observability", s.observability,
          "Optional observability node, provisioned before the head so the head and the workers can be given "
          "its address.");
  v.field("workerPools", s.worker_pools,
          "Ray worker pools, keyed by name. Pools can be added, resized and removed while the cluster runs.",
          ItemDoc{"A pool of identical Ray worker nodes: one YellowDog provisioned worker pool with its own "
                  "worker tag, one task group, and one task per node."},
          MaxItems{kMaxWorkerPools}, ListMapKey{"name"});
  v.field("suspend", s.suspend,
          "true: cancel the work requirement and shut down every worker pool but keep the resource; false "
          "again rebuilds the cluster.",
          Default{false});
  v.field(
      "deletionPolicy", s.deletion_policy,
      "What happens to the YellowDog objects when the resource is deleted: Delete tears them down, Orphan "
      "leaves them running.",
      Default{kDefaultDeletionPolicy});
  v.field(
      "daliuge", s.daliuge,
      "Optional DALiuGE layer: a Data Island Manager (DIM) on the head and a Node Manager (NM) on every "
      "worker; the operator keeps the DIM's node list equal to the ready workers' NMs, each exactly once.");
  v.field("headAccess", s.head_access,
          "The head address the operator uses for Ray's GCS (6379), the Ray dashboard (8265) and DALiuGE's DIM: "
          "Private or Public (the operator must reach it), or None: the operator never contacts the head, "
          "readiness stays at the YellowDog task level, and features that need the head (DALiuGE) are "
          "refused.",
          Default{kDefaultHeadAccess});
  v.field("rayJoinTimeout", s.ray_join_timeout,
          "How long an EXECUTING worker task may run without its Ray node joining the head. Past it the task "
          "is named in RayReady and replaced.",
          Default{kDefaultRayJoinTimeout});
  v.field("headUnresponsiveTimeout", s.head_unresponsive_timeout,
          "How long a head whose GCS answered before may stop answering while its task runs before it is "
          "replaced (a new head, every worker re-pointed). A head never reached is not replaced.",
          Default{kDefaultHeadUnresponsiveTimeout});
  v.field("drainTimeout", s.drain_timeout,
          "Scale-down drains Ray nodes before their VMs go: the deadline given to Ray for a busy node "
          "(PREEMPTION), and the longest wait for any drain before the task is cancelled anyway.",
          Default{kDefaultDrainTimeout});
  v.field("rayVersion", s.ray_version,
          "Ray release the built-in node userdata installs (`ray[default]==<version>` in "
          "/opt/yellowdog/agent/venv; a prepared image that has it skips the install) and the operator expects "
          "the head to report (Warning RayVersionMismatch otherwise). Default: 2.49.2. Changing it replaces the "
          "nodes that use the built-in userdata.",
          Pattern{kPipVersionPattern}, MaxLength{kMaxPipVersionLength});
  v.field("headService", s.head_service,
          "The head Service inside Kubernetes (on by default, ClusterIP): a stable name for the head.");
  v.field("autoscaling", s.autoscaling,
          "Autoscaling of the worker pools from Ray's demand, with drain before removal. Absent or disabled: "
          "each pool's nodes is the exact count.");
  v.object_rule({kRuleHeadAccessNoneNeedsNoHead, "DALiuGE needs the head: not allowed with headAccess None",
                 ".daliuge.enabled"});
  v.object_rule({kRuleAutoscalingNeedsHead, "autoscaling needs the head: not allowed with headAccess None",
                 ".autoscaling.enabled"});
  v.object_rule({kRuleAutoscaledPools,
                 "with autoscaling enabled every worker pool needs maxNodes and rayResources, and nodes within "
                 "[minNodes, maxNodes]",
                 ".workerPools"});
}

}  // namespace raydog::api
