// yellowdog-sim --ray, the Ray Jobs API model (ray_jobs.hpp) with a controlled clock, no sockets: the job
// states in time, submit validation, duplicates, stop, delete, logs, the test driver, faults, and (through
// RaySim on a simulated platform) jobs belonging to one head incarnation.
#include <doctest/doctest.h>

#include <set>

#include "controller/util/strings.hpp"
#include "test/unit/yellowdog-sim/sim_fixture.hpp"
#include "test/yellowdog-sim/ray_jobs.hpp"
#include "test/yellowdog-sim/ray_model.hpp"

using namespace raydog::ydsim;
using raydog::ydsim::testing::SimFixture;
using raydog::ydsim::testing::t0;

namespace {

constexpr const char* kText = "text/plain; charset=utf-8";

std::vector<std::string> segments(const std::string& path) {
  return parse_target(path).segments;
}

// One head incarnation's dashboard and the /_sim/ray/ job endpoints, on a clock the test moves.
struct Jobs {
  explicit Jobs(Millis duration = Millis(2000), Millis stop_delay = Millis(200))
      : jobs(RayJobsConfig{duration, stop_delay, 7}) {}

  DashboardAnswer call(const std::string& method, const std::string& target, const std::string& body = "") {
    return jobs.dashboard(head, method, target, body, now);
  }
  DashboardAnswer submit(const json& body) { return call("POST", "/api/jobs/", body.dump()); }
  json ok(const std::string& method, const std::string& target, const std::string& body = "") {
    const DashboardAnswer a = call(method, target, body);
    INFO(method << " " << target << " -> " << a.status << " " << a.body);
    REQUIRE(a.status == 200);
    CHECK(a.content_type == "application/json");
    CHECK(a.delay == Millis(0));
    CHECK_FALSE(a.drop);
    return json::parse(a.body);
  }
  json get(const std::string& id) { return ok("GET", "/api/jobs/" + id); }
  ApiResponse sim(const std::string& method, const std::string& path, const json& body = nullptr) {
    auto r =
        jobs.handle_sim(method, segments(path), body.is_null() ? "" : body.dump(), now,
                        [this](const std::string& task) { return task == head.task || task == other.task; });
    REQUIRE(r.has_value());
    return *r;
  }
  json sim_ok(const std::string& method, const std::string& path, const json& body = nullptr) {
    const ApiResponse r = sim(method, path, body);
    INFO(method << " " << path << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }
  std::int64_t ms(TimePoint t) const {
    return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
  }

  RayJobs jobs;
  JobHead head{"ydid:task:000000:h:1:1", 1, "session_a_1", "127.9.0.1", "aa11", "ydid:workreq:000000:h"};
  JobHead other{"ydid:task:000000:o:1:1", 2, "session_b_2", "127.9.0.2", "bb22", "ydid:workreq:000000:o"};
  TimePoint now = t0();
};

}  // namespace

TEST_CASE("ray jobs: PENDING at submit, RUNNING after a second with a driver, SUCCEEDED at the duration") {
  Jobs j;
  const TimePoint submitted = j.now;
  const DashboardAnswer a =
      j.submit({{"entrypoint", "python t.py"}, {"submission_id", "tr-1"}, {"metadata", {{"k", "v"}}}});
  REQUIRE(a.status == 200);
  CHECK(a.content_type == "application/json");
  CHECK(json::parse(a.body) == json{{"job_id", "tr-1"}, {"submission_id", "tr-1"}});

  json d = j.get("tr-1");
  CHECK(d["type"] == "SUBMISSION");
  CHECK(d["submission_id"] == "tr-1");
  CHECK(d["status"] == "PENDING");
  CHECK(d["message"] == "Job has not started yet.");
  CHECK(d["start_time"] == j.ms(submitted));
  CHECK(d["metadata"] == json{{"k", "v"}});
  CHECK(d["runtime_env"] == json::object());
  // Every field of JobDetails is there, unset ones null.
  for (const char* unset : {"job_id", "driver_info", "error_type", "end_time", "driver_agent_http_address",
                            "driver_node_id", "driver_exit_code"}) {
    INFO(unset);
    REQUIRE(d.contains(unset));
    CHECK(d[unset].is_null());
  }
  CHECK(d.size() == 15);
  CHECK(j.ok("GET", "/api/jobs/tr-1/logs") == json{{"logs", ""}});  // no driver yet

  j.now += Millis(999);
  CHECK(j.get("tr-1")["status"] == "PENDING");
  j.now += Millis(1);
  d = j.get("tr-1");
  CHECK(d["status"] == "RUNNING");
  CHECK(d["message"] == "Job is currently running.");
  CHECK(d["job_id"] == "02000000");  // 01000000 is the dashboard's own driver in a real head
  CHECK(d["driver_info"] ==
        json{{"id", "02000000"}, {"node_ip_address", "127.9.0.1"}, {"pid", d["driver_info"]["pid"]}});
  CHECK(d["driver_info"]["pid"].is_string());
  CHECK(d["driver_agent_http_address"] == "http://127.9.0.1:52365");
  CHECK(d["driver_node_id"] == "aa11");
  CHECK(d["driver_exit_code"].is_null());
  CHECK(d["end_time"].is_null());
  CHECK(j.ok("GET", "/api/jobs/tr-1/logs")["logs"].get<std::string>().find("python t.py") !=
        std::string::npos);
  // The driver job id finds it too.
  CHECK(j.get("02000000")["submission_id"] == "tr-1");

  j.now += Millis(1000);
  d = j.get("tr-1");
  CHECK(d["status"] == "SUCCEEDED");
  CHECK(d["message"] == "Job finished successfully.");
  CHECK(d["driver_exit_code"] == 0);
  CHECK(d["end_time"] == j.ms(submitted + Millis(2000)));
  CHECK(d["error_type"].is_null());
  // Terminal is final: a stop is refused, and so is the driver.
  CHECK(j.ok("POST", "/api/jobs/tr-1/stop") == json{{"stopped", false}});
  CHECK(j.sim("POST", "/_sim/ray/jobs/tr-1", {{"status", "FAILED"}}).status == 403);
  j.now += Millis(60'000);
  CHECK(j.get("tr-1")["status"] == "SUCCEEDED");
  CHECK(j.get("tr-1")["end_time"] == j.ms(submitted + Millis(2000)));

  // A read long after the fact sees the whole history at its own times; the next driver is 03000000.
  const TimePoint second = j.now;
  j.submit({{"entrypoint", "true"}, {"submission_id", "tr-2"}});
  j.now += Millis(10'000);
  d = j.get("tr-2");
  CHECK(d["status"] == "SUCCEEDED");
  CHECK(d["job_id"] == "03000000");
  CHECK(d["end_time"] == j.ms(second + Millis(2000)));
  const json list = j.ok("GET", "/api/jobs/");
  REQUIRE(list.size() == 2);
  CHECK(list[0]["submission_id"] == "tr-1");
  CHECK(list[1]["submission_id"] == "tr-2");
}

TEST_CASE("ray jobs: a short duration runs at half of it - zero ends at once") {
  Jobs short_jobs(Millis(400));
  short_jobs.submit({{"entrypoint", "x"}, {"submission_id", "s"}});
  short_jobs.now += Millis(199);
  CHECK(short_jobs.get("s")["status"] == "PENDING");
  short_jobs.now += Millis(1);
  CHECK(short_jobs.get("s")["status"] == "RUNNING");
  short_jobs.now += Millis(200);
  CHECK(short_jobs.get("s")["status"] == "SUCCEEDED");

  Jobs zero(Millis(0));
  zero.submit({{"entrypoint", "x"}, {"submission_id", "z"}});
  const json d = zero.get("z");
  CHECK(d["status"] == "SUCCEEDED");
  CHECK(d["job_id"] == "02000000");  // it ran, briefly
  CHECK(d["end_time"] == d["start_time"]);
}

TEST_CASE(
    "ray jobs: duplicate submission ids keep the first job and answer 500 with Ray's phrase (400 when "
    "switched)") {
  Jobs j;
  REQUIRE(j.submit({{"entrypoint", "first"}, {"submission_id", "dup"}}).status == 200);
  j.now += Millis(1500);
  const DashboardAnswer again = j.submit({{"entrypoint", "second"}, {"submission_id", "dup"}});
  CHECK(again.status == 500);
  CHECK(again.content_type == kText);
  CHECK(again.body.find("Job with submission_id dup already exists. Please use a different submission_id.") !=
        std::string::npos);
  const json d = j.get("dup");
  CHECK(d["entrypoint"] == "first");
  CHECK(d["status"] == "RUNNING");
  CHECK(j.ok("GET", "/api/jobs/").size() == 1);
  // The deprecated job_id names the same id.
  CHECK(j.submit({{"entrypoint", "third"}, {"job_id", "dup"}}).status == 500);

  j.sim_ok("PUT", "/_sim/ray/jobs-faults", {{"duplicateStatus", 400}});
  const DashboardAnswer agent = j.submit({{"entrypoint", "fourth"}, {"submission_id", "dup"}});
  CHECK(agent.status == 400);
  CHECK(agent.body.find("Please use a different submission_id") != std::string::npos);

  // Every POST is in the posts list, with its answer; the jobs list has the one job.
  const json posts = j.sim_ok("GET", "/_sim/ray/jobs-posts");
  REQUIRE(posts.size() == 4);
  CHECK(posts[0]["answer"] == 200);
  CHECK(posts[1]["answer"] == 500);
  CHECK(posts[2]["submissionId"] == "dup");
  CHECK(posts[3]["answer"] == 400);
  CHECK(j.sim_ok("GET", "/_sim/ray/jobs").size() == 1);
}

TEST_CASE("ray jobs: absent, null or empty submission ids are generated as raysubmit_ plus 16 characters") {
  Jobs j;
  std::set<std::string> ids;
  for (const json& body : {json{{"entrypoint", "a"}}, json{{"entrypoint", "b"}, {"submission_id", nullptr}},
                           json{{"entrypoint", "c"}, {"submission_id", ""}}}) {
    const DashboardAnswer a = j.submit(body);
    REQUIRE(a.status == 200);
    const json r = json::parse(a.body);
    const std::string id = r["submission_id"];
    CHECK(r["job_id"] == id);
    REQUIRE(id.size() == 26);
    CHECK(id.rfind("raysubmit_", 0) == 0);
    for (char c : id.substr(10)) {
      INFO(id);
      CHECK(std::isalnum(static_cast<unsigned char>(c)));
      CHECK(std::string("IloO0").find(c) == std::string::npos);
    }
    ids.insert(id);
    CHECK(j.get(id)["entrypoint"] == body["entrypoint"]);
  }
  CHECK(ids.size() == 3);
  CHECK(j.sim_ok("GET", "/_sim/ray/jobs-posts")[0]["submissionId"].is_null());  // as sent: none
}

TEST_CASE(
    "ray jobs: submit validation - 400 for bad entrypoint, metadata, types and unknown keys - nulls dropped "
    "first") {
  Jobs j;
  auto refused = [&](const std::string& body, int status, const std::string& phrase) {
    const DashboardAnswer a = j.call("POST", "/api/jobs/", body);
    INFO(body << " -> " << a.status << " " << a.body);
    CHECK(a.status == status);
    CHECK(a.content_type == kText);
    CHECK(a.body.find(phrase) != std::string::npos);
  };
  refused(R"({"submission_id":"x"})", 400, "missing 1 required positional argument: 'entrypoint'");
  refused(R"({"entrypoint":null})", 400, "missing 1 required positional argument: 'entrypoint'");
  refused(R"({"entrypoint":12})", 400, "entrypoint must be a string, got <class 'int'>");
  refused(R"({"entrypoint":"x","metadata":{"k":1}})", 400,
          "metadata values must be strings, got <class 'int'>");
  refused(R"({"entrypoint":"x","metadata":["k"]})", 400, "metadata must be a dict, got <class 'list'>");
  refused(R"({"entrypoint":"x","retry_policy":{"max_retries":1}})", 400,
          "unexpected keyword argument 'retry_policy'");
  refused(R"({"entrypoint":"x","submission_id":5})", 400, "submission_id must be a string if provided");
  refused(R"({"entrypoint":"x","runtime_env":"pip"})", 400, "runtime_env must be a dict");
  refused(R"({"entrypoint":"x","entrypoint_num_cpus":"1"})", 400, "entrypoint_num_cpus must be a number");
  refused(R"({"entrypoint":"x","entrypoint_memory":1.5})", 400, "entrypoint_memory must be an integer");
  refused(R"({"entrypoint":"x","entrypoint_resources":{"a":"1"}})", 400,
          "entrypoint_resources values must be numbers");
  refused(R"(["entrypoint"])", 400, "must be a mapping, not list");
  refused("not json", 500, "Internal Server Error");
  CHECK(j.ok("GET", "/api/jobs/").empty());  // nothing above was recorded

  // An unknown key whose value is null is dropped before the check, as Ray does; types Ray accepts pass.
  const DashboardAnswer a = j.submit({{"entrypoint", "x"},
                                      {"submission_id", "ok-1"},
                                      {"retry_policy", nullptr},
                                      {"entrypoint_num_cpus", 1},
                                      {"entrypoint_num_gpus", 0.5},
                                      {"entrypoint_memory", 1024},
                                      {"entrypoint_resources", {{"accel", 1}}},
                                      {"runtime_env", {{"pip", {"requests"}}}}});
  REQUIRE(a.status == 200);
  const json d = j.get("ok-1");
  CHECK(d["runtime_env"] == json{{"pip", {"requests"}}});
  CHECK(d["message"] ==
        "Job has not started yet. It may be waiting for resources (CPUs, GPUs, memory, custom resources) to "
        "become "
        "available. It may be waiting for the runtime environment to be set up.");
  CHECK_FALSE(d.contains("entrypoint_num_cpus"));  // stored by Ray, not part of JobDetails
}

TEST_CASE(
    "ray jobs: stop - true while live, STOPPED after the stop delay, false once terminal - a PENDING job "
    "never runs") {
  Jobs j;
  j.submit({{"entrypoint", "sleep 100"}, {"submission_id", "st"}});
  j.now += Millis(1200);
  CHECK(j.get("st")["status"] == "RUNNING");
  const TimePoint stopped_at = j.now;
  CHECK(j.ok("POST", "/api/jobs/st/stop") == json{{"stopped", true}});
  j.now += Millis(100);
  CHECK(j.ok("POST", "/api/jobs/st/stop") == json{{"stopped", true}});  // still live: the supervisor is there
  CHECK(j.get("st")["status"] == "RUNNING");
  j.now += Millis(100);
  json d = j.get("st");
  CHECK(d["status"] == "STOPPED");
  CHECK(d["message"] == "Job was intentionally stopped.");
  CHECK(d["end_time"] == j.ms(stopped_at + Millis(200)));  // the first stop counts
  CHECK(d["driver_exit_code"].is_null());
  CHECK(d["job_id"] == "02000000");
  CHECK(j.ok("POST", "/api/jobs/st/stop") == json{{"stopped", false}});
  j.now += Millis(10'000);
  CHECK(j.get("st")["status"] == "STOPPED");  // the run's own end never comes

  j.submit({{"entrypoint", "x"}, {"submission_id", "early"}});
  CHECK(j.ok("POST", "/api/jobs/early/stop") == json{{"stopped", true}});
  j.now += Millis(200);
  d = j.get("early");
  CHECK(d["status"] == "STOPPED");
  CHECK(d["job_id"].is_null());  // stopped before its driver started
  CHECK(d["driver_info"].is_null());
  CHECK(j.ok("GET", "/api/jobs/early/logs") == json{{"logs", ""}});

  // A stop that lands after the job's own end does not change it.
  Jobs late(Millis(2000), Millis(500));
  late.submit({{"entrypoint", "x"}, {"submission_id", "l"}});
  late.now += Millis(1800);
  CHECK(late.ok("POST", "/api/jobs/l/stop") == json{{"stopped", true}});
  late.now += Millis(1000);
  CHECK(late.get("l")["status"] == "SUCCEEDED");
}

TEST_CASE("ray jobs: delete - 500 while live, deleted when terminal, then 404 - unknown ids 404 everywhere") {
  Jobs j;
  j.submit({{"entrypoint", "x"}, {"submission_id", "del"}});
  const DashboardAnswer live = j.call("DELETE", "/api/jobs/del");
  CHECK(live.status == 500);
  CHECK(live.content_type == kText);
  CHECK(live.body == "Attempted to delete job 'del', but it is in a non-terminal state PENDING.");
  j.now += Millis(2000);
  CHECK(j.ok("DELETE", "/api/jobs/del") == json{{"deleted", true}});
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/api/jobs/del"},
                                                        {"DELETE", "/api/jobs/del"},
                                                        {"POST", "/api/jobs/del/stop"},
                                                        {"GET", "/api/jobs/del/logs"},
                                                        {"GET", "/api/jobs/02000000"},
                                                        {"GET", "/api/jobs/nope"}}) {
    const DashboardAnswer a = j.call(method, path);
    INFO(method << " " << path);
    CHECK(a.status == 404);
    CHECK(a.content_type == kText);
    const std::string id = path.substr(10, path.find('/', 10) - 10);
    CHECK(a.body == "Job " + id + " does not exist");
  }
  CHECK(j.ok("GET", "/api/jobs/").empty());
  const json listed = j.sim_ok("GET", "/_sim/ray/jobs");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["deleted"] == true);
  CHECK(listed[0]["live"] == false);
  // The deleted id is free again (its record is gone from the job table).
  CHECK(j.submit({{"entrypoint", "y"}, {"submission_id", "del"}}).status == 200);
  CHECK(j.get("del")["entrypoint"] == "y");
  CHECK(j.sim_ok("GET", "/_sim/ray/jobs").size() == 2);

  // Paths and methods no route serves: aiohttp's 404 and 405; the slash of /api/jobs/ is required.
  CHECK(j.call("POST", "/api/jobs", R"({"entrypoint":"x"})").status == 404);
  CHECK(j.call("GET", "/api/jobs").status == 404);
  CHECK(j.call("PUT", "/api/jobs/").status == 405);
  CHECK(j.call("POST", "/api/jobs/del").status == 405);
  CHECK(j.call("GET", "/api/jobs/del/stop").status == 405);
  CHECK(j.call("GET", "/api/jobs/del/logs/tail").status == 404);
  CHECK(j.get("del?x=1")["entrypoint"] == "y");  // a query is ignored
  CHECK(j.get("de%6C")["entrypoint"] == "y");    // percent-encoded ids are decoded
}

TEST_CASE(
    "ray jobs: the test driver - FAILED with logs, held RUNNING and PENDING, terminal final, logs appended") {
  Jobs j;
  j.submit({{"entrypoint", "python fail.py"}, {"submission_id", "f"}});
  j.now += Millis(1500);
  json r =
      j.sim_ok("POST", "/_sim/ray/jobs/f", {{"status", "FAILED"}, {"logs", "Traceback\nValueError: boom\n"}});
  CHECK(r["job"]["status"] == "FAILED");
  const json d = j.get("f");
  CHECK(d == r["details"]);
  CHECK(d["status"] == "FAILED");
  CHECK(d["driver_exit_code"] == 1);
  CHECK(d["error_type"] == "JOB_ENTRYPOINT_COMMAND_ERROR");
  CHECK(d["end_time"] == j.ms(j.now));
  const std::string logs = j.ok("GET", "/api/jobs/f/logs")["logs"];
  CHECK(logs.find("python fail.py") != std::string::npos);  // the fake driver's line first
  CHECK(logs.ends_with("Traceback\nValueError: boom\n"));
  CHECK(d["message"] ==
        "Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 "
        "chars):\n" +
            logs);
  CHECK(j.sim("POST", "/_sim/ray/jobs/f", {{"status", "RUNNING"}}).status == 403);
  j.sim_ok("POST", "/_sim/ray/jobs/f", {{"logs", "later\n"}});  // logs alone: appended, status kept
  CHECK(j.ok("GET", "/api/jobs/f/logs")["logs"].get<std::string>().ends_with("boom\nlater\n"));
  CHECK(j.get("f")["status"] == "FAILED");

  // Held RUNNING: the clock no longer ends it; a stop still does.
  j.submit({{"entrypoint", "serve"}, {"submission_id", "h"}});
  r = j.sim_ok("POST", "/_sim/ray/jobs/h", {{"status", "RUNNING"}});
  CHECK(r["details"]["job_id"] == "03000000");
  CHECK(r["job"]["held"] == true);
  j.now += Millis(3'600'000);
  CHECK(j.get("h")["status"] == "RUNNING");
  CHECK(j.sim("POST", "/_sim/ray/jobs/h", {{"status", "PENDING"}}).status == 403);  // no way back
  j.ok("POST", "/api/jobs/h/stop");
  j.now += Millis(200);
  CHECK(j.get("h")["status"] == "STOPPED");

  // Held PENDING (waiting for resources), then ended by the driver: it ran first, exit code 0.
  j.submit({{"entrypoint", "wait"}, {"submission_id", "p"}});
  j.sim_ok("POST", "/_sim/ray/jobs/p", {{"status", "PENDING"}});
  j.now += Millis(60'000);
  CHECK(j.get("p")["status"] == "PENDING");
  j.sim_ok("POST", "/_sim/ray/jobs/p", {{"status", "SUCCEEDED"}});
  CHECK(j.get("p")["driver_exit_code"] == 0);
  CHECK(j.get("p")["job_id"] == "04000000");

  // A failure without logs; STOPPED by the driver.
  j.submit({{"entrypoint", "x"}, {"submission_id", "n"}});
  j.sim_ok("POST", "/_sim/ray/jobs/n", {{"status", "STOPPED"}});
  CHECK(j.get("n")["message"] == "Job was intentionally stopped.");

  // Bad requests name what is wrong; unknown ids are 404.
  CHECK(j.sim("POST", "/_sim/ray/jobs/nope", {{"status", "FAILED"}}).status == 404);
  CHECK(j.sim("POST", "/_sim/ray/jobs/p", {{"status", "DONE"}}).status == 400);
  CHECK(j.sim("POST", "/_sim/ray/jobs/p", json::object()).status == 400);
  CHECK(j.sim("POST", "/_sim/ray/jobs/p", {{"stauts", "FAILED"}}).status == 400);
  CHECK(j.sim("POST", "/_sim/ray/jobs/p", {{"logs", 3}}).status == 400);

  // The same id on two heads: the driver needs "head".
  j.jobs.dashboard(j.other, "POST", "/api/jobs/", R"({"entrypoint":"o","submission_id":"twice"})", j.now);
  j.submit({{"entrypoint", "h"}, {"submission_id", "twice"}});
  const ApiResponse ambiguous = j.sim("POST", "/_sim/ray/jobs/twice", {{"status", "FAILED"}});
  CHECK(ambiguous.status == 400);
  CHECK(ambiguous.body.find("head") != std::string::npos);
  j.sim_ok("POST", "/_sim/ray/jobs/twice", {{"status", "FAILED"}, {"head", j.other.task}});
  CHECK(j.get("twice")["status"] == "PENDING");
  CHECK(json::parse(j.jobs.dashboard(j.other, "GET", "/api/jobs/twice", "", j.now).body)["status"] ==
        "FAILED");
}

TEST_CASE("ray jobs: a head incarnation's end takes its jobs out of the Jobs API - the listing keeps them") {
  Jobs j;
  j.submit({{"entrypoint", "x"}, {"submission_id", "a"}});
  j.now += Millis(1500);
  j.jobs.dashboard(j.other, "POST", "/api/jobs/", R"({"entrypoint":"o","submission_id":"b"})", j.now);
  CHECK(j.jobs.live_jobs(1) == 1);
  j.jobs.end_incarnation(1, j.now);
  CHECK(j.jobs.live_jobs(1) == 0);
  // The same head task's next incarnation starts with an empty job table and driver ids from 02000000.
  j.head.incarnation = 3;
  j.head.session = "session_a_3";
  CHECK(j.call("GET", "/api/jobs/a").status == 404);
  CHECK(j.ok("GET", "/api/jobs/").empty());
  j.submit({{"entrypoint", "x"}, {"submission_id", "a"}});  // not a duplicate: the old record is gone
  j.now += Millis(1000);
  CHECK(j.get("a")["job_id"] == "02000000");
  // Another head is not affected (b was submitted a second ago: running now).
  CHECK(json::parse(j.jobs.dashboard(j.other, "GET", "/api/jobs/b", "", j.now).body)["status"] == "RUNNING");

  const json listed = j.sim_ok("GET", "/_sim/ray/jobs");
  REQUIRE(listed.size() == 3);
  CHECK(listed[0]["submissionId"] == "a");
  CHECK(listed[0]["live"] == false);
  CHECK(listed[0]["status"] == "RUNNING");  // as it was when its head went
  CHECK(listed[0]["session"] == "session_a_1");
  CHECK(listed[0]["head"] == j.head.task);
  CHECK(listed[0]["workRequirementId"] == j.head.work_requirement_id);
  CHECK(listed[0]["entrypoint"] == "x");
  CHECK(listed[0]["time"] == format_timestamp(t0()));
  CHECK(listed[1]["submissionId"] == "b");
  CHECK(listed[1]["live"] == true);
  CHECK(listed[2]["session"] == "session_a_3");
  CHECK(listed[2]["jobId"] == "02000000");
  j.now += Millis(60'000);
  CHECK(j.sim_ok("GET", "/_sim/ray/jobs")[0]["status"] == "RUNNING");  // frozen, never ends
}

TEST_CASE("ray jobs: faults - the next submits fail unrecorded, or are recorded and answered late or never") {
  Jobs j;
  json f = j.sim_ok("GET", "/_sim/ray/jobs-faults");
  CHECK(f == json{{"delayNext", 0},
                  {"delayMs", 15000},
                  {"failNext", 0},
                  {"failStatus", 503},
                  {"dropNext", 0},
                  {"duplicateStatus", 500},
                  {"heads", json::object()}});
  f = j.sim_ok("PUT", "/_sim/ray/jobs-faults",
               {{"failNext", 1}, {"delayNext", 1}, {"delayMs", 5000}, {"dropNext", 1}});
  CHECK(f["failNext"] == 1);

  DashboardAnswer a = j.submit({{"entrypoint", "x"}, {"submission_id", "f1"}});
  CHECK(a.status == 503);
  CHECK(a.content_type == kText);
  CHECK(j.call("GET", "/api/jobs/f1").status == 404);  // not applied
  a = j.submit({{"entrypoint", "x"}, {"submission_id", "f1"}});
  CHECK(a.status == 200);
  CHECK(a.delay == Millis(5000));  // applied, answered late
  CHECK_FALSE(a.drop);
  a = j.submit({{"entrypoint", "x"}, {"submission_id", "f2"}});
  CHECK(a.drop);  // applied, never answered
  CHECK(j.get("f2")["status"] == "PENDING");
  a = j.submit({{"entrypoint", "x"}, {"submission_id", "f1"}});  // the retry sees the recorded job
  CHECK(a.status == 500);
  CHECK(a.delay == Millis(0));
  CHECK_FALSE(a.drop);

  const json posts = j.sim_ok("GET", "/_sim/ray/jobs-posts");
  REQUIRE(posts.size() == 4);
  CHECK(posts[0] == json{{"head", j.head.task},
                         {"session", j.head.session},
                         {"workRequirementId", j.head.work_requirement_id},
                         {"submissionId", "f1"},
                         {"time", format_timestamp(t0())},
                         {"answer", 503},
                         {"fault", "fail"}});
  CHECK(posts[1]["fault"] == "delay");
  CHECK(posts[2]["fault"] == "drop");
  CHECK(posts[3]["fault"].is_null());
  CHECK(j.sim_ok("GET", "/_sim/ray/jobs-faults")["failNext"] == 0);

  // 500 is Ray's own "no agent" refusal. One head's own counters leave the other heads alone.
  j.sim_ok("PUT", "/_sim/ray/jobs-faults", {{"failStatus", 500}});
  j.sim_ok("PUT", "/_sim/ray/jobs-faults", {{"head", j.other.task}, {"failNext", 1}});
  CHECK(j.sim_ok("GET", "/_sim/ray/jobs-faults")["heads"][j.other.task]["failNext"] == 1);
  CHECK(j.submit({{"entrypoint", "x"}}).status == 200);
  a = j.jobs.dashboard(j.other, "POST", "/api/jobs/", R"({"entrypoint":"x"})", j.now);
  CHECK(a.status == 500);
  CHECK(a.body == "No available agent to submit job, please try again later.");
  CHECK(j.jobs.dashboard(j.other, "POST", "/api/jobs/", R"({"entrypoint":"x"})", j.now).status == 200);
  CHECK(j.sim_ok("GET", "/_sim/ray/jobs-faults")["heads"].empty());

  for (const json& badf : {json{{"failNext", -1}}, json{{"failStatus", 200}}, json{{"duplicateStatus", 409}},
                           json{{"head", "ydid:task:nope"}, {"failNext", 1}},
                           json{{"head", j.head.task}, {"delayMs", 1}}, json{{"dealyNext", 1}}}) {
    INFO(badf.dump());
    CHECK(j.sim("PUT", "/_sim/ray/jobs-faults", badf).status == 400);
  }
  CHECK(j.jobs.handle_sim("GET", segments("/_sim/ray/nodes"), "", j.now, [](const std::string&) {
    return true;
  }) == std::nullopt);  // not a jobs path: RaySim answers it
}

// RaySim on a simulated platform: a head's jobs go with its task's run and its GCS incarnation.
TEST_CASE(
    "ray jobs: through RaySim - the head task's end, a new run and GCS down/up each start an empty job "
    "table") {
  SimFixture f;
  f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("jh", 1));
  // The head group stays open after its first head task ends, so a replacement can join it.
  json head_group = SimFixture::group("head-node", "jh");
  head_group["finishIfAllTasksFinished"] = false;
  const json wr = f.ok("POST", "/work/requirements",
                       {{"namespace", "ray"}, {"name", "jw"}, {"taskGroups", {head_group}}});
  const std::string group = wr["taskGroups"][0]["id"];
  RayConfig config;
  config.job_duration = Millis(60'000);
  RaySim ray(f.sim, config);
  auto add_head = [&](const std::string& name) {
    const json t =
        f.ok("POST", "/work/taskGroups/" + group + "/tasks", json::array({SimFixture::task(name)}));
    return t[0]["id"].get<std::string>();
  };
  auto settle = [&] {
    f.advance(Millis(10'000));
    ray.tick(f.sim.now());
  };
  const std::string first = add_head("head-1");
  settle();
  REQUIRE(ray.heads().count(first));
  const std::uint64_t inc1 = ray.heads().at(first).incarnation;
  auto request = [&](const std::string& head, std::uint64_t inc, const std::string& method,
                     const std::string& target, const std::string& body = "") {
    return ray.jobs_request(head, inc, method, target, body, f.sim.now());
  };
  REQUIRE(request(first, inc1, "POST", "/api/jobs/", R"({"entrypoint":"x","submission_id":"j1"})").status ==
          200);
  const json d = json::parse(request(first, inc1, "GET", "/api/jobs/j1").body);
  CHECK(d["status"] == "PENDING");
  f.advance(Millis(1000));
  const json running = json::parse(request(first, inc1, "GET", "/api/jobs/j1").body);
  CHECK(running["driver_info"]["node_ip_address"] == ray.heads().at(first).private_ip);
  CHECK(running["driver_node_id"] == raydog::hex_encode(RaySim::node_id_of(first)));
  auto listed = [&] {
    const ApiResponse r = ray.handle("GET", segments("/_sim/ray/jobs"), "");
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  };
  CHECK(listed()[0]["workRequirementId"] == wr["id"]);
  CHECK(listed()[0]["session"] == ray.heads().at(first).session);

  // GCS down: the dashboard is gone (a request racing it is dropped); up: a new incarnation, no jobs.
  REQUIRE(ray.handle("POST", segments("/_sim/ray/heads/" + first), R"({"gcs":"down"})").status == 200);
  CHECK(request(first, inc1, "GET", "/api/jobs/j1").drop);
  REQUIRE(ray.handle("POST", segments("/_sim/ray/heads/" + first), R"({"gcs":"up"})").status == 200);
  const std::uint64_t inc2 = ray.heads().at(first).incarnation;
  CHECK(inc2 != inc1);
  CHECK(request(first, inc1, "GET", "/api/jobs/j1").drop);
  CHECK(request(first, inc2, "GET", "/api/jobs/j1").status == 404);
  CHECK(listed()[0]["live"] == false);
  REQUIRE(request(first, inc2, "POST", "/api/jobs/", R"({"entrypoint":"x","submission_id":"j1"})").status ==
          200);

  // The head task ends; a new head task (the same node, the same address) starts with no jobs.
  f.ok("PUT", "/work/tasks/" + first + "/cancel?abort=true");
  settle();
  CHECK_FALSE(ray.heads().count(first));
  CHECK(request(first, inc2, "GET", "/api/jobs/j1").drop);
  const std::string second = add_head("head-2");
  settle();
  REQUIRE(ray.heads().count(second));
  const std::uint64_t inc3 = ray.heads().at(second).incarnation;
  CHECK(request(second, inc3, "GET", "/api/jobs/j1").status == 404);
  const json all = listed();
  REQUIRE(all.size() == 2);
  CHECK(all[1]["live"] == false);
  CHECK(all[1]["session"] != all[0]["session"]);
}
