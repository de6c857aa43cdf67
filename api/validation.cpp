#include "api/validation.hpp"

#include <array>
#include <regex>
#include <set>

#include "api/defaults.hpp"
#include "api/duration.hpp"
#include "api/json.hpp"
#include "api/names.hpp"
#include "api/quantity.hpp"
#include "controller/util/yaml_json.hpp"

namespace raydog::api {
namespace {

std::string quote(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

constexpr const char* kConfigMapKeyMessage = "must consist of letters, digits, '-', '_' or '.' (at most 253)";
constexpr const char* kYellowDogNameMessage =
    "must be a YellowDog name: at most 60 lower case letters, digits, '_' or '-', starting with a letter";

// The predicates match the CRD's `pattern` keywords by construction: the same pattern text, compiled once.
enum class Pattern {
  kDnsLabel,
  kDnsSubdomain,
  kConfigMapKey,
  kTemplateRef,
  kApiUrl,
  kPipVersion,
  kDlgRoot
};

bool matches(std::string_view s, Pattern p) {
  static const std::array<std::regex, 7> compiled = {
      std::regex(std::string(kDnsLabelPattern)),     std::regex(std::string(kDnsSubdomainPattern)),
      std::regex(std::string(kConfigMapKeyPattern)), std::regex(std::string(kTemplateRefPattern)),
      std::regex(std::string(kApiUrlPattern)),       std::regex(std::string(kPipVersionPattern)),
      std::regex(std::string(kDlgRootPattern))};
  return std::regex_search(s.begin(), s.end(), compiled[static_cast<size_t>(p)]);
}

// Characters as OpenAPI's maxLength and CEL's size() count them (code points, not bytes).
size_t length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Collects errors below one path prefix.

class Checker {
 public:
  explicit Checker(FieldErrors& errors) : errors_(errors) {}
  void fail(const std::string& path, std::string message) { errors_.push_back({path, std::move(message)}); }

  void required(const std::string& path, bool present) {
    if (!present) fail(path, "required");
  }

  void non_empty(const std::string& path, const std::optional<std::string>& v) {
    if (v && v->empty()) fail(path, "must not be empty");
  }

  // Parsed at decode (Duration); the checks here are on its text and value.
  void duration(const std::string& path, const std::optional<Duration>& v) {
    if (!v) return;
    const std::string& text = v->text();
    if (length(text) > kMaxDurationLength) {
      fail(path, "must be at most " + std::to_string(kMaxDurationLength) + " characters");
      return;
    }
    const auto& d = v->parsed();
    if (text.starts_with("+")) {
      fail(path, "must be a duration such as 90s, 10m or 1h30m, without a sign");
    } else if (!d) {
      fail(path, "must be a duration such as 90s, 10m or 1h30m (" + v->error() + ")");
    } else if (d->count() <= 0) {
      fail(path, "must be a positive duration, got " + quote(text));
    }
  }

  void value_source(const std::string& path, const std::optional<ValueSource>& v) {
    if (!v) return;
    if (!v->config_map_key_ref) {
      fail(path + ".configMapKeyRef", "required");
      return;
    }
    const auto& ref = *v->config_map_key_ref;
    std::string p = path + ".configMapKeyRef";
    if (ref.name.empty())
      fail(p + ".name", "required");
    else if (!is_dns_subdomain(ref.name))
      fail(p + ".name", kDnsSubdomainMessage);
    if (ref.key.empty())
      fail(p + ".key", "required");
    else if (!is_config_map_key(ref.key))
      fail(p + ".key", kConfigMapKeyMessage);
  }

  // template_required: the head and every worker pool need a template; observability only when enabled.
  void node(const std::string& path, const NodeSpec& n, bool template_required) {
    const auto& t = n.compute_requirement_template;
    if (!t || t->empty()) {
      if (template_required) fail(path + ".computeRequirementTemplate", "required");
    } else if (!is_template_ref(*t)) {
      fail(path + ".computeRequirementTemplate",
           "must be a template id (ydid:crt:...) or namespace/name, got " + quote(*t));
    }
    non_empty(path + ".imagesId", n.images_id);
    if (n.user_data && n.user_data_from)
      fail(path + ".userDataFrom", "userData and userDataFrom are mutually exclusive");
    value_source(path + ".userDataFrom", n.user_data_from);
    non_empty(path + ".startScript", n.start_script);
    if (n.start_script && n.start_script_from)
      fail(path + ".startScriptFrom", "startScript and startScriptFrom are mutually exclusive");
    value_source(path + ".startScriptFrom", n.start_script_from);
    if (n.instance_tags && n.instance_tags->size() > kMaxInstanceTags)
      fail(path + ".instanceTags", "must have at most " + std::to_string(kMaxInstanceTags) + " tags");
    if (n.instance_tags) {
      for (const auto& [k, v] : *n.instance_tags) {
        std::string p = path + ".instanceTags[" + k + "]";
        if (k.empty())
          fail(p, "key must not be empty");
        else if (length(k) > kMaxInstanceTagKeyLength)
          fail(p, "key must be at most " + std::to_string(kMaxInstanceTagKeyLength) + " characters");
        if (length(v) > kMaxInstanceTagValueLength)
          fail(p, "value must be at most " + std::to_string(kMaxInstanceTagValueLength) + " characters");
      }
    }
  }

  // The twins of kRuleRayResourceNames, kRuleRayWholeResources and the CRD's value pattern.
  void ray_resources(const std::string& path, const std::map<std::string, std::string>& resources) {
    if (resources.size() > kMaxRayResources)
      fail(path, "must have at most " + std::to_string(kMaxRayResources) + " resources");
    for (const auto& [name, value] : resources) {
      const std::string p = path + "[" + name + "]";
      if (name.empty() || name.size() > 63) {
        fail(p, "resource names must be 1 to 63 characters");
        continue;
      }
      if (value.size() > kMaxRayResourceValueLength) {
        fail(p, "value must be at most " + std::to_string(kMaxRayResourceValueLength) + " characters");
        continue;
      }
      if (!parse_quantity(value)) {
        fail(p, quantity_error(value));
        continue;
      }
      static const std::regex whole(kWholeQuantityPattern);
      const bool must_be_whole = name == "CPU" || name == "GPU" || name == "memory" || name == "object_store_memory";
      if (must_be_whole && !std::regex_search(value, whole))
        fail(p, "CPU, GPU, memory and object_store_memory are whole numbers: digits, optionally with a suffix "
                "such as k, Gi or e3, got " + quote(value));
    }
  }

  // The twins of kRulePoolMinMax and kRuleAutoscaledPools (one message per field here).
  void autoscaling_bounds(const std::string& path, const WorkerPoolSpec& pool, bool autoscaled) {
    const auto bound = [&](const char* key, const std::optional<std::int32_t>& v) {
      if (v && *v < 0) fail(path + "." + key, "must be >= 0");
      else if (v && *v > kMaxNodesPerPool) fail(path + "." + key, "must be <= " + std::to_string(kMaxNodesPerPool));
    };
    bound("minNodes", pool.min_nodes);
    bound("maxNodes", pool.max_nodes);
    duration(path + ".idleTimeout", pool.idle_timeout);
    if (pool.min_nodes && pool.max_nodes && *pool.min_nodes > *pool.max_nodes)
      fail(path + ".minNodes", "minNodes must not exceed maxNodes (" + std::to_string(*pool.min_nodes) + " > " +
                                   std::to_string(*pool.max_nodes) + ")");
    if (!autoscaled) return;
    if (!pool.max_nodes) fail(path + ".maxNodes", "required when spec.autoscaling.enabled");
    if (!pool.ray_resources || pool.ray_resources->empty())
      fail(path + ".rayResources",
           "required when spec.autoscaling.enabled: the autoscaler needs the shape of one node, e.g. {CPU: \"8\"}");
    if (pool.nodes && pool.max_nodes && *pool.nodes > *pool.max_nodes)
      fail(path + ".nodes", "the starting size must lie within [minNodes, maxNodes]: " + std::to_string(*pool.nodes) +
                                " > maxNodes " + std::to_string(*pool.max_nodes));
    if (pool.nodes && *pool.nodes < pool.min_nodes.value_or(0))
      fail(path + ".nodes", "the starting size must lie within [minNodes, maxNodes]: " + std::to_string(*pool.nodes) +
                                " < minNodes " + std::to_string(*pool.min_nodes));
  }

  void daliuge(const std::string& path, const DaliugeSpec& d) {
    if (d.version) {
      if (length(*d.version) > kMaxPipVersionLength)
        fail(path + ".version",
             "must be at most " + std::to_string(kMaxPipVersionLength) + " characters");
      else if (!matches(*d.version, Pattern::kPipVersion))
        fail(path + ".version", "must be a daliuge-engine version such as 6.6.0, got " + quote(*d.version));
    }
    if (d.ports) {
      const auto& p = *d.ports;
      const std::array<std::pair<const char*, std::int32_t>, 4> ports = {
          std::pair{"dim", p.dim.value_or(kDefaultDimPort)},
          {"nm", p.nm.value_or(kDefaultNmPort)},
          {"events", p.events.value_or(kDefaultEventsPort)},
          {"rpc", p.rpc.value_or(kDefaultRpcPort)}};
      for (const auto& [name, port] : ports)
        if (port < kMinPort || port > kMaxPort) fail(path + ".ports." + name, "must be between 1 and 65535");
      // Distinct: the DIM and an NM share the head when nmOnHead is set, and an NM binds all three.
      for (size_t i = 0; i < ports.size(); ++i)
        for (size_t j = i + 1; j < ports.size(); ++j)
          if (ports[i].second == ports[j].second)
            fail(path + ".ports", std::string("ports must be distinct: ") + ports[i].first + " and " +
                                      ports[j].first + " are both " + std::to_string(ports[i].second));
    }
    if (d.root) {
      if (length(*d.root) > kMaxDlgRootLength)
        fail(path + ".root", "must be at most " + std::to_string(kMaxDlgRootLength) + " characters");
      else if (!matches(*d.root, Pattern::kDlgRoot))
        fail(path + ".root",
             "must be an absolute path of letters, digits, '.', '_', '-' and '/', got " + quote(*d.root));
    }
    duration(path + ".maxDeferral", d.max_deferral);
    if (d.max_deferral &&
        d.membership_policy.value_or(kDefaultMembershipPolicy) != MembershipPolicy::kWhenIdle)
      fail(path + ".maxDeferral", "only allowed with membershipPolicy WhenIdle");
  }

  void yellowdog(const std::string& path, const YellowDogSpec& y) {
    if (y.api_url && !is_api_url(*y.api_url))
      fail(path + ".apiURL", "must be an http:// or https:// URL, got " + quote(*y.api_url));
    required(path + ".credentialsSecretRef", y.credentials_secret_ref.has_value());
    if (y.credentials_secret_ref) {
      const auto& ref = *y.credentials_secret_ref;
      std::string p = path + ".credentialsSecretRef";
      if (ref.name.empty())
        fail(p + ".name", "required");
      else if (!is_dns_subdomain(ref.name))
        fail(p + ".name", kDnsSubdomainMessage);
      for (const auto& [key, value] :
           {std::pair{"keyIdKey", &ref.key_id_key}, {"keySecretKey", &ref.key_secret_key}}) {
        if (*value && !is_config_map_key(**value)) fail(p + "." + key, kConfigMapKeyMessage);
      }
      std::string id_key = ref.key_id_key.value_or(std::string(kDefaultKeyIdKey));
      std::string secret_key = ref.key_secret_key.value_or(std::string(kDefaultKeySecretKey));
      if (id_key == secret_key) fail(p + ".keySecretKey", "must differ from keyIdKey");
    }
    if (!y.namespace_name || y.namespace_name->empty())
      fail(path + ".namespace", "required");
    else if (!names::is_valid(*y.namespace_name))
      fail(path + ".namespace", kYellowDogNameMessage);
    if (y.tag && length(*y.tag) > kMaxTagLength)
      fail(path + ".tag", "must be at most " + std::to_string(kMaxTagLength) + " characters");
  }

 private:
  FieldErrors& errors_;
};

bool under(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return true;  // the whole document failed to decode
  if (!path.starts_with(prefix)) return false;
  if (path.size() == prefix.size()) return true;
  char next = path[prefix.size()];
  return next == '.' || next == '[';
}

}  // namespace

size_t code_points(std::string_view s) {
  return length(s);
}

FieldErrors merge_errors(FieldErrors decode_errors, FieldErrors validation_errors) {
  FieldErrors errors = decode_errors;
  for (auto& e : validation_errors) {
    bool shadowed = false;
    for (const auto& d : decode_errors) shadowed = shadowed || under(e.path, d.path);
    if (!shadowed) errors.push_back(std::move(e));
  }
  return errors;
}

bool is_dns_label(std::string_view s) {
  return s.size() <= kMaxDnsLabelLength && matches(s, Pattern::kDnsLabel);
}

bool is_dns_subdomain(std::string_view s) {
  return s.size() <= kMaxDnsSubdomainLength && matches(s, Pattern::kDnsSubdomain);
}

bool is_config_map_key(std::string_view s) {
  return s.size() <= kMaxDnsSubdomainLength && matches(s, Pattern::kConfigMapKey);
}

bool is_template_ref(std::string_view s) {
  return matches(s, Pattern::kTemplateRef);
}

bool is_api_url(std::string_view s) {
  return matches(s, Pattern::kApiUrl);
}

FieldErrors validate_spec(const RayDogClusterSpec& spec) {
  FieldErrors errors;
  Checker c(errors);
  c.required("spec.yellowdog", spec.yellowdog.has_value());
  if (spec.yellowdog) c.yellowdog("spec.yellowdog", *spec.yellowdog);
  c.duration("spec.lifetime", spec.lifetime);
  c.duration("spec.buildTimeout", spec.build_timeout);
  c.required("spec.head", spec.head.has_value());
  if (spec.head) c.node("spec.head", *spec.head, true);
  if (spec.observability) {
    bool enabled = spec.observability->enabled.value_or(false);
    c.node("spec.observability", spec.observability->node, enabled);
  }
  const bool autoscaled = spec.autoscaling && spec.autoscaling->enabled.value_or(false);
  if (spec.autoscaling) {
    c.duration("spec.autoscaling.idleTimeout", spec.autoscaling->idle_timeout);
    c.duration("spec.autoscaling.pollInterval", spec.autoscaling->poll_interval);
  }
  if (autoscaled && spec.head_access == HeadAccess::kNone)
    c.fail("spec.autoscaling.enabled", "autoscaling needs the head: not allowed with headAccess None");
  if (spec.worker_pools && spec.worker_pools->size() > kMaxWorkerPools)
    c.fail("spec.workerPools", "must have at most " + std::to_string(kMaxWorkerPools) + " pools");
  if (spec.worker_pools) {
    std::set<std::string> seen;
    for (size_t i = 0; i < spec.worker_pools->size(); ++i) {
      const auto& pool = (*spec.worker_pools)[i];
      std::string p = "spec.workerPools[" + std::to_string(i) + "]";
      if (pool.name.empty())
        c.fail(p + ".name", "required");
      else if (!is_dns_label(pool.name))
        c.fail(p + ".name", kDnsLabelMessage);
      else if (!seen.insert(pool.name).second)
        c.fail(p + ".name", "duplicate pool name " + quote(pool.name));
      if (!pool.nodes)
        c.fail(p + ".nodes", "required");
      else if (*pool.nodes < 0)
        c.fail(p + ".nodes", "must be >= 0");
      else if (*pool.nodes > kMaxNodesPerPool)
        c.fail(p + ".nodes", "must be <= " + std::to_string(kMaxNodesPerPool));
      c.node(p, pool.node, true);
      if (pool.ray_resources) c.ray_resources(p + ".rayResources", *pool.ray_resources);
      c.autoscaling_bounds(p, pool, autoscaled);
    }
  }
  if (spec.daliuge) c.daliuge("spec.daliuge", *spec.daliuge);
  if (spec.ray_version) {
    if (spec.ray_version->size() > kMaxPipVersionLength)
      c.fail("spec.rayVersion", "must be at most " + std::to_string(kMaxPipVersionLength) + " characters");
    else if (!matches(*spec.ray_version, Pattern::kPipVersion))
      c.fail("spec.rayVersion", "must be a Ray release such as 2.49.2, got " + quote(*spec.ray_version));
  }
  c.duration("spec.rayJoinTimeout", spec.ray_join_timeout);
  c.duration("spec.headUnresponsiveTimeout", spec.head_unresponsive_timeout);
  c.duration("spec.drainTimeout", spec.drain_timeout);
  if (spec.head_access == HeadAccess::kNone && spec.daliuge && spec.daliuge->enabled.value_or(false))
    c.fail("spec.daliuge.enabled", "DALiuGE needs the head: not allowed with headAccess None");
  return errors;
}

FieldErrors validate(const RayDogCluster& cluster) {
  FieldErrors errors;
  Checker c(errors);
  const auto& meta = cluster.metadata;
  if (meta.name.empty())
    c.fail("metadata.name", "required");
  else if (!is_dns_subdomain(meta.name))
    c.fail("metadata.name", kDnsSubdomainMessage);
  if (meta.namespace_name && !is_dns_label(*meta.namespace_name))
    c.fail("metadata.namespace", kDnsLabelMessage);
  for (auto& e : validate_spec(cluster.spec)) errors.push_back(std::move(e));

  // The derived names fit YellowDog's rule by construction (names.hpp); checked here so that a future change
  // of the derivation cannot produce a name YellowDog rejects at create time, half-way through provisioning.
  if (!meta.name.empty()) {
    // Manifests have no uid yet; any uid gives names of the same length and charset.
    std::string base = names::base(meta.namespace_name.value_or("default"), meta.name,
                                   meta.uid.value_or("00000000-0000-0000-0000-000000000000"));
    std::vector<std::pair<std::string, std::string>> derived = {
        {"metadata.name", names::work_requirement(base)},
        {"metadata.name", names::head_pool(base)},
        {"metadata.name", names::observability_pool(base)}};
    if (cluster.spec.worker_pools) {
      for (size_t i = 0; i < cluster.spec.worker_pools->size(); ++i) {
        const auto& pool = (*cluster.spec.worker_pools)[i].name;
        std::string p = "spec.workerPools[" + std::to_string(i) + "].name";
        derived.emplace_back(p, names::worker_pool(base, pool));
        derived.emplace_back(p, names::worker_task_group(pool));
      }
    }
    for (const auto& [path, name] : derived)
      if (!names::is_valid(name)) c.fail(path, "derived YellowDog name " + quote(name) + " is invalid");
  }
  return errors;
}

Result<RayDogCluster, FieldErrors> parse_cluster(const nlohmann::json& resource) {
  FieldErrors decode_errors;
  RayDogCluster cluster = decode_cluster(resource, decode_errors);
  if (resource.is_object() && !resource.contains("spec")) decode_errors.push_back({"spec", "required"});
  apply_defaults(cluster);
  FieldErrors errors = merge_errors(std::move(decode_errors), validate(cluster));
  if (!errors.empty()) return unexpected(std::move(errors));
  return cluster;
}

Result<RayDogCluster, FieldErrors> parse_cluster_yaml(std::string_view yaml) {
  auto j = yaml_to_json(yaml);
  if (!j) return unexpected(FieldErrors{{"", "invalid YAML: " + j.error().message}});
  return parse_cluster(*j);
}

}  // namespace raydog::api
