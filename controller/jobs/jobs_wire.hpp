#pragma once
// The Ray Jobs API's wire forms (ray-jobs-api.md §1-3) and the text rules around them: pure, so the plan
// (job_plan.hpp) can use them without the transport. The client is jobs_api.hpp.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/job_types.hpp"

namespace raydog::jobs {

// What the operator submits (only fields the target Ray knows: an unknown non-null field is a 400).
struct Submission {
  std::string submission_id;
  std::string entrypoint;
  std::optional<nlohmann::json> runtime_env;  // an object
  std::optional<std::map<std::string, std::string>> metadata;
  std::optional<double> entrypoint_num_cpus, entrypoint_num_gpus;
  std::optional<std::map<std::string, double>> entrypoint_resources;
};
nlohmann::json submission_body(const Submission& s);

// GET /api/jobs/{id}: the fields the operator reads.
struct JobInfo {
  std::string submission_id;
  api::RayJobStatus status = api::RayJobStatus::kPending;
  std::string message;
  std::optional<std::string> error_type;
  std::optional<std::int64_t> start_time_ms, end_time_ms;
  std::optional<std::int64_t> driver_exit_code;
};
// nullopt unless `body` is a JSON object with a known string `status`.
std::optional<JobInfo> parse_job_info(std::string_view body);

struct JobsError {
  enum class Kind {
    kUnreachable,  // connect, timeout, reset: nothing is known about what the head did
    kRejected,     // 4xx (bad request): the head will refuse this again
    kServer,       // 5xx, or an answer that is not the API's: try again later
  } kind = Kind::kServer;
  std::string message;  // "POST http://10.0.0.5:8265/api/jobs/: HTTP 400: ..." (never a credential)
};

// Ray answers a duplicate submission_id with 500 (the head wraps its agent's 400) and this phrase in the
// body: match the phrase, not the code (ray-jobs-api.md §3).
bool is_duplicate_submission(std::string_view body);

// The last `max_lines` lines of `log` (at most `max_bytes`, cut at a line start): the failure message.
std::string log_tail(std::string_view log, std::size_t max_lines = 20, std::size_t max_bytes = 4000);

}  // namespace raydog::jobs
