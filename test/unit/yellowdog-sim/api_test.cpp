// Wire-level quirks of the simulator's REST surface (§2, §3, §8) without sockets, plus its small pure
// helpers.
#include <doctest/doctest.h>

#include <set>

#include "test/unit/yellowdog-sim/sim_fixture.hpp"

using namespace raydog::ydsim;
using namespace raydog::ydsim::testing;
using namespace std::chrono_literals;

TEST_CASE("timestamps: millisecond Z form out, any precision and offsets in") {
  TimePoint t = *parse_timestamp("2026-01-02T03:04:05.678Z");
  CHECK(format_timestamp(t) == "2026-01-02T03:04:05.678Z");
  CHECK(format_timestamp(*parse_timestamp("2026-01-02T03:04:05Z")) == "2026-01-02T03:04:05.000Z");
  CHECK(format_timestamp(*parse_timestamp("2026-01-02T03:04:05.678901234Z")) == "2026-01-02T03:04:05.678Z");
  CHECK(format_timestamp(*parse_timestamp("2026-01-02T05:04:05.5+02:00")) == "2026-01-02T03:04:05.500Z");
  CHECK_FALSE(parse_timestamp("2026-01-02 03:04:05"));
  CHECK_FALSE(parse_timestamp("yesterday"));
}

TEST_CASE("ISO-8601 durations in both forms - PT form out") {
  CHECK(parse_iso_duration("P0D") == Millis(0));
  CHECK(parse_iso_duration("PT3M") == Millis(180000));
  CHECK(parse_iso_duration("PT1H") == Millis(3600000));
  CHECK(parse_iso_duration("P1DT2H30S") == Millis(86400000 + 7200000 + 30000));
  CHECK(parse_iso_duration("PT1.5S") == Millis(1500));
  CHECK_FALSE(parse_iso_duration("3m"));
  CHECK_FALSE(parse_iso_duration("P"));
  CHECK_FALSE(parse_iso_duration("PT5X"));
  CHECK(format_iso_duration(Millis(0)) == "PT0S");
  CHECK(format_iso_duration(Millis(180000)) == "PT3M");
  CHECK(format_iso_duration(Millis(86400000 + 7200000 + 30000)) == "PT26H30S");
  CHECK(format_iso_duration(Millis(1500)) == "PT1.5S");
  CHECK(parse_cli_duration("2s") == Millis(2000));
  CHECK(parse_cli_duration("500ms") == Millis(500));
  CHECK(parse_cli_duration("1m") == Millis(60000));
  CHECK(parse_cli_duration("0") == Millis(0));
  CHECK_FALSE(parse_cli_duration("fast"));
}

TEST_CASE("targets: percent-encoded colons, trailing slash, repeated keys, + and %20 in queries") {
  ParsedTarget t =
      parse_target("/work/requirements/ydid%3Aworkreq%3A000000%3Aabc/transition/CANCELLING?abort=True");
  REQUIRE(t.segments.size() == 5);
  CHECK(t.segments[2] == "ydid:workreq:000000:abc");
  CHECK(query_true(t.query, "abort"));
  CHECK_FALSE(query_true(parse_target("/x?abort=False").query, "abort"));
  CHECK(parse_target("/workerPools/").segments == std::vector<std::string>{"workerPools"});
  t = parse_target("/work/tasks?statuses=READY&statuses=EXECUTING&name=a+b%20c");
  CHECK(t.query.count("statuses") == 2);
  CHECK(t.query.find("name")->second == "a b c");
  CHECK(Api::pattern("GET", parse_target("/work/requirements/ydid:workreq:1").segments) ==
        "GET /work/requirements/{id}");
  CHECK(Api::pattern("GET", parse_target("/workerPools/ns/name").segments) ==
        "GET /workerPools/{namespace}/{name}");
  CHECK(Api::pattern("GET", parse_target("/workerPools/nodes/ydid:node:1").segments) ==
        "GET /workerPools/nodes/{id}");
  CHECK(Api::pattern("GET", parse_target("/workerPools/workers/w/node").segments) ==
        "GET /workerPools/workers/{id}/node");
  CHECK(Api::pattern("GET", parse_target("/work/namespaces/ns/requirements/n").segments) ==
        "GET /work/namespaces/{namespace}/requirements/{name}");
  CHECK(Api::pattern("GET", parse_target("/_sim/stats").segments).empty());
  CHECK(Api::pattern("PATCH", parse_target("/work/requirements").segments) == "unknown");
}

TEST_CASE("ids with literal and percent-encoded colons address the same objects") {
  SimFixture f;
  json pool = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("p", 1));
  std::string id = pool["id"];
  std::string encoded;
  for (char c : id) encoded += c == ':' ? std::string("%3A") : std::string(1, c);
  CHECK(f.ok("GET", "/workerPools/" + encoded)["id"] == id);
  CHECK(f.ok("GET", "/workerPools/" + id)["id"] == id);
  CHECK(f.ok("GET", "/workerPools/ray/p")["id"] == id);  // by namespace/name
}

TEST_CASE("not found and bad requests answer the §8 error body") {
  SimFixture f;
  Reply r = f.call("GET", "/work/requirements/ydid:workreq:000000:nope");
  CHECK(r.status == 404);
  CHECK(r.body["errorType"] == "WorkRequirementNotFoundException");
  CHECK(r.body["message"].get<std::string>().find("ydid:workreq:000000:nope") != std::string::npos);
  CHECK(f.call("GET", "/workerPools/ydid:wrkrpool:000000:x").body["errorType"] ==
        "WorkerPoolNotFoundException");
  CHECK(f.call("GET", "/work/tasks/x").status == 404);
  CHECK(f.call("GET", "/workerPools/nodes/x").status == 404);
  CHECK(f.call("GET", "/workerPools/workers/x/node").status == 404);
  CHECK(f.call("GET", "/compute/requirements/x").status == 404);
  CHECK(f.call("GET", "/work/namespaces/ray/requirements/none").status == 404);
  r = f.call("GET", "/no/such/endpoint");
  CHECK(r.status == 404);
  CHECK(r.body["errorType"] == "NotFoundException");
  r = f.call_raw("POST", "/work/requirements", "{not json");
  CHECK(r.status == 400);
  CHECK(r.body["errorType"] == "InvalidRequestException");
  CHECK(f.call("POST", "/work/requirements", {{"namespace", "ray"}}).status == 400);
  CHECK(f.call("POST", "/workerPools/provisioned/template", {{"provisionedProperties", json::object()}})
            .status == 400);
}

TEST_CASE("searches: sliced=true pages, plain arrays without it, filters, repeated statuses") {
  SimFixture f(SimConfig{}, /*page_size=*/3);
  for (int i = 0; i < 7; ++i)
    f.ok(
        "POST", "/work/requirements",
        {{"namespace", i < 5 ? "a" : "b"}, {"name", "w" + std::to_string(i)}, {"taskGroups", json::array()}});
  // Legacy form: a plain array with everything.
  json plain = f.ok("GET", "/work/requirements?namespace=a");
  REQUIRE(plain.is_array());
  CHECK(plain.size() == 5);
  // Sliced: several pages, the same query plus sliceId.
  std::vector<std::string> names;
  std::string query = "/work/requirements?namespace=a&sliced=True";
  json page = f.ok("GET", query);
  int pages = 1;
  for (const auto& w : page["items"]) names.push_back(w["name"]);
  while (page.contains("nextSliceId")) {
    page = f.ok("GET", query + "&sliceId=" + page["nextSliceId"].get<std::string>());
    ++pages;
    for (const auto& w : page["items"]) names.push_back(w["name"]);
  }
  CHECK(pages == 2);
  CHECK(names == std::vector<std::string>{"w0", "w1", "w2", "w3", "w4"});
  // size= overrides the default page size.
  page = f.ok("GET", "/work/requirements?sliced=true&size=2");
  CHECK(page["items"].size() == 2);
  CHECK(page["nextSliceId"].is_string());
  CHECK(f.call("GET", "/work/requirements?sliced=true&size=0").status == 400);
  CHECK(f.call("GET", "/work/requirements?sliced=true&sliceId=garbage").status == 400);
  // Summary form and status filters.
  json s = f.ok("GET", "/work/requirements?sliced=true&namespaces=b&statuses=RUNNING&statuses=CANCELLED");
  REQUIRE(s["items"].size() == 2);
  CHECK(s["items"][0].contains("totalTaskCount"));
  CHECK_FALSE(s["items"][0].contains("taskGroups"));
  std::string id = s["items"][0]["id"];
  f.ok("PUT", "/work/requirements/" + id + "/transition/CANCELLING?abort=true");
  f.advance(200ms);
  CHECK(f.ok("GET", "/work/requirements?sliced=true&statuses=CANCELLED")["items"].size() == 1);
  CHECK(f.ok("GET", "/work/requirements?sliced=true&statuses=RUNNING&size=100")["items"].size() == 6);
  CHECK(f.ok("GET", "/work/requirements?sliced=true&statuses=RUNNING,CANCELLED")["items"].size() == 3);
}

TEST_CASE(
    "worker pool search: trailing slash, sliced and plain, task, node and instance searches are sliced") {
  SimFixture f(SimConfig{}, 2);
  for (int i = 0; i < 5; ++i)
    f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("p" + std::to_string(i), 1));
  json plain = f.ok("GET", "/workerPools/?namespace=ray");
  REQUIRE(plain.is_array());
  CHECK(plain.size() == 5);
  CHECK(plain[0]["type"] == "co.yellowdog.platform.model.ProvisionedWorkerPool");
  CHECK(plain[0].contains("registeredNodeCount"));
  json sliced = f.ok("GET", "/workerPools/?namespace=ray&sliced=true&statuses=PENDING");
  CHECK(sliced["items"].size() == 2);
  CHECK(sliced.contains("nextSliceId"));
  CHECK(f.ok("GET", "/workerPools/?name=p3&sliced=true")["items"].size() == 1);

  json wr = f.ok("POST", "/work/requirements",
                 {{"namespace", "ray"}, {"name", "w"}, {"taskGroups", {SimFixture::group("g", "p0")}}});
  std::string tg = wr["taskGroups"][0]["id"];
  json tasks = json::array();
  for (int i = 0; i < 5; ++i) tasks.push_back(SimFixture::task("t" + std::to_string(i)));
  f.ok("POST", "/work/taskGroups/" + tg + "/tasks", tasks);
  f.advance(4s);
  json page =
      f.ok("GET", "/work/tasks?workRequirementId=" + wr["id"].get<std::string>() + "&taskGroupId=" + tg);
  CHECK(page["items"].size() == 2);  // always sliced
  CHECK(page.contains("nextSliceId"));
  json executing = f.ok("GET", "/work/tasks?taskGroupId=" + tg + "&statuses=EXECUTING&size=100");
  CHECK(executing["items"].size() == 1);  // p0 has maxNodes 1
  CHECK(f.ok("GET", "/work/tasks?taskGroupId=" + tg + "&statuses=READY&statuses=EXECUTING&size=100")["items"]
            .size() == 5);
  CHECK(f.ok("GET", "/work/tasks?name=t3")["items"].size() == 1);
  CHECK(f.ok("GET", "/workerPools/nodes?size=100")["items"].size() == 5);
  CHECK(f.ok("GET", "/compute/instances")["items"].size() == 2);
  CHECK(f.ok("GET", "/compute/instances?statuses=RUNNING&size=10")["items"].size() == 5);
}

TEST_CASE("add tasks by names and the group's taskTemplate") {
  SimFixture f;
  json g = SimFixture::group("g", "p");
  g["taskTemplate"] = {{"taskType", "bash"}};
  json wr = f.ok("POST", "/work/requirements", {{"namespace", "ray"}, {"name", "w"}, {"taskGroups", {g}}});
  json added = f.ok("POST", "/work/namespaces/ray/requirements/w/taskGroups/g/tasks",
                    json::array({{{"name", "x"}, {"taskData", "echo"}}}));
  REQUIRE(added.size() == 1);
  CHECK(added[0]["taskType"] == "bash");
  CHECK(added[0]["taskGroupId"] == wr["taskGroups"][0]["id"]);
  CHECK(added[0]["id"].get<std::string>().rfind("ydid:task:000000:", 0) == 0);
  CHECK(f.call("POST", "/work/namespaces/ray/requirements/w/taskGroups/nope/tasks", json::array()).status ==
        404);
}

TEST_CASE("calls are counted per endpoint pattern - /_sim/ calls are not - counters reset") {
  SimFixture f;
  auto call = [&](const std::string& m, const std::string& target, const json& body = nullptr) {
    f.api.count_call(Api::pattern(m, parse_target(target).segments));
    return f.call(m, target, body);
  };
  call("POST", "/work/requirements", {{"namespace", "ray"}, {"name", "a"}});
  call("POST", "/work/requirements", {{"namespace", "ray"}, {"name", "b"}});
  call("GET", "/work/requirements/x");
  call("GET", "/work/requirements/y");
  call("GET", "/_sim/stats");
  json s = f.ok("GET", "/_sim/stats");
  CHECK(s["calls"]["POST /work/requirements"] == 2);
  CHECK(s["calls"]["GET /work/requirements/{id}"] == 2);
  CHECK(s["totalCalls"] == 4);
  f.ok("POST", "/_sim/reset-counters");
  CHECK(f.ok("GET", "/_sim/stats")["totalCalls"] == 0);
}

TEST_CASE("fault decisions are reproducible from the seed and follow the rates") {
  FaultSettings s;
  s.fail_rate = 0.3;
  s.fail_codes = {500, 503, 429};
  s.lose_response_rate = 0.2;
  auto run = [&](std::uint64_t seed) {
    FaultInjector inj(seed);
    std::vector<int> out;
    for (int i = 0; i < 200; ++i) {
      auto d = inj.decide(s);
      out.push_back(d.fail_code ? *d.fail_code : d.lose_response ? -1 : 0);
    }
    return out;
  };
  auto a = run(42), b = run(42), c = run(43);
  CHECK(a == b);
  CHECK(a != c);
  int fails = 0, lost = 0;
  std::set<int> codes;
  for (int v : a) {
    if (v > 0) {
      ++fails;
      codes.insert(v);
    }
    if (v < 0) ++lost;
  }
  CHECK(fails > 30);
  CHECK(fails < 90);
  CHECK(lost > 10);
  CHECK(codes == std::set<int>{429, 500, 503});
  FaultSettings none;
  FaultInjector inj(1);
  for (int i = 0; i < 100; ++i) {
    auto d = inj.decide(none);
    CHECK_FALSE(d.fail_code);
    CHECK_FALSE(d.lose_response);
  }
}

TEST_CASE("PUT /_sim/faults changes the settings") {
  SimFixture f;
  json r = f.ok("PUT", "/_sim/faults", {{"failRate", 0.5}, {"failCodes", {503}}, {"loseResponseRate", 0.1}});
  CHECK(r["failRate"] == 0.5);
  CHECK(f.api.faults().fail_rate == 0.5);
  CHECK(f.api.faults().fail_codes == std::vector<int>{503});
  CHECK(f.api.faults().lose_response_rate == 0.1);
  CHECK(f.call("PUT", "/_sim/faults", {{"failRate", "lots"}}).status == 400);
  CHECK(f.api.faults().fail_rate == 0.5);
}

TEST_CASE("a work requirement read by name follows every change - ticks, API writes - and the newest live one") {
  SimFixture f;
  f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("p", 1));
  json wr = f.ok("POST", "/work/requirements",
                 {{"namespace", "ray"}, {"name", "w"}, {"taskGroups", {SimFixture::group("g", "p")}}});
  const std::string by_name = "/work/namespaces/ray/requirements/w";
  const json first = f.ok("GET", by_name);
  CHECK(first["id"] == wr["id"]);
  CHECK(f.ok("GET", by_name) == first);  // nothing changed: the same answer
  // An API write (tasks added) shows at once.
  f.ok("POST", "/work/namespaces/ray/requirements/w/taskGroups/g/tasks", json::array({SimFixture::task("t")}));
  CHECK(f.ok("GET", by_name)["taskGroups"][0]["taskSummary"]["taskCount"] == 1);
  // A tick's change (the task starts on the pool's node) shows too.
  f.advance(5s);
  const json later = f.ok("GET", by_name);
  CHECK(later["taskGroups"][0]["taskSummary"]["statusCounts"]["EXECUTING"] == 1);
  CHECK(later["status"] == "RUNNING");
  // Cancelled, then created again under the same name: the name answers the live one, then (when that
  // one finished too) the newest.
  f.ok("PUT", "/work/requirements/" + wr["id"].get<std::string>() + "/transition/CANCELLING?abort=true");
  f.advance(1s);
  json again = f.ok("POST", "/work/requirements",
                    {{"namespace", "ray"}, {"name", "w"}, {"taskGroups", {SimFixture::group("g", "p")}}});
  CHECK(again["id"] != wr["id"]);
  CHECK(f.ok("GET", by_name)["id"] == again["id"]);
  CHECK(f.call("POST", "/work/requirements", {{"namespace", "ray"}, {"name", "w"}}).status == 400);  // live twin
  CHECK(f.call("GET", "/work/namespaces/ray/requirements/other").status == 404);
}
