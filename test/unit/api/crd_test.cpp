#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "api/crd.hpp"
#include "api/defaults.hpp"
#include "api/job_crd.hpp"
#include "api/json.hpp"
#include "api/validation.hpp"
#include "api_fixtures.hpp"
#include "controller/util/yaml_json.hpp"
#include "schema_checker.hpp"
#include "test/support/process.hpp"

using nlohmann::json;
using namespace raydog::api;
namespace fs = std::filesystem;

namespace {

const char* kCrdFile = "crds/raydog.io_raydogclusters.yaml";

using test::walk;

std::vector<std::string> header_lines(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix)) out.push_back(line.substr(prefix.size()));
  return out;
}

using test::errors_text;

}  // namespace

TEST_CASE("crd: the checked-in file is the generator's output") {
  std::string checked_in = raydog::test::read_file(raydog::test::source_path(kCrdFile));
  bool same = checked_in == custom_resource_definition_yaml();
  CHECK_MESSAGE(same, kCrdFile << " differs from `raydog-operator crd`: run `make crd`");
}

TEST_CASE("crd: the YAML reads back as the same object") {
  auto back = raydog::yaml_to_json(custom_resource_definition_yaml());
  REQUIRE(back.ok());
  CHECK(*back == custom_resource_definition());
}

TEST_CASE("crd: names, scope, version, subresources") {
  json crd = custom_resource_definition();
  CHECK(crd["apiVersion"] == "apiextensions.k8s.io/v1");
  CHECK(crd["kind"] == "CustomResourceDefinition");
  CHECK(crd["metadata"]["name"] == "raydogclusters.raydog.io");
  const json& spec = crd["spec"];
  CHECK(spec["group"] == "raydog.io");
  CHECK(spec["scope"] == "Namespaced");
  CHECK(spec["names"]["kind"] == "RayDogCluster");
  CHECK(spec["names"]["listKind"] == "RayDogClusterList");
  CHECK(spec["names"]["plural"] == "raydogclusters");
  CHECK(spec["names"]["singular"] == "raydogcluster");
  CHECK(spec["names"]["shortNames"] == json::array({"rdc"}));
  CHECK(spec["names"]["categories"] == json::array({"all"}));
  REQUIRE(spec["versions"].size() == 1);
  const json& v = spec["versions"][0];
  CHECK(v["name"] == "v1alpha1");
  CHECK(v["served"] == true);
  CHECK(v["storage"] == true);
  CHECK(v["subresources"] == json{{"status", json::object()}});
  CHECK_FALSE(v["subresources"].contains("scale"));
}

TEST_CASE("crd: printer columns") {
  json cols = custom_resource_definition()["spec"]["versions"][0]["additionalPrinterColumns"];
  std::vector<std::tuple<std::string, std::string, int>> got;
  for (const auto& c : cols) got.emplace_back(c["name"], c["jsonPath"], c.value("priority", 0));
  std::vector<std::tuple<std::string, std::string, int>> want = {
      {"Phase", ".status.phase", 0},
      {"Head IP", ".status.head.privateIP", 0},
      {"Workers", ".status.readyWorkers", 0},
      {"Desired", ".status.desiredWorkers", 0},
      {"Ready", ".status.conditions[?(@.type==\"Ready\")].status", 0},
      {"Age", ".metadata.creationTimestamp", 0},
      {"Public IP", ".status.head.publicIP", 1},
      {"Work Requirement", ".status.workRequirement.name", 1},
  };
  CHECK(got == want);
  for (const auto& c : cols) CHECK(!c.value("description", "").empty());
}

TEST_CASE("crd: every field has a type and a description, structural rules hold") {
  json schema = open_api_schema();
  int fields = 0;
  walk(schema, "", [&](const json& node, const std::string& path) {
    INFO(path);
    CHECK(node.contains("type"));
    if (path == "metadata" || path.ends_with("{}")) return;  // metadata is the API server's; map values
    ++fields;
    CHECK(!node.value("description", "").empty());
    if (node.contains("properties")) CHECK_FALSE(node.contains("additionalProperties"));
    if (node.value("x-kubernetes-list-type", "") == "map") {
      // Map keys must be required (or defaulted) in the items.
      for (const auto& key : node["x-kubernetes-list-map-keys"]) {
        bool required = false;
        for (const auto& r : node["items"].value("required", json::array())) required = required || r == key;
        CHECK(required);
      }
    }
  });
  CHECK(fields > 60);
  // The list-map and its keys on workerPools.
  const json& pools = schema["properties"]["spec"]["properties"]["workerPools"];
  CHECK(pools["x-kubernetes-list-type"] == "map");
  CHECK(pools["x-kubernetes-list-map-keys"] == json::array({"name"}));
}

TEST_CASE("crd: defaults in the schema are exactly the default table") {
  CHECK(test::schema_defaults(open_api_schema()) == test::table_defaults(default_table()));
}

TEST_CASE("crd: every CEL rule is one the checker evaluates") {
  std::set<std::string> used = test::schema_cel_rules(open_api_schema());
  auto listed = cel_rules();
  CHECK(used == std::set<std::string>(listed.begin(), listed.end()));
  // The checker knows exactly the rules of the two CRDs (RayDogJob's own and, embedded, RayDogCluster's).
  auto job = job_cel_rules();
  used.insert(job.begin(), job.end());
  auto known = test::known_cel_rules();
  CHECK(used == std::set<std::string>(known.begin(), known.end()));
}

TEST_CASE("crd: schema accepts the samples and a resource with every field") {
  json schema = open_api_schema();
  for (const char* sample : {"manifests/samples/minimal.yaml", "manifests/samples/heterogeneous.yaml",
                             "manifests/samples/daliuge.yaml", "manifests/samples/autoscaling.yaml"}) {
    INFO(sample);
    json j = test::sample_cluster(sample);
    auto errors = test::check_schema(schema, j);
    CHECK_MESSAGE(errors.empty(), errors_text(errors));
  }
  // Every key json.cpp writes is a field of the schema (spec and status), and the values fit.
  json full = test::full_cluster_json();
  auto errors = test::check_schema(schema, full);
  CHECK_MESSAGE(errors.empty(), errors_text(errors));
}

TEST_CASE("crd: schema defaulting equals apply_defaults") {
  auto j = raydog::yaml_to_json(
      raydog::test::read_file(raydog::test::source_path("manifests/samples/minimal.yaml")));
  REQUIRE(j.ok());
  json by_schema = *j;
  test::check_schema(open_api_schema(), by_schema);
  json by_code = *j;
  apply_defaults(by_code);
  CHECK(by_schema == by_code);
}

TEST_CASE("crd: schema and validation.cpp agree on the invalid corpus") {
  // Each invalid manifest must be rejected by the schema too (the API server refuses it before the
  // operator sees it), at paths validation.cpp also names - unless its header says
  // "# schema: accepts <why>" (a rule only the operator can check). RayDogJobs (job-*.yaml) against the job
  // CRD's schema and job_validation.cpp.
  int checked = 0, jobs = 0;
  for (const auto& e : fs::directory_iterator(raydog::test::source_path("manifests/samples/invalid"))) {
    if (e.path().extension() != ".yaml") continue;
    INFO(e.path().filename().string());
    std::string text = raydog::test::read_file(e.path().string());
    auto j = raydog::yaml_to_json(text);
    REQUIRE(j.ok());
    jobs += test::kind_of(*j) == "RayDogJob";
    auto errors = test::check_schema(test::schema_for(*j), *j);
    if (!header_lines(text, "# schema: accepts").empty()) {
      CHECK_MESSAGE(errors.empty(), errors_text(errors));
      continue;
    }
    ++checked;
    CHECK_MESSAGE(!errors.empty(), "the schema accepts a manifest validation.cpp rejects");
    std::set<std::string> expected_paths;
    for (const auto& line : header_lines(text, "# expect: "))
      expected_paths.insert(line.substr(0, line.find(": ")));
    // A rule on a list (every autoscaled pool needs ...) names the list; validation.cpp names its elements.
    const auto named = [&](const std::string& path) {
      if (expected_paths.count(path)) return true;
      return std::any_of(expected_paths.begin(), expected_paths.end(), [&](const std::string& e) {
        return e.rfind(path + "[", 0) == 0;
      });
    };
    for (const auto& err : errors)
      CHECK_MESSAGE(named(err.path), "schema error at a path validation.cpp does not name: " << err.path << ": "
                                                                                           << err.message);
  }
  CHECK(checked >= 10);
  CHECK(jobs >= 5);
}

TEST_CASE("crd: per-rule agreement, table-driven") {
  // Single-field mutations of a valid manifest: the schema and validation.cpp both reject (or both accept).
  json schema = open_api_schema();
  json base =
      json::parse(R"({"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogCluster", "metadata": {"name": "d"},
    "spec": {"yellowdog": {"namespace": "ray", "credentialsSecretRef": {"name": "s"}},
             "head": {"computeRequirementTemplate": "ray/head"},
             "workerPools": [{"name": "cpu", "nodes": 1, "computeRequirementTemplate": "ray/cpu"}]}})");
  const char* patches[] = {
      R"({"spec": {"workerPools": [{"name": "cpu", "nodes": -1, "computeRequirementTemplate": "a/b"}]}})",
      R"({"spec": {"workerPools": [{"name": "a.b", "nodes": 1, "computeRequirementTemplate": "a/b"}]}})",
      R"({"spec": {"workerPools": [{"name": "-a", "nodes": 1, "computeRequirementTemplate": "a/b"}]}})",
      R"({"spec": {"workerPools": [{"name": "cpu", "nodes": 1, "computeRequirementTemplate": "a b"}]}})",
      R"({"spec": {"lifetime": "10"}})",
      R"({"spec": {"lifetime": "-1h"}})",
      R"({"spec": {"lifetime": "0"}})",
      R"({"spec": {"lifetime": "1h30m"}})",
      R"({"spec": {"lifetime": ".5h"}})",
      R"({"spec": {"lifetime": "+5s"}})",
      R"({"spec": {"lifetime": " 5s"}})",
      R"({"spec": {"yellowdog": {"apiURL": "https://host?x=1"}}})",
      R"({"spec": {"yellowdog": {"apiURL": "https://host/api?x=1"}}})",
      R"({"spec": {"yellowdog": {"tag": "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"}}})",
      R"({"spec": {"head": {"computeRequirementTemplate": "ydid:crt:a/b"}}})",
      R"({"spec": {"head": {"computeRequirementTemplate": "ydid:crt:"}}})",
      R"({"spec": {"buildTimeout": "1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h"}})",
      R"({"spec": {"yellowdog": {"namespace": "1ray"}}})",
      R"({"spec": {"yellowdog": {"namespace": "ray_team-1"}}})",
      R"({"spec": {"yellowdog": {"apiURL": "ftp://x"}}})",
      R"({"spec": {"yellowdog": {"apiURL": "https://"}}})",
      R"({"spec": {"yellowdog": {"apiURL": "http://127.0.0.1:9000"}}})",
      R"({"spec": {"yellowdog": {"credentialsSecretRef": {"name": "a_b"}}}})",
      R"({"spec": {"yellowdog": {"credentialsSecretRef": {"keyIdKey": "a/b"}}}})",
      R"({"spec": {"yellowdog": {"credentialsSecretRef": {"keyIdKey": "keySecret"}}}})",
      R"({"spec": {"head": {"imagesId": ""}}})",
      R"({"spec": {"head": {"startScript": ""}}})",
      R"({"spec": {"head": {"startScriptFrom": {"configMapKeyRef": {"name": "x"}}}}})",
      R"({"spec": {"head": {"startScriptFrom": {}}}})",
      R"({"spec": {"head": {"userDataFrom": {"configMapKeyRef": {"name": "X", "key": "k"}}}}})",
      R"({"spec": {"head": {"instanceTags": {"": "v"}}}})",
      R"({"spec": {"observability": {"enabled": false}}})",
      R"({"spec": {"observability": {"enabled": true}}})",
      R"({"spec": {"observability": {"enabled": true, "computeRequirementTemplate": "a/b"}}})",
      R"({"spec": {"deletionPolicy": "Orphan"}})",
      R"({"spec": {"suspend": "yes"}})",
      R"({"spec": {"daliuge": {}}})",
      R"({"spec": {"daliuge": {"enabled": true, "version": "6.6.0"}}})",
      R"({"spec": {"daliuge": {"version": "6.6"}}})",
      R"({"spec": {"daliuge": {"version": "6.6.0rc1"}}})",
      R"({"spec": {"daliuge": {"version": "6.6.0.post1.dev2"}}})",
      R"({"spec": {"daliuge": {"version": "v6.6.0"}}})",
      R"({"spec": {"daliuge": {"version": "6.6.0; rm -rf /"}}})",
      R"({"spec": {"daliuge": {"ports": {"dim": 0}}}})",
      R"({"spec": {"daliuge": {"ports": {"dim": 65535}}}})",
      R"({"spec": {"daliuge": {"ports": {"dim": 65536}}}})",
      R"({"spec": {"daliuge": {"ports": {"events": 6666}}}})",
      R"({"spec": {"daliuge": {"ports": {"dim": 18001, "nm": 18000, "events": 15555, "rpc": 16666}}}})",
      R"({"spec": {"daliuge": {"ports": {"nm": 8001}}}})",
      R"({"spec": {"daliuge": {"ports": {"nmm": 8001}}}})",
      R"({"spec": {"daliuge": {"root": "/var/dlg"}}})",
      R"({"spec": {"daliuge": {"root": "/var/dl g"}}})",
      R"({"spec": {"daliuge": {"root": "~/dlg"}}})",
      R"({"spec": {"daliuge": {"dimAddress": "Public"}}})",
      R"({"spec": {"daliuge": {"dimAddress": "public"}}})",
      R"({"spec": {"daliuge": {"membershipPolicy": "WhenIdle"}}})",
      R"({"spec": {"daliuge": {"membershipPolicy": "Later"}}})",
      R"({"spec": {"daliuge": {"membershipPolicy": "WhenIdle", "maxDeferral": "30m"}}})",
      R"({"spec": {"daliuge": {"membershipPolicy": "WhenIdle", "maxDeferral": "-1m"}}})",
      R"({"spec": {"daliuge": {"membershipPolicy": "WhenIdle", "maxDeferral": "30"}}})",
      R"({"spec": {"daliuge": {"membershipPolicy": "Immediate", "maxDeferral": "30m"}}})",
      R"({"spec": {"daliuge": {"maxDeferral": "30m"}}})",
      R"({"spec": {"daliuge": {"nmOnHead": "yes"}}})",
      R"({"spec": {"headAccess": "None"}})",
      R"({"spec": {"headAccess": "Public"}})",
      R"({"spec": {"headAccess": "none"}})",
      R"({"spec": {"headAccess": "None", "daliuge": {"enabled": true}}})",
      R"({"spec": {"headAccess": "None", "daliuge": {"enabled": false}}})",
      R"({"spec": {"headAccess": "Public", "daliuge": {"enabled": true}}})",
      R"({"spec": {"rayJoinTimeout": "30s", "headUnresponsiveTimeout": "1m", "drainTimeout": "1h"}})",
      R"({"spec": {"drainTimeout": "0s"}})",
  };
  for (const char* patch : patches) {
    INFO(patch);
    json j = base;
    j.merge_patch(json::parse(patch));
    json defaulted = j;
    auto schema_errors = test::check_schema(schema, defaulted);
    auto code = parse_cluster(j);
    CHECK_MESSAGE(schema_errors.empty() == code.ok(),
                  "schema: " << errors_text(schema_errors)
                             << " code: " << (code.ok() ? "ok" : to_string(code.error())));
  }
}

TEST_CASE("crd: many pools and many tags hit the same limits in both") {
  json schema = open_api_schema();
  json j =
      json::parse(R"({"apiVersion": "raydog.io/v1alpha1", "kind": "RayDogCluster", "metadata": {"name": "d"},
    "spec": {"yellowdog": {"namespace": "ray", "credentialsSecretRef": {"name": "s"}},
             "head": {"computeRequirementTemplate": "ray/head"}}})");
  json pools = json::array();
  for (size_t i = 0; i <= kMaxWorkerPools; ++i)
    pools.push_back({{"name", "p" + std::to_string(i)}, {"nodes", 1}, {"computeRequirementTemplate", "a/b"}});
  j["spec"]["workerPools"] = pools;
  json tags = json::object();
  for (size_t i = 0; i <= kMaxInstanceTags; ++i) tags["t" + std::to_string(i)] = "v";
  j["spec"]["head"]["instanceTags"] = tags;
  json copy = j;
  auto schema_errors = test::check_schema(schema, copy);
  std::set<std::string> schema_paths;
  for (const auto& e : schema_errors) schema_paths.insert(e.path);
  CHECK(schema_paths == std::set<std::string>{"spec.workerPools", "spec.head.instanceTags"});
  auto code = parse_cluster(j);
  REQUIRE_FALSE(code.ok());
  std::set<std::string> code_paths;
  for (const auto& e : code.error()) code_paths.insert(e.path);
  CHECK(code_paths == schema_paths);
}

TEST_CASE("crd: api/README.md lists every spec and status field") {
  std::string readme = raydog::test::read_file(raydog::test::source_path("api/README.md"));
  json schema = open_api_schema();
  int listed = 0;
  for (const char* top : {"spec", "status"}) {
    walk(schema["properties"][top], top, [&](const json&, const std::string& path) {
      if (path.ends_with("{}") || path.ends_with("[]"))
        return;  // map values, list items: the field itself is listed
      INFO(path);
      CHECK_MESSAGE(readme.find("`" + path + "`") != std::string::npos,
                    "api/README.md does not document " << path);
      ++listed;
    });
  }
  CHECK(listed > 60);
}

TEST_CASE("crd: schema and validation.cpp agree on every field replaced by odd values (property)") {
  // For every field of a full, valid spec, try values of every type and edge: the schema checker and
  // parse_cluster must both accept or both reject. Catches a rule present on one side only.
  json schema = open_api_schema();
  std::optional<json> base = test::sample_cluster("manifests/samples/heterogeneous.yaml");
  // DALiuGE fields too (from the DALiuGE sample), so every one of them is mutated.
  auto dlg = raydog::yaml_to_json(
      raydog::test::read_file(raydog::test::source_path("manifests/samples/daliuge.yaml")));
  REQUIRE(dlg.ok());
  (*base)["spec"]["daliuge"] = (*dlg)["spec"]["daliuge"];
  (*base)["spec"]["head"]["startScript"] = "ray start --head --block";
  (*base)["spec"]["head"].erase("userDataFrom");
  (*base)["spec"]["head"]["userData"] = "#!/bin/bash";
  (*base)["spec"]["suspend"] = false;
  std::vector<json::json_pointer> leaves;
  std::function<void(const json&, const json::json_pointer&)> collect = [&](const json& j,
                                                                            const json::json_pointer& p) {
    if (!p.empty()) leaves.push_back(p);
    if (j.is_object())
      for (auto it = j.begin(); it != j.end(); ++it) collect(it.value(), p / it.key());
    if (j.is_array())
      for (size_t i = 0; i < j.size(); ++i) collect(j[i], p / i);
  };
  collect((*base)["spec"], json::json_pointer("/spec"));
  const json odd = json::array({nullptr,
                                "",
                                "x",
                                "-1",
                                -1,
                                0,
                                1,
                                3000000000LL,
                                true,
                                1.5,
                                json::object(),
                                json::array(),
                                "a/b",
                                "ydid:crt:x",
                                "10m",
                                "0s",
                                "UPPER",
                                std::string(300, 'a'),
                                "rdc",
                                "a b"});
  int compared = 0, disagreements = 0;
  for (const auto& leaf : leaves) {
    for (const auto& v : odd) {
      json j = *base;
      j[leaf] = v;
      json for_schema = j;
      auto schema_errors = test::check_schema(schema, for_schema);
      auto code = parse_cluster(j);
      ++compared;
      if (schema_errors.empty() != code.ok()) {
        ++disagreements;
        CHECK_MESSAGE(false, leaf.to_string()
                                 << " = " << v.dump() << ": schema " << errors_text(schema_errors)
                                 << " code: " << (code.ok() ? "ok" : to_string(code.error())));
      }
    }
  }
  MESSAGE(compared << " mutations compared, " << disagreements << " disagreements");
  CHECK(compared > 500);
}
