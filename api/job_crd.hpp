#pragma once
// The RayDogJob CustomResourceDefinition (apiextensions.k8s.io/v1), produced from the field declarations
// (job_fields.hpp) by the same schema visitor as RayDogCluster's (schema_builder.hpp). `raydog-operator crd
// raydogjobs` prints it; crds/raydog.io_raydogjobs.yaml is that output, checked in (a test fails when they
// differ: run `make crd`). spec.clusterSpec is the whole RayDogClusterSpec schema, its rules included.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace raydog::api {

// The full CRD object.
nlohmann::json job_custom_resource_definition();
// The v1alpha1 openAPIV3Schema alone.
nlohmann::json job_open_api_schema();
// The CRD as YAML, exactly as checked in under crds/.
std::string job_custom_resource_definition_yaml();

// Every CEL rule the job schema uses (rule text): the job's own and those of the embedded cluster spec.
std::vector<std::string> job_cel_rules();

}  // namespace raydog::api
