#include "api/json.hpp"

#include <functional>
#include <limits>
#include <set>

namespace raydog::api {
namespace {

using nlohmann::json;

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}
std::string index_path(const std::string& parent, size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}
std::string key_path(const std::string& parent, const std::string& key) {
  return parent + "[" + key + "]";
}

const char* type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "value";
  }
}

// Walks one JSON object: every key the caller asks for is marked as known; finish() reports the rest.
class ObjectReader {
 public:
  enum class Unknown { Reject, Ignore };

  ObjectReader(const json& j, std::string path, FieldErrors& errors, Unknown unknown = Unknown::Reject)
      : j_(j), path_(std::move(path)), errors_(errors), unknown_(unknown) {
    ok_ = j.is_object();
    if (!ok_) errors_.push_back({path_, std::string("must be an object, got ") + type_name(j)});
  }
  ObjectReader(const ObjectReader&) = delete;
  ObjectReader& operator=(const ObjectReader&) = delete;
  ~ObjectReader() {
    if (!ok_ || unknown_ == Unknown::Ignore) return;
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!known_.count(it.key())) errors_.push_back({join_path(path_, it.key()), "unknown field"});
  }

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  FieldErrors& errors() { return errors_; }

  // Calls fn(value, path) when the key is present and not null (null means absent, as in Kubernetes).
  void field(std::string_view key, const std::function<void(const json&, const std::string&)>& fn) {
    known_.insert(std::string(key));
    if (!ok_) return;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    fn(*it, join_path(path_, key));
  }

  // Marks keys that belong to a nested reader working on the same object (inline structs).
  void claim(std::string_view key) { known_.insert(std::string(key)); }

  template <class T, class Decode>
  void opt(std::string_view key, std::optional<T>& out, Decode decode) {
    field(key, [&](const json& v, const std::string& p) { out = decode(v, p, errors_); });
  }

 private:
  const json& j_;
  std::string path_;
  FieldErrors& errors_;
  Unknown unknown_;
  bool ok_ = false;
  std::set<std::string, std::less<>> known_;
};

std::optional<std::string> get_string(const json& j, const std::string& path, FieldErrors& errors) {
  if (j.is_string()) return j.get<std::string>();
  errors.push_back({path, std::string("must be a string, got ") + type_name(j)});
  return std::nullopt;
}

std::optional<bool> get_bool(const json& j, const std::string& path, FieldErrors& errors) {
  if (j.is_boolean()) return j.get<bool>();
  errors.push_back({path, std::string("must be a boolean, got ") + type_name(j)});
  return std::nullopt;
}

std::optional<std::int64_t> get_int64(const json& j, const std::string& path, FieldErrors& errors) {
  if (j.is_number_integer() &&
      (!j.is_number_unsigned() ||
       j.get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<std::int64_t>::max())))
    return j.get<std::int64_t>();
  errors.push_back({path, j.is_number() ? std::string("must be an integer in int64 range")
                                        : std::string("must be an integer, got ") + type_name(j)});
  return std::nullopt;
}

std::optional<std::int32_t> get_int32(const json& j, const std::string& path, FieldErrors& errors) {
  if (j.is_number_integer()) {
    // Compare as signed 64 (unsigned values above int64 max are out of range anyway).
    bool fits = j.is_number_unsigned()
                    ? j.get<std::uint64_t>() <= std::uint64_t(INT32_MAX)
                    : (j.get<std::int64_t>() >= INT32_MIN && j.get<std::int64_t>() <= INT32_MAX);
    if (fits) return static_cast<std::int32_t>(j.get<std::int64_t>());
    errors.push_back({path, "must be an integer in int32 range"});
    return std::nullopt;
  }
  errors.push_back({path, std::string("must be an integer, got ") + type_name(j)});
  return std::nullopt;
}

std::optional<std::map<std::string, std::string>> get_string_map(const json& j, const std::string& path,
                                                                 FieldErrors& errors) {
  if (!j.is_object()) {
    errors.push_back({path, std::string("must be an object of strings, got ") + type_name(j)});
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_null()) continue;  // null means absent, as for fields
    if (auto s = get_string(it.value(), key_path(path, it.key()), errors)) out[it.key()] = *s;
  }
  return out;
}

std::optional<std::vector<std::string>> get_string_list(const json& j, const std::string& path,
                                                        FieldErrors& errors) {
  if (!j.is_array()) {
    errors.push_back({path, std::string("must be an array of strings, got ") + type_name(j)});
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i)
    if (auto s = get_string(j[i], index_path(path, i), errors)) out.push_back(*s);
  return out;
}

// Required-but-typed-as-plain string fields (names, map keys): absent stays "", validation reports it.
void get_plain_string(ObjectReader& r, std::string_view key, std::string& out) {
  r.field(key, [&](const json& v, const std::string& p) {
    if (auto s = get_string(v, p, r.errors())) out = *s;
  });
}

template <class T>
void put(json& j, std::string_view key, const std::optional<T>& v) {
  if (v) j[std::string(key)] = *v;
}
void put(json& j, std::string_view key, const std::optional<DeletionPolicy>& v) {
  if (v) j[std::string(key)] = std::string(to_string(*v));
}
void put(json& j, std::string_view key, const std::optional<Phase>& v) {
  if (v) j[std::string(key)] = std::string(to_string(*v));
}
void put(json& j, std::string_view key, const std::optional<DimAddress>& v) {
  if (v) j[std::string(key)] = std::string(to_string(*v));
}
void put(json& j, std::string_view key, const std::optional<MembershipPolicy>& v) {
  if (v) j[std::string(key)] = std::string(to_string(*v));
}

// ---- spec decoding ----

ConfigMapKeySelector decode_cm_key(const json& j, const std::string& path, FieldErrors& errors) {
  ConfigMapKeySelector out;
  ObjectReader r(j, path, errors);
  get_plain_string(r, "name", out.name);
  get_plain_string(r, "key", out.key);
  return out;
}

ValueSource decode_value_source(const json& j, const std::string& path, FieldErrors& errors) {
  ValueSource out;
  ObjectReader r(j, path, errors);
  r.opt("configMapKeyRef", out.config_map_key_ref, decode_cm_key);
  return out;
}

// NodeSpec fields are inline in head, observability and every worker pool: read them from the reader
// of the enclosing object so that unknown-field detection sees one set of known keys.
NodeSpec decode_node_fields(ObjectReader& r) {
  NodeSpec out;
  r.opt("computeRequirementTemplate", out.compute_requirement_template, get_string);
  r.opt("imagesId", out.images_id, get_string);
  r.opt("userData", out.user_data, get_string);
  r.opt("userDataFrom", out.user_data_from, decode_value_source);
  r.opt("startScript", out.start_script, get_string);
  r.opt("startScriptFrom", out.start_script_from, decode_value_source);
  r.opt("instanceTags", out.instance_tags, get_string_map);
  r.opt("metricsEnabled", out.metrics_enabled, get_bool);
  return out;
}

NodeSpec decode_node(const json& j, const std::string& path, FieldErrors& errors) {
  ObjectReader r(j, path, errors);
  return decode_node_fields(r);
}

WorkerPoolSpec decode_pool(const json& j, const std::string& path, FieldErrors& errors) {
  WorkerPoolSpec out;
  ObjectReader r(j, path, errors);
  get_plain_string(r, "name", out.name);
  r.opt("nodes", out.nodes, get_int32);
  out.node = decode_node_fields(r);
  return out;
}

std::optional<std::vector<WorkerPoolSpec>> decode_pools(const json& j, const std::string& path,
                                                        FieldErrors& errors) {
  if (!j.is_array()) {
    errors.push_back({path, std::string("must be an array, got ") + type_name(j)});
    return std::nullopt;
  }
  std::vector<WorkerPoolSpec> out;
  for (size_t i = 0; i < j.size(); ++i) out.push_back(decode_pool(j[i], index_path(path, i), errors));
  return out;
}

ObservabilitySpec decode_observability(const json& j, const std::string& path, FieldErrors& errors) {
  ObservabilitySpec out;
  ObjectReader r(j, path, errors);
  r.opt("enabled", out.enabled, get_bool);
  out.node = decode_node_fields(r);
  return out;
}

CredentialsSecretRef decode_secret_ref(const json& j, const std::string& path, FieldErrors& errors) {
  CredentialsSecretRef out;
  ObjectReader r(j, path, errors);
  get_plain_string(r, "name", out.name);
  r.opt("keyIdKey", out.key_id_key, get_string);
  r.opt("keySecretKey", out.key_secret_key, get_string);
  return out;
}

YellowDogSpec decode_yellowdog(const json& j, const std::string& path, FieldErrors& errors) {
  YellowDogSpec out;
  ObjectReader r(j, path, errors);
  r.opt("apiURL", out.api_url, get_string);
  r.opt("credentialsSecretRef", out.credentials_secret_ref, decode_secret_ref);
  r.opt("namespace", out.namespace_name, get_string);
  r.opt("tag", out.tag, get_string);
  return out;
}

std::optional<DeletionPolicy> get_deletion_policy(const json& j, const std::string& path,
                                                  FieldErrors& errors) {
  auto s = get_string(j, path, errors);
  if (!s) return std::nullopt;
  if (auto p = deletion_policy_from_string(*s)) return p;
  errors.push_back({path, "unsupported value \"" + *s + "\": must be one of Delete, Orphan"});
  return std::nullopt;
}

std::optional<DimAddress> get_dim_address(const json& j, const std::string& path, FieldErrors& errors) {
  auto s = get_string(j, path, errors);
  if (!s) return std::nullopt;
  if (auto a = dim_address_from_string(*s)) return a;
  errors.push_back({path, "unsupported value \"" + *s + "\": must be one of Private, Public"});
  return std::nullopt;
}

std::optional<MembershipPolicy> get_membership_policy(const json& j, const std::string& path,
                                                      FieldErrors& errors) {
  auto s = get_string(j, path, errors);
  if (!s) return std::nullopt;
  if (auto p = membership_policy_from_string(*s)) return p;
  errors.push_back({path, "unsupported value \"" + *s + "\": must be one of Immediate, WhenIdle"});
  return std::nullopt;
}

DaliugePorts decode_daliuge_ports(const json& j, const std::string& path, FieldErrors& errors) {
  DaliugePorts out;
  ObjectReader r(j, path, errors);
  r.opt("dim", out.dim, get_int32);
  r.opt("nm", out.nm, get_int32);
  r.opt("events", out.events, get_int32);
  r.opt("rpc", out.rpc, get_int32);
  return out;
}

DaliugeSpec decode_daliuge(const json& j, const std::string& path, FieldErrors& errors) {
  DaliugeSpec out;
  ObjectReader r(j, path, errors);
  r.opt("enabled", out.enabled, get_bool);
  r.opt("version", out.version, get_string);
  r.opt("ports", out.ports, decode_daliuge_ports);
  r.opt("root", out.root, get_string);
  r.opt("nmOnHead", out.nm_on_head, get_bool);
  r.opt("dimAddress", out.dim_address, get_dim_address);
  r.opt("membershipPolicy", out.membership_policy, get_membership_policy);
  r.opt("maxDeferral", out.max_deferral, get_string);
  return out;
}

// ---- status decoding (unknown fields ignored, see json.hpp) ----

constexpr auto kLenient = ObjectReader::Unknown::Ignore;

Condition decode_condition(const json& j, const std::string& path, FieldErrors& errors) {
  Condition out;
  ObjectReader r(j, path, errors, kLenient);
  get_plain_string(r, "type", out.type);
  get_plain_string(r, "status", out.status);
  get_plain_string(r, "reason", out.reason);
  get_plain_string(r, "message", out.message);
  get_plain_string(r, "lastTransitionTime", out.last_transition_time);
  r.opt("observedGeneration", out.observed_generation, get_int64);
  return out;
}

WorkRequirementStatus decode_wr_status(const json& j, const std::string& path, FieldErrors& errors) {
  WorkRequirementStatus out;
  ObjectReader r(j, path, errors, kLenient);
  r.opt("id", out.id, get_string);
  r.opt("name", out.name, get_string);
  r.opt("status", out.status, get_string);
  return out;
}

HeadStatus decode_head_status(const json& j, const std::string& path, FieldErrors& errors) {
  HeadStatus out;
  ObjectReader r(j, path, errors, kLenient);
  r.opt("privateIP", out.private_ip, get_string);
  r.opt("publicIP", out.public_ip, get_string);
  r.opt("taskId", out.task_id, get_string);
  r.opt("nodeId", out.node_id, get_string);
  r.opt("workerPoolId", out.worker_pool_id, get_string);
  r.opt("taskStatus", out.task_status, get_string);
  return out;
}

ObservabilityStatus decode_obs_status(const json& j, const std::string& path, FieldErrors& errors) {
  ObservabilityStatus out;
  ObjectReader r(j, path, errors, kLenient);
  r.opt("privateIP", out.private_ip, get_string);
  r.opt("publicIP", out.public_ip, get_string);
  r.opt("grafanaURL", out.grafana_url, get_string);
  r.opt("prometheusURL", out.prometheus_url, get_string);
  return out;
}

EndpointsStatus decode_endpoints(const json& j, const std::string& path, FieldErrors& errors) {
  EndpointsStatus out;
  ObjectReader r(j, path, errors, kLenient);
  r.opt("client", out.client, get_string);
  r.opt("dashboard", out.dashboard, get_string);
  r.opt("gcs", out.gcs, get_string);
  return out;
}

WorkerPoolStatus decode_pool_status(const json& j, const std::string& path, FieldErrors& errors) {
  WorkerPoolStatus out;
  ObjectReader r(j, path, errors, kLenient);
  get_plain_string(r, "name", out.name);
  r.opt("workerPoolId", out.worker_pool_id, get_string);
  r.opt("computeRequirementId", out.compute_requirement_id, get_string);
  r.opt("taskGroupId", out.task_group_id, get_string);
  r.opt("workerTag", out.worker_tag, get_string);
  r.opt("desiredNodes", out.desired_nodes, get_int32);
  r.opt("registeredNodes", out.registered_nodes, get_int32);
  r.opt("readyNodes", out.ready_nodes, get_int32);
  r.opt("failedTasks", out.failed_tasks, get_int32);
  r.opt("poolStatus", out.pool_status, get_string);
  r.opt("health", out.health, get_string);
  r.opt("message", out.message, get_string);
  return out;
}

DaliugeNodeStatus decode_daliuge_node(const json& j, const std::string& path, FieldErrors& errors) {
  DaliugeNodeStatus out;
  ObjectReader r(j, path, errors, kLenient);
  get_plain_string(r, "ip", out.ip);
  r.opt("pool", out.pool, get_string);
  r.opt("url", out.url, get_string);
  r.opt("state", out.state, get_string);
  r.opt("message", out.message, get_string);
  return out;
}

template <class T>
void decode_list(ObjectReader& r, std::string_view key, std::vector<T>& out,
                 T (*decode)(const json&, const std::string&, FieldErrors&)) {
  r.field(key, [&](const json& v, const std::string& p) {
    if (!v.is_array()) {
      r.errors().push_back({p, std::string("must be an array, got ") + type_name(v)});
      return;
    }
    for (size_t i = 0; i < v.size(); ++i) out.push_back(decode(v[i], index_path(p, i), r.errors()));
  });
}

DaliugeStatus decode_daliuge_status(const json& j, const std::string& path, FieldErrors& errors) {
  DaliugeStatus out;
  ObjectReader r(j, path, errors, kLenient);
  r.opt("dimURL", out.dim_url, get_string);
  r.opt("dimPublicURL", out.dim_public_url, get_string);
  r.opt("desiredNodeManagers", out.desired_node_managers, get_int32);
  r.opt("registeredNodeManagers", out.registered_node_managers, get_int32);
  decode_list(r, "nodeManagers", out.node_managers, decode_daliuge_node);
  return out;
}

}  // namespace

// ---- encoding ----

void to_json(json& j, const ConfigMapKeySelector& v) {
  j = json{{"name", v.name}, {"key", v.key}};
}

void to_json(json& j, const ValueSource& v) {
  j = json::object();
  put(j, "configMapKeyRef", v.config_map_key_ref);
}

void to_json(json& j, const NodeSpec& v) {
  if (!j.is_object()) j = json::object();  // inline: may add to an object that already has fields
  put(j, "computeRequirementTemplate", v.compute_requirement_template);
  put(j, "imagesId", v.images_id);
  put(j, "userData", v.user_data);
  put(j, "userDataFrom", v.user_data_from);
  put(j, "startScript", v.start_script);
  put(j, "startScriptFrom", v.start_script_from);
  put(j, "instanceTags", v.instance_tags);
  put(j, "metricsEnabled", v.metrics_enabled);
}

void to_json(json& j, const WorkerPoolSpec& v) {
  j = json{{"name", v.name}};
  put(j, "nodes", v.nodes);
  to_json(j, v.node);
}

void to_json(json& j, const ObservabilitySpec& v) {
  j = json::object();
  put(j, "enabled", v.enabled);
  to_json(j, v.node);
}

void to_json(json& j, const CredentialsSecretRef& v) {
  j = json{{"name", v.name}};
  put(j, "keyIdKey", v.key_id_key);
  put(j, "keySecretKey", v.key_secret_key);
}

void to_json(json& j, const YellowDogSpec& v) {
  j = json::object();
  put(j, "apiURL", v.api_url);
  put(j, "credentialsSecretRef", v.credentials_secret_ref);
  put(j, "namespace", v.namespace_name);
  put(j, "tag", v.tag);
}

void to_json(json& j, const DaliugePorts& v) {
  j = json::object();
  put(j, "dim", v.dim);
  put(j, "nm", v.nm);
  put(j, "events", v.events);
  put(j, "rpc", v.rpc);
}

void to_json(json& j, const DaliugeSpec& v) {
  j = json::object();
  put(j, "enabled", v.enabled);
  put(j, "version", v.version);
  put(j, "ports", v.ports);
  put(j, "root", v.root);
  put(j, "nmOnHead", v.nm_on_head);
  put(j, "dimAddress", v.dim_address);
  put(j, "membershipPolicy", v.membership_policy);
  put(j, "maxDeferral", v.max_deferral);
}

void to_json(json& j, const RayDogClusterSpec& v) {
  j = json::object();
  put(j, "yellowdog", v.yellowdog);
  put(j, "lifetime", v.lifetime);
  put(j, "buildTimeout", v.build_timeout);
  put(j, "head", v.head);
  put(j, "observability", v.observability);
  put(j, "workerPools", v.worker_pools);
  put(j, "suspend", v.suspend);
  put(j, "deletionPolicy", v.deletion_policy);
  put(j, "daliuge", v.daliuge);
}

void to_json(json& j, const Condition& v) {
  j = json{{"type", v.type},
           {"status", v.status},
           {"reason", v.reason},
           {"message", v.message},
           {"lastTransitionTime", v.last_transition_time}};
  put(j, "observedGeneration", v.observed_generation);
}

void to_json(json& j, const WorkRequirementStatus& v) {
  j = json::object();
  put(j, "id", v.id);
  put(j, "name", v.name);
  put(j, "status", v.status);
}

void to_json(json& j, const HeadStatus& v) {
  j = json::object();
  put(j, "privateIP", v.private_ip);
  put(j, "publicIP", v.public_ip);
  put(j, "taskId", v.task_id);
  put(j, "nodeId", v.node_id);
  put(j, "workerPoolId", v.worker_pool_id);
  put(j, "taskStatus", v.task_status);
}

void to_json(json& j, const ObservabilityStatus& v) {
  j = json::object();
  put(j, "privateIP", v.private_ip);
  put(j, "publicIP", v.public_ip);
  put(j, "grafanaURL", v.grafana_url);
  put(j, "prometheusURL", v.prometheus_url);
}

void to_json(json& j, const EndpointsStatus& v) {
  j = json::object();
  put(j, "client", v.client);
  put(j, "dashboard", v.dashboard);
  put(j, "gcs", v.gcs);
}

void to_json(json& j, const WorkerPoolStatus& v) {
  j = json{{"name", v.name}};
  put(j, "workerPoolId", v.worker_pool_id);
  put(j, "computeRequirementId", v.compute_requirement_id);
  put(j, "taskGroupId", v.task_group_id);
  put(j, "workerTag", v.worker_tag);
  put(j, "desiredNodes", v.desired_nodes);
  put(j, "registeredNodes", v.registered_nodes);
  put(j, "readyNodes", v.ready_nodes);
  put(j, "failedTasks", v.failed_tasks);
  put(j, "poolStatus", v.pool_status);
  put(j, "health", v.health);
  put(j, "message", v.message);
}

void to_json(json& j, const DaliugeNodeStatus& v) {
  j = json{{"ip", v.ip}};
  put(j, "pool", v.pool);
  put(j, "url", v.url);
  put(j, "state", v.state);
  put(j, "message", v.message);
}

void to_json(json& j, const DaliugeStatus& v) {
  j = json::object();
  put(j, "dimURL", v.dim_url);
  put(j, "dimPublicURL", v.dim_public_url);
  put(j, "desiredNodeManagers", v.desired_node_managers);
  put(j, "registeredNodeManagers", v.registered_node_managers);
  if (!v.node_managers.empty()) j["nodeManagers"] = v.node_managers;
}

void to_json(json& j, const RayDogClusterStatus& v) {
  j = json::object();
  put(j, "observedGeneration", v.observed_generation);
  put(j, "phase", v.phase);
  put(j, "workRequirement", v.work_requirement);
  put(j, "head", v.head);
  put(j, "observability", v.observability);
  put(j, "endpoints", v.endpoints);
  if (!v.worker_pools.empty()) j["workerPools"] = v.worker_pools;
  put(j, "desiredWorkers", v.desired_workers);
  put(j, "readyWorkers", v.ready_workers);
  put(j, "daliuge", v.daliuge);
  if (!v.conditions.empty()) j["conditions"] = v.conditions;
}

void to_json(json& j, const ObjectMeta& v) {
  j = json::object();
  if (!v.name.empty()) j["name"] = v.name;
  put(j, "namespace", v.namespace_name);
  put(j, "uid", v.uid);
  put(j, "generation", v.generation);
  put(j, "resourceVersion", v.resource_version);
  put(j, "creationTimestamp", v.creation_timestamp);
  put(j, "deletionTimestamp", v.deletion_timestamp);
  put(j, "labels", v.labels);
  put(j, "annotations", v.annotations);
  put(j, "finalizers", v.finalizers);
}

void to_json(json& j, const RayDogCluster& v) {
  j = json{{"apiVersion", kApiVersion}, {"kind", kKind}, {"metadata", v.metadata}, {"spec", v.spec}};
  put(j, "status", v.status);
}

// ---- decoding ----

RayDogClusterSpec decode_spec(const json& j, const std::string& path, FieldErrors& errors) {
  RayDogClusterSpec out;
  ObjectReader r(j, path, errors);
  r.opt("yellowdog", out.yellowdog, decode_yellowdog);
  r.opt("lifetime", out.lifetime, get_string);
  r.opt("buildTimeout", out.build_timeout, get_string);
  r.opt("head", out.head, decode_node);
  r.opt("observability", out.observability, decode_observability);
  r.opt("workerPools", out.worker_pools, decode_pools);
  r.opt("suspend", out.suspend, get_bool);
  r.opt("deletionPolicy", out.deletion_policy, get_deletion_policy);
  r.opt("daliuge", out.daliuge, decode_daliuge);
  return out;
}

RayDogClusterStatus decode_status(const json& j, const std::string& path, FieldErrors& errors) {
  RayDogClusterStatus out;
  ObjectReader r(j, path, errors, kLenient);
  r.opt("observedGeneration", out.observed_generation, get_int64);
  r.field("phase", [&](const json& v, const std::string& p) {
    auto s = get_string(v, p, errors);
    if (!s) return;
    out.phase = phase_from_string(*s);
    if (!out.phase) errors.push_back({p, "unsupported value \"" + *s + "\""});
  });
  r.opt("workRequirement", out.work_requirement, decode_wr_status);
  r.opt("head", out.head, decode_head_status);
  r.opt("observability", out.observability, decode_obs_status);
  r.opt("endpoints", out.endpoints, decode_endpoints);
  decode_list(r, "workerPools", out.worker_pools, decode_pool_status);
  r.opt("desiredWorkers", out.desired_workers, get_int32);
  r.opt("readyWorkers", out.ready_workers, get_int32);
  r.opt("daliuge", out.daliuge, decode_daliuge_status);
  decode_list(r, "conditions", out.conditions, decode_condition);
  return out;
}

ObjectMeta decode_metadata(const json& j, const std::string& path, FieldErrors& errors) {
  ObjectMeta out;
  ObjectReader r(j, path, errors, kLenient);
  get_plain_string(r, "name", out.name);
  r.opt("namespace", out.namespace_name, get_string);
  r.opt("uid", out.uid, get_string);
  r.opt("generation", out.generation, get_int64);
  r.opt("resourceVersion", out.resource_version, get_string);
  r.opt("creationTimestamp", out.creation_timestamp, get_string);
  r.opt("deletionTimestamp", out.deletion_timestamp, get_string);
  r.opt("labels", out.labels, get_string_map);
  r.opt("annotations", out.annotations, get_string_map);
  r.opt("finalizers", out.finalizers, get_string_list);
  return out;
}

RayDogCluster decode_cluster(const json& j, FieldErrors& errors) {
  RayDogCluster out;
  ObjectReader r(j, "", errors);
  r.field("apiVersion", [&](const json& v, const std::string& p) {
    if (auto s = get_string(v, p, errors); s && *s != kApiVersion)
      errors.push_back({p, "must be " + std::string(kApiVersion) + ", got \"" + *s + "\""});
  });
  r.field("kind", [&](const json& v, const std::string& p) {
    if (auto s = get_string(v, p, errors); s && *s != kKind)
      errors.push_back({p, "must be " + std::string(kKind) + ", got \"" + *s + "\""});
  });
  r.field("metadata",
          [&](const json& v, const std::string& p) { out.metadata = decode_metadata(v, p, errors); });
  r.field("spec", [&](const json& v, const std::string& p) { out.spec = decode_spec(v, p, errors); });
  r.opt("status", out.status, decode_status);
  return out;
}

Result<RayDogCluster, FieldErrors> cluster_from_json(const json& j) {
  FieldErrors errors;
  auto out = decode_cluster(j, errors);
  if (!errors.empty()) return unexpected(std::move(errors));
  return out;
}

Result<RayDogClusterSpec, FieldErrors> spec_from_json(const json& j) {
  FieldErrors errors;
  auto out = decode_spec(j, "spec", errors);
  if (!errors.empty()) return unexpected(std::move(errors));
  return out;
}

Result<RayDogClusterStatus, FieldErrors> status_from_json(const json& j) {
  FieldErrors errors;
  auto out = decode_status(j, "status", errors);
  if (!errors.empty()) return unexpected(std::move(errors));
  return out;
}

}  // namespace raydog::api
