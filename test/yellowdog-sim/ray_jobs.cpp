// yellowdog-sim --ray: the Ray Jobs API model (see ray_jobs.hpp and README.md "Ray Jobs API").
#include "test/yellowdog-sim/ray_jobs.hpp"

#include <algorithm>
#include <array>

#include "controller/http/url.hpp"
#include "controller/util/strings.hpp"

namespace raydog::ydsim {

namespace {

constexpr std::string_view kPrefix = "/api/jobs/";
constexpr int kAgentPort = 52365;  // the dashboard agent's HTTP port: driver_agent_http_address
constexpr const char* kText = "text/plain; charset=utf-8";
// Ray's generate_job_id: letters and digits without the look-alikes I, l, o, O and 0.
constexpr std::string_view kIdAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz123456789";

std::int64_t ms_of(TimePoint t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

DashboardAnswer text(int status, std::string body) {
  return DashboardAnswer{status, kText, std::move(body), Millis(0), false};
}
DashboardAnswer json_answer(int status, const json& body) {
  return DashboardAnswer{status, "application/json", body.dump(), Millis(0), false};
}
ApiResponse sim_reply(int status, const json& body) {
  return ApiResponse{status, body.dump(), {}};
}
ApiResponse bad(const std::string& message) {
  return error_response(invalid_request(message));
}

// The Python type a JSON value becomes, and `type(x)` as Ray's TypeErrors print it.
std::string py_name(const json& v) {
  return v.is_string()           ? "str"
         : v.is_boolean()        ? "bool"
         : v.is_number_integer() ? "int"
         : v.is_number()         ? "float"
         : v.is_array()          ? "list"
         : v.is_object()         ? "dict"
                                 : "NoneType";
}
std::string py_type(const json& v) {
  return "<class '" + py_name(v) + "'>";
}

std::optional<std::int64_t> non_negative_integer(const json& j) {
  if (j.is_number_unsigned())
    return static_cast<std::int64_t>(std::min<std::uint64_t>(j.get<std::uint64_t>(), INT64_MAX));
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) return j.get<std::int64_t>();
  return std::nullopt;
}

// Ray's JobID: a 4-byte counter, little-endian, in hex ("02000000").
std::string driver_hex(std::uint32_t n) {
  std::string bytes;
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return hex_encode(bytes);
}

std::string duplicate_message(const std::string& id) {
  return "Job with submission_id " + id + " already exists. Please use a different submission_id.";
}

}  // namespace

std::string_view ray_job_status_name(RayJobStatus s) {
  switch (s) {
    case RayJobStatus::kPending:
      return "PENDING";
    case RayJobStatus::kRunning:
      return "RUNNING";
    case RayJobStatus::kStopped:
      return "STOPPED";
    case RayJobStatus::kSucceeded:
      return "SUCCEEDED";
    case RayJobStatus::kFailed:
      return "FAILED";
  }
  return "PENDING";
}

std::optional<RayJobStatus> ray_job_status_of(std::string_view name) {
  for (auto s : {RayJobStatus::kPending, RayJobStatus::kRunning, RayJobStatus::kStopped,
                 RayJobStatus::kSucceeded, RayJobStatus::kFailed})
    if (ray_job_status_name(s) == name) return s;
  return std::nullopt;
}

RayJobs::RayJobs(RayJobsConfig config) : config_(config), rng_(config.seed ^ 0x5261794a6f627321ULL) {}

TimePoint RayJobs::advance(TimePoint now) {
  if (now > now_) now_ = now;
  return now_;
}

std::size_t RayJobs::live_jobs(std::uint64_t incarnation) const {
  const auto it = live_.find(incarnation);
  return it == live_.end() ? 0 : it->second.order.size();
}

// ---- the job's life ------------------------------------------------------------------------------------

// Applies, in time order, what happened to the job up to `now`: its driver starting, its end, a stop.
void RayJobs::settle(std::size_t index, TimePoint now) {
  Job& j = jobs_[index];
  enum class Event { kRun, kFinish, kStop };
  while (!ray_job_terminal(j.status)) {
    std::optional<TimePoint> at;
    Event what = Event::kRun;
    if (!j.held) {
      at = j.status == RayJobStatus::kPending ? j.run_at : j.finish_at;
      what = j.status == RayJobStatus::kPending ? Event::kRun : Event::kFinish;
    }
    if (j.stop_at && (!at || *j.stop_at <= *at)) {  // a stop that lands first (or at once) wins
      at = j.stop_at;
      what = Event::kStop;
    }
    if (!at || *at > now) return;
    if (what == Event::kRun)
      start_driver(j, *at);
    else
      finish(j, what == Event::kStop ? RayJobStatus::kStopped : RayJobStatus::kSucceeded, *at);
  }
}

void RayJobs::start_driver(Job& j, TimePoint) {
  j.status = RayJobStatus::kRunning;
  j.message = "Job is currently running.";
  if (j.ran) return;
  j.ran = true;
  std::uint32_t n = 0;
  if (auto inc = live_.find(j.head.incarnation); inc != live_.end()) {
    n = inc->second.next_driver++;
    j.driver_id = driver_hex(n);
    const auto self = inc->second.by_submission.find(j.submission_id);
    if (self != inc->second.by_submission.end()) inc->second.by_driver[j.driver_id] = self->second;
  }
  j.pid = std::to_string(4000 + n);  // a plausible pid; nothing runs
  j.fake_log = "[yellowdog-sim] fake Ray job driver " + j.driver_id + " (" + j.submission_id +
               "), entrypoint: " + j.entrypoint + "\n";
}

void RayJobs::finish(Job& j, RayJobStatus status, TimePoint at) {
  // A job said to succeed or fail ran its entrypoint first (a driver, an exit code); a stop may come first.
  if (!j.ran && status != RayJobStatus::kStopped) start_driver(j, at);
  j.status = status;
  j.ended = at;
  j.held = false;
  switch (status) {
    case RayJobStatus::kSucceeded:
      j.exit_code = 0;
      j.message = "Job finished successfully.";
      break;
    case RayJobStatus::kStopped:
      j.message = "Job was intentionally stopped.";
      break;
    default: {
      j.exit_code = 1;
      j.error_type = "JOB_ENTRYPOINT_COMMAND_ERROR";
      const std::string logs = logs_of(j);
      j.message =
          logs.empty()
              ? "Job entrypoint command failed with exit code 1. No logs available."
              : "Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 "
                "chars):\n" +
                    logs.substr(logs.size() > kLogTail ? logs.size() - kLogTail : 0);
      break;
    }
  }
}

// ---- JSON ----------------------------------------------------------------------------------------------

json RayJobs::details(const Job& j) const {
  const json none = nullptr;
  return {{"type", "SUBMISSION"},
          {"job_id", j.ran ? json(j.driver_id) : none},
          {"submission_id", j.submission_id},
          {"driver_info",
           j.ran ? json{{"id", j.driver_id}, {"node_ip_address", j.head.ip}, {"pid", j.pid}} : none},
          {"status", ray_job_status_name(j.status)},
          {"entrypoint", j.entrypoint},
          {"message", j.message},
          {"error_type", j.error_type ? json(*j.error_type) : none},
          {"start_time", ms_of(j.submitted)},
          {"end_time", j.ended ? json(ms_of(*j.ended)) : none},
          {"metadata", j.metadata},
          {"runtime_env", j.runtime_env},
          {"driver_agent_http_address",
           j.ran ? json("http://" + j.head.ip + ":" + std::to_string(kAgentPort)) : none},
          {"driver_node_id", j.ran ? json(j.head.node_id_hex) : none},
          {"driver_exit_code", j.exit_code ? json(*j.exit_code) : none}};
}

json RayJobs::sim_entry(const Job& j) const {
  const json none = nullptr;
  return {{"submissionId", j.submission_id},
          {"head", j.head.task},
          {"workRequirementId", j.head.work_requirement_id},
          {"session", j.head.session},
          {"incarnation", j.head.incarnation},
          {"entrypoint", j.entrypoint},
          {"metadata", j.metadata},
          {"runtimeEnv", j.runtime_env},
          {"time", format_timestamp(j.submitted)},
          {"status", ray_job_status_name(j.status)},
          {"jobId", j.ran ? json(j.driver_id) : none},
          {"endTime", j.ended ? json(format_timestamp(*j.ended)) : none},
          {"stopRequested", j.stop_at.has_value()},
          {"held", j.held},
          {"deleted", j.deleted},
          {"live", !j.gone && !j.deleted},
          {"logs", logs_of(j)}};
}

// ---- the dashboard -------------------------------------------------------------------------------------

std::optional<std::size_t> RayJobs::find(std::uint64_t incarnation, const std::string& id) const {
  const auto inc = live_.find(incarnation);
  if (inc == live_.end()) return std::nullopt;
  // A driver job id first, then a submission id (Ray's find_job_by_ids).
  if (const auto d = inc->second.by_driver.find(id); d != inc->second.by_driver.end()) return d->second;
  if (const auto s = inc->second.by_submission.find(id); s != inc->second.by_submission.end())
    return s->second;
  return std::nullopt;
}

std::string RayJobs::generate_id(const Incarnation& inc) {
  std::uniform_int_distribution<std::size_t> pick(0, kIdAlphabet.size() - 1);
  for (;;) {
    std::string id = "raysubmit_";
    for (int i = 0; i < 16; ++i) id.push_back(kIdAlphabet[pick(rng_)]);
    if (!inc.by_submission.count(id)) return id;
  }
}

bool RayJobs::take(std::int64_t Counters::*field, const std::string& head) {
  if (auto it = head_counters_.find(head); it != head_counters_.end() && it->second.*field > 0) {
    --(it->second.*field);
    const Counters& c = it->second;
    if (c.delay_next == 0 && c.fail_next == 0 && c.drop_next == 0) head_counters_.erase(it);
    return true;
  }
  if (counters_.*field > 0) {
    --(counters_.*field);
    return true;
  }
  return false;
}

DashboardAnswer RayJobs::dashboard(const JobHead& head, const std::string& method, const std::string& target,
                                   const std::string& body, TimePoint now) {
  now = advance(now);
  const std::string path = target.substr(0, target.find('?'));
  // aiohttp's answers for paths and methods no route serves. `/api/jobs` without the slash is one of them:
  // Ray routes `/api/jobs/` only (and KubeRay says the slash is required).
  if (!path.starts_with(kPrefix)) return text(404, "404: Not Found");
  const std::string rest = path.substr(kPrefix.size());
  if (rest.empty()) {
    if (method == "POST") return submit(head, body, now);
    if (method == "GET") return list(head, now);
    return text(405, "405: Method Not Allowed");
  }
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const auto slash = rest.find('/', start);
    parts.push_back(http::percent_decode(std::string_view(rest).substr(start, slash - start)));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts[0].empty()) return text(404, "404: Not Found");
  if (parts.size() == 1)
    return method == "GET" || method == "DELETE" ? on_job(head, method, parts[0], "", now)
                                                 : text(405, "405: Method Not Allowed");
  if (parts.size() == 2 && parts[1] == "stop")
    return method == "POST" ? on_job(head, method, parts[0], "stop", now)
                            : text(405, "405: Method Not Allowed");
  if (parts.size() == 2 && parts[1] == "logs")
    return method == "GET" ? on_job(head, method, parts[0], "logs", now)
                           : text(405, "405: Method Not Allowed");
  return text(404, "404: Not Found");  // the logs/tail WebSocket included: not served (README)
}

DashboardAnswer RayJobs::submit(const JobHead& head, const std::string& body, TimePoint now) {
  Post post{head.task, head.session, head.work_requirement_id, std::nullopt, now, 0, ""};
  const json j = json::parse(body, nullptr, false);
  if (j.is_object())
    for (const char* key : {"submission_id", "job_id"})
      if (const auto v = j.find(key);
          !post.submission_id && v != j.end() && v->is_string() && !v->get<std::string>().empty())
        post.submission_id = v->get<std::string>();

  DashboardAnswer answer;
  if (take(&Counters::fail_next, head.task)) {
    // Not applied. 500 is Ray's own refusal when no dashboard agent answers in time.
    post.fault = "fail";
    answer =
        text(fail_status_, fail_status_ == 500
                               ? "No available agent to submit job, please try again later."
                               : std::to_string(fail_status_) + ": injected by yellowdog-sim (jobs-faults)");
  } else {
    answer = [&]() -> DashboardAnswer {
      // Not JSON: aiohttp's own 500 (Ray parses the body outside its 400 handler).
      if (j.is_discarded()) return text(500, "500 Internal Server Error\n\nServer got itself in trouble");
      if (!j.is_object())
        return text(400,
                    "TypeError: JobSubmitRequest() argument after ** must be a mapping, not " + py_name(j));
      json r = json::object();  // null-valued keys are dropped first
      for (const auto& [k, v] : j.items())
        if (!v.is_null()) r[k] = v;
      static constexpr std::array<std::string_view, 9> kKnown{
          "entrypoint",          "submission_id",     "job_id",
          "runtime_env",         "metadata",          "entrypoint_num_cpus",
          "entrypoint_num_gpus", "entrypoint_memory", "entrypoint_resources"};
      for (const auto& [k, v] : r.items()) {
        (void)v;
        if (std::find(kKnown.begin(), kKnown.end(), k) == kKnown.end())
          return text(
              400, "TypeError: JobSubmitRequest.__init__() got an unexpected keyword argument '" + k + "'");
      }
      if (!r.contains("entrypoint"))
        return text(
            400,
            "TypeError: JobSubmitRequest.__init__() missing 1 required positional argument: 'entrypoint'");
      if (!r["entrypoint"].is_string())
        return text(400, "TypeError: entrypoint must be a string, got " + py_type(r["entrypoint"]));
      for (const char* key : {"submission_id", "job_id"})
        if (r.contains(key) && !r[key].is_string())
          return text(400, std::string("TypeError: ") + key + " must be a string if provided, got " +
                               py_type(r[key]));
      if (r.contains("runtime_env") && !r["runtime_env"].is_object())
        return text(400, "TypeError: runtime_env must be a dict, got " + py_type(r["runtime_env"]));
      if (r.contains("metadata")) {
        if (!r["metadata"].is_object())
          return text(400, "TypeError: metadata must be a dict, got " + py_type(r["metadata"]));
        for (const auto& [k, v] : r["metadata"].items()) {
          (void)k;  // JSON keys are strings
          if (!v.is_string())
            return text(400, "TypeError: metadata values must be strings, got " + py_type(v));
        }
      }
      double resources = 0;  // the largest entrypoint resource asked for (the PENDING message)
      for (const char* key : {"entrypoint_num_cpus", "entrypoint_num_gpus"})
        if (r.contains(key)) {
          if (!r[key].is_number())
            return text(400, std::string("TypeError: ") + key + " must be a number, got " + py_type(r[key]));
          resources = std::max(resources, r[key].get<double>());
        }
      if (r.contains("entrypoint_memory")) {
        if (!r["entrypoint_memory"].is_number_integer())
          return text(
              400, "TypeError: entrypoint_memory must be an integer, got " + py_type(r["entrypoint_memory"]));
        resources = std::max(resources, r["entrypoint_memory"].get<double>());
      }
      if (r.contains("entrypoint_resources")) {
        if (!r["entrypoint_resources"].is_object())
          return text(400, "TypeError: entrypoint_resources must be a dict, got " +
                               py_type(r["entrypoint_resources"]));
        for (const auto& [k, v] : r["entrypoint_resources"].items()) {
          (void)k;
          if (!v.is_number())
            return text(400, "TypeError: entrypoint_resources values must be numbers, got " + py_type(v));
          resources = std::max(resources, v.get<double>());
        }
      }

      Incarnation& inc = live_[head.incarnation];
      std::string id;
      for (const char* key : {"submission_id", "job_id"})  // `submission_id or job_id`
        if (id.empty() && r.contains(key)) id = r[key].get<std::string>();
      if (id.empty()) id = generate_id(inc);
      if (inc.by_submission.count(id)) {
        // The first job stays as it is; the bodies are not compared. The head wraps the agent's 400.
        return duplicate_status_ == 400
                   ? text(400, "ValueError: " + duplicate_message(id))
                   : text(500, "RuntimeError: Request failed with status code 400: ValueError: " +
                                   duplicate_message(id));
      }
      Job job;
      job.head = head;
      job.submission_id = id;
      job.entrypoint = r["entrypoint"].get<std::string>();
      if (r.contains("runtime_env")) job.runtime_env = r["runtime_env"];
      if (r.contains("metadata")) job.metadata = r["metadata"];
      job.submitted = now;
      job.run_at = now + std::min(Millis(1000), config_.duration / 2);
      job.finish_at = now + config_.duration;
      job.message = "Job has not started yet.";
      if (resources > 0)
        job.message +=
            " It may be waiting for resources (CPUs, GPUs, memory, custom resources) to become available.";
      if (!job.runtime_env.empty())
        job.message += " It may be waiting for the runtime environment to be set up.";
      jobs_.push_back(std::move(job));
      const std::size_t index = jobs_.size() - 1;
      inc.by_submission[id] = index;
      inc.order.insert(index);
      settle(index, now);  // a zero duration ends it at once
      return json_answer(200, {{"job_id", id}, {"submission_id", id}});
    }();
    // Applied (when it was valid), but the client hears late or not at all.
    if (take(&Counters::delay_next, head.task)) {
      post.fault = "delay";
      answer.delay = fault_delay_;
    } else if (take(&Counters::drop_next, head.task)) {
      post.fault = "drop";
      answer.drop = true;
    }
  }
  post.answer = answer.status;
  posts_.push_back(std::move(post));
  if (posts_.size() > kMaxPosts) {
    posts_.pop_front();
    ++dropped_posts_;
  }
  return answer;
}

DashboardAnswer RayJobs::list(const JobHead& head, TimePoint now) {
  json out = json::array();
  if (const auto inc = live_.find(head.incarnation); inc != live_.end())
    for (const std::size_t i : inc->second.order) {
      settle(i, now);
      out.push_back(details(jobs_[i]));
    }
  return json_answer(200, out);
}

DashboardAnswer RayJobs::on_job(const JobHead& head, const std::string& method, const std::string& id,
                                const std::string& action, TimePoint now) {
  const auto index = find(head.incarnation, id);
  if (!index) return text(404, "Job " + id + " does not exist");
  settle(*index, now);
  Job& j = jobs_[*index];
  if (action == "logs") return json_answer(200, {{"logs", logs_of(j)}});
  if (action == "stop") {
    if (ray_job_terminal(j.status)) return json_answer(200, {{"stopped", false}});
    if (!j.stop_at) j.stop_at = now + config_.stop_delay;
    settle(*index, now);  // a zero stop delay stops it at once
    return json_answer(200, {{"stopped", true}});
  }
  if (method == "DELETE") {
    if (!ray_job_terminal(j.status))
      return text(500, "Attempted to delete job '" + j.submission_id +
                           "', but it is in a non-terminal state " +
                           std::string(ray_job_status_name(j.status)) + ".");
    Incarnation& inc = live_.at(head.incarnation);
    inc.by_submission.erase(j.submission_id);
    if (j.ran) inc.by_driver.erase(j.driver_id);
    inc.order.erase(*index);
    j.deleted = true;
    return json_answer(200, {{"deleted", true}});
  }
  return json_answer(200, details(j));
}

void RayJobs::end_incarnation(std::uint64_t incarnation, TimePoint now) {
  now = advance(now);
  const auto it = live_.find(incarnation);
  if (it == live_.end()) return;
  for (const std::size_t i : it->second.order) {
    settle(i, now);
    jobs_[i].gone = true;
  }
  live_.erase(it);
}

// ---- /_sim/ray/jobs... ---------------------------------------------------------------------------------

std::optional<ApiResponse> RayJobs::handle_sim(const std::string& m, const std::vector<std::string>& s,
                                               const std::string& body, TimePoint now,
                                               const std::function<bool(const std::string&)>& is_head) {
  now = advance(now);
  const auto n = s.size();
  if (n < 3) return std::nullopt;
  if (s[2] == "jobs" && n == 3 && m == "GET") {
    json out = json::array();
    for (std::size_t i = 0; i < jobs_.size(); ++i) {
      if (!jobs_[i].gone && !jobs_[i].deleted) settle(i, now);
      out.push_back(sim_entry(jobs_[i]));
    }
    return sim_reply(200, out);
  }
  if (s[2] == "jobs" && n == 4 && m == "POST") return drive(s[3], body, now);
  if (s[2] == "jobs-posts" && n == 3 && m == "GET") {
    json out = json::array();
    for (const Post& p : posts_)
      out.push_back({{"head", p.head},
                     {"session", p.session},
                     {"workRequirementId", p.work_requirement_id},
                     {"submissionId", p.submission_id ? json(*p.submission_id) : json(nullptr)},
                     {"time", format_timestamp(p.time)},
                     {"answer", p.answer},
                     {"fault", p.fault.empty() ? json(nullptr) : json(p.fault)}});
    return sim_reply(200, out);
  }
  if (s[2] == "jobs-faults" && n == 3 && (m == "GET" || m == "PUT" || m == "POST")) {
    if (m != "GET") return put_faults(body, is_head);
    return sim_reply(200, faults_json());
  }
  return std::nullopt;
}

ApiResponse RayJobs::drive(const std::string& submission_id, const std::string& body, TimePoint now) {
  const json b = json::parse(body, nullptr, false);
  if (b.is_discarded() || !b.is_object()) return bad("the body must be a JSON object");
  for (const auto& [k, v] : b.items()) {
    (void)v;
    if (k != "status" && k != "logs" && k != "head")
      return bad("unknown field " + k + " (status, logs, head)");
  }
  std::optional<RayJobStatus> status;
  if (b.contains("status")) {
    status = b["status"].is_string() ? ray_job_status_of(b["status"].get<std::string>()) : std::nullopt;
    if (!status) return bad("status must be one of PENDING, RUNNING, STOPPED, SUCCEEDED, FAILED");
  }
  if (b.contains("logs") && !b["logs"].is_string()) return bad("logs must be a string");
  if (b.contains("head") && !b["head"].is_string()) return bad("head must be a head task id");
  if (!status && !b.contains("logs")) return bad("status or logs is required");
  std::vector<std::size_t> found;
  for (const auto& [inc, jobs] : live_)
    if (const auto it = jobs.by_submission.find(submission_id); it != jobs.by_submission.end())
      if (!b.contains("head") || jobs_[it->second].head.task == b["head"].get<std::string>())
        found.push_back(it->second);
  if (found.empty())
    return error_response(
        ApiError{404, "JobNotFoundException",
                 "No live Ray job has submission id " + submission_id +
                     (b.contains("head") ? " on head " + b["head"].get<std::string>() : "")});
  if (found.size() > 1)
    return bad("submission id " + submission_id + " is on " + std::to_string(found.size()) +
               " heads: name one with \"head\"");
  settle(found[0], now);
  Job& j = jobs_[found[0]];
  if (status) {
    if (ray_job_terminal(j.status))
      return error_response(ApiError{403, "InvalidJobStatusException",
                                     "job " + submission_id + " is " +
                                         std::string(ray_job_status_name(j.status)) +
                                         " already: a terminal status is final"});
    if (*status == RayJobStatus::kPending && j.status == RayJobStatus::kRunning)
      return error_response(ApiError{403, "InvalidJobStatusException",
                                     "job " + submission_id + " is RUNNING: it cannot be PENDING again"});
  }
  if (b.contains("logs"))
    j.driver_logs += b["logs"].get<std::string>();  // before a FAILED message quotes them
  if (status) {
    if (*status == RayJobStatus::kRunning && j.status == RayJobStatus::kPending) start_driver(j, now);
    if (ray_job_terminal(*status))
      finish(j, *status, now);
    else
      j.held = true;
  }
  return sim_reply(200, {{"job", sim_entry(j)}, {"details", details(j)}});
}

json RayJobs::faults_json() const {
  json heads = json::object();
  for (const auto& [h, c] : head_counters_)
    heads[h] = {{"delayNext", c.delay_next}, {"failNext", c.fail_next}, {"dropNext", c.drop_next}};
  return {{"delayNext", counters_.delay_next},
          {"delayMs", fault_delay_.count()},
          {"failNext", counters_.fail_next},
          {"failStatus", fail_status_},
          {"dropNext", counters_.drop_next},
          {"duplicateStatus", duplicate_status_},
          {"heads", heads}};
}

ApiResponse RayJobs::put_faults(const std::string& body,
                                const std::function<bool(const std::string&)>& is_head) {
  const json b = json::parse(body, nullptr, false);
  if (b.is_discarded() || !b.is_object()) return bad("the body must be a JSON object");
  static constexpr std::array<std::string_view, 7> kKnown{
      "head", "delayNext", "delayMs", "failNext", "failStatus", "dropNext", "duplicateStatus"};
  for (const auto& [k, v] : b.items()) {
    (void)v;
    if (std::find(kKnown.begin(), kKnown.end(), k) == kKnown.end())
      return bad("unknown field " + k +
                 " (head, delayNext, delayMs, failNext, failStatus, dropNext, duplicateStatus)");
  }
  // Everything is checked before anything changes.
  std::map<std::string, std::int64_t> next;
  for (const char* key : {"delayNext", "failNext", "dropNext", "delayMs"})
    if (b.contains(key)) {
      const auto v = non_negative_integer(b[key]);
      if (!v) return bad(std::string(key) + " must be a non-negative integer");
      next[key] = *v;
    }
  if (b.contains("failStatus")) {
    const auto v = non_negative_integer(b["failStatus"]);
    if (!v || *v < 400 || *v > 599) return bad("failStatus must be an HTTP error status (400-599)");
  }
  if (b.contains("duplicateStatus") && b["duplicateStatus"] != 500 && b["duplicateStatus"] != 400)
    return bad("duplicateStatus must be 500 (the head's answer) or 400 (the agent's)");
  Counters* counters = &counters_;
  if (b.contains("head")) {
    if (!b["head"].is_string() || !is_head(b["head"].get<std::string>()))
      return bad("head must be the task id of a live head");
    if (b.contains("delayMs") || b.contains("failStatus") || b.contains("duplicateStatus"))
      return bad("head goes with delayNext, failNext and dropNext only");
    counters = &head_counters_[b["head"].get<std::string>()];
  }
  if (next.count("delayNext")) counters->delay_next = next["delayNext"];
  if (next.count("failNext")) counters->fail_next = next["failNext"];
  if (next.count("dropNext")) counters->drop_next = next["dropNext"];
  if (next.count("delayMs")) fault_delay_ = Millis(next["delayMs"]);
  if (b.contains("failStatus")) fail_status_ = b["failStatus"].get<int>();
  if (b.contains("duplicateStatus")) duplicate_status_ = b["duplicateStatus"].get<int>();
  for (auto it = head_counters_.begin(); it != head_counters_.end();)
    it = it->second.delay_next == 0 && it->second.fail_next == 0 && it->second.drop_next == 0
             ? head_counters_.erase(it)
             : std::next(it);
  return sim_reply(200, faults_json());
}

}  // namespace raydog::ydsim
