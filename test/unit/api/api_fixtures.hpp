#pragma once
// Shared fixtures for the api tests.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "api/crd.hpp"
#include "api/defaults.hpp"
#include "api/job_crd.hpp"
#include "api/job_validation.hpp"
#include "api/validation.hpp"
#include "controller/util/yaml_json.hpp"
#include "test/unit/api/schema_checker.hpp"
#include "test/support/process.hpp"

namespace raydog::api::test {

// The kind a manifest (one document) declares; the invalid corpus holds RayDogClusters and RayDogJobs.
inline std::string kind_of(const nlohmann::json& manifest) {
  return manifest.is_object() && manifest.contains("kind") && manifest["kind"].is_string()
             ? manifest["kind"].get<std::string>()
             : std::string();
}

// What validation says about a manifest of either kind (parse_job_yaml for a RayDogJob, parse_cluster_yaml
// otherwise): its errors, none when it is valid.
inline FieldErrors validation_errors(const std::string& yaml) {
  auto doc = raydog::yaml_to_json(yaml);
  if (doc && kind_of(*doc) == "RayDogJob") {
    auto r = parse_job_yaml(yaml);
    return r ? FieldErrors{} : r.error();
  }
  auto r = parse_cluster_yaml(yaml);
  return r ? FieldErrors{} : r.error();
}

// The CRD schema of a manifest's kind.
inline nlohmann::json schema_for(const nlohmann::json& manifest) {
  return kind_of(manifest) == "RayDogJob" ? job_open_api_schema() : open_api_schema();
}

// The RayDogCluster document of a sample manifest (`path` below the source tree): a sample may carry the
// ConfigMaps it needs in the same file.
inline nlohmann::json sample_cluster(const std::string& path) {
  auto docs = raydog::yaml_documents_to_json(raydog::test::read_file(raydog::test::source_path(path)));
  REQUIRE_MESSAGE(docs.ok(), path);
  for (auto& d : *docs)
    if (d.is_object() && d.value("kind", "") == "RayDogCluster") return std::move(d);
  FAIL(path << " has no RayDogCluster document");
  return nullptr;
}

// A resource with every field of the v1alpha1 schema set (spec and status).
inline nlohmann::json full_cluster_json() {
  return nlohmann::json::parse(R"({
  "apiVersion": "raydog.io/v1alpha1",
  "kind": "RayDogCluster",
  "metadata": {
    "name": "demo", "namespace": "team-a", "uid": "6f1c1f9e-3d0c-4b7e-9a53-0c2b9b1f0a11",
    "generation": 3, "resourceVersion": "12345", "creationTimestamp": "2026-11-22T10:00:00Z",
    "deletionTimestamp": "2026-11-22T11:00:00Z",
    "labels": {"app": "ray"}, "annotations": {"note": "x"}, "finalizers": ["raydog.io/cleanup"]
  },
  "spec": {
    "yellowdog": {
      "apiURL": "https://api.yellowdog.ai",
      "credentialsSecretRef": {"name": "yd-creds", "keyIdKey": "id", "keySecretKey": "secret"},
      "namespace": "ray", "tag": "team-a"
    },
    "lifetime": "24h",
    "buildTimeout": "15m",
    "head": {
      "computeRequirementTemplate": "ydid:crt:000000:abc", "imagesId": "ydid:imgfam:000000:1",
      "userData": "#!/bin/bash\necho hi\n", "startScript": "ray start --head --block",
      "instanceTags": {"owner": "me"}, "metricsEnabled": true
    },
    "observability": {
      "enabled": true, "computeRequirementTemplate": "ray/obs",
      "userDataFrom": {"configMapKeyRef": {"name": "obs-cm", "key": "userdata.sh"}},
      "startScriptFrom": {"configMapKeyRef": {"name": "obs-cm", "key": "start.sh"}},
      "metricsEnabled": false
    },
    "workerPools": [
      {"name": "cpu", "nodes": 4, "computeRequirementTemplate": "ray/cpu-small"},
      {"name": "gpu", "nodes": 0, "computeRequirementTemplate": "ray/gpu", "imagesId": "img",
       "instanceTags": {"gpu": "a100"}, "metricsEnabled": true,
       "rayResources": {"CPU": "8", "GPU": "1", "memory": "32Gi", "accel_a100": "1"}}
    ],
    "suspend": false,
    "deletionPolicy": "Orphan",
    "daliuge": {
      "enabled": true, "version": "6.6.0", "ports": {"dim": 18001, "nm": 18000, "events": 15555, "rpc": 16666},
      "root": "/scratch/dlg", "nmOnHead": true, "dimAddress": "Public", "membershipPolicy": "WhenIdle",
      "maxDeferral": "15m"
    }
  },
  "status": {
    "observedGeneration": 3,
    "phase": "Running",
    "workRequirement": {"id": "ydid:workreq:000000:1", "name": "rdc-team-a-demo-1234abcd", "status": "RUNNING"},
    "head": {"privateIP": "10.0.0.5", "publicIP": "54.1.2.3", "taskId": "ydid:task:000000:1:1:1",
             "nodeId": "ydid:node:000000:1", "workerPoolId": "ydid:wrkrpool:000000:1", "taskStatus": "EXECUTING"},
    "observability": {"privateIP": "10.0.0.6", "publicIP": "54.1.2.4", "grafanaURL": "http://10.0.0.6:3000",
                      "prometheusURL": "http://10.0.0.6:9090"},
    "endpoints": {"client": "ray://10.0.0.5:10001", "dashboard": "http://10.0.0.5:8265", "gcs": "10.0.0.5:6379"},
    "workerPools": [
      {"name": "cpu", "workerPoolId": "ydid:wrkrpool:000000:2", "computeRequirementId": "ydid:compreq:000000:2",
       "taskGroupId": "ydid:taskgrp:000000:1:3", "workerTag": "rdc-team-a-demo-1234abcd-w-cpu",
       "desiredNodes": 4, "registeredNodes": 4, "readyNodes": 3, "failedTasks": 1, "poolStatus": "RUNNING",
       "health": "Degraded", "message": "1 of 4 tasks failed"}
    ],
    "desiredWorkers": 4,
    "readyWorkers": 3,
    "daliuge": {
      "dimURL": "http://10.0.0.5:18001", "dimPublicURL": "http://54.1.2.3:18001",
      "desiredNodeManagers": 2, "registeredNodeManagers": 1,
      "nodeManagers": [
        {"ip": "10.0.0.7", "pool": "cpu", "url": "http://10.0.0.7:18000", "state": "Registered"},
        {"ip": "10.0.0.8", "pool": "cpu", "url": "http://10.0.0.8:18000", "state": "Pending",
         "message": "not in the DIM's list yet"}
      ]
    },
    "conditions": [
      {"type": "Ready", "status": "True", "reason": "Running", "message": "", "lastTransitionTime": "2026-11-22T10:05:00Z",
       "observedGeneration": 3},
      {"type": "Synced", "status": "False", "reason": "YellowDogError", "message": "429", "lastTransitionTime": "2026-11-22T10:06:00Z"}
    ]
  }
})");
}

// The first document of `kind` in a sample manifest (`path` below the source tree).
inline nlohmann::json sample_of_kind(const std::string& path, const std::string& kind) {
  auto docs = raydog::yaml_documents_to_json(raydog::test::read_file(raydog::test::source_path(path)));
  REQUIRE_MESSAGE(docs.ok(), path);
  for (auto& d : *docs)
    if (d.is_object() && d.value("kind", "") == kind) return std::move(d);
  FAIL(path << " has no " << kind << " document");
  return nullptr;
}

// A RayDogJob with every field of the v1alpha1 schema set (spec and status), except that clusterSpec and
// clusterSelector exclude each other: the spec has clusterSpec (tests put a clusterSelector in its place).
inline nlohmann::json full_job_json() {
  auto j = nlohmann::json::parse(R"({
  "apiVersion": "raydog.io/v1alpha1",
  "kind": "RayDogJob",
  "metadata": {
    "name": "train", "namespace": "team-a", "uid": "1b0f7a52-9a4e-4c61-8d8e-3c5f2b9e7d10",
    "generation": 2, "resourceVersion": "777", "creationTimestamp": "2026-11-22T10:00:00Z",
    "labels": {"app": "ray"}, "annotations": {"note": "x"}, "finalizers": ["raydog.io/job-cleanup"]
  },
  "spec": {
    "entrypoint": "python train.py --epochs 3",
    "runtimeEnvYAML": "pip: [requests]\nenv_vars: {MODE: test}\n",
    "metadata": {"owner": "me"},
    "entrypointNumCpus": "500m",
    "entrypointNumGpus": "1",
    "entrypointResources": {"accel_a100": "1"},
    "shutdownAfterJobFinishes": false,
    "ttlSecondsAfterFinished": 60,
    "activeDeadlineSeconds": 3600,
    "backoffLimit": 2,
    "suspend": false
  },
  "status": {
    "observedGeneration": 2,
    "jobId": "train-1-x7k2q",
    "jobStatus": "FAILED",
    "jobDeploymentStatus": "Retrying",
    "clusterName": "train-1-x7k2q",
    "dashboardURL": "http://10.0.0.5:8265",
    "startTime": "2026-11-22T10:05:00Z",
    "endTime": "2026-11-22T10:15:00Z",
    "failed": 1,
    "succeeded": 0,
    "message": "Traceback (most recent call last): ...",
    "conditions": [
      {"type": "Reconciling", "status": "True", "reason": "Retrying", "message": "attempt 2 of 3",
       "lastTransitionTime": "2026-11-22T10:15:00Z", "observedGeneration": 2},
      {"type": "Complete", "status": "False", "reason": "Failed", "message": "", "lastTransitionTime": "2026-11-22T10:15:00Z"}
    ]
  }
})");
  j["spec"]["clusterSpec"] = full_cluster_json()["spec"];
  return j;
}

// Each error as `path: message`, in order: what the tests compare.
inline std::vector<std::string> messages(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.to_string());
  return out;
}

// Visits every schema node with its dotted path ("spec.workerPools[].name"), for both CRDs' tests.
inline void walk(const nlohmann::json& node, const std::string& path,
                 const std::function<void(const nlohmann::json&, const std::string&)>& fn) {
  fn(node, path);
  if (node.contains("properties"))
    for (auto it = node["properties"].begin(); it != node["properties"].end(); ++it)
      walk(it.value(), path.empty() ? it.key() : path + "." + it.key(), fn);
  if (node.contains("items")) walk(node["items"], path + "[]", fn);
  if (node.contains("additionalProperties") && node["additionalProperties"].is_object())
    walk(node["additionalProperties"], path + "{}", fn);
}

inline std::string errors_text(const std::vector<SchemaError>& errors) {
  std::string s;
  for (const auto& e : errors) s += e.path + ": " + e.message + "\n";
  return s;
}

// The `default:` keywords of a schema by path, and a default table in the same form: the two must be equal.
inline std::map<std::string, nlohmann::json> schema_defaults(const nlohmann::json& schema) {
  std::map<std::string, nlohmann::json> out;
  walk(schema, "", [&](const nlohmann::json& node, const std::string& path) {
    if (node.contains("default")) out[path] = node["default"];
  });
  return out;
}
inline std::map<std::string, nlohmann::json> table_defaults(const std::vector<DefaultRule>& table) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& r : table) out[r.path] = r.value;
  return out;
}

// Every CEL rule text a schema uses.
inline std::set<std::string> schema_cel_rules(const nlohmann::json& schema) {
  std::set<std::string> out;
  walk(schema, "", [&](const nlohmann::json& node, const std::string&) {
    for (const auto& r : node.value("x-kubernetes-validations", nlohmann::json::array())) out.insert(r["rule"]);
  });
  return out;
}

}  // namespace raydog::api::test
