#include "api/crd.hpp"

#include "api/schema_builder.hpp"

namespace raydog::api {

using nlohmann::json;
using schema::printer_column;

json open_api_schema() {
  return schema::SchemaBuilder::schema_of<RayDogCluster>(kResourceDescription);
}

json custom_resource_definition() {
  json columns = json::array({
      printer_column("Phase", "string", ".status.phase", "Lifecycle phase"),
      printer_column("Head IP", "string", ".status.head.privateIP", "Private IP of the Ray head"),
      printer_column("Workers", "integer", ".status.readyWorkers", "Ray worker nodes running"),
      printer_column("Desired", "integer", ".status.desiredWorkers", "Ray worker nodes wanted"),
      printer_column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Ready condition"),
      printer_column("Age", "date", ".metadata.creationTimestamp", "Time since creation"),
      printer_column("Public IP", "string", ".status.head.publicIP", "Public IP of the Ray head", 1),
      printer_column("Work Requirement", "string", ".status.workRequirement.name", "YellowDog work requirement",
                     1),
  });
  return schema::crd_object({kKind, kListKind, kPlural, kSingular, kShortName}, std::move(columns),
                            open_api_schema());
}

std::string custom_resource_definition_yaml() {
  return schema::crd_yaml(custom_resource_definition(), "raydog-operator crd", "api/crd.cpp");
}

std::vector<std::string> cel_rules() {
  return {kRuleStartScript,      kRuleUserData, kRuleObservabilityTemplate, kRuleSecretKeysDiffer,
          kRulePositiveDuration, kRuleTagKeys,  kRulePortsDistinct,         kRuleMaxDeferralWhenIdle,
          kRuleHeadAccessNoneNeedsNoHead, kRuleRayResourceNames, kRuleRayWholeResources,
          kRulePoolMinMax, kRuleAutoscalingNeedsHead, kRuleAutoscaledPools};
}

}  // namespace raydog::api
