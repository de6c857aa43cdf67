// Lifecycles of YellowDog API §7 walked through the simulator's REST surface with a controlled clock.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "test/unit/yellowdog-sim/sim_fixture.hpp"

using namespace raydog::ydsim;
using namespace raydog::ydsim::testing;
using namespace std::chrono_literals;

namespace {

// Provisions a pool, creates a WR with one group for it and adds `n` tasks; returns {pool, wr, tasks}.
struct Cluster {
  json pool, wr, tasks;
};
Cluster make_cluster(SimFixture& f, int nodes = 1, bool fail_any = false, const std::string& name = "c1") {
  Cluster c;
  c.pool = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body(name + "-00-head", nodes));
  json wr = {{"namespace", "ray"},
             {"name", name},
             {"tag", "t"},
             {"priority", 0},
             {"taskGroups", {SimFixture::group("head-node", name + "-00-head", fail_any)}}};
  c.wr = f.ok("POST", "/work/requirements", wr);
  json tasks = json::array();
  for (int i = 1; i <= nodes; ++i) tasks.push_back(SimFixture::task("task-0000" + std::to_string(i)));
  c.tasks =
      f.ok("POST", "/work/taskGroups/" + c.wr["taskGroups"][0]["id"].get<std::string>() + "/tasks", tasks);
  return c;
}

std::string status_of(SimFixture& f, const std::string& path) {
  return f.ok("GET", path)["status"];
}

}  // namespace

TEST_CASE("provisioned pool, compute requirement, instance and node walk their lifecycles") {
  SimFixture f;
  json pool = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("p-00-head", 1));
  CHECK(pool["type"] == "co.yellowdog.platform.model.ProvisionedWorkerPool");
  CHECK(pool["status"] == "PENDING");
  CHECK(pool["name"] == "p-00-head");
  CHECK(pool["namespace"] == "ray");
  CHECK(pool["properties"]["idleNodeShutdown"]["timeout"] == "PT3M");
  std::string pool_id = pool["id"], cr_id = pool["computeRequirementId"];
  CHECK(pool_id.rfind("ydid:wrkrpool:000000:", 0) == 0);
  CHECK(cr_id.rfind("ydid:compreq:000000:", 0) == 0);
  CHECK(status_of(f, "/compute/requirements/" + cr_id) == "PROVISIONING");

  json inst = f.ok("GET", "/compute/instances?computeRequirementId=" + cr_id)["items"][0];
  CHECK(inst["status"] == "PENDING");
  // The core's block (the server claims its own): private 127.N.x.y, public 127.N.(128+x).y.
  const int block = f.ok("GET", "/_sim/stats")["ipBlock"];
  CHECK(block == 1);
  CHECK(inst["privateIpAddress"] == "127.1.0.1");
  CHECK(inst["publicIpAddress"] == "127.1.128.1");

  f.advance(1100ms);  // booted, not registered yet
  CHECK(f.ok("GET", "/compute/instances?computeRequirementId=" + cr_id)["items"][0]["status"] == "RUNNING");
  CHECK(status_of(f, "/compute/requirements/" + cr_id) == "RUNNING");
  CHECK(status_of(f, "/workerPools/" + pool_id) == "PENDING");
  f.advance(1000ms);  // registered
  CHECK(status_of(f, "/workerPools/" + pool_id) == "IDLE");
  json nodes = f.ok("GET", "/workerPools/nodes?workerPoolId=" + pool_id)["items"];
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0]["status"] == "RUNNING");
  CHECK(nodes[0]["details"]["workerTag"] == "p-00-head");
  CHECK(nodes[0]["details"]["privateIpAddress"] == inst["privateIpAddress"]);
  CHECK_FALSE(nodes[0]["details"].contains("publicIpAddress"));
  CHECK(nodes[0]["details"]["instanceId"] == inst["id"]["instanceId"]);
  REQUIRE(nodes[0]["workers"].size() == 1);
  CHECK(nodes[0]["workers"][0]["status"] == "STOPPED");

  // DELETE -> SHUTDOWN, CR terminates, instances and nodes go, pool TERMINATED.
  CHECK(f.ok("DELETE", "/workerPools/" + pool_id)["status"] == "SHUTDOWN");
  CHECK(status_of(f, "/compute/requirements/" + cr_id) == "TERMINATING");
  CHECK(status_of(f, "/workerPools/nodes/" + nodes[0]["id"].get<std::string>()) == "TERMINATED");
  f.advance(200ms);
  CHECK(status_of(f, "/compute/requirements/" + cr_id) == "TERMINATED");
  CHECK(status_of(f, "/workerPools/" + pool_id) == "TERMINATED");
  CHECK(f.ok("GET", "/compute/instances?computeRequirementId=" + cr_id)["items"][0]["status"] ==
        "TERMINATED");
  // Repeating the tear-down is tolerated by default.
  CHECK(f.ok("DELETE", "/workerPools/" + pool_id)["status"] == "TERMINATED");
  CHECK(f.ok("PUT", "/compute/requirements/" + cr_id + "/transition/TERMINATED")["status"] == "TERMINATED");
}

TEST_CASE("strict repeat mode refuses tear-down of finished pools and compute requirements") {
  SimConfig cfg;
  cfg.strict_repeat = true;
  SimFixture f(cfg);
  json pool = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("p", 1));
  f.ok("PUT",
       "/compute/requirements/" + pool["computeRequirementId"].get<std::string>() + "/transition/TERMINATED");
  f.advance(200ms);
  Reply r = f.call("PUT", "/compute/requirements/" + pool["computeRequirementId"].get<std::string>() +
                              "/transition/TERMINATED");
  CHECK(r.status == 403);
  CHECK(r.body["errorType"] == "InvalidComputeRequirementStatusException");
  r = f.call("DELETE", "/workerPools/" + pool["id"].get<std::string>());
  CHECK(r.status == 403);
  CHECK(r.body["errorType"] == "InvalidWorkerPoolStatusException");
}

TEST_CASE(
    "RayDog build(): head task reaches EXECUTING and its IPs resolve through worker, node and instance") {
  SimFixture f;
  Cluster c = make_cluster(f);
  CHECK(c.wr["status"] == "RUNNING");
  CHECK(c.wr["id"].get<std::string>().rfind("ydid:workreq:000000:", 0) == 0);
  json tg = c.wr["taskGroups"][0];
  CHECK(tg["id"] == c.wr["id"].get<std::string>().replace(0, 12, "ydid:taskgrp") + ":1");
  CHECK(tg["status"] == "PENDING");
  REQUIRE(c.tasks.size() == 1);
  std::string task_id = c.tasks[0]["id"];
  CHECK(c.tasks[0]["status"] == "READY");
  CHECK(c.tasks[0]["taskGroupId"] == tg["id"]);
  CHECK(c.tasks[0]["taskData"] == "#!/usr/bin/bash\nray start --block\n");

  f.advance(2100ms);  // boot + register + claim + allocate
  json task = f.ok("GET", "/work/tasks/" + task_id);
  CHECK(task["status"] == "ALLOCATED");
  CHECK(status_of(f, "/workerPools/" + c.pool["id"].get<std::string>()) == "RUNNING");
  CHECK(f.ok("GET", "/work/requirements/" + c.wr["id"].get<std::string>())["taskGroups"][0]["status"] ==
        "RUNNING");
  f.advance(600ms);
  CHECK(status_of(f, "/work/tasks/" + task_id) == "DOWNLOADING");
  f.advance(600ms);
  task = f.ok("GET", "/work/tasks/" + task_id);
  REQUIRE(task["status"] == "EXECUTING");
  CHECK(task.contains("startedTime"));

  // task -> worker -> node -> instance (§4.9)
  json node = f.ok("GET", "/workerPools/workers/" + task["workerId"].get<std::string>() + "/node");
  CHECK(node["id"] == task["nodeId"]);
  std::string private_ip = node["details"]["privateIpAddress"];
  json pool = f.ok("GET", "/workerPools/" + node["workerPoolId"].get<std::string>());
  json instances = f.ok(
      "GET", "/compute/instances?computeRequirementId=" + pool["computeRequirementId"].get<std::string>());
  json match;
  for (const auto& i : instances["items"])
    if (i["id"]["instanceId"] == node["details"]["instanceId"]) match = i;
  REQUIRE(match.is_object());
  CHECK(match["privateIpAddress"] == private_ip);
  const std::string block = "127." + std::to_string(f.ok("GET", "/_sim/stats")["ipBlock"].get<int>()) + ".";
  CHECK(match["publicIpAddress"].get<std::string>().rfind(block, 0) == 0);
  CHECK(private_ip.rfind(block, 0) == 0);

  // Executing stays executing (Ray blocks) until told otherwise.
  f.advance(60s, 1s);
  CHECK(status_of(f, "/work/tasks/" + task_id) == "EXECUTING");
  CHECK(status_of(f, "/work/requirements/" + c.wr["id"].get<std::string>()) == "RUNNING");
}

TEST_CASE("private-only templates give instances no public IP and instances get distinct private IPs") {
  SimFixture f;
  json p1 = f.ok("POST", "/workerPools/provisioned/template",
                 SimFixture::pool_body("a", 3, "ray", "ray/private-vm"));
  json p2 = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("b", 2));
  json a =
      f.ok("GET", "/compute/instances?computeRequirementId=" + p1["computeRequirementId"].get<std::string>());
  json b =
      f.ok("GET", "/compute/instances?computeRequirementId=" + p2["computeRequirementId"].get<std::string>());
  std::set<std::string> ips;
  for (const auto& i : a["items"]) {
    CHECK_FALSE(i.contains("publicIpAddress"));
    ips.insert(i["privateIpAddress"]);
  }
  for (const auto& i : b["items"]) {
    CHECK(i.contains("publicIpAddress"));
    ips.insert(i["privateIpAddress"]);
  }
  CHECK(ips.size() == 5);
}

TEST_CASE(
    "task exit codes: group COMPLETED, WR COMPLETED - a failure with finishIfAnyTaskFailed fails the group") {
  SimFixture f;
  Cluster c = make_cluster(f, 2);
  f.advance(4s);
  std::string t1 = c.tasks[0]["id"], t2 = c.tasks[1]["id"], wr_id = c.wr["id"];
  REQUIRE(status_of(f, "/work/tasks/" + t1) == "EXECUTING");
  REQUIRE(status_of(f, "/work/tasks/" + t2) == "EXECUTING");
  CHECK(f.ok("POST", "/_sim/tasks/" + t1 + "/exit?code=0")["status"] == "COMPLETED");
  f.advance(200ms);
  CHECK(f.ok("GET", "/work/requirements/" + wr_id)["taskGroups"][0]["status"] == "RUNNING");
  CHECK(f.ok("POST", "/_sim/tasks/" + t2 + "/exit?code=0")["status"] == "COMPLETED");
  f.advance(200ms);
  json wr = f.ok("GET", "/work/requirements/" + wr_id);
  CHECK(wr["taskGroups"][0]["status"] == "COMPLETED");
  CHECK(wr["taskGroups"][0]["taskSummary"]["statusCounts"]["COMPLETED"] == 2);
  CHECK(wr["status"] == "COMPLETED");
  // Exiting a finished task is refused.
  CHECK(f.call("POST", "/_sim/tasks/" + t2 + "/exit?code=1").status == 400);

  SimFixture g;
  Cluster d = make_cluster(g, 2, /*fail_any=*/true, "c2");
  // Only one node may boot: the second task waits while the first fails.
  g.advance(4s);
  json failed = g.ok("POST", "/_sim/tasks/" + d.tasks[0]["id"].get<std::string>() + "/exit?code=3");
  CHECK(failed["status"] == "FAILED");
  CHECK(failed["errors"][0]["errorType"] == "PROCESS_NON_ZERO_EXIT");
  CHECK(failed["errors"][0]["processExitCode"] == 3);
  g.advance(200ms);
  json wr2 = g.ok("GET", "/work/requirements/" + d.wr["id"].get<std::string>());
  CHECK(wr2["taskGroups"][0]["status"] == "FAILING");  // the other task still executes
  g.ok("POST", "/_sim/tasks/" + d.tasks[1]["id"].get<std::string>() + "/exit?code=0");
  g.advance(200ms);
  wr2 = g.ok("GET", "/work/requirements/" + d.wr["id"].get<std::string>());
  CHECK(wr2["taskGroups"][0]["status"] == "FAILED");
  CHECK(wr2["status"] == "FAILED");
}

TEST_CASE("finishIfAnyTaskFailed discards waiting tasks") {
  SimFixture f;
  json pool = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("h", 1));
  json wr = f.ok("POST", "/work/requirements",
                 {{"namespace", "ray"}, {"name", "w"}, {"taskGroups", {SimFixture::group("g", "h", true)}}});
  std::string tg = wr["taskGroups"][0]["id"];
  json tasks =
      f.ok("POST", "/work/taskGroups/" + tg + "/tasks", {SimFixture::task("a"), SimFixture::task("b")});
  f.advance(4s);
  REQUIRE(status_of(f, "/work/tasks/" + tasks[0]["id"].get<std::string>()) == "EXECUTING");
  CHECK(status_of(f, "/work/tasks/" + tasks[1]["id"].get<std::string>()) == "READY");  // maxNodes 1
  f.ok("POST", "/_sim/tasks/" + tasks[0]["id"].get<std::string>() + "/exit?code=1");
  f.advance(200ms);
  CHECK(status_of(f, "/work/tasks/" + tasks[1]["id"].get<std::string>()) == "DISCARDED");
  CHECK(f.ok("GET", "/work/requirements/" + wr["id"].get<std::string>())["taskGroups"][0]["status"] ==
        "FAILED");
}

TEST_CASE(
    "cancel with abort: executing tasks ABORTED, waiting tasks CANCELLED, WR CANCELLING then CANCELLED") {
  SimFixture f;
  Cluster c = make_cluster(f, 1);
  std::string tg = c.wr["taskGroups"][0]["id"], wr_id = c.wr["id"];
  json waiting = f.ok("POST", "/work/taskGroups/" + tg + "/tasks", json::array({SimFixture::task("extra")}));
  f.advance(4s);
  REQUIRE(status_of(f, "/work/tasks/" + c.tasks[0]["id"].get<std::string>()) == "EXECUTING");
  json wr = f.ok("PUT", "/work/requirements/" + wr_id + "/transition/CANCELLING?abort=True");
  CHECK(wr["status"] == "CANCELLING");
  json t = f.ok("GET", "/work/tasks/" + c.tasks[0]["id"].get<std::string>());
  CHECK(t["status"] == "ABORTED");
  CHECK(t.contains("abortRequestedTime"));
  CHECK(status_of(f, "/work/tasks/" + waiting[0]["id"].get<std::string>()) == "CANCELLED");
  f.advance(200ms);
  wr = f.ok("GET", "/work/requirements/" + wr_id);
  CHECK(wr["status"] == "CANCELLED");
  CHECK(wr["taskGroups"][0]["status"] == "CANCELLED");
  // The worker is released: the pool goes back to IDLE.
  CHECK(status_of(f, "/workerPools/" + c.pool["id"].get<std::string>()) == "IDLE");
  // Cancelling a finished WR is refused (403).
  Reply r = f.call("PUT", "/work/requirements/" + wr_id + "/transition/CANCELLING?abort=true");
  CHECK(r.status == 403);
  CHECK(r.body["errorType"] == "InvalidWorkRequirementStatusException");
  // Adding tasks to it is refused too.
  CHECK(f.call("POST", "/work/taskGroups/" + tg + "/tasks", json::array({SimFixture::task("late")})).status ==
        403);
}

TEST_CASE("cancel without abort lets executing tasks finish - re-cancel with abort is accepted") {
  SimFixture f;
  Cluster c = make_cluster(f, 1);
  std::string wr_id = c.wr["id"], task_id = c.tasks[0]["id"];
  f.advance(4s);
  REQUIRE(status_of(f, "/work/tasks/" + task_id) == "EXECUTING");
  CHECK(f.ok("PUT", "/work/requirements/" + wr_id + "/transition/CANCELLING?abort=false")["status"] ==
        "CANCELLING");
  f.advance(2s);
  CHECK(status_of(f, "/work/tasks/" + task_id) == "EXECUTING");
  CHECK(status_of(f, "/work/requirements/" + wr_id) == "CANCELLING");
  CHECK(f.ok("GET", "/work/requirements/" + wr_id)["taskGroups"][0]["status"] == "CANCELLING");

  SUBCASE("the task exits on its own") {
    f.ok("POST", "/_sim/tasks/" + task_id + "/exit?code=0");
    f.advance(200ms);
    CHECK(status_of(f, "/work/tasks/" + task_id) == "COMPLETED");
    CHECK(status_of(f, "/work/requirements/" + wr_id) == "CANCELLED");
  }
  SUBCASE("a second cancel with abort aborts it") {
    CHECK(f.ok("PUT", "/work/requirements/" + wr_id + "/transition/CANCELLING?abort=true")["status"] ==
          "CANCELLING");
    CHECK(status_of(f, "/work/tasks/" + task_id) == "ABORTED");
    f.advance(200ms);
    CHECK(status_of(f, "/work/requirements/" + wr_id) == "CANCELLED");
  }
}

TEST_CASE("transition to CANCELLED directly is refused with 403 - HELD/RUNNING/FINISHING transitions") {
  SimFixture f;
  Cluster c = make_cluster(f, 1);
  std::string wr_id = c.wr["id"];
  Reply r = f.call("PUT", "/work/requirements/" + wr_id + "/transition/CANCELLED");
  CHECK(r.status == 403);
  CHECK(r.body["errorType"] == "InvalidWorkRequirementStatusException");
  CHECK(r.body["message"].get<std::string>().find("CANCELLED") != std::string::npos);
  CHECK(status_of(f, "/work/requirements/" + wr_id) == "RUNNING");
  CHECK(f.call("PUT", "/work/requirements/" + wr_id + "/transition/BOGUS").status == 400);

  // HELD: nothing is allocated while held.
  CHECK(f.ok("PUT", "/work/requirements/" + wr_id + "/transition/HELD?abort=false")["status"] == "HELD");
  f.advance(4s);
  CHECK(status_of(f, "/work/tasks/" + c.tasks[0]["id"].get<std::string>()) == "READY");
  CHECK(f.call("PUT", "/work/requirements/" + wr_id + "/transition/HELD").status == 403);
  CHECK(f.ok("PUT", "/work/requirements/" + wr_id + "/transition/RUNNING")["status"] == "RUNNING");
  f.advance(2s);
  CHECK(status_of(f, "/work/tasks/" + c.tasks[0]["id"].get<std::string>()) == "EXECUTING");
  // FINISHING: no new tasks; completes when the running ones end.
  CHECK(f.ok("PUT", "/work/requirements/" + wr_id + "/transition/FINISHING")["status"] == "FINISHING");
  CHECK(f.call("POST", "/work/taskGroups/" + c.wr["taskGroups"][0]["id"].get<std::string>() + "/tasks",
               json::array({SimFixture::task("x")}))
            .status == 403);
  f.ok("POST", "/_sim/tasks/" + c.tasks[0]["id"].get<std::string>() + "/exit?code=0");
  f.advance(200ms);
  CHECK(status_of(f, "/work/requirements/" + wr_id) == "COMPLETED");
}

TEST_CASE("pool shutdown and CR terminate fail executing tasks with ALLOCATION_LOST") {
  SimFixture f;
  Cluster c = make_cluster(f, 2);
  f.advance(4s);
  std::string t1 = c.tasks[0]["id"];
  REQUIRE(status_of(f, "/work/tasks/" + t1) == "EXECUTING");

  SUBCASE("pool DELETE") {
    CHECK(f.ok("DELETE", "/workerPools/" + c.pool["id"].get<std::string>())["status"] == "SHUTDOWN");
  }
  SUBCASE("CR terminate") {
    CHECK(f.ok("PUT", "/compute/requirements/" + c.pool["computeRequirementId"].get<std::string>() +
                          "/transition/TERMINATED")["status"] == "TERMINATING");
  }
  for (const auto& t : c.tasks) {
    json task = f.ok("GET", "/work/tasks/" + t["id"].get<std::string>());
    CHECK(task["status"] == "FAILED");
    REQUIRE(task["errors"].size() == 1);
    CHECK(task["errors"][0]["errorType"] == "ALLOCATION_LOST");
    CHECK(task["errors"][0]["statusAtFailure"] == "EXECUTING");
  }
  f.advance(200ms);
  CHECK(status_of(f, "/workerPools/" + c.pool["id"].get<std::string>()) == "TERMINATED");
  json wr = f.ok("GET", "/work/requirements/" + c.wr["id"].get<std::string>());
  CHECK(wr["taskGroups"][0]["status"] == "FAILED");
  json nodes = f.ok("GET", "/workerPools/nodes?workerPoolId=" + c.pool["id"].get<std::string>());
  for (const auto& n : nodes["items"]) CHECK(n["status"] == "TERMINATED");
}

TEST_CASE("lost node and lost instance fail their tasks - the pool grows a replacement for waiting tasks") {
  SimFixture f;
  Cluster c = make_cluster(f, 1);
  f.advance(4s);
  json task = f.ok("GET", "/work/tasks/" + c.tasks[0]["id"].get<std::string>());
  REQUIRE(task["status"] == "EXECUTING");
  SUBCASE("node") {
    CHECK(f.ok("POST", "/_sim/nodes/" + task["nodeId"].get<std::string>() + "/lose")["status"] == "LOST");
  }
  SUBCASE("instance") {
    json node = f.ok("GET", "/workerPools/nodes/" + task["nodeId"].get<std::string>());
    json inst = f.ok("POST", "/_sim/instances/" + node["details"]["instanceId"].get<std::string>() + "/lose");
    CHECK(inst["status"] == "TERMINATED");
    CHECK(status_of(f, "/workerPools/nodes/" + task["nodeId"].get<std::string>()) == "LOST");
  }
  task = f.ok("GET", "/work/tasks/" + c.tasks[0]["id"].get<std::string>());
  CHECK(task["status"] == "FAILED");
  CHECK(task["errors"][0]["errorType"] == "ALLOCATION_LOST");
  CHECK(f.ok("GET", "/workerPools/" +
                        c.pool["id"].get<std::string>())["workerSummary"]["statusCounts"]["LOST"] == 1);

  // A new task for the (unfinished) group: the pool has no node left and grows one.
  json wr = f.ok("GET", "/work/requirements/" + c.wr["id"].get<std::string>());
  // The group failed (its only task failed); use a fresh group via PUT.
  wr["taskGroups"].push_back(SimFixture::group("head-node-2", "c1-00-head"));
  wr = f.ok("PUT", "/work/requirements", wr);
  json t2 = f.ok("POST", "/work/taskGroups/" + wr["taskGroups"][1]["id"].get<std::string>() + "/tasks",
                 json::array({SimFixture::task("again")}));
  f.advance(5s);
  CHECK(status_of(f, "/work/tasks/" + t2[0]["id"].get<std::string>()) == "EXECUTING");
  CHECK(f.ok("GET", "/compute/instances?computeRequirementId=" +
                        c.pool["computeRequirementId"].get<std::string>())["items"]
            .size() == 2);
}

TEST_CASE("retries: a failed task with retries left goes back to waiting") {
  SimFixture f;
  f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("r", 1));
  json g = SimFixture::group("g", "r");
  g["runSpecification"]["maximumTaskRetries"] = 1;
  json wr = f.ok("POST", "/work/requirements", {{"namespace", "ray"}, {"name", "r"}, {"taskGroups", {g}}});
  json t = f.ok("POST", "/work/taskGroups/" + wr["taskGroups"][0]["id"].get<std::string>() + "/tasks",
                json::array({SimFixture::task("a")}));
  std::string id = t[0]["id"];
  f.advance(4s);
  json after = f.ok("POST", "/_sim/tasks/" + id + "/exit?code=2");
  CHECK(after["status"] == "READY");
  CHECK(after["retryCount"] == 1);
  f.advance(2s);
  CHECK(status_of(f, "/work/tasks/" + id) == "EXECUTING");
  CHECK(f.ok("POST", "/_sim/tasks/" + id + "/exit?code=2")["status"] == "FAILED");
}

TEST_CASE("task timeout fails an executing task with TIMED_OUT") {
  SimFixture f;
  f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("r", 1));
  json g = SimFixture::group("g", "r");
  g["runSpecification"]["taskTimeout"] = "PT10S";
  json wr = f.ok("POST", "/work/requirements", {{"namespace", "ray"}, {"name", "r"}, {"taskGroups", {g}}});
  json t = f.ok("POST", "/work/taskGroups/" + wr["taskGroups"][0]["id"].get<std::string>() + "/tasks",
                json::array({SimFixture::task("a")}));
  f.advance(4s);
  REQUIRE(status_of(f, "/work/tasks/" + t[0]["id"].get<std::string>()) == "EXECUTING");
  f.advance(11s);
  json task = f.ok("GET", "/work/tasks/" + t[0]["id"].get<std::string>());
  CHECK(task["status"] == "FAILED");
  CHECK(task["errors"][0]["errorType"] == "TIMED_OUT");
}

TEST_CASE("task cancel: waiting -> CANCELLED, executing with abort -> ABORTED, finished -> 403") {
  SimFixture f;
  Cluster c = make_cluster(f, 1);
  std::string tg = c.wr["taskGroups"][0]["id"];
  json extra = f.ok("POST", "/work/taskGroups/" + tg + "/tasks", json::array({SimFixture::task("w")}));
  f.advance(4s);
  std::string run = c.tasks[0]["id"], wait = extra[0]["id"];
  REQUIRE(status_of(f, "/work/tasks/" + run) == "EXECUTING");
  CHECK(f.ok("PUT", "/work/tasks/" + wait + "/cancel?abort=false")["status"] == "CANCELLED");
  CHECK(f.ok("PUT", "/work/tasks/" + run + "/cancel?abort=false")["status"] == "EXECUTING");
  CHECK(f.ok("PUT", "/work/tasks/" + run + "/cancel?abort=true")["status"] == "ABORTED");
  Reply r = f.call("PUT", "/work/tasks/" + run + "/cancel?abort=true");
  CHECK(r.status == 403);
  CHECK(r.body["errorType"] == "InvalidTaskStatusException");
}

TEST_CASE("duplicate names are refused with 400 InvalidRequestException ... already exists") {
  SimFixture f;
  json pool = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("dup", 1));
  Reply r = f.call("POST", "/workerPools/provisioned/template", SimFixture::pool_body("dup", 1));
  CHECK(r.status == 400);
  CHECK(r.body["errorType"] == "InvalidRequestException");
  CHECK(r.body["message"].get<std::string>().find("already exists") != std::string::npos);
  // Another namespace is fine.
  f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("dup", 1, "other"));

  json wr = {{"namespace", "ray"}, {"name", "w"}, {"taskGroups", {SimFixture::group("g", "dup")}}};
  json created = f.ok("POST", "/work/requirements", wr);
  r = f.call("POST", "/work/requirements", wr);
  CHECK(r.status == 400);
  CHECK(r.body["message"].get<std::string>().find("already exists") != std::string::npos);
  // Duplicate group names in one WR and duplicate task names in one group.
  json two = {{"namespace", "ray"},
              {"name", "w2"},
              {"taskGroups", {SimFixture::group("g", "x"), SimFixture::group("g", "y")}}};
  CHECK(f.call("POST", "/work/requirements", two).status == 400);
  std::string tg = created["taskGroups"][0]["id"];
  f.ok("POST", "/work/taskGroups/" + tg + "/tasks", json::array({SimFixture::task("t1")}));
  r = f.call("POST", "/work/taskGroups/" + tg + "/tasks", json::array({SimFixture::task("t1")}));
  CHECK(r.status == 400);
  CHECK(r.body["message"].get<std::string>().find("already exists") != std::string::npos);
  // Invalid names.
  CHECK(f.call("POST", "/workerPools/provisioned/template", SimFixture::pool_body("Bad_Name", 1)).status ==
        400);

  // Once finished, a name may be used again; lookups by name prefer the live object.
  f.ok("DELETE", "/workerPools/" + pool["id"].get<std::string>());
  f.advance(200ms);
  json again = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("dup", 1));
  CHECK(again["id"] != pool["id"]);
  CHECK(f.ok("GET", "/workerPools/ray/dup")["id"] == again["id"]);
}

TEST_CASE("WR update appends a task group, keeps ids and echoes unknown fields") {
  SimFixture f;
  json wr = f.ok("POST", "/work/requirements",
                 {{"namespace", "ray"},
                  {"name", "u"},
                  {"customField", {{"a", 1}}},
                  {"taskGroups", {SimFixture::group("head-node", "h")}}});
  CHECK(wr["customField"]["a"] == 1);
  CHECK(wr["taskGroups"][0]["finishIfAllTasksFinished"] == true);
  json g = SimFixture::group("worker-nodes-01", "w");
  g["completedTaskTtl"] = "PT10M";
  wr["taskGroups"].push_back(g);
  wr["anotherField"] = "x";
  json updated = f.ok("PUT", "/work/requirements", wr);
  REQUIRE(updated["taskGroups"].size() == 2);
  CHECK(updated["taskGroups"][0]["id"] == wr["taskGroups"][0]["id"]);
  CHECK(updated["taskGroups"][1]["id"].get<std::string>().ends_with(":2"));
  CHECK(updated["taskGroups"][1]["name"] == "worker-nodes-01");
  CHECK(updated["taskGroups"][1]["completedTaskTtl"] == "PT10M");
  CHECK(updated["anotherField"] == "x");
  CHECK(updated["customField"]["a"] == 1);
  CHECK(updated["id"] == wr["id"]);
  // Unknown id -> 404; duplicate new group name -> 400.
  json bogus = wr;
  bogus["id"] = "ydid:workreq:000000:00000000-0000-4000-8000-000000000000";
  CHECK(f.call("PUT", "/work/requirements", bogus).status == 404);
  json dup = updated;
  dup["taskGroups"].push_back(SimFixture::group("worker-nodes-01", "w"));
  CHECK(f.call("PUT", "/work/requirements", dup).status == 400);
}

TEST_CASE("matching rule §7.1: worker tag, namespace, task types, constraints") {
  Simulator sim;
  auto pool = sim.provision_pool(SimFixture::pool_body("p", 1, "ns1"));
  REQUIRE(pool.ok());
  auto wr = sim.create_work_requirement(
      {{"namespace", "ns1"}, {"name", "m"}, {"taskGroups", {SimFixture::group("g", "p", false, "ns1")}}});
  REQUIRE(wr.ok());
  TaskGroup& g = *(*wr)->groups[0];
  CHECK(Simulator::matches(g, **pool));
  g.spec["runSpecification"]["workerTags"] = {"other"};
  CHECK_FALSE(Simulator::matches(g, **pool));
  g.spec["runSpecification"].erase("workerTags");  // absent: any tag
  CHECK(Simulator::matches(g, **pool));
  g.spec["runSpecification"]["namespaces"] = {"ns2"};
  CHECK_FALSE(Simulator::matches(g, **pool));
  g.spec["runSpecification"]["namespaces"] = json::array();  // empty: any namespace
  CHECK(Simulator::matches(g, **pool));
  g.spec["runSpecification"]["taskTypes"] = {"bash", "python"};  // every type must be supported
  CHECK_FALSE(Simulator::matches(g, **pool));
  g.spec["runSpecification"]["taskTypes"] = {"bash"};
  g.spec["runSpecification"]["vcpus"] = {{"min", 4}};
  CHECK_FALSE(Simulator::matches(g, **pool));
  g.spec["runSpecification"]["vcpus"] = {{"min", 1}, {"max", 8}};
  CHECK(Simulator::matches(g, **pool));
  g.spec["runSpecification"]["providers"] = {"AWS"};
  CHECK_FALSE(Simulator::matches(g, **pool));
}

TEST_CASE("a group whose tags match no pool stays starved and its WR stays RUNNING") {
  SimFixture f;
  f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("p", 1));
  json wr = f.ok("POST", "/work/requirements",
                 {{"namespace", "ray"}, {"name", "s"}, {"taskGroups", {SimFixture::group("g", "nobody")}}});
  json t = f.ok("POST", "/work/taskGroups/" + wr["taskGroups"][0]["id"].get<std::string>() + "/tasks",
                json::array({SimFixture::task("a")}));
  f.advance(10s, 500ms);
  json now = f.ok("GET", "/work/requirements/" + wr["id"].get<std::string>());
  CHECK(now["status"] == "RUNNING");
  CHECK(now["taskGroups"][0]["starved"] == true);
  CHECK(status_of(f, "/work/tasks/" + t[0]["id"].get<std::string>()) == "READY");
}

TEST_CASE("pools grow up to maxNodes while matching tasks wait") {
  SimFixture f;
  json body = SimFixture::pool_body("g", 0);
  body["provisionedProperties"]["maxNodes"] = 3;
  json pool = f.ok("POST", "/workerPools/provisioned/template", body);
  f.advance(200ms);
  CHECK(status_of(f, "/workerPools/" + pool["id"].get<std::string>()) == "EMPTY");
  json wr = f.ok("POST", "/work/requirements",
                 {{"namespace", "ray"}, {"name", "gw"}, {"taskGroups", {SimFixture::group("g", "g")}}});
  json tasks = json::array();
  for (int i = 0; i < 5; ++i) tasks.push_back(SimFixture::task("t" + std::to_string(i)));
  f.ok("POST", "/work/taskGroups/" + wr["taskGroups"][0]["id"].get<std::string>() + "/tasks", tasks);
  f.advance(5s);
  std::string cr = pool["computeRequirementId"];
  CHECK(f.ok("GET", "/compute/instances?computeRequirementId=" + cr)["items"].size() == 3);
  json s = f.ok("GET", "/_sim/stats");
  CHECK(s["objects"]["tasks"]["EXECUTING"] == 3);
  CHECK(s["objects"]["tasks"]["READY"] == 2);
}

TEST_CASE("resize a provisioned pool up and down") {
  SimFixture f;
  json pool = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("rs", 1));
  std::string id = pool["id"], cr = pool["computeRequirementId"];
  CHECK(f.ok("PUT", "/workerPools/provisioned/" + id + "?size=3")["expectedNodeCount"] == 3);
  f.advance(3s);
  CHECK(f.ok("GET", "/workerPools/" + id)["nodeSummary"]["statusCounts"]["RUNNING"] == 3);
  CHECK(f.ok("PUT", "/workerPools/provisioned/" + id + "?size=1")["expectedNodeCount"] == 1);
  CHECK(f.ok("GET", "/compute/requirements/" + cr)["targetInstanceCount"] == 1);
  CHECK(f.call("PUT", "/workerPools/provisioned/" + id).status == 400);
}

TEST_CASE("idle node and idle pool shutdown timers") {
  SimFixture f;
  json body = SimFixture::pool_body("idle", 2);
  body["provisionedProperties"]["idleNodeShutdown"] = {{"enabled", true}, {"timeout", "PT30S"}};
  body["provisionedProperties"]["idlePoolShutdown"] = {{"enabled", true}, {"timeout", "PT2M"}};
  body["provisionedProperties"]["minNodes"] = 1;
  json pool = f.ok("POST", "/workerPools/provisioned/template", body);
  std::string id = pool["id"];
  f.advance(3s);
  CHECK(f.ok("GET", "/workerPools/" + id)["nodeSummary"]["statusCounts"]["RUNNING"] == 2);
  f.advance(30s, 1s);
  json p = f.ok("GET", "/workerPools/" + id);
  CHECK(p["nodeSummary"]["statusCounts"]["RUNNING"] == 1);  // not below minNodes
  CHECK(p["nodeSummary"]["statusCounts"]["TERMINATED"] == 1);
  CHECK(p["status"] == "IDLE");
  f.advance(80s, 1s);  // idle since the nodes registered (t=2s); the pool timer fires at t=122s
  CHECK(status_of(f, "/workerPools/" + id) == "IDLE");
  f.advance(30s, 1s);
  CHECK(status_of(f, "/workerPools/" + id) == "TERMINATED");

  // Timers are disabled when zero or not enabled.
  SimFixture g;
  json b2 = SimFixture::pool_body("z", 1);
  b2["provisionedProperties"]["idleNodeShutdown"] = {{"enabled", true}, {"timeout", "PT0S"}};
  b2["provisionedProperties"]["idlePoolShutdown"] = {{"enabled", false}, {"timeout", "PT1S"}};
  json p2 = g.ok("POST", "/workerPools/provisioned/template", b2);
  g.advance(60s, 1s);
  CHECK(status_of(g, "/workerPools/" + p2["id"].get<std::string>()) == "IDLE");
}

TEST_CASE("a pool whose provisioning fails shuts down and terminates") {
  SimFixture f;
  json pool = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("fp", 2));
  std::string id = pool["id"];
  CHECK(f.ok("POST", "/_sim/workerPools/" + id + "/fail-provisioning")["id"] == id);
  f.advance(2s);
  json p = f.ok("GET", "/workerPools/" + id);
  CHECK(p["status"] == "TERMINATED");
  CHECK(status_of(f, "/compute/requirements/" + pool["computeRequirementId"].get<std::string>()) ==
        "TERMINATED");
  CHECK(f.ok("GET", "/workerPools/")[0]["healthy"] == false);
}

TEST_CASE("stats count objects by kind and status - objects lists everything") {
  SimFixture f;
  Cluster c = make_cluster(f, 1);
  f.advance(4s);
  json s = f.ok("GET", "/_sim/stats");
  CHECK(s["objects"]["workRequirements"]["RUNNING"] == 1);
  CHECK(s["objects"]["workerPools"]["RUNNING"] == 1);
  CHECK(s["objects"]["tasks"]["EXECUTING"] == 1);
  CHECK(s["objects"]["nodes"]["RUNNING"] == 1);
  CHECK(s["objects"]["instances"]["RUNNING"] == 1);
  json o = f.ok("GET", "/_sim/objects");
  CHECK(o["workRequirements"].size() == 1);
  CHECK(o["tasks"].size() == 1);
  CHECK(o["workerPools"].size() == 1);
  CHECK(o["computeRequirements"].size() == 1);
  CHECK(o["nodes"].size() == 1);
  CHECK(f.call("GET", "/_sim/nope").status == 404);
}

TEST_CASE("many clusters at once: every task reaches EXECUTING on its own pool, no stray instances") {
  SimFixture f;
  constexpr int kClusters = 40, kNodes = 3;
  std::vector<std::string> task_ids;
  for (int c = 0; c < kClusters; ++c) {
    std::string name = "m" + std::to_string(c);
    f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body(name + "-01-wrkrs", kNodes));
    json wr = f.ok(
        "POST", "/work/requirements",
        {{"namespace", "ray"}, {"name", name}, {"taskGroups", {SimFixture::group("w", name + "-01-wrkrs")}}});
    json tasks = json::array();
    for (int i = 0; i < kNodes; ++i) tasks.push_back(SimFixture::task("t" + std::to_string(i)));
    json added =
        f.ok("POST", "/work/taskGroups/" + wr["taskGroups"][0]["id"].get<std::string>() + "/tasks", tasks);
    for (const auto& t : added) task_ids.push_back(t["id"]);
  }
  f.advance(4s);
  json stats = f.ok("GET", "/_sim/stats");
  CHECK(stats["objects"]["tasks"]["EXECUTING"] == kClusters * kNodes);
  CHECK(stats["objects"]["instances"]["RUNNING"] == kClusters * kNodes);
  CHECK(stats["objects"]["instances"].size() == 1);
  // Each task runs on a node of the pool its group's tag names.
  json objects = f.ok("GET", "/_sim/objects");
  std::map<std::string, std::string> node_tag;
  for (const auto& n : objects["nodes"]) node_tag[n["id"]] = n["details"]["workerTag"];
  std::set<std::string> nodes_used;
  for (const auto& t : objects["tasks"]) {
    nodes_used.insert(t["nodeId"].get<std::string>());
    CHECK(!node_tag[t["nodeId"]].empty());
  }
  CHECK(nodes_used.size() == static_cast<std::size_t>(kClusters * kNodes));  // one Ray node per VM
}

TEST_CASE("a settled simulation skips the walk until an API call changes something or a timer fires") {
  SimFixture f;
  Cluster c = make_cluster(f, 2);
  f.advance(5s);
  std::string t1 = c.tasks[0]["id"], t2 = c.tasks[1]["id"];
  REQUIRE(status_of(f, "/work/tasks/" + t1) == "EXECUTING");

  // Settled: an hour of 100 ms ticks and reads walk nothing (the idle timers are not armed: busy nodes).
  std::uint64_t settled = f.sim.full_ticks();
  f.advance(3600s);
  f.ok("GET", "/work/tasks?workRequirementId=" + c.wr["id"].get<std::string>());
  CHECK(f.sim.full_ticks() == settled);
  CHECK(f.ok("GET", "/_sim/stats")["fullTicks"] == settled);

  // A task exit wakes it; the freed node's and the pool's idle clocks start at the exit, not at the last
  // walk an hour ago (PT3M timers of SimFixture::pool_body).
  CHECK(f.ok("POST", "/_sim/tasks/" + t1 + "/exit?code=0")["status"] == "COMPLETED");
  f.advance(1s);
  CHECK(f.sim.full_ticks() > settled);
  std::string pool = c.pool["id"];
  CHECK(f.ok("GET", "/workerPools/" + pool)["nodeSummary"]["statusCounts"]["RUNNING"] == 2);
  f.advance(170s);
  CHECK(f.ok("GET", "/workerPools/" + pool)["nodeSummary"]["statusCounts"]["RUNNING"] == 2);
  // The idle node's timer wakes the quiet simulation at exit + 3 min.
  std::uint64_t before_timer = f.sim.full_ticks();
  f.advance(15s);
  CHECK(f.sim.full_ticks() > before_timer);
  json p = f.ok("GET", "/workerPools/" + pool);
  CHECK(p["nodeSummary"]["statusCounts"]["RUNNING"] == 1);
  CHECK(p["status"] == "RUNNING");  // the other node still runs t2

  // The pool itself stays busy (t2) through another quiet hour, so its idle clock starts only when t2
  // ends.
  f.advance(3600s);
  CHECK(f.ok("POST", "/_sim/tasks/" + t2 + "/exit?code=0")["status"] == "COMPLETED");
  f.advance(170s);
  CHECK(status_of(f, "/workerPools/" + pool) != "TERMINATED");
  f.advance(15s);
  CHECK(status_of(f, "/workerPools/" + pool) == "TERMINATED");
}

TEST_CASE("a task search by work requirement answers its tasks in creation order") {
  SimFixture f;
  Cluster a = make_cluster(f, 1, false, "a");
  Cluster b = make_cluster(f, 1, false, "b");
  // A second group of `a` gets a task after `b`'s: creation order interleaves the groups.
  json wr = a.wr;
  wr["taskGroups"].push_back(SimFixture::group("worker", "a-00-head"));
  json updated = f.ok("PUT", "/work/requirements", wr);
  std::string g2 = updated["taskGroups"][1]["id"];
  f.ok("POST", "/work/taskGroups/" + g2 + "/tasks", json::array({SimFixture::task("w1")}));
  f.ok("POST", "/work/taskGroups/" + a.wr["taskGroups"][0]["id"].get<std::string>() + "/tasks",
       json::array({SimFixture::task("h2")}));

  json found = f.ok("GET", "/work/tasks?workRequirementId=" + a.wr["id"].get<std::string>());
  std::vector<std::string> names;
  for (const auto& t : found["items"]) names.push_back(t["name"]);
  CHECK(names == std::vector<std::string>{"task-00001", "w1", "h2"});
  CHECK(f.ok("GET", "/work/tasks?workRequirementId=ydid:wrkreq:000000:nope")["items"].empty());
  CHECK(f.ok("GET", "/work/tasks")["items"].size() == 4);
}

TEST_CASE("node addresses: private 127.N.x.y and public 127.N.(128+x).y, distinct, never the block's sentinel") {
  SimConfig cfg;
  cfg.ip_block = 42;
  SimFixture f(cfg);
  json pool = f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("many", 600));
  const std::string cr = pool["computeRequirementId"];
  std::set<std::string> seen;
  std::string next = "/compute/instances?computeRequirementId=" + cr + "&size=1000";
  json page = f.ok("GET", next);
  REQUIRE(page["items"].size() == 600);
  for (const auto& i : page["items"]) {
    const std::string priv = i["privateIpAddress"], pub = i["publicIpAddress"];
    CHECK(priv.rfind("127.42.", 0) == 0);
    CHECK(pub.rfind("127.42.", 0) == 0);
    const int x = std::stoi(priv.substr(7, priv.find('.', 7) - 7));
    const int px = std::stoi(pub.substr(7, pub.find('.', 7) - 7));
    CHECK(x < 128);
    CHECK(px == 128 + x);
    CHECK(priv.substr(priv.rfind('.')) == pub.substr(pub.rfind('.')));
    CHECK(pub != "127.42.255.255");
    CHECK(seen.insert(priv).second);
    CHECK(seen.insert(pub).second);
  }
  CHECK(page["items"][254]["privateIpAddress"] == "127.42.1.1");  // the 255th instance
}

TEST_CASE("node addresses beyond one block come from the next block - none free: they repeat") {
  SimConfig cfg;
  cfg.ip_block = 42;
  cfg.instances_per_block = 10;  // 32,512 in a real run
  auto private_ips = [](SimFixture& f, const json& pool) {
    std::vector<std::string> out;
    const json page = f.ok("GET", "/compute/instances?size=1000&computeRequirementId=" +
                                      pool["computeRequirementId"].get<std::string>());
    for (const auto& i : page["items"]) out.push_back(i["privateIpAddress"]);
    return out;
  };
  {
    SimFixture f(cfg);  // no hook: the blocks after 42 are numbered on
    const auto ips =
        private_ips(f, f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("p", 25)));
    REQUIRE(ips.size() == 25);
    CHECK(ips[0] == "127.42.0.1");
    CHECK(ips[9] == "127.42.0.10");
    CHECK(ips[10] == "127.43.0.1");
    CHECK(ips[20] == "127.44.0.1");
    CHECK(std::set<std::string>(ips.begin(), ips.end()).size() == 25);
    CHECK(f.ok("GET", "/_sim/stats")["ipBlocks"] == json::array({42, 43, 44}));
  }
  SimFixture f(cfg);
  int asked = 0;
  f.sim.claim_ip_block = [&asked] { return ++asked == 1 ? 77 : 0; };  // one more block, then none
  const auto ips =
      private_ips(f, f.ok("POST", "/workerPools/provisioned/template", SimFixture::pool_body("p", 25)));
  REQUIRE(ips.size() == 25);
  CHECK(ips[10] == "127.77.0.1");
  CHECK(ips[20] == "127.42.0.1");  // repeats from the first block
  CHECK(ips[24] == "127.42.0.5");
  CHECK(asked == 2);  // not asked again once none was free
  CHECK(f.ok("GET", "/_sim/stats")["ipBlocks"] == json::array({42, 77}));
}
