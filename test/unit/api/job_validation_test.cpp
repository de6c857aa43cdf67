// RayDogJob validation and defaults (api/job_validation.hpp, api/job_defaults.hpp): every rule with its path
// and message, the embedded cluster spec's errors below spec.clusterSpec, the name bound, the defaults.
#include <doctest/doctest.h>

#include "api/job_defaults.hpp"
#include "api/job_json.hpp"
#include "api/job_validation.hpp"
#include "api_fixtures.hpp"

using nlohmann::json;
using namespace raydog::api;

namespace {

// A valid job on an existing cluster, and one on a cluster of its own.
json with_selector() {
  return json::parse(R"({"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogJob",
    "metadata": {"name": "train", "namespace": "team-a"},
    "spec": {"entrypoint": "python train.py", "clusterSelector": {"team": "analytics"}}})");
}
json with_cluster_spec() {
  return json::parse(R"({"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogJob",
    "metadata": {"name": "train"},
    "spec": {"entrypoint": "python train.py",
             "clusterSpec": {"yellowdog": {"namespace": "ray", "credentialsSecretRef": {"name": "creds"}},
                             "head": {"computeRequirementTemplate": "ray/head"},
                             "workerPools": [{"name": "cpu", "nodes": 2, "computeRequirementTemplate": "ray/cpu"}]}}})");
}

std::vector<std::string> errors_of(const json& j) {
  auto r = parse_job(j);
  return r.ok() ? std::vector<std::string>{} : test::messages(r.error());
}

struct Case {
  const char* name;
  json (*base)();
  std::string patch;  // JSON merge patch applied to base()
  std::vector<std::string> want;
};

constexpr const char* kNeither =
    "spec: one of clusterSpec (a cluster for this job) and clusterSelector (an existing cluster) is required";
constexpr const char* kBoth = "spec.clusterSelector: clusterSpec and clusterSelector are mutually exclusive";
constexpr const char* kShutdown =
    "spec.shutdownAfterJobFinishes: shutdownAfterJobFinishes is only allowed with clusterSpec: a cluster chosen "
    "by clusterSelector is never deleted by the job";
constexpr const char* kJobName =
    "metadata.name: must be a DNS-1035 label of at most 47 characters: lower case letters, digits or '-', "
    "starting with a letter and ending with a letter or digit (the job's clusters are named after it)";

}  // namespace

TEST_CASE("job validation: the valid bases pass and get their defaults") {
  auto sel = parse_job(with_selector());
  REQUIRE_MESSAGE(sel.ok(), (sel.ok() ? "" : to_string(sel.error())));
  CHECK(sel->spec.backoff_limit == 0);
  CHECK(sel->spec.suspend == false);
  CHECK_FALSE(sel->spec.shutdown_after_job_finishes.has_value());  // no schema default: it depends on the mode
  CHECK_FALSE(shutdown_after_job_finishes(sel->spec));
  auto own = parse_job(with_cluster_spec());
  REQUIRE_MESSAGE(own.ok(), (own.ok() ? "" : to_string(own.error())));
  CHECK(shutdown_after_job_finishes(own->spec));
  // The embedded cluster spec is defaulted as a RayDogCluster's (the API server does the same from the schema).
  CHECK(own->spec.cluster_spec->build_timeout == "10m");
  CHECK(own->spec.cluster_spec->deletion_policy == DeletionPolicy::kDelete);
  CHECK(own->spec.cluster_spec->yellowdog->credentials_secret_ref->key_id_key == "keyId");
  CHECK((*own->spec.cluster_spec->worker_pools)[0].node.metrics_enabled == false);
}

TEST_CASE("job validation: every rule, table-driven") {
  const Case cases[] = {
      // Required fields.
      {"name required", with_selector, R"({"metadata": {"name": null}})", {"metadata.name: required"}},
      {"spec required", with_selector, R"({"spec": null})", {"spec: required"}},
      {"entrypoint absent", with_selector, R"({"spec": {"entrypoint": null}})", {"spec.entrypoint: required"}},
      {"entrypoint empty", with_selector, R"({"spec": {"entrypoint": ""}})", {"spec.entrypoint: required"}},
      {"entrypoint blank", with_selector, R"({"spec": {"entrypoint": " \n\t"}})",
       {"spec.entrypoint: must be a command, not only whitespace"}},
      {"entrypoint multi-line", with_selector, R"({"spec": {"entrypoint": "\n python x.py\n"}})", {}},
      // Metadata.
      {"name of 47 characters", with_selector, R"({"metadata": {"name": "a2345678901234567890123456789012345678901234567"}})",
       {}},
      {"name of 48 characters", with_selector,
       R"({"metadata": {"name": "a23456789012345678901234567890123456789012345678"}})", {kJobName}},
      {"name starting with a digit (DNS-1035)", with_selector, R"({"metadata": {"name": "1job"}})", {kJobName}},
      {"name with a dot (a subdomain, not a label)", with_selector, R"({"metadata": {"name": "a.b"}})", {kJobName}},
      {"name ending with -", with_selector, R"({"metadata": {"name": "job-"}})", {kJobName}},
      {"namespace not a DNS label", with_selector, R"({"metadata": {"namespace": "Team_A"}})",
       {"metadata.namespace: must be a DNS label: at most 63 lower case letters, digits or '-', starting and "
        "ending with a letter or digit"}},
      // Where the job runs.
      {"neither cluster", with_selector, R"({"spec": {"clusterSelector": null}})", {kNeither}},
      {"both clusters", with_cluster_spec, R"({"spec": {"clusterSelector": {"team": "a"}}})", {kBoth}},
      {"shutdown with a selector", with_selector, R"({"spec": {"shutdownAfterJobFinishes": true}})", {kShutdown}},
      {"no shutdown with a selector is fine", with_selector, R"({"spec": {"shutdownAfterJobFinishes": false}})",
       {}},
      {"shutdown false with clusterSpec is fine", with_cluster_spec,
       R"({"spec": {"shutdownAfterJobFinishes": false}})", {}},
      {"shutdown with neither: both rules", with_selector,
       R"({"spec": {"clusterSelector": null, "shutdownAfterJobFinishes": true}})", {kNeither, kShutdown}},
      {"empty selector", with_selector, R"({"spec": {"clusterSelector": {"team": null}}})",  // merge patch: {}
       {"spec.clusterSelector: must name at least one label"}},
      {"selector with a prefixed key and an empty value", with_selector,
       R"({"spec": {"clusterSelector": {"raydog.io/team": "", "app.kubernetes.io/name": "ray"}}})", {}},
      {"selector key not a label key", with_selector, R"({"spec": {"clusterSelector": {"-team": "a"}}})",
       {"spec.clusterSelector[-team]: label keys must be a name of at most 63 letters, digits, '-', '_' or '.', "
        "starting and ending with a letter or digit, optionally after a DNS subdomain prefix and '/'"}},
      {"selector key with a bad prefix", with_selector, R"({"spec": {"clusterSelector": {"Raydog.io/team": "a"}}})",
       {"spec.clusterSelector[Raydog.io/team]: label keys must be a name of at most 63 letters, digits, '-', '_' "
        "or '.', starting and ending with a letter or digit, optionally after a DNS subdomain prefix and '/'"}},
      {"selector value not a label value", with_selector, R"({"spec": {"clusterSelector": {"team": "a b"}}})",
       {"spec.clusterSelector[team]: label values must be at most 63 letters, digits, '-', '_' or '.', starting "
        "and ending with a letter or digit"}},
      // Runtime environment.
      {"runtime env mapping", with_selector, R"({"spec": {"runtimeEnvYAML": "pip: [requests]\nworking_dir: s3://b/x.zip\n"}})",
       {}},
      {"runtime env a list", with_selector, R"({"spec": {"runtimeEnvYAML": "- pip"}})",
       {"spec.runtimeEnvYAML: must be a YAML mapping of Ray runtime_env fields (pip, env_vars, working_dir, ...), "
        "got a list"}},
      {"runtime env a scalar", with_selector, R"({"spec": {"runtimeEnvYAML": "pip"}})",
       {"spec.runtimeEnvYAML: must be a YAML mapping of Ray runtime_env fields (pip, env_vars, working_dir, ...), "
        "got a string"}},
      {"runtime env empty", with_selector, R"({"spec": {"runtimeEnvYAML": ""}})",
       {"spec.runtimeEnvYAML: must be a YAML mapping of Ray runtime_env fields (pip, env_vars, working_dir, ...), "
        "got an empty document"}},
      // Quantities and resources.
      {"cpus and gpus fractional", with_selector,
       R"({"spec": {"entrypointNumCpus": "0.5", "entrypointNumGpus": "250m"}})", {}},
      {"cpus not a quantity", with_selector, R"({"spec": {"entrypointNumCpus": "two"}})",
       {"spec.entrypointNumCpus: \"two\": expected a non-negative number with an optional suffix (500m, 8, 32Gi, "
        "1e3)"}},
      {"gpus negative", with_selector, R"({"spec": {"entrypointNumGpus": "-1"}})",
       {"spec.entrypointNumGpus: \"-1\": expected a non-negative number with an optional suffix (500m, 8, 32Gi, "
        "1e3)"}},
      {"cpus too long", with_selector, R"({"spec": {"entrypointNumCpus": "100000000000000000000000000000000"}})",
       {"spec.entrypointNumCpus: must be at most 32 characters"}},
      {"custom resources", with_selector, R"({"spec": {"entrypointResources": {"accel_a100": "1", "memory": "2Gi"}}})",
       {}},
      {"CPU among the resources", with_selector, R"({"spec": {"entrypointResources": {"CPU": "1", "GPU": "1"}}})",
       {"spec.entrypointResources[CPU]: CPU and GPU are not allowed here: use entrypointNumCpus and "
        "entrypointNumGpus",
        "spec.entrypointResources[GPU]: CPU and GPU are not allowed here: use entrypointNumCpus and "
        "entrypointNumGpus"}},
      {"resource value not a quantity", with_selector, R"({"spec": {"entrypointResources": {"x": "1 unit"}}})",
       {"spec.entrypointResources[x]: \"1 unit\": expected a non-negative number with an optional suffix (500m, 8, "
        "32Gi, 1e3)"}},
      {"resource name too long", with_selector,
       R"({"spec": {"entrypointResources": {"a234567890123456789012345678901234567890123456789012345678901234": "1"}}})",
       {"spec.entrypointResources[a234567890123456789012345678901234567890123456789012345678901234]: resource "
        "names must be 1 to 63 characters"}},
      // Counts.
      {"ttl 0 (delete at once)", with_selector, R"({"spec": {"ttlSecondsAfterFinished": 0}})", {}},
      {"ttl negative", with_selector, R"({"spec": {"ttlSecondsAfterFinished": -1}})",
       {"spec.ttlSecondsAfterFinished: must be >= 0"}},
      {"ttl with a selector is fine", with_selector, R"({"spec": {"ttlSecondsAfterFinished": 60}})", {}},
      {"deadline 0", with_selector, R"({"spec": {"activeDeadlineSeconds": 0}})",
       {"spec.activeDeadlineSeconds: must be >= 1"}},
      {"deadline 1", with_selector, R"({"spec": {"activeDeadlineSeconds": 1}})", {}},
      {"backoff negative", with_selector, R"({"spec": {"backoffLimit": -2}})", {"spec.backoffLimit: must be >= 0"}},
      // The embedded cluster spec: the cluster's own rules, below spec.clusterSpec.
      {"cluster spec errors are prefixed", with_cluster_spec,
       R"({"spec": {"clusterSpec": {"head": null, "buildTimeout": "0s",
                    "workerPools": [{"name": "cpu", "nodes": -1, "computeRequirementTemplate": "ray/cpu"}]}}})",
       {"spec.clusterSpec.buildTimeout: must be a positive duration, got \"0s\"",
        "spec.clusterSpec.head: required", "spec.clusterSpec.workerPools[0].nodes: must be >= 0"}},
      {"cluster spec without yellowdog", with_cluster_spec, R"({"spec": {"clusterSpec": {"yellowdog": null}}})",
       {"spec.clusterSpec.yellowdog: required"}},
      {"cluster spec decode errors keep their path", with_cluster_spec,
       R"({"spec": {"clusterSpec": {"workerPools": [{"name": "cpu", "nodez": 2, "computeRequirementTemplate": "a/b"}]}}})",
       {"spec.clusterSpec.workerPools[0].nodez: unknown field", "spec.clusterSpec.workerPools[0].nodes: required"}},
  };
  const auto lines = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += s + "\n";
    return out;
  };
  for (const auto& c : cases) {
    INFO(std::string(c.name));
    json j = c.base();
    j.merge_patch(json::parse(c.patch));
    CHECK(lines(errors_of(j)) == lines(c.want));
  }
}

TEST_CASE("job validation: a field that failed to decode is not reported again") {
  json j = with_selector();
  j["spec"]["entrypoint"] = 7;
  j["spec"]["backoffLimit"] = "twice";
  CHECK(errors_of(j) == std::vector<std::string>{"spec.entrypoint: must be a string, got integer",
                                                  "spec.backoffLimit: must be an integer, got string"});
  CHECK(errors_of(json::array()) == std::vector<std::string>{"must be an object, got array"});
}

TEST_CASE("job validation: validate_job on typed values, errors in field order") {
  RayDogJob job;
  job.metadata.name = "Bad_Name";
  job.spec.shutdown_after_job_finishes = true;
  job.spec.backoff_limit = -1;
  const FieldErrors errors = validate_job(job);
  std::vector<std::string> got;
  for (const auto& e : errors) got.push_back(e.path);
  CHECK(got == std::vector<std::string>{"metadata.name", "spec.entrypoint", "spec", "spec.shutdownAfterJobFinishes",
                                        "spec.backoffLimit"});
}

TEST_CASE("job validation: parse_job_yaml, and a YAML error") {
  auto ok = parse_job_yaml(R"(apiVersion: raydog.io/v1alpha1
kind: RayDogJob
metadata: {name: x}
spec:
  entrypoint: python x.py
  clusterSelector: {team: a}
)");
  REQUIRE_MESSAGE(ok.ok(), (ok.ok() ? "" : to_string(ok.error())));
  auto bad = parse_job_yaml("spec: [");
  REQUIRE_FALSE(bad.ok());
  REQUIRE(bad.error().size() == 1);
  CHECK(bad.error()[0].path.empty());
  CHECK(bad.error()[0].message.starts_with("invalid YAML: "));
}

TEST_CASE("job validation: runtime_env_json gives the mapping as JSON, or why not") {
  auto env = runtime_env_json("pip:\n  - requests==2.31\nenv_vars:\n  MODE: \"1\"\n");
  REQUIRE(env.ok());
  CHECK(*env == json{{"pip", {"requests==2.31"}}, {"env_vars", {{"MODE", "1"}}}});
  auto broken = runtime_env_json("pip: [requests");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().starts_with("must be YAML: "));
  CHECK(broken.error().find("line") != std::string::npos);  // where the mistake is
  CHECK(runtime_env_json("true").error().ends_with("got a boolean"));
  CHECK(runtime_env_json("3").error().ends_with("got a number"));
}

TEST_CASE("job validation: label keys and values, DNS-1035 labels") {
  CHECK(is_label_key("team"));
  CHECK(is_label_key("raydog.io/team"));
  CHECK(is_label_key("a_b.c-d"));
  CHECK_FALSE(is_label_key(""));
  CHECK_FALSE(is_label_key("/team"));
  CHECK_FALSE(is_label_key("a/b/c"));
  CHECK_FALSE(is_label_key("team-"));
  CHECK_FALSE(is_label_key(std::string(64, 'a')));
  CHECK(is_label_key(std::string(63, 'a')));
  CHECK(is_label_value(""));
  CHECK(is_label_value("v1.2_x"));
  CHECK_FALSE(is_label_value("-v"));
  CHECK_FALSE(is_label_value(std::string(64, 'a')));
  CHECK(is_dns1035_label("a"));
  CHECK(is_dns1035_label("job-1"));
  CHECK_FALSE(is_dns1035_label("1job"));
  CHECK_FALSE(is_dns1035_label("Job"));
  CHECK_FALSE(is_dns1035_label(std::string(64, 'a')));
}

TEST_CASE("job validation: the name bound leaves the cluster name room for its head Service") {
  // <job>-<suffix> within 58 characters: <cluster>-head is a DNS-1035 label (<= 63), the readable Service name.
  const std::string longest_job(kMaxJobNameLength, 'j');
  const std::string cluster = longest_job + "-" + std::string(kMaxJobClusterSuffixLength - 1, 's');
  CHECK(cluster.size() == kMaxJobClusterNameLength);
  CHECK(is_dns1035_label(cluster + "-head"));
  CHECK(is_label_value(cluster));  // the raydog.io/cluster label of the Service and its EndpointSlice
}

TEST_CASE("job defaults: only where absent, never over a value, and idempotent") {
  RayDogJobSpec spec;
  spec.backoff_limit = 3;
  spec.suspend = true;
  spec.cluster_spec = RayDogClusterSpec{};
  spec.cluster_spec->build_timeout = "1h";
  apply_defaults(spec);
  CHECK(spec.backoff_limit == 3);
  CHECK(spec.suspend == true);
  CHECK(spec.cluster_spec->build_timeout == "1h");
  CHECK(spec.cluster_spec->drain_timeout == "10m");
  CHECK_FALSE(spec.ttl_seconds_after_finished.has_value());
  CHECK_FALSE(spec.cluster_spec->observability.has_value());  // no parent, no default
  json j = {{"spec", {{"entrypoint", "x"}, {"clusterSelector", {{"a", "b"}}}}}};
  apply_job_defaults(j);
  json once = j;
  apply_job_defaults(j);
  CHECK(j == once);
  CHECK(j["spec"]["backoffLimit"] == 0);
  CHECK_FALSE(j["spec"].contains("clusterSpec"));
}

TEST_CASE("job defaults: the table holds the job's and the embedded cluster spec's defaults") {
  std::map<std::string, json> table;
  for (const auto& r : job_default_table()) table[r.path] = r.value;
  CHECK(table.at("spec.backoffLimit") == kDefaultBackoffLimit);
  CHECK(table.at("spec.suspend") == false);
  // Every RayDogCluster default appears again below spec.clusterSpec.
  for (const auto& r : default_table()) {
    INFO(r.path);
    REQUIRE(r.path.starts_with("spec."));
    CHECK(table.at("spec.clusterSpec." + r.path.substr(5)) == r.value);
  }
  CHECK(table.size() == 2 + default_table().size());
}

TEST_CASE("job defaults: shutdown_after_job_finishes follows the mode unless set") {
  RayDogJobSpec spec;
  CHECK_FALSE(shutdown_after_job_finishes(spec));
  spec.cluster_spec = RayDogClusterSpec{};
  CHECK(shutdown_after_job_finishes(spec));
  spec.shutdown_after_job_finishes = false;
  CHECK_FALSE(shutdown_after_job_finishes(spec));
}
