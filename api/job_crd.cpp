#include "api/job_crd.hpp"

#include "api/crd.hpp"
#include "api/job_fields.hpp"
#include "api/schema_builder.hpp"

namespace raydog::api {

using nlohmann::json;
using schema::printer_column;

json job_open_api_schema() {
  return schema::SchemaBuilder::schema_of<RayDogJob>(kJobResourceDescription);
}

json job_custom_resource_definition() {
  // KubeRay's RayJob columns. Its DURATION is not possible here: a printer column is a JSONPath, which cannot
  // subtract two times (kubectl computes a Job's duration in its built-in table printer). End is shown
  // instead: a date column, so kubectl prints how long ago the job ended.
  json columns = json::array({
      printer_column("Job Status", "string", ".status.jobStatus", "Ray's status of the job"),
      printer_column("Deployment Status", "string", ".status.jobDeploymentStatus", "Where the RayDogJob is"),
      printer_column("Cluster", "string", ".status.clusterName", "The RayDogCluster the job runs on"),
      printer_column("Start", "date", ".status.startTime", "When the current attempt started"),
      printer_column("End", "date", ".status.endTime", "When the job reached a final state"),
      printer_column("Age", "date", ".metadata.creationTimestamp", "Time since creation"),
      printer_column("Job ID", "string", ".status.jobId", "Submission id of the current attempt", 1),
      printer_column("Failed", "integer", ".status.failed", "Attempts that failed", 1),
  });
  return schema::crd_object({kJobKind, kJobListKind, kJobPlural, kJobSingular, kJobShortName}, std::move(columns),
                            job_open_api_schema());
}

std::string job_custom_resource_definition_yaml() {
  return schema::crd_yaml(job_custom_resource_definition(), "raydog-operator crd raydogjobs", "api/job_crd.cpp");
}

std::vector<std::string> job_cel_rules() {
  std::vector<std::string> rules = {kRuleJobClusterRequired, kRuleJobClusterExclusive,
                                    kRuleJobShutdownNeedsClusterSpec, kRuleEntrypointResourcesNoCpuGpu};
  for (auto& r : cel_rules()) rules.push_back(std::move(r));  // spec.clusterSpec's (kRuleRayResourceNames too)
  return rules;
}

}  // namespace raydog::api
