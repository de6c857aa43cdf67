#include "api/crd.hpp"

#include <stdexcept>

#include "api/defaults.hpp"
#include "api/types.hpp"
#include "api/validation.hpp"
#include "controller/util/yaml_json.hpp"

namespace raydog::api {
namespace {

using nlohmann::json;

// CEL rules (x-kubernetes-validations). Each has a twin check in validation.cpp.
const char* const kRuleStartScript = "!(has(self.startScript) && has(self.startScriptFrom))";
const char* const kRuleUserData = "!(has(self.userData) && has(self.userDataFrom))";
const char* const kRuleObservabilityTemplate =
    "!has(self.enabled) || !self.enabled || has(self.computeRequirementTemplate)";
const char* const kRuleSecretKeysDiffer =
    "!has(self.keyIdKey) || !has(self.keySecretKey) || self.keyIdKey != self.keySecretKey";
const char* const kRulePositiveDuration = "duration(self) > duration('0s')";
const char* const kRuleTagKeys = "self.all(k, size(k) >= 1 && size(k) <= 128)";
const char* const kRulePortsDistinct =
    "self.dim != self.nm && self.dim != self.events && self.dim != self.rpc && self.nm != self.events && "
    "self.nm != self.rpc && self.events != self.rpc";
const char* const kRuleMaxDeferralWhenIdle =
    "!has(self.maxDeferral) || (has(self.membershipPolicy) && self.membershipPolicy == 'WhenIdle')";

json rule(const char* text, const std::string& message, const std::string& field_path = {}) {
  json r = {{"rule", text}, {"message", message}};
  if (!field_path.empty()) r["fieldPath"] = field_path;
  return r;
}

json str(const std::string& description) {
  return {{"type", "string"}, {"description", description}};
}
json boolean(const std::string& description) {
  return {{"type", "boolean"}, {"description", description}};
}
json int32(const std::string& description) {
  return {{"type", "integer"}, {"format", "int32"}, {"description", description}};
}
json int64(const std::string& description) {
  return {{"type", "integer"}, {"format", "int64"}, {"description", description}};
}
json object(const std::string& description, json properties, std::vector<std::string> required = {}) {
  json o = {{"type", "object"}, {"description", description}, {"properties", std::move(properties)}};
  if (!required.empty()) o["required"] = required;
  return o;
}
json with(json schema, const json& extra) {
  for (auto it = extra.begin(); it != extra.end(); ++it) schema[it.key()] = it.value();
  return schema;
}

json duration(const std::string& description) {
  return with(str(description + " A Go duration: a sequence of numbers with units h, m, s, ms, us or ns, "
                                "e.g. 90s, 10m, 1h30m, 1.5h. Must be positive."),
              {{"pattern", kDurationPattern},
               {"maxLength", kMaxDurationLength},
               {"x-kubernetes-validations", {rule(kRulePositiveDuration, "must be a positive duration")}}});
}

json config_map_source(const std::string& what) {
  json ref =
      object("A key of a ConfigMap in the RayDogCluster's namespace.",
             {{"name", with(str("Name of the ConfigMap."),
                            {{"pattern", kDnsSubdomainPattern}, {"maxLength", kMaxDnsSubdomainLength}})},
              {"key", with(str("Key within the ConfigMap whose value is used."),
                           {{"pattern", kConfigMapKeyPattern}, {"maxLength", kMaxDnsSubdomainLength}})}},
             {"name", "key"});
  return object(what +
                    " read from a key of a ConfigMap in the RayDogCluster's namespace instead of given "
                    "inline.",
                {{"configMapKeyRef", ref}}, {"configMapKeyRef"});
}

// The fields every node kind shares (head, observability, each worker pool); they sit inline.
json node_properties() {
  return {
      {"computeRequirementTemplate",
       with(str("YellowDog compute requirement template the node's VMs are provisioned from: a template id "
                "(ydid:crt:...) or namespace/name. Each Ray node gets its own VM."),
            {{"pattern", kTemplateRefPattern}, {"minLength", 1}})},
      {"imagesId", with(str("YellowDog image family or image id overriding the template's image (optional)."),
                        {{"minLength", 1}})},
      {"userData", str("Userdata script run as root when the VM boots (node preparation: YellowDog agent, "
                       "Python, Ray). Mutually exclusive with userDataFrom. When both are absent the "
                       "template's own userdata is used.")},
      {"userDataFrom", config_map_source("Userdata")},
      {"startScript", with(str("Bash script of the node's YellowDog task; it must start Ray and block "
                               "(`ray start ... --block`). Default: the operator's built-in script for the "
                               "node kind. Mutually exclusive with startScriptFrom."),
                           {{"minLength", 1}})},
      {"startScriptFrom", config_map_source("The task script")},
      {"instanceTags",
       {{"type", "object"},
        {"description",
         "Cloud tags put on the node's VMs (key -> value; keys 1-128 characters, values up "
         "to 256, at most 50 tags)."},
        {"additionalProperties", {{"type", "string"}, {"maxLength", kMaxInstanceTagValueLength}}},
        {"maxProperties", kMaxInstanceTags},
        {"x-kubernetes-validations", {rule(kRuleTagKeys, "tag keys must be 1 to 128 characters")}}}},
      {"metricsEnabled", boolean("Enable YellowDog's node metrics collection on the node's worker pool.")},
  };
}

json node_rules() {
  return {
      rule(kRuleStartScript, "startScript and startScriptFrom are mutually exclusive", ".startScriptFrom"),
      rule(kRuleUserData, "userData and userDataFrom are mutually exclusive", ".userDataFrom")};
}

json head_schema() {
  json s = object(
      "The Ray head node: one YellowDog worker pool with one VM and one task running "
      "`ray start --head`. Its private IP is published in status.head and status.endpoints.",
      node_properties(), {"computeRequirementTemplate"});
  s["x-kubernetes-validations"] = node_rules();
  return s;
}

json observability_schema() {
  json props = node_properties();
  props["enabled"] = boolean(
      "Run an observability node (Grafana, Prometheus, Loki) that every Ray node "
      "reports to. Requires computeRequirementTemplate.");
  json s = object(
      "Optional observability node, provisioned before the head so the head and the workers "
      "can be given its address.",
      props);
  s["x-kubernetes-validations"] = node_rules();
  s["x-kubernetes-validations"].push_back(rule(kRuleObservabilityTemplate,
                                               "computeRequirementTemplate is required when enabled",
                                               ".computeRequirementTemplate"));
  return s;
}

json worker_pools_schema() {
  json props = node_properties();
  props["name"] = with(str("Name of the pool, unique within the cluster: a DNS label (lower case letters, "
                           "digits and '-', at most 63). Renaming a pool removes it and adds a new one."),
                       {{"pattern", kDnsLabelPattern}, {"maxLength", kMaxDnsLabelLength}});
  props["nodes"] = with(int32("Desired number of Ray worker nodes (VMs) in this pool. 0 keeps the pool "
                              "defined without VMs. Changing it scales the pool."),
                        {{"minimum", 0}, {"maximum", kMaxNodesPerPool}});
  json item = object(
      "A pool of identical Ray worker nodes: one YellowDog provisioned worker pool with its "
      "own worker tag, one task group, and one task per node.",
      props, {"name", "nodes", "computeRequirementTemplate"});
  item["x-kubernetes-validations"] = node_rules();
  return {{"type", "array"},
          {"description",
           "Ray worker pools, keyed by name. Pools can be added, resized and removed while the "
           "cluster runs."},
          {"items", item},
          {"maxItems", kMaxWorkerPools},
          {"x-kubernetes-list-type", "map"},
          {"x-kubernetes-list-map-keys", {"name"}}};
}

json yellowdog_schema() {
  json secret = object(
      "Secret in the RayDogCluster's namespace holding a YellowDog application key. The key never appears "
      "in logs, events or status.",
      {{"name", with(str("Name of the Secret."),
                     {{"pattern", kDnsSubdomainPattern}, {"maxLength", kMaxDnsSubdomainLength}})},
       {"keyIdKey", with(str("Key of the Secret holding the application key id."),
                         {{"pattern", kConfigMapKeyPattern}, {"maxLength", kMaxDnsSubdomainLength}})},
       {"keySecretKey", with(str("Key of the Secret holding the application key secret."),
                             {{"pattern", kConfigMapKeyPattern}, {"maxLength", kMaxDnsSubdomainLength}})}},
      {"name"});
  secret["x-kubernetes-validations"] = {
      rule(kRuleSecretKeysDiffer, "must differ from keyIdKey", ".keySecretKey")};
  return object(
      "Where and as whom the cluster runs on YellowDog.",
      {{"apiURL", with(str("Base URL of the YellowDog REST API."), {{"pattern", kApiUrlPattern}})},
       {"credentialsSecretRef", secret},
       {"namespace", with(str("YellowDog namespace of every object the operator creates (work requirement, "
                              "worker pools, compute requirements): lower case letters, digits, '_' and '-', "
                              "starting with a letter, at most 60 characters."),
                          {{"pattern", kYellowDogNamePattern}, {"maxLength", kMaxYellowDogNameLength}})},
       {"tag", with(str("Tag put on every YellowDog object the operator creates (optional)."),
                    {{"maxLength", kMaxTagLength}})}},
      {"namespace", "credentialsSecretRef"});
}

json daliuge_schema() {
  auto port = [](const std::string& description) {
    return with(int32(description), {{"minimum", kMinPort}, {"maximum", kMaxPort}});
  };
  json ports =
      object("TCP ports of the DALiuGE managers (1-65535, all different: the head may run a DIM and an NM).",
             {{"dim", port("DIM REST API on the head; the operator registers Node Managers through it.")},
              {"nm", port("Node Manager REST API on every worker (the DIM calls it).")},
              {"events", port("Node Manager event publisher (ZeroMQ PUB); other NMs subscribe to it.")},
              {"rpc", port("Node Manager RPC server (ZeroRPC); other NMs call it.")}});
  ports["x-kubernetes-validations"] = {rule(kRulePortsDistinct, "ports must be distinct")};
  json s = object(
      "Optional DALiuGE layer: a Data Island Manager (DIM) on the head and a Node Manager (NM) on every "
      "worker; the operator keeps the DIM's node list equal to the ready workers' NMs, each exactly once.",
      {{"enabled", boolean("Run DALiuGE managers on the cluster's nodes and register the NMs with the DIM.")},
       {"version", with(str("daliuge-engine version the node userdata installs (pip), e.g. 6.6.0. Absent: "
                            "the image must provide the `dlg` command."),
                        {{"pattern", kDaliugeVersionPattern}, {"maxLength", kMaxDaliugeVersionLength}})},
       {"ports", ports},
       {"root", with(str("DLG_ROOT on every node (workspace, logs, pid files): an absolute path."),
                     {{"pattern", kDlgRootPattern}, {"maxLength", kMaxDlgRootLength}})},
       {"nmOnHead", boolean("Also run a Node Manager on the head node and register it (with the head's "
                            "private IP).")},
       {"dimAddress", with(str("Which head address the operator uses to reach the DIM: Private or Public "
                               "(the operator must be able to reach that address on the DIM port)."),
                           {{"enum", dim_address_values()}})},
       {"membershipPolicy",
        with(str("When planned membership changes (scale up/down, pool removal) reach the DIM: Immediate, or "
                 "WhenIdle (wait while a DALiuGE session is active, at most maxDeferral). Dead NMs are "
                 "always removed at once."),
             {{"enum", membership_policy_values()}})},
       {"maxDeferral", duration("Longest wait for an idle DIM under membershipPolicy WhenIdle (default 10m). "
                                "Only with WhenIdle.")}});
  s["x-kubernetes-validations"] = {
      rule(kRuleMaxDeferralWhenIdle, "only allowed with membershipPolicy WhenIdle", ".maxDeferral")};
  return s;
}

json daliuge_status_schema() {
  json nm = object("A Node Manager and its registration with the DIM.",
                   {{"ip", str("Private IPv4 of the NM's node (the host of its node string).")},
                    {"pool", str("Worker pool of the node (\"head\" for an NM on the head).")},
                    {"url", str("NM REST URL (http://IP:NM_PORT).")},
                    {"state", str("Registered, Pending (ready, not registered yet), Unreachable (its NM does "
                                  "not answer), Deferred (waiting for an idle DIM) or Removing.")},
                    {"message", str("Details about the registration state.")}},
                   {"ip"});
  return object(
      "DALiuGE managers of the cluster (when spec.daliuge.enabled).",
      {{"dimURL", str("DIM URL at the head's private IP (http://IP:DIM_PORT).")},
       {"dimPublicURL", str("DIM URL at the head's public IP, when it has one.")},
       {"desiredNodeManagers", int32("NMs that should be registered: ready workers whose NM answers.")},
       {"registeredNodeManagers", int32("Desired NMs found in the DIM's node list.")},
       {"nodeManagers",
        {{"type", "array"},
         {"description", "Each desired or registered NM with its pool, IP, URL and state."},
         {"items", nm}}}});
}

json spec_schema() {
  return object(
      "Desired state of a Ray cluster on YellowDog.",
      {{"yellowdog", yellowdog_schema()},
       {"lifetime", duration("Maximum lifetime of the cluster's Ray nodes: every task group's taskTimeout on "
                             "YellowDog. Absent: no limit.")},
       {"buildTimeout", duration("How long the head node may take to reach EXECUTING. When it is exceeded "
                                 "the cluster becomes Failed and its YellowDog objects are torn down.")},
       {"head", head_schema()},
       {"observability", observability_schema()},
       {"workerPools", worker_pools_schema()},
       {"suspend", boolean("true: cancel the work requirement and shut down every worker pool but keep the "
                           "resource; false again rebuilds the cluster.")},
       {"deletionPolicy", with(str("What happens to the YellowDog objects when the resource is deleted: "
                                   "Delete tears them down, Orphan leaves them running."),
                               {{"enum", deletion_policy_values()}})},
       {"daliuge", daliuge_schema()}},
      {"yellowdog", "head"});
}

json condition_schema() {
  return object(
      "A standard Kubernetes condition (metav1.Condition).",
      {{"type", with(str("Condition type: Ready, Synced, HeadReady, WorkersReady, Provisioned."),
                     {{"maxLength", 316},
                      {"pattern",
                       "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-"
                       "Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"}})},
       {"status", with(str("True, False or Unknown."), {{"enum", {"True", "False", "Unknown"}}})},
       {"reason", with(str("Machine-readable CamelCase reason for the last transition."),
                       {{"maxLength", 1024},
                        {"minLength", 1},
                        {"pattern", "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"}})},
       {"message", with(str("Human-readable details (may be empty)."), {{"maxLength", 32768}})},
       {"lastTransitionTime", with(str("When status last changed (RFC 3339)."), {{"format", "date-time"}})},
       {"observedGeneration",
        with(int64("metadata.generation the condition was computed from."), {{"minimum", 0}})}},
      {"type", "status", "lastTransitionTime", "reason", "message"});
}

json pool_status_schema() {
  return object("Observed state of one worker pool.",
                {{"name", str("Name of the pool in spec.workerPools.")},
                 {"workerPoolId", str("YellowDog worker pool id.")},
                 {"computeRequirementId", str("YellowDog compute requirement id of the pool.")},
                 {"taskGroupId", str("YellowDog task group id of the pool's tasks.")},
                 {"workerTag", str("Worker tag that binds the pool's VMs to its task group.")},
                 {"desiredNodes", int32("Ray worker nodes wanted (spec nodes; 0 while suspended).")},
                 {"registeredNodes", int32("VMs registered with YellowDog.")},
                 {"readyNodes", int32("Ray worker tasks EXECUTING.")},
                 {"failedTasks", int32("Tasks of this pool that failed (replaced by the operator).")},
                 {"poolStatus", str("YellowDog worker pool status (PENDING, RUNNING, IDLE, SHUTDOWN, ...).")},
                 {"health", str("Summary: Healthy, Progressing, Degraded or Failed.")},
                 {"message", str("Details about the pool's health.")}},
                {"name"});
}

json status_schema() {
  json pools = {{"type", "array"},
                {"description", "Observed state of each worker pool, keyed by name."},
                {"items", pool_status_schema()},
                {"x-kubernetes-list-type", "map"},
                {"x-kubernetes-list-map-keys", {"name"}}};
  json conditions = {{"type", "array"},
                     {"description",
                      "Ready (lifecycle summary), Synced (last reconcile succeeded), HeadReady, "
                      "WorkersReady, Provisioned (all nodes were ready once), DaliugeReady (when DALiuGE is "
                      "enabled: the DIM answers and lists every desired NM exactly once)."},
                     {"items", condition_schema()},
                     {"x-kubernetes-list-type", "map"},
                     {"x-kubernetes-list-map-keys", {"type"}}};
  return object(
      "Observed state, written by the operator.",
      {{"observedGeneration",
        with(int64("metadata.generation this status was computed from."), {{"minimum", 0}})},
       {"phase", with(str("Lifecycle phase."), {{"enum", phase_values()}})},
       {"workRequirement",
        object("The cluster's YellowDog work requirement.",
               {{"id", str("Work requirement id.")},
                {"name", str("Work requirement name (derived from namespace, name and uid).")},
                {"status", str("YellowDog work requirement status (RUNNING, CANCELLED, ...).")}})},
       {"head", object("The Ray head node.",
                       {{"privateIP", str("Private IP of the head VM; workers connect to it.")},
                        {"publicIP", str("Public IP of the head VM, when it has one.")},
                        {"taskId", str("YellowDog task id of the head task.")},
                        {"nodeId", str("YellowDog node id the head task runs on.")},
                        {"workerPoolId", str("YellowDog worker pool id of the head.")},
                        {"taskStatus", str("YellowDog status of the head task (EXECUTING when up).")}})},
       {"observability", object("The observability node.",
                                {{"privateIP", str("Private IP of the observability VM.")},
                                 {"publicIP", str("Public IP of the observability VM, when it has one.")},
                                 {"grafanaURL", str("Grafana URL.")},
                                 {"prometheusURL", str("Prometheus URL.")}})},
       {"endpoints", object("Addresses of the Ray cluster.",
                            {{"client", str("Ray client address (ray://IP:10001).")},
                             {"dashboard", str("Ray dashboard URL (http://IP:8265).")},
                             {"gcs", str("Ray GCS address (IP:6379) for `ray start --address`.")}})},
       {"workerPools", pools},
       {"desiredWorkers", int32("Ray worker nodes wanted over all pools.")},
       {"readyWorkers", int32("Ray worker nodes running over all pools.")},
       {"daliuge", daliuge_status_schema()},
       {"conditions", conditions}});
}

// Sets `default` at a default_table() path ("spec.workerPools[].metricsEnabled").
void set_default(json& root, const std::string& path, const json& value) {
  json* node = &root;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string::npos) dot = path.size();
    std::string part = path.substr(start, dot - start);
    bool list = part.ends_with("[]");
    if (list) part.resize(part.size() - 2);
    if (!node->contains("properties") || !(*node)["properties"].contains(part))
      throw std::logic_error("default for a field the schema does not have: " + path);
    node = &(*node)["properties"][part];
    if (list) node = &(*node)["items"];
    start = dot + 1;
  }
  (*node)["default"] = value;
}

}  // namespace

json open_api_schema() {
  json schema = object(
      "RayDogCluster is a Ray cluster on the YellowDog platform: a head node, an optional observability node "
      "and any number of worker pools, kept converged by raydog-operator.",
      {{"apiVersion", str("APIVersion defines the versioned schema of this representation of an object.")},
       {"kind", str("Kind is a string value representing the REST resource this object represents.")},
       {"metadata", {{"type", "object"}}},
       {"spec", spec_schema()},
       {"status", status_schema()}},
      {"spec"});
  for (const auto& rule : default_table()) set_default(schema, rule.path, rule.value);
  return schema;
}

json custom_resource_definition() {
  auto column = [](const char* name, const char* type, const char* path, const char* description,
                   int priority = 0) {
    json c = {{"name", name}, {"type", type}, {"jsonPath", path}, {"description", description}};
    if (priority) c["priority"] = priority;
    return c;
  };
  json columns = json::array({
      column("Phase", "string", ".status.phase", "Lifecycle phase"),
      column("Head IP", "string", ".status.head.privateIP", "Private IP of the Ray head"),
      column("Workers", "integer", ".status.readyWorkers", "Ray worker nodes running"),
      column("Desired", "integer", ".status.desiredWorkers", "Ray worker nodes wanted"),
      column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Ready condition"),
      column("Age", "date", ".metadata.creationTimestamp", "Time since creation"),
      column("Public IP", "string", ".status.head.publicIP", "Public IP of the Ray head", 1),
      column("Work Requirement", "string", ".status.workRequirement.name", "YellowDog work requirement", 1),
  });
  json version = {{"name", kVersion},
                  {"served", true},
                  {"storage", true},
                  {"subresources", {{"status", json::object()}}},
                  {"additionalPrinterColumns", columns},
                  {"schema", {{"openAPIV3Schema", open_api_schema()}}}};
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          // The install's common labels live here, not in a kustomize transformer: kubectl 1.20's
          // kustomize has no `labels:` (manifests/kustomization.yaml says why).
          {"metadata",
           {{"name", std::string(kPlural) + "." + std::string(kGroup)},
            {"labels", {{"app.kubernetes.io/name", "raydog-operator"}, {"app.kubernetes.io/part-of", "raydog-operator"}}}}},
          {"spec",
           {{"group", kGroup},
            {"names",
             {{"kind", kKind},
              {"listKind", kListKind},
              {"plural", kPlural},
              {"singular", kSingular},
              {"shortNames", {kShortName}},
              {"categories", {"all"}}}},
            {"scope", "Namespaced"},
            {"versions", {version}}}}};
}

std::string custom_resource_definition_yaml() {
  return "# Generated by `raydog-operator crd` (api/crd.cpp). Do not edit: run `make crd`.\n" +
         json_to_yaml(custom_resource_definition());
}

std::vector<std::string> cel_rules() {
  return {kRuleStartScript,      kRuleUserData, kRuleObservabilityTemplate, kRuleSecretKeysDiffer,
          kRulePositiveDuration, kRuleTagKeys,  kRulePortsDistinct,         kRuleMaxDeferralWhenIdle};
}

}  // namespace raydog::api
