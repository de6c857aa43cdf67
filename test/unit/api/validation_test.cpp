#include <doctest/doctest.h>

#include "api/json.hpp"
#include "api/validation.hpp"
#include "api_fixtures.hpp"

using nlohmann::json;
using namespace raydog::api;

namespace {

json valid() {
  return json::parse(R"({"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogCluster",
    "metadata": {"name": "demo", "namespace": "team-a"},
    "spec": {"yellowdog": {"namespace": "ray", "credentialsSecretRef": {"name": "yellowdog-credentials"}},
             "head": {"computeRequirementTemplate": "ray/head"},
             "workerPools": [{"name": "cpu", "nodes": 2, "computeRequirementTemplate": "ray/cpu"},
                             {"name": "gpu", "nodes": 1, "computeRequirementTemplate": "ydid:crt:000000:abc"}]}})");
}

std::vector<std::string> errors_of(const json& j) {
  auto r = parse_cluster(j);
  return r.ok() ? std::vector<std::string>{} : test::messages(r.error());
}

struct Case {
  const char* name;
  std::string patch;  // JSON merge patch applied to valid()
  std::vector<std::string> want;
};

}  // namespace

TEST_CASE("validation: the valid base passes and gets defaults") {
  auto r = parse_cluster(valid());
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : to_string(r.error())));
  CHECK(r->spec.build_timeout == "10m");
}

TEST_CASE("validation: every rule, table-driven") {
  const std::string pool_cpu = R"({"name": "cpu", "nodes": 2, "computeRequirementTemplate": "ray/cpu"})";
  const Case cases[] = {
      // Required fields.
      {"metadata.name required", R"({"metadata": {"name": null}})", {"metadata.name: required"}},
      {"spec required", R"({"spec": null})", {"spec: required"}},
      {"yellowdog required", R"({"spec": {"yellowdog": null}})", {"spec.yellowdog: required"}},
      {"namespace required",
       R"({"spec": {"yellowdog": {"namespace": null}}})",
       {"spec.yellowdog.namespace: required"}},
      {"secret ref required",
       R"({"spec": {"yellowdog": {"credentialsSecretRef": null}}})",
       {"spec.yellowdog.credentialsSecretRef: required"}},
      {"secret name required",
       R"({"spec": {"yellowdog": {"credentialsSecretRef": {"name": ""}}}})",
       {"spec.yellowdog.credentialsSecretRef.name: required"}},
      {"head required", R"({"spec": {"head": null}})", {"spec.head: required"}},
      {"head template required",
       R"({"spec": {"head": {"computeRequirementTemplate": null}}})",
       {"spec.head.computeRequirementTemplate: required"}},
      {"pool template required",
       R"({"spec": {"workerPools": [{"name": "cpu", "nodes": 1}]}})",
       {"spec.workerPools[0].computeRequirementTemplate: required"}},
      {"pool name required",
       R"({"spec": {"workerPools": [{"nodes": 1, "computeRequirementTemplate": "a/b"}]}})",
       {"spec.workerPools[0].name: required"}},
      {"pool nodes required",
       R"({"spec": {"workerPools": [{"name": "cpu", "computeRequirementTemplate": "a/b"}]}})",
       {"spec.workerPools[0].nodes: required"}},
      {"observability enabled needs a template",
       R"({"spec": {"observability": {"enabled": true}}})",
       {"spec.observability.computeRequirementTemplate: required"}},
      {"observability disabled needs nothing", R"({"spec": {"observability": {"enabled": false}}})", {}},
      // Pool names and counts.
      {"pool name not a DNS label",
       R"({"spec": {"workerPools": [{"name": "GPU_pool", "nodes": 1, "computeRequirementTemplate": "a/b"}]}})",
       {"spec.workerPools[0].name: must be a DNS label: at most 63 lower case letters, digits or '-', "
        "starting and "
        "ending with a letter or digit"}},
      {"pool name too long",
       R"({"spec": {"workerPools": [{"name": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "nodes": 1, "computeRequirementTemplate": "a/b"}]}})",
       {"spec.workerPools[0].name: must be a DNS label: at most 63 lower case letters, digits or '-', "
        "starting and "
        "ending with a letter or digit"}},
      {"duplicate pool names",
       (R"({"spec": {"workerPools": [)" + pool_cpu + "," + pool_cpu + "]}}"),
       {"spec.workerPools[1].name: duplicate pool name \"cpu\""}},
      {"negative nodes",
       R"({"spec": {"workerPools": [{"name": "cpu", "nodes": -1, "computeRequirementTemplate": "a/b"}]}})",
       {"spec.workerPools[0].nodes: must be >= 0"}},
      {"too many nodes",
       R"({"spec": {"workerPools": [{"name": "cpu", "nodes": 100001, "computeRequirementTemplate": "a/b"}]}})",
       {"spec.workerPools[0].nodes: must be <= 100000"}},
      {"zero nodes is fine",
       R"({"spec": {"workerPools": [{"name": "cpu", "nodes": 0, "computeRequirementTemplate": "a/b"}]}})",
       {}},
      // Durations.
      {"bad lifetime",
       R"({"spec": {"lifetime": "1 day"}})",
       {"spec.lifetime: must be a duration such as 90s, 10m or 1h30m (unknown unit \" day\" in duration \"1 "
        "day\")"}},
      {"bad buildTimeout unit",
       R"({"spec": {"buildTimeout": "10"}})",
       {"spec.buildTimeout: must be a duration such as 90s, 10m or 1h30m (missing unit in duration \"10\")"}},
      {"zero lifetime",
       R"({"spec": {"lifetime": "0s"}})",
       {"spec.lifetime: must be a positive duration, got \"0s\""}},
      {"negative buildTimeout",
       R"({"spec": {"buildTimeout": "-5m"}})",
       {"spec.buildTimeout: must be a positive duration, got \"-5m\""}},
      {"good durations", R"({"spec": {"lifetime": "1h30m", "buildTimeout": "1.5h"}})", {}},
      // YellowDog names and settings.
      {"yellowdog namespace charset",
       R"({"spec": {"yellowdog": {"namespace": "Ray.Team"}}})",
       {"spec.yellowdog.namespace: must be a YellowDog name: at most 60 lower case letters, digits, '_' or "
        "'-', "
        "starting with a letter"}},
      {"yellowdog namespace too long",
       R"({"spec": {"yellowdog": {"namespace": "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"}}})",
       {"spec.yellowdog.namespace: must be a YellowDog name: at most 60 lower case letters, digits, '_' or "
        "'-', "
        "starting with a letter"}},
      {"tag too long",
       (R"({"spec": {"yellowdog": {"tag": ")" + std::string(201, 't') + "\"}}}"),
       {"spec.yellowdog.tag: must be at most 200 characters"}},
      {"apiURL not a URL",
       R"({"spec": {"yellowdog": {"apiURL": "api.yellowdog.ai"}}})",
       {"spec.yellowdog.apiURL: must be an http:// or https:// URL, got \"api.yellowdog.ai\""}},
      {"apiURL loopback http is fine",
       R"({"spec": {"yellowdog": {"apiURL": "http://127.0.0.1:8080/api"}}})",
       {}},
      {"secret name not a subdomain",
       R"({"spec": {"yellowdog": {"credentialsSecretRef": {"name": "Creds"}}}})",
       {"spec.yellowdog.credentialsSecretRef.name: must be a DNS subdomain: at most 253 lower case letters, "
        "digits, "
        "'-' or '.', starting and ending with a letter or digit"}},
      {"secret key names",
       R"({"spec": {"yellowdog": {"credentialsSecretRef": {"keyIdKey": "key id"}}}})",
       {"spec.yellowdog.credentialsSecretRef.keyIdKey: must consist of letters, digits, '-', '_' or '.' (at "
        "most 253)"}},
      {"secret keys must differ",
       R"({"spec": {"yellowdog": {"credentialsSecretRef": {"keyIdKey": "k", "keySecretKey": "k"}}}})",
       {"spec.yellowdog.credentialsSecretRef.keySecretKey: must differ from keyIdKey"}},
      // Node specs.
      {"template format",
       R"({"spec": {"head": {"computeRequirementTemplate": "just-a-name"}}})",
       {"spec.head.computeRequirementTemplate: must be a template id (ydid:crt:...) or namespace/name, got "
        "\"just-a-name\""}},
      {"startScript and startScriptFrom",
       R"({"spec": {"head": {"startScript": "x", "startScriptFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}}})",
       {"spec.head.startScriptFrom: startScript and startScriptFrom are mutually exclusive"}},
      {"userData and userDataFrom",
       R"({"spec": {"head": {"userData": "x", "userDataFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}}})",
       {"spec.head.userDataFrom: userData and userDataFrom are mutually exclusive"}},
      {"valueFrom without a ref",
       R"({"spec": {"head": {"startScriptFrom": {}}}})",
       {"spec.head.startScriptFrom.configMapKeyRef: required"}},
      {"configMapKeyRef fields",
       R"({"spec": {"head": {"userDataFrom": {"configMapKeyRef": {"name": "", "key": "a b"}}}}})",
       {"spec.head.userDataFrom.configMapKeyRef.name: required",
        "spec.head.userDataFrom.configMapKeyRef.key: must consist of letters, digits, '-', '_' or '.' (at "
        "most 253)"}},
      {"empty script",
       R"({"spec": {"head": {"startScript": ""}}})",
       {"spec.head.startScript: must not be empty"}},
      {"empty imagesId",
       R"({"spec": {"head": {"imagesId": ""}}})",
       {"spec.head.imagesId: must not be empty"}},
      {"instance tags",
       (R"({"spec": {"head": {"instanceTags": {"": "x", "k": ")" + std::string(257, 'v') + "\"}}}}"),
       {"spec.head.instanceTags[]: key must not be empty",
        "spec.head.instanceTags[k]: value must be at most 256 characters"}},
      // Metadata.
      {"metadata.name not a subdomain",
       R"({"metadata": {"name": "Demo_1"}})",
       {"metadata.name: must be a DNS subdomain: at most 253 lower case letters, digits, '-' or '.', "
        "starting and "
        "ending with a letter or digit"}},
      {"long names are fine (shortened)",
       (R"({"metadata": {"name": ")" + std::string(250, 'a') + "\"}}"),
       {}},
      // Decode errors come with the validation errors; a field that failed to decode is not also "required".
      {"unknown field and a rule",
       R"({"spec": {"workerPools": [{"name": "cpu", "nodez": 3, "computeRequirementTemplate": "a/b"}], "lifetime": "x"}})",
       {"spec.workerPools[0].nodez: unknown field",
        "spec.lifetime: must be a duration such as 90s, 10m or 1h30m (invalid duration \"x\")",
        "spec.workerPools[0].nodes: required"}},
      {"type error shadows required",
       R"({"spec": {"head": "big"}})",
       {"spec.head: must be an object, got string"}},
      // DALiuGE.
      {"daliuge: defaults only", R"({"spec": {"daliuge": {"enabled": true}}})", {}},
      {"daliuge: every field valid",
       R"({"spec": {"daliuge": {"enabled": true, "version": "6.6.0", "root": "/scratch/dlg", "nmOnHead": true,
           "ports": {"dim": 18001, "nm": 18000, "events": 15555, "rpc": 16666}, "dimAddress": "Public",
           "membershipPolicy": "WhenIdle", "maxDeferral": "1h"}}})",
       {}},
      {"daliuge: two ports collide",
       R"({"spec": {"daliuge": {"ports": {"events": 6666}}}})",
       {"spec.daliuge.ports: ports must be distinct: events and rpc are both 6666"}},
      {"daliuge: three ports collide: every pair",
       R"({"spec": {"daliuge": {"ports": {"dim": 7000, "nm": 7000, "events": 7000}}}})",
       {"spec.daliuge.ports: ports must be distinct: dim and nm are both 7000",
        "spec.daliuge.ports: ports must be distinct: dim and events are both 7000",
        "spec.daliuge.ports: ports must be distinct: nm and events are both 7000"}},
      {"daliuge: port range",
       R"({"spec": {"daliuge": {"ports": {"dim": 0, "nm": 65536}}}})",
       {"spec.daliuge.ports.dim: must be between 1 and 65535",
        "spec.daliuge.ports.nm: must be between 1 and 65535"}},
      {"daliuge: version",
       R"({"spec": {"daliuge": {"version": "6.6.0 || true"}}})",
       {"spec.daliuge.version: must be a daliuge-engine version such as 6.6.0, got \"6.6.0 || true\""}},
      {"daliuge: root",
       R"j({"spec": {"daliuge": {"root": "/var/$(id)"}}})j",
       {"spec.daliuge.root: must be an absolute path of letters, digits, '.', '_', '-' and '/', got "
        "\"/var/$(id)\""}},
      {"daliuge: enums",
       R"({"spec": {"daliuge": {"dimAddress": "Both", "membershipPolicy": "Never"}}})",
       {"spec.daliuge.dimAddress: unsupported value \"Both\": must be one of Private, Public",
        "spec.daliuge.membershipPolicy: unsupported value \"Never\": must be one of Immediate, WhenIdle"}},
      {"daliuge: maxDeferral needs WhenIdle",
       R"({"spec": {"daliuge": {"maxDeferral": "5m"}}})",
       {"spec.daliuge.maxDeferral: only allowed with membershipPolicy WhenIdle"}},
      {"daliuge: maxDeferral is a positive duration",
       R"({"spec": {"daliuge": {"membershipPolicy": "WhenIdle", "maxDeferral": "5"}}})",
       {"spec.daliuge.maxDeferral: must be a duration such as 90s, 10m or 1h30m (missing unit in duration "
        "\"5\")"}},
      {"daliuge: unknown field",
       R"({"spec": {"daliuge": {"port": {}}}})",
       {"spec.daliuge.port: unknown field"}},
      {"headAccess None refuses what needs the head",
       R"({"spec": {"headAccess": "None", "daliuge": {"enabled": true}}})",
       {"spec.daliuge.enabled: DALiuGE needs the head: not allowed with headAccess None"}},
      {"headAccess: enum",
       R"({"spec": {"headAccess": "private"}})",
       {"spec.headAccess: unsupported value \"private\": must be one of Private, Public, None"}},
      {"Ray timeouts are positive durations",
       R"({"spec": {"rayJoinTimeout": "0s", "headUnresponsiveTimeout": "2", "drainTimeout": "-1m"}})",
       {"spec.rayJoinTimeout: must be a positive duration, got \"0s\"",
        "spec.headUnresponsiveTimeout: must be a duration such as 90s, 10m or 1h30m (missing unit in duration "
        "\"2\")",
        "spec.drainTimeout: must be a positive duration, got \"-1m\""}},
      {"rayResources: quantities, whole CPUs, GPUs and bytes, Ray names",
       R"({"spec": {"workerPools": [{"name": "cpu", "nodes": 1, "computeRequirementTemplate": "a/b",
           "rayResources": {"CPU": "8", "GPU": "1", "memory": "32Gi", "accel_a100": "1", "half": "500m"}},
          {"name": "bad", "nodes": 1, "computeRequirementTemplate": "a/b",
           "rayResources": {"CPU": "1.5", "memory": "500m", "disk": "8 cores", "tiny": "0.0001",
             "a_name_that_is_longer_than_sixty_three_characters_is_not_a_ray_resource": "1"}}]}})",
       {"spec.workerPools[1].rayResources[CPU]: CPU, GPU, memory and object_store_memory are whole numbers: digits, "
        "optionally with a suffix such as k, Gi or e3, got \"1.5\"",
        "spec.workerPools[1].rayResources[a_name_that_is_longer_than_sixty_three_characters_is_not_a_ray_resource]: "
        "resource names must be 1 to 63 characters",
        "spec.workerPools[1].rayResources[disk]: \"8 cores\": expected a non-negative number with an optional "
        "suffix (500m, 8, 32Gi, 1e3)",
        "spec.workerPools[1].rayResources[memory]: CPU, GPU, memory and object_store_memory are whole numbers: "
        "digits, optionally with a suffix such as k, Gi or e3, got \"500m\""}},
      // Autoscaling.
      {"autoscaling: a valid autoscaled pool",
       R"({"spec": {"autoscaling": {"enabled": true, "idleTimeout": "2m", "upscalingMode": "Conservative",
           "pollInterval": "10s"},
          "workerPools": [{"name": "cpu", "nodes": 1, "minNodes": 1, "maxNodes": 4, "idleTimeout": "5m",
           "computeRequirementTemplate": "a/b", "rayResources": {"CPU": "8"}}]}})",
       {}},
      {"autoscaling: bounds only matter when enabled, but min <= max always",
       R"({"spec": {"workerPools": [{"name": "cpu", "nodes": 9, "minNodes": 3, "maxNodes": 2,
           "computeRequirementTemplate": "a/b"}]}})",
       {"spec.workerPools[0].minNodes: minNodes must not exceed maxNodes (3 > 2)"}},
      {"autoscaling: enabled needs maxNodes, rayResources and nodes within the bounds",
       R"({"spec": {"autoscaling": {"enabled": true},
          "workerPools": [{"name": "cpu", "nodes": 3, "computeRequirementTemplate": "a/b"},
           {"name": "big", "nodes": 5, "maxNodes": 4, "computeRequirementTemplate": "a/b", "rayResources": {"CPU": "8"}},
           {"name": "low", "nodes": 0, "minNodes": 1, "maxNodes": 4, "computeRequirementTemplate": "a/b",
            "rayResources": {}}]}})",
       {"spec.workerPools[0].maxNodes: required when spec.autoscaling.enabled",
        "spec.workerPools[0].rayResources: required when spec.autoscaling.enabled: the autoscaler needs the shape of "
        "one node, e.g. {CPU: \"8\"}",
        "spec.workerPools[1].nodes: the starting size must lie within [minNodes, maxNodes]: 5 > maxNodes 4",
        "spec.workerPools[2].rayResources: required when spec.autoscaling.enabled: the autoscaler needs the shape of "
        "one node, e.g. {CPU: \"8\"}",
        "spec.workerPools[2].nodes: the starting size must lie within [minNodes, maxNodes]: 0 < minNodes 1"}},
      {"autoscaling: needs the head, positive durations, a known mode",
       R"({"spec": {"headAccess": "None", "workerPools": [], "autoscaling": {"enabled": true, "idleTimeout": "0s",
           "pollInterval": "5", "upscalingMode": "Fast"}}})",
       {"spec.autoscaling.upscalingMode: unsupported value \"Fast\": must be one of Default, Aggressive, Conservative",
        "spec.autoscaling.idleTimeout: must be a positive duration, got \"0s\"",
        "spec.autoscaling.pollInterval: must be a duration such as 90s, 10m or 1h30m (missing unit in duration \"5\")",
        "spec.autoscaling.enabled: autoscaling needs the head: not allowed with headAccess None"}},
  };
  for (const auto& c : cases) {
    json j = valid();
    j.merge_patch(json::parse(c.patch));
    INFO(std::string(c.name));
    const auto got = errors_of(j);
    std::string listed;
    for (const auto& e : got) listed += "\n  " + e;
    INFO("got:" << listed);
    CHECK(got == c.want);
  }
}

TEST_CASE("validation: all errors are reported at once") {
  json j = valid();
  j.merge_patch(json::parse(R"({"spec": {"yellowdog": {"namespace": null, "credentialsSecretRef": null},
    "buildTimeout": "soon", "head": {"computeRequirementTemplate": null},
    "workerPools": [{"name": "cpu", "nodes": -2, "computeRequirementTemplate": "a/b"},
                    {"name": "cpu", "nodes": 1, "computeRequirementTemplate": "a/b"}]}})"));
  CHECK(errors_of(j) ==
        std::vector<std::string>{
            "spec.yellowdog.credentialsSecretRef: required",
            "spec.yellowdog.namespace: required",
            "spec.buildTimeout: must be a duration such as 90s, 10m or 1h30m (invalid duration \"soon\")",
            "spec.head.computeRequirementTemplate: required",
            "spec.workerPools[0].nodes: must be >= 0",
            "spec.workerPools[1].name: duplicate pool name \"cpu\"",
        });
}

TEST_CASE("validation: YAML input, including a syntax error") {
  auto ok = parse_cluster_yaml(R"(apiVersion: raydog.io/v1alpha1
kind: RayDogCluster
metadata: {name: y}
spec:
  yellowdog: {namespace: ray, credentialsSecretRef: {name: s}}
  head: {computeRequirementTemplate: ray/head}
)");
  CHECK(ok.ok());
  auto bad = parse_cluster_yaml("spec: [unclosed");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().size() == 1);
  CHECK(bad.error()[0].message.starts_with("invalid YAML: line 1"));
  auto not_object = parse_cluster_yaml("- a\n- b\n");
  REQUIRE_FALSE(not_object.ok());
  CHECK(to_string(not_object.error()) == "must be an object, got array");
}

TEST_CASE("validation: helper predicates") {
  CHECK(is_dns_label("a"));
  CHECK(is_dns_label("a-1"));
  CHECK_FALSE(is_dns_label("-a"));
  CHECK_FALSE(is_dns_label("a-"));
  CHECK_FALSE(is_dns_label("a.b"));
  CHECK_FALSE(is_dns_label(std::string(64, 'a')));
  CHECK(is_dns_subdomain("a.b-c.d"));
  CHECK_FALSE(is_dns_subdomain("a..b"));
  CHECK_FALSE(is_dns_subdomain(".a"));
  CHECK(is_config_map_key("start.sh"));
  CHECK(is_config_map_key("A_b-1"));
  CHECK_FALSE(is_config_map_key("a/b"));
  CHECK(is_template_ref("ydid:crt:000000:1234-abcd"));
  CHECK(is_template_ref("ray/head-small"));
  CHECK_FALSE(is_template_ref("ydid:crt:"));
  CHECK_FALSE(is_template_ref("a/b/c"));
  CHECK_FALSE(is_template_ref("/b"));
  CHECK_FALSE(is_template_ref("a/"));
  CHECK_FALSE(is_template_ref("a b/c"));
}
