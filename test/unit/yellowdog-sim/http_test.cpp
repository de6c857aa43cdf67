// The yellowdog-sim binary over real HTTP on 127.0.0.1: authentication, gzip bodies, percent-encoded colons,
// seeded faults, lost responses, SSE update streams and --execute-tasks.
#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include "test/unit/yellowdog-sim/sim_http.hpp"
#include "test/yellowdog-sim/time_util.hpp"

using namespace raydog::ydsim::testing;

namespace {

json wr_body(const std::string& name, const std::string& tag) {
  return {{"namespace", "ray"},
          {"name", name},
          {"taskGroups",
           {{{"name", "head-node"},
             {"runSpecification", {{"taskTypes", {"bash"}}, {"workerTags", {tag}}, {"namespaces", {"ray"}}}},
             {"finishIfAnyTaskFailed", true}}}}};
}
std::string encode_colons(const std::string& id) {
  std::string out;
  for (char c : id) out += c == ':' ? std::string("%3A") : std::string(1, c);
  return out;
}

}  // namespace

TEST_CASE("http: RayDog build() with yd-key auth, gzip bodies and percent-encoded colons") {
  SimProcess sim({"--key-id", "kid", "--key-secret", "s3cr3t-value"});
  Http anon(sim.url);
  auto r = anon.send("GET", "/work/requirements?sliced=true");
  REQUIRE(r.ok());
  CHECK(r->result_int() == 401);
  CHECK(json::parse(r->body())["errorType"] == "NotAuthorisedException");
  Http wrong(sim.url, "yd-key kid:wrong-secret");
  r = wrong.send("GET", "/work/requirements?sliced=true");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->result_int() == 401);
  CHECK(r->body().find("wrong-secret") == std::string::npos);
  CHECK(r->body().find("s3cr3t-value") == std::string::npos);
  CHECK(anon.ok("GET", "/_sim/stats").contains("calls"));  // the control API needs no key

  Http c(sim.url, "yd-key kid:s3cr3t-value");
  json pool = c.ok("POST", "/workerPools/provisioned/template", pool_body("b-00-head", 1), /*gzip=*/true);
  json wr = c.ok("POST", "/work/requirements", wr_body("b", "b-00-head"), true);
  std::string big(4096, 'x');  // large task bodies are what the SDK gzips
  json tasks = json::array({{{"name", "task-00001"},
                             {"taskType", "bash"},
                             {"arguments", {"taskdata.txt"}},
                             {"taskData", "#!/bin/bash\n# " + big + "\nray start --head --block\n"}}});
  json added =
      c.ok("POST", "/work/taskGroups/" + encode_colons(wr["taskGroups"][0]["id"]) + "/tasks", tasks, true);
  REQUIRE(added.size() == 1);
  CHECK(added[0]["taskData"].get<std::string>().find(big) != std::string::npos);
  std::string task_path = "/work/tasks/" + encode_colons(added[0]["id"]);
  json task = c.wait_for(task_path, [](const json& t) { return t["status"] == "EXECUTING"; });
  json node = c.ok("GET", "/workerPools/workers/" + encode_colons(task["workerId"]) + "/node");
  json p = c.ok("GET", "/workerPools/" + node["workerPoolId"].get<std::string>());
  json inst =
      c.ok("GET", "/compute/instances?computeRequirementId=" + encode_colons(p["computeRequirementId"]));
  REQUIRE(inst["items"].size() == 1);
  CHECK(inst["items"][0]["privateIpAddress"] == node["details"]["privateIpAddress"]);
  // Node addresses come from this simulator's own block: private 127.N.x.y, public 127.N.(128+x).y.
  const int block = c.ok("GET", "/_sim/stats")["ipBlock"];
  CHECK(block >= 2);
  CHECK(block <= 254);
  CHECK(inst["items"][0]["privateIpAddress"] == "127." + std::to_string(block) + ".0.1");
  CHECK(inst["items"][0]["publicIpAddress"] == "127." + std::to_string(block) + ".128.1");
  // Bad gzip is a 400.
  r = c.send("POST", "/work/requirements", "");  // no body: 400 too
  CHECK(r->result_int() == 400);

  json stats = c.ok("GET", "/_sim/stats");
  CHECK(stats["calls"]["POST /work/requirements"] == 2);
  CHECK(stats["calls"]["GET /work/tasks/{id}"].get<int>() >= 1);
  CHECK(sim.proc->terminate() == 0);  // SIGTERM: clean exit
}

TEST_CASE("http: injected faults are reproducible from --seed - 429 carries Retry-After") {
  auto run = [](const std::string& seed) {
    SimProcess sim({"--seed", seed, "--fail-rate", "0.5", "--fail-codes", "500,503,429"});
    Http c(sim.url);
    std::vector<int> codes;
    bool saw_retry_after = false;
    for (int i = 0; i < 30; ++i) {
      auto r = c.send("GET", "/workerPools/?sliced=true");
      REQUIRE(r.ok());
      codes.push_back(r->result_int());
      if (r->result_int() == 429) {
        saw_retry_after = r->find(bhttp::field::retry_after) != r->end();
        CHECK(saw_retry_after);
      }
      if (r->result_int() >= 500) CHECK(json::parse(r->body())["errorType"] == "InternalServerException");
    }
    json stats = c.ok("GET", "/_sim/stats");
    CHECK(stats["calls"]["GET /workerPools/"] == 30);  // faulted calls are counted too
    return codes;
  };
  auto a = run("7"), b = run("7"), other = run("8");
  CHECK(a == b);
  CHECK(a != other);
  int failures = 0;
  for (int code : a) failures += code != 200;
  CHECK(failures > 5);
  CHECK(failures < 25);
}

TEST_CASE("http: a lost response was applied - PUT /_sim/faults turns faults off at run time") {
  SimProcess sim({"--lose-response-rate", "1"});
  Http c(sim.url);
  auto r = c.send("POST", "/work/requirements", wr_body("lost", "x").dump());
  CHECK_FALSE(r.ok());  // connection closed without an answer
  c.ok("PUT", "/_sim/faults", {{"loseResponseRate", 0}});
  json wr = c.ok("GET", "/work/namespaces/ray/requirements/lost");
  CHECK(wr["status"] == "RUNNING");
  json stats = c.ok("GET", "/_sim/stats");
  CHECK(stats["faults"]["droppedResponses"] == 1);
  CHECK(stats["objects"]["workRequirements"]["RUNNING"] == 1);
  // Repeating the create now says "already exists" (what a blind retry would hit).
  auto again = c.send("POST", "/work/requirements", wr_body("lost", "x").dump());
  REQUIRE(again.ok());
  CHECK(again->result_int() == 400);
}

TEST_CASE("http: SSE updates stream a work requirement and a worker pool") {
  SimProcess sim;
  Http c(sim.url);
  json pool = c.ok("POST", "/workerPools/provisioned/template", pool_body("s-00-head", 1));
  json wr = c.ok("POST", "/work/requirements", wr_body("s", "s-00-head"));
  std::string wr_id = wr["id"], pool_id = pool["id"];

  Http watcher(sim.url);
  auto wr_stream = watcher.open("/work/requirements/" + wr_id + "/updates");
  CHECK(wr_stream->head().result_int() == 200);
  std::string name;
  auto first = watcher.next_event(*wr_stream, &name);
  REQUIRE(first);
  CHECK(name == "entity_updated");
  CHECK((*first)["id"] == wr_id);
  CHECK((*first)["status"] == "RUNNING");
  c.ok("PUT", "/work/requirements/" + wr_id + "/transition/CANCELLING?abort=true");
  std::vector<std::string> seen;
  for (;;) {
    auto ev = watcher.next_event(*wr_stream);
    if (!ev) break;  // the stream ends once the WR is finished
    seen.push_back((*ev)["status"]);
  }
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.back() == "CANCELLED");

  Http pool_watcher(sim.url);
  auto pool_stream = pool_watcher.open("/workerPools/" + encode_colons(pool_id) + "/updates");
  auto p0 = pool_watcher.next_event(*pool_stream);
  REQUIRE(p0);
  CHECK((*p0)["id"] == pool_id);
  std::vector<std::string> statuses{(*p0)["status"]};
  bool deleted = false;
  for (;;) {
    if (!deleted && statuses.back() == "IDLE") {
      c.ok("DELETE", "/workerPools/" + pool_id);
      deleted = true;
    }
    auto ev = pool_watcher.next_event(*pool_stream);
    if (!ev) break;
    statuses.push_back((*ev)["status"]);
  }
  CHECK(deleted);
  CHECK(statuses.back() == "TERMINATED");
  CHECK(std::find(statuses.begin(), statuses.end(), "IDLE") != statuses.end());

  auto missing = c.send("GET", "/work/requirements/ydid:workreq:000000:none/updates");
  REQUIRE(missing.ok());
  CHECK(missing->result_int() == 404);
}

TEST_CASE("http: --execute-tasks runs bash tasks with their environment, exit codes and SIGTERM on abort") {
  TempDir work;
  SimProcess sim({"--execute-tasks", work.file("tasks")});
  Http c(sim.url);
  c.ok("POST", "/workerPools/provisioned/template", pool_body("e", 2));
  json wr =
      c.ok("POST", "/work/requirements",
           {{"namespace", "ray"},
            {"name", "e"},
            {"taskGroups",
             {{{"name", "g"}, {"runSpecification", {{"taskTypes", {"bash"}}, {"workerTags", {"e"}}}}}}}});
  std::string marker = work.file("terminated"), envfile = work.file("env.txt");
  std::string blocking =
      "trap 'echo terminated > \"$MARKER\"; exit 143' TERM\n"
      "env > \"$ENVFILE\"\npwd >> \"$ENVFILE\"\nls >> \"$ENVFILE\"\n"
      "while true; do sleep 0.05; done\n";
  json tasks = json::array(
      {{{"name", "blocks"},
        {"taskType", "bash"},
        {"arguments", {"taskdata.txt"}},
        {"taskData", blocking},
        {"environment", {{"RAY_HEAD_IP", "127.1.0.1"}, {"MARKER", marker}, {"ENVFILE", envfile}}}},
       {{"name", "exits"}, {"taskType", "bash"}, {"arguments", {"taskdata.txt"}}, {"taskData", "exit 3\n"}}});
  json added =
      c.ok("POST", "/work/taskGroups/" + wr["taskGroups"][0]["id"].get<std::string>() + "/tasks", tasks);
  std::string blocks = added[0]["id"], exits = added[1]["id"];

  json failed = c.wait_for("/work/tasks/" + exits, [](const json& t) { return t["status"] == "FAILED"; });
  CHECK(failed["errors"][0]["errorType"] == "PROCESS_NON_ZERO_EXIT");
  CHECK(failed["errors"][0]["processExitCode"] == 3);

  c.wait_for("/work/tasks/" + blocks, [](const json& t) { return t["status"] == "EXECUTING"; });
  REQUIRE(raydog::test::wait_for_file(envfile, 30s).has_value());
  // The script may still be writing: wait until the ls output is there.
  std::string env;
  for (int i = 0; i < 600 && env.find("taskdata.txt") == std::string::npos; ++i) {
    env = raydog::test::read_file(envfile);
    if (env.find("taskdata.txt") == std::string::npos) std::this_thread::sleep_for(10ms);
  }
  CHECK(env.find("RAY_HEAD_IP=127.1.0.1") != std::string::npos);
  CHECK(env.find("PATH=") != std::string::npos);  // merged with the simulator's own environment
  CHECK(env.find("taskdata.txt") != std::string::npos);
  CHECK(env.find(work.file("tasks")) != std::string::npos);  // working dir under --execute-tasks

  json aborted = c.ok("PUT", "/work/tasks/" + blocks + "/cancel?abort=true");
  CHECK(aborted["status"] == "ABORTED");
  auto mark = raydog::test::wait_for_file(marker, 30s);
  REQUIRE(mark.has_value());
  CHECK(mark->find("terminated") != std::string::npos);
  CHECK(c.ok("GET", "/work/tasks/" + blocks)["status"] == "ABORTED");
}

TEST_CASE("http: --time-scale runs simulated delays faster than real time") {
  // 20 s boot + 20 s registration at 50x: seconds of real time, far below the 30 s the wait allows.
  SimProcess sim({"--boot-delay", "20s", "--register-delay", "20s", "--time-scale", "50"});
  Http c(sim.url);
  json pool = c.ok("POST", "/workerPools/provisioned/template", pool_body("ts", 1));
  json idle = c.wait_for("/workerPools/" + pool["id"].get<std::string>(),
                         [](const json& p) { return p["status"] == "IDLE"; });
  CHECK(idle["nodeSummary"]["statusCounts"]["RUNNING"] == 1);
}

TEST_CASE("http: invalid gzip bodies are 400 and unknown endpoints 404, both with the error body") {
  SimProcess sim;
  Http c(sim.url);
  http::Request req{bhttp::verb::post, "/work/requirements", 11};
  req.set(bhttp::field::content_type, "application/json");
  req.set(bhttp::field::content_encoding, "gzip");
  req.body() = "this is not gzip";
  req.prepare_payload();
  std::optional<SendResult> out;
  net::co_spawn(c.ioc, do_send(&c.client, std::move(req), &out), net::detached);
  c.ioc.restart();
  c.ioc.run_for(30s);
  REQUIRE(out.has_value());
  REQUIRE(out->ok());
  CHECK((*out)->result_int() == 400);
  CHECK(json::parse((*out)->body())["errorType"] == "InvalidRequestException");
  auto r = c.send("GET", "/no/such/thing");
  REQUIRE(r.ok());
  CHECK(r->result_int() == 404);
  CHECK(json::parse(r->body())["errorType"] == "NotFoundException");
  CHECK(c.ok("GET", "/_sim/stats")["calls"]["unknown"] == 1);
  CHECK(c.ok("GET", "/_sim/objects")["workRequirements"].empty());  // nothing was applied
}

TEST_CASE("http: every YellowDog API answer carries Date from the simulated clock - /_sim/ answers do not") {
  // At 100,000x the simulated clock runs far ahead of the wall clock: the Date shows which one it follows.
  SimProcess sim({"--time-scale", "100000", "--key-id", "kid", "--key-secret", "s"});
  Http c(sim.url, "yd-key kid:s");
  auto date_of = [](const SendResult& r) -> std::optional<raydog::ydsim::TimePoint> {
    REQUIRE(r.ok());
    auto it = r->find(bhttp::field::date);
    if (it == r->end()) return std::nullopt;
    const std::string v(it->value());
    // "Sun, 06 Dec 2026 23:59:01 GMT": parsed back through the RFC 3339 reader.
    static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    REQUIRE(v.size() == 29);
    CHECK(v.substr(25) == " GMT");
    int month = 0;
    for (int m = 0; m < 12; ++m)
      if (v.substr(8, 3) == kMonths[m]) month = m + 1;
    REQUIRE(month > 0);
    char iso[64];
    std::snprintf(iso, sizeof iso, "%s-%02d-%sT%sZ", v.substr(12, 4).c_str(), month, v.substr(5, 2).c_str(),
                  v.substr(17, 8).c_str());
    auto t = raydog::ydsim::parse_timestamp(iso);
    REQUIRE(t);
    return t;
  };
  const auto before = *raydog::ydsim::parse_timestamp(c.ok("GET", "/_sim/stats")["now"].get<std::string>());
  auto ok = c.send("GET", "/work/requirements?sliced=true");
  auto missing = c.send("GET", "/work/requirements/ydid:workreq:000000:nope");
  auto unauthorised = Http(sim.url).send("GET", "/work/requirements?sliced=true");
  const auto after = *raydog::ydsim::parse_timestamp(c.ok("GET", "/_sim/stats")["now"].get<std::string>());
  CHECK(missing->result_int() == 404);
  CHECK(unauthorised->result_int() == 401);
  for (const auto* r : {&ok, &missing, &unauthorised}) {
    auto d = date_of(*r);
    REQUIRE(d);
    CHECK(*d >= std::chrono::floor<std::chrono::seconds>(before));
    CHECK(*d <= after);
  }
  CHECK(before >
        std::chrono::system_clock::now() + std::chrono::seconds(60));  // the simulated clock, not the wall's
  auto control = c.send("GET", "/_sim/stats");
  REQUIRE(control.ok());
  CHECK(control->find(bhttp::field::date) == control->end());
}
