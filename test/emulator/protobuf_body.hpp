#pragma once
// Request bodies in Kubernetes' protobuf encoding (Content-Type application/vnd.kubernetes.protobuf), as
// kubectl sends them for built-in kinds in `kubectl create namespace | secret generic | configmap | service |
// serviceaccount`: the magic "k8s\0", then a runtime.Unknown whose typeMeta names the kind and whose raw
// holds the object's message (k8s_subset.proto). Decoded into the JSON the rest of the emulator takes, as a
// real API server accepts either. Kinds outside that subset get 415 naming the kind.
#include <nlohmann/json.hpp>
#include <string>

#include "controller/util/result.hpp"

namespace raydog::emulator {

struct ProtobufBodyError {
  std::string message;
};

Result<nlohmann::json, ProtobufBodyError> decode_protobuf_body(const std::string& body);

}  // namespace raydog::emulator
