#pragma once
// Structural-schema processing of custom resources from the CRD's openAPIV3Schema, in the real server's
// order: prune unknown fields, apply defaults, validate. Messages name the field as the real server does:
// "spec.workerPools[0].nodes: Invalid value: -1: spec.workerPools[0].nodes in body should be greater
// than or equal to 0".
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test/emulator/status.hpp"

namespace raydog::emulator {

// Removes fields the schema does not know (unless x-kubernetes-preserve-unknown-fields) and returns their
// paths ("spec.foo"). apiVersion/kind/metadata at the root are never pruned.
std::vector<std::string> prune(json& object, const json& schema);
// Fills absent fields that have a `default`, recursively.
void apply_defaults(json& object, const json& schema);
// Field errors (empty when valid).
std::vector<FieldError> validate(const json& object, const json& schema);

}  // namespace raydog::emulator
