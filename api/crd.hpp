#pragma once
// The RayDogCluster CustomResourceDefinition (apiextensions.k8s.io/v1), produced from code (the schema
// visitor of schema_builder.hpp over fields.hpp): the one source of truth for the schema. `raydog-operator crd` prints it as YAML; crds/raydog.io_raydogclusters.yaml is
// that output, checked in (a test fails when they differ: run `make crd`).
//
// The schema's constraints mirror validation.cpp (same patterns and limits, shared constants), its
// `default:` values come from defaults.hpp's table, and rules OpenAPI cannot express are CEL
// `x-kubernetes-validations` (the set of rules is listed by cel_rules() so tests can check each one).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace raydog::api {

// The full CRD object.
nlohmann::json custom_resource_definition();
// The v1alpha1 openAPIV3Schema alone.
nlohmann::json open_api_schema();
// The CRD as YAML, exactly as checked in under crds/.
std::string custom_resource_definition_yaml();

// Every CEL rule the schema uses (rule text), for tests that evaluate them.
std::vector<std::string> cel_rules();

}  // namespace raydog::api
