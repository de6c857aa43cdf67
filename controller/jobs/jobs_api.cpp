#include "controller/jobs/jobs_api.hpp"

#include "controller/http/client.hpp"

namespace raydog::jobs {

namespace asio = boost::asio;
using nlohmann::json;


namespace {



// Error bodies are plain text, often a Python traceback: the last non-empty line says what happened.
std::string body_excerpt(std::string_view body) {
  std::string_view b = body;
  while (!b.empty() && (b.back() == '\n' || b.back() == '\r' || b.back() == ' ')) b.remove_suffix(1);
  const auto nl = b.rfind('\n');
  std::string_view last = nl == std::string_view::npos ? b : b.substr(nl + 1);
  if (last.size() > 300) last = last.substr(0, 300);
  return std::string(last);
}

struct Call {
  std::string what;  // "GET http://10.0.0.5:8265/api/jobs/x"
  http::Request req;
};

asio::awaitable<Result<http::Response, JobsError>> send(asio::any_io_executor ex, const std::string& base,
                                                        Call call, std::chrono::milliseconds deadline,
                                                        const http::EgressProxies& egress) {
  http::ClientOptions o;
  o.base_url = base;
  o.connect_timeout = deadline;
  o.request_timeout = deadline;
  o.max_idle_connections = 0;
  o.body_limit = 8 * 1024 * 1024;  // a whole driver log can be large; the tail is what we keep
  o.egress = egress;
  std::optional<http::Client> client;
  try {
    client.emplace(ex, o);
  } catch (const std::exception& e) {
    co_return unexpected(JobsError{JobsError::Kind::kRejected, call.what + ": " + e.what()});
  }
  call.req.set(http::bhttp::field::accept, "application/json");
  auto res = co_await client->send(std::move(call.req), deadline);
  if (!res) co_return unexpected(JobsError{JobsError::Kind::kUnreachable, call.what + ": " + res.error().message});
  co_return std::move(*res);
}

JobsError http_error(const std::string& what, const http::Response& res) {
  const int code = res.result_int();
  std::string message = what + ": HTTP " + std::to_string(code);
  if (const auto excerpt = body_excerpt(res.body()); !excerpt.empty()) message += ": " + excerpt;
  return JobsError{code >= 400 && code < 500 ? JobsError::Kind::kRejected : JobsError::Kind::kServer, message};
}

std::string job_target(const std::string& id, std::string_view suffix = {}) {
  return "/api/jobs/" + id + std::string(suffix);
}

}  // namespace




HttpJobsApi::HttpJobsApi(asio::any_io_executor ex, HttpJobsApiOptions options)
    : ex_(std::move(ex)), options_(std::move(options)) {}

asio::awaitable<Result<SubmitOutcome, JobsError>> HttpJobsApi::submit(std::string dashboard_url,
                                                                      Submission submission) {
  // The trailing slash is required (KubeRay: "the tailing / is required").
  Call call{"POST " + dashboard_url + "/api/jobs/", http::Request{http::bhttp::verb::post, "/api/jobs/", 11}};
  call.req.set(http::bhttp::field::content_type, "application/json");
  call.req.body() = submission_body(submission).dump();
  const std::string what = call.what;
  auto res = co_await send(ex_, dashboard_url, std::move(call), options_.submit_deadline, options_.egress);
  if (!res) co_return unexpected(res.error());
  if (res->result() == http::bhttp::status::ok) co_return SubmitOutcome::kSubmitted;
  if (is_duplicate_submission(res->body())) co_return SubmitOutcome::kAlreadyExists;
  co_return unexpected(http_error(what, *res));
}

asio::awaitable<Result<std::optional<JobInfo>, JobsError>> HttpJobsApi::get(std::string dashboard_url,
                                                                            std::string id) {
  Call call{"GET " + dashboard_url + job_target(id), http::Request{http::bhttp::verb::get, job_target(id), 11}};
  const std::string what = call.what;
  auto res = co_await send(ex_, dashboard_url, std::move(call), options_.read_deadline, options_.egress);
  if (!res) co_return unexpected(res.error());
  if (res->result() == http::bhttp::status::not_found) co_return std::optional<JobInfo>{};
  if (res->result() != http::bhttp::status::ok) co_return unexpected(http_error(what, *res));
  auto info = parse_job_info(res->body());
  if (!info) co_return unexpected(JobsError{JobsError::Kind::kServer, what + ": not a Ray job answer"});
  co_return std::optional<JobInfo>(std::move(*info));
}

asio::awaitable<Result<bool, JobsError>> HttpJobsApi::stop(std::string dashboard_url, std::string id) {
  const std::string target = job_target(id, "/stop");
  Call call{"POST " + dashboard_url + target, http::Request{http::bhttp::verb::post, target, 11}};
  call.req.set(http::bhttp::field::content_type, "application/json");
  const std::string what = call.what;
  auto res = co_await send(ex_, dashboard_url, std::move(call), options_.read_deadline, options_.egress);
  if (!res) co_return unexpected(res.error());
  if (res->result() != http::bhttp::status::ok) co_return unexpected(http_error(what, *res));
  const json j = json::parse(res->body(), nullptr, false);
  if (!j.is_object() || !j.contains("stopped") || !j["stopped"].is_boolean())
    co_return unexpected(JobsError{JobsError::Kind::kServer, what + ": not a Ray stop answer"});
  co_return j["stopped"].get<bool>();
}

asio::awaitable<Result<std::string, JobsError>> HttpJobsApi::logs(std::string dashboard_url, std::string id) {
  const std::string target = job_target(id, "/logs");
  Call call{"GET " + dashboard_url + target, http::Request{http::bhttp::verb::get, target, 11}};
  const std::string what = call.what;
  auto res = co_await send(ex_, dashboard_url, std::move(call), options_.read_deadline, options_.egress);
  if (!res) co_return unexpected(res.error());
  if (res->result() != http::bhttp::status::ok) co_return unexpected(http_error(what, *res));
  const json j = json::parse(res->body(), nullptr, false);
  if (!j.is_object() || !j.contains("logs") || !j["logs"].is_string())
    co_return unexpected(JobsError{JobsError::Kind::kServer, what + ": not a Ray logs answer"});
  co_return j["logs"].get<std::string>();
}

}  // namespace raydog::jobs
