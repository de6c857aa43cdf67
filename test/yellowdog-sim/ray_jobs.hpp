#pragma once
// yellowdog-sim --ray: the Ray Jobs API of the fake heads (/work/shared/ray-jobs-api.md §1-§3, §6), the
// model. Pure (no sockets): every call takes the simulated time, so a unit test drives it with a controlled
// clock. It lives on the simulator's thread inside RaySim (ray_model.hpp), which knows which head
// incarnation a dashboard serves; the dashboards (ray_head_servers.hpp) only carry requests here and
// answers back, from this process or from a helper process (ray_head_host.hpp).
//
// - A job belongs to one head incarnation (a head task's run with its GCS up, one session name): when it
//   ends (the task stops, runs again, or its GCS goes down) its jobs are gone from the Jobs API (GET 404),
//   as Ray's job table in a GCS without fault tolerance. /_sim/ray/jobs keeps listing them.
// - Time: PENDING at submit (start_time), RUNNING at submit + min(1 s, duration / 2), SUCCEEDED at submit +
//   duration (--ray-job-duration), evaluated when a job is read (no timer): a read at any simulated time
//   sees exactly what a head would show then. A stop makes a live job STOPPED stop_delay later. The test
//   driver (POST /_sim/ray/jobs/{id}) can hold a job PENDING or RUNNING, or end it.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "test/yellowdog-sim/api.hpp"

namespace raydog::ydsim {

struct RayJobsConfig {
  Millis duration{2000};   // submit -> SUCCEEDED (simulated time)
  Millis stop_delay{200};  // stop -> STOPPED (simulated time)
  std::uint64_t seed = 1;  // generated submission ids
};

// The head incarnation a dashboard request reaches.
struct JobHead {
  std::string task;  // the head's task id
  std::uint64_t incarnation = 0;
  std::string session;
  std::string ip;           // its private IP: driver_info.node_ip_address, driver_agent_http_address
  std::string node_id_hex;  // its Ray node id: driver_node_id
  std::string work_requirement_id;
};

// What the dashboard answers.
struct DashboardAnswer {
  int status = 200;
  std::string content_type = "application/json";  // errors: text/plain, as Ray's
  std::string body;
  Millis delay{0};    // real time to wait before answering (jobs-faults delayNext)
  bool drop = false;  // close the connection without an answer (dropNext; a head that is gone)
};

enum class RayJobStatus { kPending, kRunning, kStopped, kSucceeded, kFailed };
std::string_view ray_job_status_name(RayJobStatus s);
std::optional<RayJobStatus> ray_job_status_of(std::string_view name);
inline bool ray_job_terminal(RayJobStatus s) {
  return s == RayJobStatus::kStopped || s == RayJobStatus::kSucceeded || s == RayJobStatus::kFailed;
}

class RayJobs {
 public:
  explicit RayJobs(RayJobsConfig config);

  // A request to a head's dashboard under /api/jobs (path and query as received).
  DashboardAnswer dashboard(const JobHead& head, const std::string& method, const std::string& target,
                            const std::string& body, TimePoint now);
  // The incarnation's jobs leave the Jobs API (settled at `now` first); /_sim/ray/jobs keeps them.
  void end_incarnation(std::uint64_t incarnation, TimePoint now);
  // /_sim/ray/jobs, /_sim/ray/jobs/{submissionId}, /_sim/ray/jobs-posts, /_sim/ray/jobs-faults (`segments`
  // start with "_sim", "ray"); nullopt for any other path. `is_head(task id)`: a live head (jobs-faults).
  std::optional<ApiResponse> handle_sim(const std::string& method, const std::vector<std::string>& segments,
                                        const std::string& body, TimePoint now,
                                        const std::function<bool(const std::string&)>& is_head);
  std::size_t live_jobs(std::uint64_t incarnation) const;

  static constexpr std::size_t kMaxPosts = 100'000;  // the oldest submit records go first beyond this
  static constexpr std::size_t kLogTail = 20'000;    // a FAILED message's log tail, as Ray's

 private:
  struct Job {
    JobHead head;
    std::string submission_id, entrypoint;
    json runtime_env = json::object(), metadata = json::object();
    RayJobStatus status = RayJobStatus::kPending;
    std::string message;
    std::optional<std::string> error_type;
    std::optional<int> exit_code;
    TimePoint submitted, run_at, finish_at;
    std::optional<TimePoint> stop_at, ended;
    bool held = false;      // the test driver set PENDING/RUNNING: the clock no longer moves it
    bool ran = false;       // its driver started (job_id, driver_info)
    std::string driver_id;  // hex, 4 bytes little-endian (Ray's JobID), once it ran
    std::string pid;
    std::string fake_log;     // what the fake driver wrote
    std::string driver_logs;  // what the test driver added
    bool deleted = false, gone = false;
  };
  struct Incarnation {
    std::map<std::string, std::size_t> by_submission, by_driver;  // -> index in jobs_
    std::set<std::size_t> order;                                  // submission order
    std::uint32_t next_driver = 2;  // the job table's counter: 01000000 is the dashboard's own driver
  };
  struct Post {
    std::string head, session, work_requirement_id;
    std::optional<std::string> submission_id;  // as sent (null when absent or empty)
    TimePoint time;
    int answer = 0;
    std::string fault;  // "", "delay", "fail", "drop"
  };
  struct Counters {
    std::int64_t delay_next = 0, fail_next = 0, drop_next = 0;
  };

  TimePoint advance(TimePoint now);  // monotonic: never earlier than a time seen before
  void settle(std::size_t index, TimePoint now);
  void start_driver(Job& j, TimePoint at);
  void finish(Job& j, RayJobStatus status, TimePoint at);
  std::string logs_of(const Job& j) const { return j.fake_log + j.driver_logs; }
  json details(const Job& j) const;    // JobDetails, as GET /api/jobs/{id} answers
  json sim_entry(const Job& j) const;  // a /_sim/ray/jobs entry
  std::optional<std::size_t> find(std::uint64_t incarnation, const std::string& id) const;
  std::string generate_id(const Incarnation& inc);
  bool take(std::int64_t Counters::*field, const std::string& head);

  DashboardAnswer submit(const JobHead& head, const std::string& body, TimePoint now);
  DashboardAnswer list(const JobHead& head, TimePoint now);
  DashboardAnswer on_job(const JobHead& head, const std::string& method, const std::string& id,
                         const std::string& action, TimePoint now);

  ApiResponse drive(const std::string& submission_id, const std::string& body, TimePoint now);
  ApiResponse put_faults(const std::string& body, const std::function<bool(const std::string&)>& is_head);
  json faults_json() const;

  RayJobsConfig config_;
  std::mt19937_64 rng_;
  TimePoint now_{};
  std::vector<Job> jobs_;                      // every accepted submission, in order
  std::map<std::uint64_t, Incarnation> live_;  // the jobs each serving incarnation answers for
  std::deque<Post> posts_;
  std::uint64_t dropped_posts_ = 0;
  Counters counters_;
  std::map<std::string, Counters> head_counters_;
  Millis fault_delay_{15'000};
  int fail_status_ = 503;
  int duplicate_status_ = 500;
};

}  // namespace raydog::ydsim
