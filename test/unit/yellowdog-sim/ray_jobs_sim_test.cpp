// yellowdog-sim --ray: the Ray Jobs API on the fake heads' dashboards (port 8265 of the head's private and
// public IP, loopback addresses of the simulator's block), over real HTTP with the shared raydog_http
// client, with the head served by the simulator itself and (--ray-local-heads 0) by a helper process.
#include <doctest/doctest.h>

#include "test/support/eventually.hpp"
#include "test/unit/yellowdog-sim/sim_http.hpp"

using namespace raydog::ydsim::testing;

namespace {

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
  return raydog::test::eventually(pred, limit, 20ms);
}

inline net::awaitable<void> send_timed(http::Client* c, http::Request req, std::chrono::milliseconds timeout,
                                       std::optional<SendResult>* out) {
  *out = co_await c->send(std::move(req), timeout);
}

// One request with the client's own timeout (the facade's is 20 s): what a client that gives up sees.
SendResult send_within(Http& h, const std::string& method, const std::string& target, const std::string& body,
                       std::chrono::milliseconds timeout) {
  http::Request req{bhttp::string_to_verb(method), target, 11};
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  std::optional<SendResult> out;
  net::co_spawn(h.ioc, send_timed(&h.client, std::move(req), timeout, &out), net::detached);
  h.ioc.restart();
  h.ioc.run_for(30s);
  REQUIRE(out.has_value());
  return std::move(*out);
}

std::string content_type(const http::Response& r) {
  return std::string(r.base()[bhttp::field::content_type]);
}

// A simulator with --ray and one head as the operator builds it: a pool, a work requirement with a
// head-node group and the head task, EXECUTING.
struct OneHead {
  explicit OneHead(std::vector<std::string> extra) : sim(flags(std::move(extra))), c(sim.url) {
    c.ok("POST", "/workerPools/provisioned/template", pool_body("jobs-head", 1));
    const json group{{"name", "head-node"},
                     {"runSpecification",
                      {{"taskTypes", {"bash"}}, {"workerTags", {"jobs-head"}}, {"namespaces", {"ray"}}}}};
    const json wr =
        c.ok("POST", "/work/requirements", {{"namespace", "ray"}, {"name", "jobs"}, {"taskGroups", {group}}});
    wr_id = wr["id"];
    c.ok("POST", "/work/taskGroups/" + wr["taskGroups"][0]["id"].get<std::string>() + "/tasks",
         json::array({{{"name", "head"}, {"taskType", "bash"}}}));
    json heads;
    REQUIRE(eventually([&] { return (heads = c.ok("GET", "/_sim/ray/heads")).size() == 1; }));
    head = heads[0]["task"];
    ip = heads[0]["privateIp"];
    public_ip = heads[0]["publicIp"];
    session = heads[0]["session"];
    dash = std::make_unique<Http>("http://" + ip + ":8265");
  }
  static std::vector<std::string> flags(std::vector<std::string> extra) {
    // Four simulated seconds per job (RUNNING for three of them): long enough to see each state over HTTP
    // on a busy machine, short enough to wait for the end.
    std::vector<std::string> f{"--ray", "--ray-job-duration", "4s", "--ray-job-stop-delay", "300ms"};
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  }
  json job(const std::string& id) { return dash->ok("GET", "/api/jobs/" + id); }
  int status_of(const std::string& method, const std::string& target, const std::string& body = "") {
    auto r = dash->send(method, target, body);
    REQUIRE_MESSAGE(r.ok(), method << " " << target << ": " << r.error().message);
    return r->result_int();
  }
  json submit(const std::string& id, const std::string& entrypoint = "python job.py") {
    return dash->ok("POST", "/api/jobs/", {{"entrypoint", entrypoint}, {"submission_id", id}});
  }

  SimProcess sim;
  Http c;
  std::string wr_id, head, ip, public_ip, session;
  std::unique_ptr<Http> dash;
};

}  // namespace

static void jobs_scenario(std::vector<std::string> extra) {
  const bool helper = !extra.empty();
  OneHead h(std::move(extra));
  // With --ray-local-heads 0 the head's dashboard is a helper's (named on stderr): the jobs travel.
  const bool hosted = raydog::test::read_file(h.sim.dir.file("stderr")).find("head host process 1 (pid ") !=
                      std::string::npos;
  CHECK(hosted == helper);
  CHECK(h.dash->ok("GET", "/api/version")["session_name"] == h.session);

  // Submit: 200 JSON with both ids; PENDING (or already RUNNING) with a start time.
  auto submitted = h.dash->send("POST", "/api/jobs/",
                                json{{"entrypoint", "python t.py"}, {"submission_id", "t-1"}}.dump());
  REQUIRE(submitted.ok());
  CHECK(submitted->result_int() == 200);
  CHECK(content_type(*submitted) == "application/json");
  CHECK(json::parse(submitted->body()) == json{{"job_id", "t-1"}, {"submission_id", "t-1"}});
  json d = h.job("t-1");
  CHECK((d["status"] == "PENDING" || d["status"] == "RUNNING"));
  CHECK(d["start_time"].is_number_integer());
  REQUIRE(eventually([&] { return (d = h.job("t-1"))["status"] == "RUNNING"; }));
  CHECK(d["job_id"] == "02000000");
  CHECK(d["driver_info"]["node_ip_address"] == h.ip);
  // The same job table on the head's public IP.
  Http by_public("http://" + h.public_ip + ":8265");
  CHECK(by_public.ok("GET", "/api/jobs/t-1")["job_id"] == "02000000");

  // A duplicate id: 500 with Ray's phrase, the first job untouched. Refusals are text.
  auto dup =
      h.dash->send("POST", "/api/jobs/", json{{"entrypoint", "other"}, {"submission_id", "t-1"}}.dump());
  REQUIRE(dup.ok());
  CHECK(dup->result_int() == 500);
  CHECK(content_type(*dup).rfind("text/plain", 0) == 0);
  CHECK(
      dup->body().find("Job with submission_id t-1 already exists. Please use a different submission_id.") !=
      std::string::npos);
  CHECK(h.job("t-1")["entrypoint"] == "python t.py");
  CHECK(h.status_of("POST", "/api/jobs/", R"({"entrypoint":"x","label_selector":{"a":"b"}})") == 400);
  CHECK(h.status_of("POST", "/api/jobs", R"({"entrypoint":"x"})") == 404);  // the slash is required
  auto unknown = h.dash->send("GET", "/api/jobs/nope");
  REQUIRE(unknown.ok());
  CHECK(unknown->result_int() == 404);
  CHECK(unknown->body() == "Job nope does not exist");

  // The test driver fails a job with logs.
  h.submit("t-2", "python fail.py");
  const json driven =
      h.c.ok("POST", "/_sim/ray/jobs/t-2", {{"status", "FAILED"}, {"logs", "ValueError: boom\n"}});
  CHECK(driven["job"]["status"] == "FAILED");
  d = h.job("t-2");
  CHECK(d["status"] == "FAILED");
  CHECK(d["driver_exit_code"] == 1);
  CHECK(d["error_type"] == "JOB_ENTRYPOINT_COMMAND_ERROR");
  CHECK(d["message"].get<std::string>().rfind(
            "Job entrypoint command failed with exit code 1, last available logs", 0) == 0);
  CHECK(d["message"].get<std::string>().ends_with("ValueError: boom\n"));
  CHECK(h.dash->ok("GET", "/api/jobs/t-2/logs")["logs"].get<std::string>().ends_with("ValueError: boom\n"));
  CHECK(h.c.send("POST", "/_sim/ray/jobs/t-2", R"({"status":"SUCCEEDED"})")->result_int() == 403);
  CHECK(h.c.send("POST", "/_sim/ray/jobs/none", R"({"status":"FAILED"})")->result_int() == 404);

  // Stop, then delete once terminal.
  h.submit("t-3");
  CHECK(h.dash->ok("POST", "/api/jobs/t-3/stop") == json{{"stopped", true}});
  REQUIRE(eventually([&] { return h.job("t-3")["status"] == "STOPPED"; }));
  CHECK(h.job("t-3")["message"] == "Job was intentionally stopped.");
  CHECK(h.dash->ok("POST", "/api/jobs/t-3/stop") == json{{"stopped", false}});
  CHECK(h.dash->ok("DELETE", "/api/jobs/t-3") == json{{"deleted", true}});
  CHECK(h.status_of("GET", "/api/jobs/t-3") == 404);
  // A live job cannot be deleted (held RUNNING by the driver so that the clock cannot end it first).
  h.submit("t-4");
  h.c.ok("POST", "/_sim/ray/jobs/t-4", {{"status", "RUNNING"}});
  auto live = h.dash->send("DELETE", "/api/jobs/t-4");
  REQUIRE(live.ok());
  CHECK(live->result_int() == 500);
  CHECK(live->body().find("non-terminal state RUNNING") != std::string::npos);

  REQUIRE(eventually([&] { return h.job("t-1")["status"] == "SUCCEEDED"; }));
  CHECK(h.job("t-1")["driver_exit_code"] == 0);
  json list = h.dash->ok("GET", "/api/jobs/");
  REQUIRE(list.size() == 3);
  CHECK(list[0]["submission_id"] == "t-1");
  CHECK(list[1]["submission_id"] == "t-2");
  CHECK(list[2]["submission_id"] == "t-4");

  // Faults: a submit recorded but answered after the client gave up; one refused with 503 and not
  // recorded; one recorded and never answered.
  h.c.ok("PUT", "/_sim/ray/jobs-faults", {{"delayNext", 1}, {"delayMs", 4000}});
  const auto before = std::chrono::steady_clock::now();
  auto late =
      send_within(*h.dash, "POST", "/api/jobs/", R"({"entrypoint":"x","submission_id":"t-5"})", 1000ms);
  CHECK_FALSE(late.ok());
  CHECK(std::chrono::steady_clock::now() - before >= 900ms);
  CHECK(h.job("t-5")["submission_id"] == "t-5");  // the job is there: GET before re-POST finds it
  h.c.ok("PUT", "/_sim/ray/jobs-faults", {{"failNext", 1}});
  CHECK(h.status_of("POST", "/api/jobs/", R"({"entrypoint":"x","submission_id":"t-6"})") == 503);
  CHECK(h.status_of("GET", "/api/jobs/t-6") == 404);
  h.c.ok("PUT", "/_sim/ray/jobs-faults", {{"dropNext", 1}});
  auto dropped =
      send_within(*h.dash, "POST", "/api/jobs/", R"({"entrypoint":"x","submission_id":"t-7"})", 5000ms);
  CHECK_FALSE(dropped.ok());
  CHECK(h.job("t-7")["status"] != nullptr);

  // The simulator's listings: one entry per accepted submission, every POST with its answer.
  json jobs = h.c.ok("GET", "/_sim/ray/jobs");
  std::vector<std::string> ids;
  for (const auto& j : jobs) {
    ids.push_back(j["submissionId"]);
    CHECK(j["workRequirementId"] == h.wr_id);
    CHECK(j["head"] == h.head);
    CHECK(j["session"] == h.session);
  }
  CHECK(ids == std::vector<std::string>{"t-1", "t-2", "t-3", "t-4", "t-5", "t-7"});
  CHECK(jobs[2]["deleted"] == true);
  const json posts = h.c.ok("GET", "/_sim/ray/jobs-posts");
  std::vector<int> answers;
  for (const auto& p : posts) answers.push_back(p["answer"]);
  // t-1, dup, 400, t-2, t-3, t-4, t-5 (late), t-6 (503), t-7 (dropped); the slash-less POST never reached the
  // model
  CHECK(answers == std::vector<int>{200, 500, 400, 200, 200, 200, 200, 503, 200});
  CHECK(posts[6]["fault"] == "delay");
  CHECK(posts[8]["fault"] == "drop");

  // The head restarts (GCS down, up): a new session, and its job table is empty.
  h.c.ok("POST", "/_sim/ray/heads/" + h.head, {{"gcs", "down"}});
  h.c.ok("POST", "/_sim/ray/heads/" + h.head, {{"gcs", "up"}});
  Http fresh("http://" + h.ip + ":8265");
  CHECK(fresh.ok("GET", "/api/version")["session_name"] != h.session);
  auto gone = fresh.send("GET", "/api/jobs/t-1");
  REQUIRE(gone.ok());
  CHECK(gone->result_int() == 404);
  CHECK(fresh.ok("GET", "/api/jobs/").empty());
  for (const auto& j : h.c.ok("GET", "/_sim/ray/jobs")) CHECK(j["live"] == false);
  CHECK(fresh.ok("POST", "/api/jobs/", {{"entrypoint", "again"}, {"submission_id", "t-1"}})["job_id"] ==
        "t-1");
  CHECK(h.sim.proc->terminate() == 0);  // a clean exit (and no leak under ASan)
}

TEST_CASE(
    "ray sim jobs: the Jobs API on the head's dashboard - states, duplicates, stop, delete, driver, faults, "
    "restart") {
  jobs_scenario({});
}

TEST_CASE(
    "ray sim jobs: the Jobs API on the head's dashboard - states, duplicates, stop, delete, driver, faults, "
    "restart "
    "(heads served by a helper process)") {
  jobs_scenario({"--ray-local-heads", "0"});
}

TEST_CASE(
    "ray sim jobs: the simulator stops cleanly while a late submit answer is pending, in-process and in a "
    "helper") {
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, std::vector<std::string>{"--ray-local-heads", "0"}}) {
    OneHead h(extra);
    h.c.ok("PUT", "/_sim/ray/jobs-faults", {{"delayNext", 1}, {"delayMs", 60000}});
    auto late =
        send_within(*h.dash, "POST", "/api/jobs/", R"({"entrypoint":"x","submission_id":"slow"})", 500ms);
    CHECK_FALSE(late.ok());
    const auto before = std::chrono::steady_clock::now();
    CHECK(h.sim.proc->terminate() == 0);
    CHECK(std::chrono::steady_clock::now() - before < 5s);  // not held up by the minute-long answer
  }
}
