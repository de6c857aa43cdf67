#pragma once
// Request bodies in Kubernetes' protobuf encoding (Content-Type application/vnd.kubernetes.protobuf), as
// kubectl sends them for built-in kinds in `kubectl create namespace | secret generic | configmap | service |
// serviceaccount`: the magic "k8s\0", then a runtime.Unknown whose typeMeta names the kind and whose raw
// holds the object's message (k8s_subset.proto). Decoded into the JSON the rest of the emulator takes, as a
// real API server accepts either. Kinds outside that subset get 415 naming the kind.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "controller/util/result.hpp"

namespace raydog::emulator {

struct ProtobufBodyError {
  std::string message;
};

Result<nlohmann::json, ProtobufBodyError> decode_protobuf_body(const std::string& body);

// The reverse, for a client that accepts only protobuf: an object of those kinds in the same envelope;
// nullopt for other kinds (they are answered in JSON).
std::optional<std::string> encode_protobuf_object(const nlohmann::json& object);

// True when `accept` names Kubernetes' protobuf and neither JSON nor a wildcard.
bool accepts_only_protobuf(const std::string& accept);

}  // namespace raydog::emulator
