// Time-range search filters (§5.5: createdTime/statusChangedTime of work requirements, startedTime/
// finishedTime of tasks) through the REST surface with a controlled clock: bounds, order, slices, bad
// timestamps, the indexes after retries and compaction; and the HTTP Date format.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "test/unit/yellowdog-sim/sim_fixture.hpp"

using namespace raydog::ydsim;
using namespace raydog::ydsim::testing;
using namespace std::chrono_literals;

namespace {

// A pool of `n` nodes and a work requirement whose group runs `n` tasks ("<name>-t<i>") on it, all EXECUTING.
struct Running {
  std::string wr;
  std::vector<std::string> tasks;
};
Running running_tasks(SimFixture& f, const std::string& name, int n, json group = nullptr) {
  f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body(name, n));
  if (group.is_null()) group = SimFixture::group("g", name);
  json wr =
      f.ok("POST", "/work/requirements", {{"namespace", "ray"}, {"name", name}, {"taskGroups", {group}}});
  json tasks = json::array();
  for (int i = 0; i < n; ++i) tasks.push_back(SimFixture::task(name + "-t" + std::to_string(i)));
  json added =
      f.ok("POST", "/work/taskGroups/" + wr["taskGroups"][0]["id"].get<std::string>() + "/tasks", tasks);
  f.advance(4s);
  Running r{wr["id"], {}};
  for (const auto& t : added) {
    r.tasks.push_back(t["id"]);
    REQUIRE(f.ok("GET", "/work/tasks/" + t["id"].get<std::string>())["status"] == "EXECUTING");
  }
  return r;
}

std::vector<std::string> names(const json& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i["name"]);
  return out;
}

// Every page of a sliced search, in order.
std::vector<std::string> all_pages(SimFixture& f, const std::string& query, int* pages = nullptr) {
  std::vector<std::string> out;
  json page = f.ok("GET", query);
  int n = 1;
  for (;;) {
    for (const auto& name : names(page["items"])) out.push_back(name);
    if (!page.contains("nextSliceId")) break;
    CHECK(page["nextSliceId"].get<std::string>().rfind('k', 0) == 0);
    page = f.ok("GET", query + "&sliceId=" + page["nextSliceId"].get<std::string>());
    ++n;
  }
  if (pages) *pages = n;
  return out;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("task searches by finishedTime and startedTime: inclusive bounds, answered in that time's order") {
  SimFixture f;
  Running a = running_tasks(f, "a", 3);
  Running b = running_tasks(f, "b", 1);  // keeps running: never in a finishedTime answer
  // Finished out of creation order: a-t2, a-t0, a-t1.
  std::vector<std::string> at;
  for (int i : {2, 0, 1}) {
    f.advance(1s);
    at.push_back(f.ok("POST", "/_sim/tasks/" + a.tasks[i] + "/exit?code=0")["finishedTime"]);
  }
  const std::string q = "/work/tasks?finishedTime.";
  CHECK(names(f.ok("GET", q + "min=" + at[0])["items"]) == Names{"a-t2", "a-t0", "a-t1"});
  CHECK(names(f.ok("GET", q + "min=" + at[1])["items"]) == Names{"a-t0", "a-t1"});
  CHECK(names(f.ok("GET", q + "max=" + at[1])["items"]) == Names{"a-t2", "a-t0"});
  CHECK(names(f.ok("GET", q + "min=" + at[1] + "&finishedTime.max=" + at[1])["items"]) == Names{"a-t0"});
  json none = f.ok("GET", q + "min=2030-01-01T00:00:00.000Z");
  CHECK(none["items"].empty());
  CHECK_FALSE(none.contains("nextSliceId"));
  // Whole seconds, no milliseconds: accepted as well.
  CHECK(f.ok("GET", q + "min=2026-01-01T00:00:00Z")["items"].size() == 3);
  CHECK(names(f.ok("GET", q + "min=2026-01-01T00:00:00Z&sortDirection=DESCENDING")["items"]) ==
        Names{"a-t1", "a-t0", "a-t2"});
  // With the other filters, and scoped to one work requirement or task group.
  CHECK(f.ok("GET", q + "min=2026-01-01T00:00:00Z&statuses=FAILED")["items"].empty());
  CHECK(names(f.ok("GET", q + "min=" + at[1] + "&workRequirementId=" + a.wr)["items"]) ==
        Names{"a-t0", "a-t1"});
  CHECK(f.ok("GET", q + "min=2026-01-01T00:00:00Z&workRequirementId=" + b.wr)["items"].empty());
  const std::string group = f.ok("GET", "/work/tasks/" + a.tasks[0])["taskGroupId"];
  CHECK(names(f.ok("GET", q + "max=" + at[1] + "&taskGroupId=" + group)["items"]) == Names{"a-t2", "a-t0"});
  CHECK(names(f.ok("GET", q + "min=2026-01-01T00:00:00Z&name=a-t0")["items"]) == Names{"a-t0"});
  // startedTime: every task that ran, in start order; b's too.
  CHECK(names(f.ok("GET", "/work/tasks?startedTime.min=2026-01-01T00:00:00Z")["items"]) ==
        Names{"a-t0", "a-t1", "a-t2", "b-t0"});
  const std::string b_started = f.ok("GET", "/work/tasks/" + b.tasks[0])["startedTime"];
  CHECK(names(f.ok("GET", "/work/tasks?startedTime.min=" + b_started)["items"]) == Names{"b-t0"});
  CHECK(names(f.ok("GET", "/work/tasks?startedTime.min=" + b_started + "&finishedTime.min=" + at[0])["items"])
            .empty());
}

TEST_CASE("time-filtered searches page by key - an object stamped again between pages moves to the end") {
  SimFixture f(SimConfig{}, /*page_size=*/2);
  Running p = running_tasks(f, "p", 5);
  for (const auto& id : p.tasks) {
    f.advance(100ms);
    f.ok("POST", "/_sim/tasks/" + id + "/exit?code=0");
  }
  const std::string q = "/work/tasks?finishedTime.min=2026-01-01T00:00:00.000Z";
  int pages = 0;
  CHECK(all_pages(f, q, &pages) == Names{"p-t0", "p-t1", "p-t2", "p-t3", "p-t4"});
  CHECK(pages == 3);
  CHECK(all_pages(f, q + "&size=3", &pages) == Names{"p-t0", "p-t1", "p-t2", "p-t3", "p-t4"});
  CHECK(pages == 2);
  CHECK(all_pages(f, q + "&sortDirection=DESCENDING") == Names{"p-t4", "p-t3", "p-t2", "p-t1", "p-t0"});
  CHECK(all_pages(f, q + "&workRequirementId=" + p.wr + "&sortDirection=DESCENDING") ==
        Names{"p-t4", "p-t3", "p-t2", "p-t1", "p-t0"});
  CHECK(all_pages(f, q + "&workRequirementId=" + p.wr) == Names{"p-t0", "p-t1", "p-t2", "p-t3", "p-t4"});
  // A slice id of the other kind, or garbage, is refused.
  CHECK(f.call("GET", q + "&sliceId=o2").status == 400);
  CHECK(f.call("GET", q + "&sliceId=kx").status == 400);
  CHECK(f.call("GET", "/work/tasks?sliceId=k1").status == 400);
  CHECK(f.call("GET", q + "&size=0").status == 400);

  // Work requirements by statusChangedTime: w0 changes status between two pages and comes again at the end.
  std::vector<std::string> ids, created;
  for (int i = 0; i < 5; ++i) {
    f.advance(100ms);
    json wr = f.ok("POST", "/work/requirements",
                   {{"namespace", "w"}, {"name", "w" + std::to_string(i)}, {"taskGroups", json::array()}});
    ids.push_back(wr["id"]);
    created.push_back(wr["createdTime"]);
  }
  const std::string wq = "/work/requirements?sliced=true&namespace=w&statusChangedTime.min=" + created[0];
  json page = f.ok("GET", wq);
  CHECK(names(page["items"]) == Names{"w0", "w1"});
  f.advance(100ms);
  f.ok("PUT", "/work/requirements/" + ids[0] + "/transition/HELD");
  page = f.ok("GET", wq + "&sliceId=" + page["nextSliceId"].get<std::string>());
  CHECK(names(page["items"]) == Names{"w2", "w3"});
  page = f.ok("GET", wq + "&sliceId=" + page["nextSliceId"].get<std::string>());
  CHECK(names(page["items"]) == Names{"w4", "w0"});
  CHECK(page["items"][1]["status"] == "HELD");
  CHECK_FALSE(page.contains("nextSliceId"));
  // The legacy plain array (no sliced=true): everything, in the same order.
  json plain = f.ok("GET", "/work/requirements?namespace=w&statusChangedTime.min=" + created[0]);
  REQUIRE(plain.is_array());
  CHECK(names(plain) == Names{"w1", "w2", "w3", "w4", "w0"});
  const std::string held_at = plain[4]["statusChangedTime"];
  CHECK(names(f.ok("GET", "/work/requirements?statusChangedTime.min=" + held_at)) == Names{"w0"});
  CHECK(names(f.ok("GET", "/work/requirements?namespace=w&statusChangedTime.max=" + created[1])) ==
        Names{"w1"});  // w0 changed since
  // createdTime: creation order, offset slices.
  CHECK(names(f.ok("GET", "/work/requirements?createdTime.min=" + created[1] +
                              "&createdTime.max=" + created[3])) == Names{"w1", "w2", "w3"});
  json sliced = f.ok("GET", "/work/requirements?sliced=true&createdTime.min=" + created[1]);
  CHECK(names(sliced["items"]) == Names{"w1", "w2"});
  CHECK(sliced["nextSliceId"] == "o2");
  CHECK(names(f.ok("GET", "/work/requirements?createdTime.min=" + created[1] + "&statuses=HELD")).empty());
}

TEST_CASE("a malformed time bound is 400 InvalidRequestException naming the parameter") {
  SimFixture f;
  const std::vector<std::pair<std::string, std::string>> params{
      {"/work/requirements", "createdTime.min"},
      {"/work/requirements", "createdTime.max"},
      {"/work/requirements", "statusChangedTime.min"},
      {"/work/requirements", "statusChangedTime.max"},
      {"/work/tasks", "startedTime.min"},
      {"/work/tasks", "startedTime.max"},
      {"/work/tasks", "finishedTime.min"},
      {"/work/tasks", "finishedTime.max"},
      {"/workerPools/", "createdTime.min"}};
  for (const auto& [path, param] : params)
    for (const std::string bad : {"yesterday", "2026-13-01T00:00:00Z", "2026-01-01", "1767225600000"}) {
      Reply r = f.call("GET", path + "?sliced=true&" + param + "=" + bad);
      INFO(path << "?" << param << "=" << bad << " -> " << r.body.dump());
      CHECK(r.status == 400);
      CHECK(r.body["errorType"] == "InvalidRequestException");
      CHECK(r.body["message"].get<std::string>().find(param) != std::string::npos);
    }
  // An offset whose '+' arrived unencoded (a space) is still read.
  CHECK(f.call("GET", "/work/tasks?finishedTime.min=2026-01-01T02:00:00+02:00").status == 200);
  CHECK(f.call("GET", "/work/tasks?finishedTime.min=2026-01-01T02:00:00%2B02:00").status == 200);
}

TEST_CASE("time indexes follow retries and re-runs and survive compaction") {
  SimFixture f;
  json g = SimFixture::group("g", "r");
  g["runSpecification"]["maximumTaskRetries"] = 1;
  Running r = running_tasks(f, "r", 1, g);
  const std::string id = r.tasks[0];
  const std::string since = "2026-01-01T00:00:00.000Z";
  const std::string first_start = f.ok("GET", "/work/tasks/" + id)["startedTime"];
  CHECK(f.ok("GET", "/work/tasks?startedTime.min=" + since)["items"].size() == 1);
  // Failed with a retry left: waiting again, neither started nor finished.
  json retried = f.ok("POST", "/_sim/tasks/" + id + "/exit?code=2");
  REQUIRE(retried["status"] == "READY");
  CHECK_FALSE(retried.contains("startedTime"));
  CHECK_FALSE(retried.contains("finishedTime"));
  CHECK(f.ok("GET", "/work/tasks?startedTime.min=" + since)["items"].empty());
  CHECK(f.ok("GET", "/work/tasks?finishedTime.min=" + since)["items"].empty());
  // Runs again: found once, by its new start only.
  f.advance(3s);
  json again = f.ok("GET", "/work/tasks/" + id);
  REQUIRE(again["status"] == "EXECUTING");
  const std::string second_start = again["startedTime"];
  CHECK(second_start > first_start);
  json found = f.ok("GET", "/work/tasks?startedTime.min=" + since);
  REQUIRE(found["items"].size() == 1);
  CHECK(found["items"][0]["startedTime"] == second_start);
  CHECK(f.ok("GET", "/work/tasks?startedTime.max=" + first_start)["items"].empty());
  CHECK(f.sim.started_index().size() == 1);
  // Finished for good: once in each index.
  f.advance(1s);
  const std::string done = f.ok("POST", "/_sim/tasks/" + id + "/exit?code=0")["finishedTime"];
  found = f.ok("GET", "/work/tasks?finishedTime.min=" + done + "&finishedTime.max=" + done);
  REQUIRE(found["items"].size() == 1);
  CHECK(found["items"][0]["status"] == "COMPLETED");
  CHECK(f.ok("GET", "/work/tasks?startedTime.min=" + since)["items"].size() == 1);

  // Work requirements stamped thousands of times: stale entries are compacted away, and a slice id taken
  // before the compaction still continues where it was.
  json v =
      f.ok("POST", "/work/requirements", {{"namespace", "x"}, {"name", "v"}, {"taskGroups", json::array()}});
  json w =
      f.ok("POST", "/work/requirements", {{"namespace", "x"}, {"name", "w"}, {"taskGroups", json::array()}});
  const std::string q = "/work/requirements?sliced=true&size=1&namespace=x&statusChangedTime.min=" + since;
  json page = f.ok("GET", q);
  CHECK(names(page["items"]) == Names{"v"});
  const std::string cursor = page["nextSliceId"];
  for (int i = 0; i < 1500; ++i) {
    f.advance(1ms, 1ms);
    REQUIRE(f.sim.transition_work_requirement(w["id"].get<std::string>(), i % 2 ? "RUNNING" : "HELD", false));
  }
  CHECK(f.sim.status_changed_index().entries().size() < 1100);  // compacted, not 1,500 entries and more
  CHECK(f.sim.status_changed_index().size() == 3);              // r, v and w
  page = f.ok("GET", q + "&sliceId=" + cursor);
  CHECK(names(page["items"]) == Names{"w"});
  CHECK_FALSE(page.contains("nextSliceId"));
  CHECK(names(f.ok("GET", "/work/requirements?namespace=x&statusChangedTime.min=" + since)) ==
        Names{"v", "w"});
}

TEST_CASE("Date header values: RFC 7231 IMF-fixdate, seconds rounded down") {
  CHECK(format_http_date(*parse_timestamp("1994-11-06T08:49:37.999Z")) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(format_http_date(*parse_timestamp("2026-12-06T23:59:01Z")) == "Sun, 06 Dec 2026 23:59:01 GMT");
  CHECK(format_http_date(*parse_timestamp("2000-02-29T00:00:00Z")) == "Tue, 29 Feb 2000 00:00:00 GMT");
  CHECK(format_http_date(t0()) == "Thu, 01 Jan 2026 00:00:00 GMT");
}

TEST_CASE("instance search by compute requirement answers that requirement's instances in creation order") {
  SimFixture f;
  const json a = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("p-a", 3));
  const json b = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("p-b", 2));
  const auto hosts = [&](const std::string& query) {
    std::vector<std::string> out;
    const json found = f.ok("GET", "/compute/instances" + query);
    for (const auto& i : found["items"]) out.push_back(i["hostname"]);
    return out;
  };
  const std::string cr_a = a["computeRequirementId"], cr_b = b["computeRequirementId"];
  const auto of_a = hosts("?computeRequirementId=" + cr_a);
  const auto of_b = hosts("?computeRequirementId=" + cr_b);
  CHECK(of_a.size() == 3);
  CHECK(of_b.size() == 2);
  // The same instances, in the same order, as the unfiltered search (creation order) keeps them.
  auto all = hosts("");
  REQUIRE(all.size() == 5);
  CHECK(std::vector<std::string>(all.begin(), all.begin() + 3) == of_a);
  CHECK(std::vector<std::string>(all.begin() + 3, all.end()) == of_b);
  CHECK(hosts("?computeRequirementId=ydid:compreq:000000:unknown").empty());
  // Other filters still apply within the requirement.
  CHECK(hosts("?computeRequirementId=" + cr_a + "&hostname=" + of_a[1]) == std::vector<std::string>{of_a[1]});
}
