#pragma once
// The Ray dashboard's Jobs HTTP API on the head (port 8265; ray-jobs-api.md §1): submit, get, stop and the
// log of one submission. The operator uses nothing else (no list, no delete, no tail), as KubeRay's HTTP
// mode does.
//
// Exactly-once lives in the caller (job_plan.hpp): it records the submission id before it submits, reads
// before it submits again, and takes "already exists" as success. This client only reports faithfully
// which of those happened: a transport failure or timeout is `kUnreachable` (the job may have been
// recorded anyway: the caller must GET before posting again), never "not submitted".
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "controller/http/proxy.hpp"
#include "controller/jobs/jobs_wire.hpp"
#include "controller/util/result.hpp"

namespace raydog::jobs {

enum class SubmitOutcome { kSubmitted, kAlreadyExists };

// The API, virtual so the planner's driver can be tested with a fake head.
class JobsApi {
 public:
  virtual ~JobsApi() = default;
  virtual boost::asio::awaitable<Result<SubmitOutcome, JobsError>> submit(std::string dashboard_url,
                                                                           Submission submission) = 0;
  // nullopt: the head does not know the id (404).
  virtual boost::asio::awaitable<Result<std::optional<JobInfo>, JobsError>> get(std::string dashboard_url,
                                                                                std::string id) = 0;
  // True when the head took the stop (false: the job had already ended); a 404 is an error.
  virtual boost::asio::awaitable<Result<bool, JobsError>> stop(std::string dashboard_url, std::string id) = 0;
  virtual boost::asio::awaitable<Result<std::string, JobsError>> logs(std::string dashboard_url,
                                                                      std::string id) = 0;
};

struct HttpJobsApiOptions {
  // A submit may legitimately take ~10 s (the head waits for its agent, ray-jobs-api.md §1); KubeRay's 2 s
  // caused false failures while the dashboard warmed up (KR PR #1000).
  std::chrono::milliseconds submit_deadline{std::chrono::seconds(15)};
  std::chrono::milliseconds read_deadline{std::chrono::seconds(5)};
  http::EgressProxies egress;
};

// Over HTTP with Beast; one short-lived connection per call (a job is read every few seconds at most).
class HttpJobsApi final : public JobsApi {
 public:
  HttpJobsApi(boost::asio::any_io_executor ex, HttpJobsApiOptions options);
  boost::asio::awaitable<Result<SubmitOutcome, JobsError>> submit(std::string dashboard_url,
                                                                   Submission submission) override;
  boost::asio::awaitable<Result<std::optional<JobInfo>, JobsError>> get(std::string dashboard_url,
                                                                        std::string id) override;
  boost::asio::awaitable<Result<bool, JobsError>> stop(std::string dashboard_url, std::string id) override;
  boost::asio::awaitable<Result<std::string, JobsError>> logs(std::string dashboard_url, std::string id) override;

 private:
  boost::asio::any_io_executor ex_;
  HttpJobsApiOptions options_;
};

}  // namespace raydog::jobs
