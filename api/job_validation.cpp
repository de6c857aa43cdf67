#include "api/job_validation.hpp"

#include <array>
#include <regex>

#include "api/job_defaults.hpp"
#include "api/job_fields.hpp"
#include "api/job_json.hpp"
#include "api/quantity.hpp"
#include "api/validation.hpp"
#include "controller/util/yaml_json.hpp"

namespace raydog::api {
namespace {

// The predicates match the job CRD's `pattern` keywords by construction: the same pattern text, compiled once.
enum class Pattern { kDns1035Label, kLabelValue, kEntrypoint };

bool matches(std::string_view s, Pattern p) {
  static const std::array<std::regex, 3> compiled = {std::regex(std::string(kDns1035LabelPattern)),
                                                     std::regex(std::string(kLabelValuePattern)),
                                                     std::regex(std::string(kEntrypointPattern))};
  return std::regex_search(s.begin(), s.end(), compiled[static_cast<size_t>(p)]);
}

// The name part of a label key (Kubernetes' qualified name without its prefix).
bool is_label_name(std::string_view s) {
  static const std::regex name("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$");
  return s.size() <= 63 && std::regex_search(s.begin(), s.end(), name);
}

const std::string& job_name_message() {
  static const std::string message =
      "must be a DNS-1035 label of at most " + std::to_string(kMaxJobNameLength) +
      " characters: lower case letters, digits or '-', starting with a letter and ending with a letter or digit "
      "(the job's clusters are named after it)";
  return message;
}

constexpr const char* kLabelKeyMessage =
    "label keys must be a name of at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
    "letter or digit, optionally after a DNS subdomain prefix and '/'";
constexpr const char* kLabelValueMessage =
    "label values must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or "
    "digit";

const char* kind_of(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return "an empty document";
    case nlohmann::json::value_t::array:
      return "a list";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    default:
      return "a number";
  }
}

class JobChecker {
 public:
  explicit JobChecker(FieldErrors& errors) : errors_(errors) {}
  void fail(const std::string& path, std::string message) { errors_.push_back({path, std::move(message)}); }

  // A quantity as the schema's pattern and maxLength take it (the twin of rayResources' values).
  void quantity(const std::string& path, const std::string& value) {
    if (code_points(value) > kMaxRayResourceValueLength)
      fail(path, "must be at most " + std::to_string(kMaxRayResourceValueLength) + " characters");
    else if (!parse_quantity(value))
      fail(path, quantity_error(value));
  }

  // The twins of MaxProperties, kRuleRayResourceNames, kRuleEntrypointResourcesNoCpuGpu and the value pattern.
  void entrypoint_resources(const std::string& path, const std::map<std::string, std::string>& resources) {
    if (resources.size() > kMaxRayResources)
      fail(path, "must have at most " + std::to_string(kMaxRayResources) + " resources");
    for (const auto& [name, value] : resources) {
      const std::string p = path + "[" + name + "]";
      if (name.empty() || code_points(name) > 63)
        fail(p, "resource names must be 1 to 63 characters");
      else if (name == "CPU" || name == "GPU")
        fail(p, std::string(kMessageEntrypointResourcesNoCpuGpu));
      else
        quantity(p, value);
    }
  }

  // The twins of MinProperties and the value pattern; keys are checked here only (a pattern on map keys,
  // whose length no schema bounds, risks the API server's CEL cost limit).
  void cluster_selector(const std::string& path, const std::map<std::string, std::string>& selector) {
    if (selector.empty()) fail(path, "must name at least one label");
    for (const auto& [key, value] : selector) {
      const std::string p = path + "[" + key + "]";
      if (!is_label_key(key)) fail(p, kLabelKeyMessage);
      if (!is_label_value(value)) fail(p, kLabelValueMessage);
    }
  }

 private:
  FieldErrors& errors_;
};

}  // namespace

bool is_dns1035_label(std::string_view s) {
  return s.size() <= kMaxDnsLabelLength && matches(s, Pattern::kDns1035Label);
}

bool is_label_key(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return is_label_name(s);
  const std::string_view prefix = s.substr(0, slash);
  return !prefix.empty() && is_dns_subdomain(prefix) && is_label_name(s.substr(slash + 1));
}

bool is_label_value(std::string_view s) {
  return s.size() <= kMaxLabelValueLength && matches(s, Pattern::kLabelValue);
}

Result<nlohmann::json, std::string> runtime_env_json(std::string_view runtime_env_yaml) {
  auto j = yaml_to_json(runtime_env_yaml);
  if (!j) return unexpected("must be YAML: " + j.error().message);
  if (!j->is_object())
    return unexpected(std::string("must be a YAML mapping of Ray runtime_env fields (pip, env_vars, "
                                  "working_dir, ...), got ") +
                      kind_of(*j));
  return std::move(*j);
}

FieldErrors validate_job_spec(const RayDogJobSpec& spec) {
  FieldErrors errors;
  JobChecker c(errors);
  if (spec.entrypoint.empty())
    c.fail("spec.entrypoint", "required");
  else if (!matches(spec.entrypoint, Pattern::kEntrypoint))
    c.fail("spec.entrypoint", "must be a command, not only whitespace");
  if (spec.runtime_env_yaml) {
    if (auto env = runtime_env_json(*spec.runtime_env_yaml); !env) c.fail("spec.runtimeEnvYAML", env.error());
  }
  if (spec.entrypoint_num_cpus) c.quantity("spec.entrypointNumCpus", *spec.entrypoint_num_cpus);
  if (spec.entrypoint_num_gpus) c.quantity("spec.entrypointNumGpus", *spec.entrypoint_num_gpus);
  if (spec.entrypoint_resources) c.entrypoint_resources("spec.entrypointResources", *spec.entrypoint_resources);
  // The cluster's own rules, at their place in the job ("spec.x" -> "spec.clusterSpec.x").
  if (spec.cluster_spec) {
    for (auto& e : validate_spec(*spec.cluster_spec)) {
      e.path = "spec.clusterSpec" + e.path.substr(std::string_view("spec").size());
      errors.push_back(std::move(e));
    }
  }
  if (spec.cluster_selector) c.cluster_selector("spec.clusterSelector", *spec.cluster_selector);
  // The twins of kRuleJobClusterRequired and kRuleJobClusterExclusive.
  if (!spec.cluster_spec && !spec.cluster_selector) c.fail("spec", std::string(kMessageJobClusterRequired));
  if (spec.cluster_spec && spec.cluster_selector)
    c.fail("spec.clusterSelector", std::string(kMessageJobClusterExclusive));
  // The twin of kRuleJobShutdownNeedsClusterSpec: false is allowed anywhere (it is what a selector means).
  if (spec.shutdown_after_job_finishes.value_or(false) && !spec.cluster_spec)
    c.fail("spec.shutdownAfterJobFinishes", std::string(kMessageJobShutdownNeedsClusterSpec));
  if (spec.ttl_seconds_after_finished && *spec.ttl_seconds_after_finished < 0)
    c.fail("spec.ttlSecondsAfterFinished", "must be >= 0");
  if (spec.active_deadline_seconds && *spec.active_deadline_seconds < 1)
    c.fail("spec.activeDeadlineSeconds", "must be >= 1");
  if (spec.backoff_limit && *spec.backoff_limit < 0) c.fail("spec.backoffLimit", "must be >= 0");
  return errors;
}

FieldErrors validate_job(const RayDogJob& job) {
  FieldErrors errors;
  JobChecker c(errors);
  const auto& meta = job.metadata;
  if (meta.name.empty())
    c.fail("metadata.name", "required");
  else if (meta.name.size() > kMaxJobNameLength || !is_dns1035_label(meta.name))
    c.fail("metadata.name", job_name_message());
  if (meta.namespace_name && !is_dns_label(*meta.namespace_name)) c.fail("metadata.namespace", kDnsLabelMessage);
  for (auto& e : validate_job_spec(job.spec)) errors.push_back(std::move(e));
  return errors;
}

Result<RayDogJob, FieldErrors> parse_job(const nlohmann::json& resource) {
  FieldErrors decode_errors;
  RayDogJob job = decode_job(resource, decode_errors);
  if (resource.is_object() && !resource.contains("spec")) decode_errors.push_back({"spec", "required"});
  apply_defaults(job);
  FieldErrors errors = merge_errors(std::move(decode_errors), validate_job(job));
  if (!errors.empty()) return unexpected(std::move(errors));
  return job;
}

Result<RayDogJob, FieldErrors> parse_job_yaml(std::string_view yaml) {
  auto j = yaml_to_json(yaml);
  if (!j) return unexpected(FieldErrors{{"", "invalid YAML: " + j.error().message}});
  return parse_job(*j);
}

}  // namespace raydog::api
