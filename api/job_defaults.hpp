#pragma once
// Defaulting of a RayDogJob, as defaults.hpp for RayDogCluster: each default is declared with its field
// (Default{} in job_fields.hpp), becomes the job CRD's `default:` keyword and an entry of job_default_table(),
// read off the job's schema. That schema embeds the cluster's, so the table also holds every default of
// spec.clusterSpec (spec.clusterSpec.buildTimeout, ...), exactly as the API server applies them.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "api/defaults.hpp"
#include "api/job_types.hpp"

namespace raydog::api {

inline constexpr std::int32_t kDefaultBackoffLimit = 0;  // no retry, as KubeRay

// Every default of the RayDogJob schema.
const std::vector<DefaultRule>& job_default_table();

// Applies the table to a RayDogJob's JSON (the whole object: {"spec": {...}, ...}).
void apply_job_defaults(nlohmann::json& resource);
// The same on typed values (through JSON: one implementation).
void apply_defaults(RayDogJobSpec& spec);
void apply_defaults(RayDogJob& job);

// spec.shutdownAfterJobFinishes with its default, which the schema cannot declare because it depends on the
// mode: true with clusterSpec, false with clusterSelector (where true is refused).
bool shutdown_after_job_finishes(const RayDogJobSpec& spec);

}  // namespace raydog::api
