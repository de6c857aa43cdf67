// The Jobs API's wire forms and the small text rules around them: pure, in the plan library.
#include <cmath>

#include "controller/jobs/jobs_wire.hpp"

namespace raydog::jobs {

using nlohmann::json;

namespace {

std::optional<std::int64_t> int_field(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  if (it->is_number_float()) {
    const double v = it->get<double>();
    if (!std::isfinite(v)) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  return it->get<std::int64_t>();
}

std::optional<std::string> string_field(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

json submission_body(const Submission& s) {
  json body = {{"entrypoint", s.entrypoint}, {"submission_id", s.submission_id}};
  if (s.runtime_env) body["runtime_env"] = *s.runtime_env;
  if (s.metadata) body["metadata"] = *s.metadata;
  if (s.entrypoint_num_cpus) body["entrypoint_num_cpus"] = *s.entrypoint_num_cpus;
  if (s.entrypoint_num_gpus) body["entrypoint_num_gpus"] = *s.entrypoint_num_gpus;
  if (s.entrypoint_resources) body["entrypoint_resources"] = *s.entrypoint_resources;
  return body;
}

std::optional<JobInfo> parse_job_info(std::string_view body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  const auto status = string_field(j, "status");
  if (!status) return std::nullopt;
  const auto parsed = api::enum_from_string<api::RayJobStatus>(*status);
  if (!parsed) return std::nullopt;
  JobInfo info;
  info.status = *parsed;
  info.submission_id = string_field(j, "submission_id").value_or("");
  info.message = string_field(j, "message").value_or("");
  info.error_type = string_field(j, "error_type");
  info.start_time_ms = int_field(j, "start_time");
  info.end_time_ms = int_field(j, "end_time");
  info.driver_exit_code = int_field(j, "driver_exit_code");
  return info;
}

bool is_duplicate_submission(std::string_view body) {
  return body.find("already exists") != std::string_view::npos &&
         body.find("Please use a different submission_id") != std::string_view::npos;
}

std::string log_tail(std::string_view log, std::size_t max_lines, std::size_t max_bytes) {
  while (!log.empty() && (log.back() == '\n' || log.back() == '\r')) log.remove_suffix(1);
  std::size_t start = log.size();  // where the tail begins: always a line start
  for (std::size_t lines = 0; lines < max_lines && start > 0; ++lines) {
    const std::size_t end = start == log.size() ? start : start - 1;  // the end of the line before `start`
    const auto nl = end == 0 ? std::string_view::npos : log.rfind('\n', end - 1);
    const std::size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
    if (log.size() - line_start > max_bytes) break;
    start = line_start;
  }
  if (start == log.size() && !log.empty()) {  // one line longer than the budget: its end
    start = log.size() - std::min(log.size(), max_bytes);
  }
  return std::string(log.substr(start));
}

}  // namespace raydog::jobs
