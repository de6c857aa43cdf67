#include "api/job_defaults.hpp"

#include "api/job_crd.hpp"
#include "api/job_json.hpp"

namespace raydog::api {

using nlohmann::json;

const std::vector<DefaultRule>& job_default_table() {
  static const std::vector<DefaultRule> table = default_rules(job_open_api_schema());
  return table;
}

void apply_job_defaults(json& resource) {
  apply_default_rules(resource, job_default_table());
}

void apply_defaults(RayDogJobSpec& spec) {
  json j = {{"spec", spec}};
  apply_job_defaults(j);
  FieldErrors ignored;  // defaults are of the right types by construction (tested)
  spec = decode_job_spec(j["spec"], "spec", ignored);
}

void apply_defaults(RayDogJob& job) {
  apply_defaults(job.spec);
}

bool shutdown_after_job_finishes(const RayDogJobSpec& spec) {
  return spec.shutdown_after_job_finishes.value_or(spec.cluster_spec.has_value());
}

}  // namespace raydog::api
