#pragma once
// Shared fixtures for the api tests.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "controller/util/yaml_json.hpp"
#include "test/support/process.hpp"

namespace raydog::api::test {

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

}  // namespace raydog::api::test
