// yellowdog-sim --ray: the binary with fake Ray heads, driven through the YellowDog API like the operator
// drives it, and read with the operator's own Ray head client (controller/ray) over real gRPC.
#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>

#include <signal.h>

#include <thread>

#include "ray_autoscaler.grpc.pb.h"

#include "controller/ray/dashboard.hpp"
#include "controller/ray/head_client.hpp"
#include "controller/util/strings.hpp"
#include "test/support/eventually.hpp"
#include "test/support/run_coroutine.hpp"
#include "test/unit/yellowdog-sim/sim_http.hpp"

using namespace raydog::ydsim::testing;
using raydog::ray::ClusterState;
using raydog::ray::DrainReason;
using raydog::ray::HeadClient;
using raydog::ray::HeadClientOptions;
using raydog::ray::HeadError;
using raydog::ray::NodeStatus;
using raydog::ray::RayNode;
using raydog::test::run_to_completion;
namespace apb = ::ray::rpc::autoscaler;

namespace {


json group(const std::string& name, const std::string& tag) {
  return {{"name", name}, {"runSpecification", {{"taskTypes", {"bash"}}, {"workerTags", {tag}}, {"namespaces", {"ray"}}}}};
}

// Polls (the simulator runs in real time) until `pred` holds.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
  return raydog::test::eventually(pred, limit, 20ms);
}

// A simulator with --ray, one Ray cluster as the operator builds it: a work requirement with a head-node
// group (one head task on its own pool) and a worker group whose tasks carry RAY_HEAD_IP.
struct RayCluster {
  explicit RayCluster(int workers, std::vector<std::string> extra = {})
      : sim(with_ray(std::move(extra))), c(sim.url) {
    block = c.ok("GET", "/_sim/stats")["ipBlock"];
    c.ok("POST", "/workerPools/provisioned/template", pool_body("rc-head", 1));
    c.ok("POST", "/workerPools/provisioned/template", pool_body("rc-cpu", 4));
    json wr = c.ok("POST", "/work/requirements",
                   {{"namespace", "ray"},
                    {"name", "rc"},
                    {"taskGroups", {group("head-node", "rc-head"), group("worker-nodes-cpu", "rc-cpu")}}});
    head_group = wr["taskGroups"][0]["id"];
    worker_group = wr["taskGroups"][1]["id"];
    head = add_task(head_group, "head-00001", json::object());
    json t = wait_task(head, "EXECUTING");
    // The head's private IP the operator's way: task -> worker -> node.
    json node = c.ok("GET", "/workerPools/workers/" + t["workerId"].get<std::string>() + "/node");
    head_ip = node["details"]["privateIpAddress"];
    for (int i = 1; i <= workers; ++i) add_worker("worker-" + std::to_string(i));
    for (const auto& w : worker_tasks) wait_task(w, "EXECUTING");
    REQUIRE(eventually([&] { return nodes().size() == worker_tasks.size() + 1; }));
    client_ = std::make_unique<HeadClient>(io.get_executor(), gcs());
  }

  static std::vector<std::string> with_ray(std::vector<std::string> extra) {
    std::vector<std::string> flags{"--ray", "--ray-drain-delay", "300ms"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return flags;
  }

  std::string add_task(const std::string& group_id, const std::string& name, const json& env) {
    json added = c.ok("POST", "/work/taskGroups/" + group_id + "/tasks",
                      json::array({{{"name", name},
                                    {"taskType", "bash"},
                                    {"arguments", {"taskdata.txt"}},
                                    {"taskData", "ray start --block\n"},
                                    {"environment", env}}}));
    return added[0]["id"];
  }
  std::string add_worker(const std::string& name, json env = json::object()) {
    env["RAY_HEAD_IP"] = head_ip;
    if (!env.contains("RAY_NODE_TYPE_NAME")) env["RAY_NODE_TYPE_NAME"] = "cpu";
    worker_tasks.push_back(add_task(worker_group, name, env));
    return worker_tasks.back();
  }
  json wait_task(const std::string& id, const std::string& status) {
    return c.wait_for("/work/tasks/" + id, [&](const json& t) { return t["status"] == status; });
  }
  std::string task_status(const std::string& id) { return c.ok("GET", "/work/tasks/" + id)["status"]; }

  json nodes() { return c.ok("GET", "/_sim/ray/nodes"); }
  json node(const std::string& task) {
    for (const auto& n : nodes())
      if (n["task"] == task) return n;
    return nullptr;
  }
  json head_info() { return c.ok("GET", "/_sim/ray/heads")[0]; }
  json post(const std::string& path, const json& body) { return c.ok("POST", path, body); }

  std::string gcs() const { return head_ip + ":6379"; }
  HeadClient& client() { return *client_; }
  raydog::Result<ClusterState, HeadError> state() { return run_to_completion(io, client().cluster_state()); }
  // One poll of `c` that must succeed.
  ClusterState ok_state(HeadClient& c) {
    auto s = run_to_completion(io, c.cluster_state());
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    return std::move(*s);
  }
  ClusterState ok_state() {
    auto s = state();
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    return std::move(*s);
  }
  static const RayNode* find(const ClusterState& s, const std::string& instance) {
    for (const auto& n : s.nodes)
      if (n.instance_id == instance) return &n;
    return nullptr;
  }
  // The status the GCS shows for a task's node (by value: a doctest expression must not hold a temporary).
  NodeStatus status_in_gcs(const std::string& task) {
    const ClusterState s = ok_state();
    const RayNode* n = find(s, task);
    REQUIRE_MESSAGE(n, "no Ray node for " << task);
    return n->status;
  }
  // The binary node id of a task's Ray node.
  std::string node_id(const std::string& task) {
    const std::string hex = node(task)["nodeId"];
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
  }

  SimProcess sim;
  Http c;
  int block = 0;
  std::string head_group, worker_group, head, head_ip;
  std::vector<std::string> worker_tasks;
  net::io_context io;
  std::unique_ptr<HeadClient> client_;  // made once the head's address is known
};

// The parts of the state HeadClient does not read (gangs, constraints), and calls it cannot make (a
// negative deadline, a version from the future): the generated stub, synchronously.
struct RawGcs {
  RawGcs(const std::string& address, std::string cluster_id_hex) : id(std::move(cluster_id_hex)) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
    stub = apb::AutoscalerStateService::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }
  void prepare(grpc::ClientContext& ctx) {
    ctx.AddMetadata("ray_cluster_id", id);
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  }
  grpc::Status state(apb::GetClusterResourceStateReply& reply, std::int64_t last_seen = 0) {
    grpc::ClientContext ctx;
    prepare(ctx);
    apb::GetClusterResourceStateRequest req;
    req.set_last_seen_cluster_resource_state_version(last_seen);
    return stub->GetClusterResourceState(&ctx, req, &reply);
  }
  grpc::Status drain(const std::string& node_id, std::int64_t deadline_ms, apb::DrainNodeReply& reply) {
    grpc::ClientContext ctx;
    prepare(ctx);
    apb::DrainNodeRequest req;
    req.set_node_id(node_id);
    req.set_reason(apb::DRAIN_NODE_REASON_PREEMPTION);
    req.set_deadline_timestamp_ms(deadline_ms);
    return stub->DrainNode(&ctx, req, &reply);
  }
  std::string id;
  std::unique_ptr<apb::AutoscalerStateService::Stub> stub;
};

}  // namespace

static void scenario_0(std::vector<std::string> extra) {
  extra.insert(extra.begin(), {"--ray-version", "2.50.1"});
  RayCluster rc(2, extra);
  const std::string prefix = "127." + std::to_string(rc.block) + ".";
  CHECK(rc.head_ip.rfind(prefix, 0) == 0);
  // A worker of another head (a RAY_HEAD_IP no head has) is no Ray node here; one with its own instance id.
  const std::string stray = rc.add_task(rc.worker_group, "stray", {{"RAY_HEAD_IP", prefix + "99.99"}});
  // Its pool's rayResources, as the operator passes them to `ray start`, are its Ray resources.
  const std::string named = rc.add_worker("worker-named", {{"RAY_CLOUD_INSTANCE_ID", "vm-7"},
                                                           {"RAY_NODE_TYPE_NAME", "gpu"},
                                                           {"RAYDOG_NUM_CPUS", "8"},
                                                           {"RAYDOG_NUM_GPUS", "1"},
                                                           {"RAYDOG_MEMORY", "1073741824"},
                                                           {"RAYDOG_RAY_RESOURCES", R"({"accel_a100": 1})"}});
  rc.wait_task(stray, "EXECUTING");
  rc.wait_task(named, "EXECUTING");
  REQUIRE(eventually([&] { return rc.nodes().size() == 4; }));

  const ClusterState s = rc.ok_state();
  CHECK(s.version == 1);
  REQUIRE(s.nodes.size() == 4);
  const RayNode& head = s.nodes[0];
  CHECK(head.is_head());
  CHECK(head.instance_id == rc.head);
  CHECK(head.node_type == "head");
  CHECK(head.ip == rc.head_ip);
  CHECK(head.total.count("CPU") == 0);
  CHECK(head.hex_id() == rc.node(rc.head)["nodeId"]);
  CHECK(head.node_id.size() == 28);
  for (const auto& w : rc.worker_tasks) {
    const std::string instance = w == named ? "vm-7" : w;
    const RayNode* n = RayCluster::find(s, instance);
    REQUIRE_MESSAGE(n, "no Ray node for " << w);
    CHECK(n->node_type == (w == named ? "gpu" : "cpu"));
    CHECK(n->status == NodeStatus::kIdle);
    if (w == named)
      CHECK(n->total == std::map<std::string, double>{
                            {"CPU", 8.0}, {"GPU", 1.0}, {"memory", 1073741824.0}, {"accel_a100", 1.0}});
    else
      CHECK(n->total == std::map<std::string, double>{{"CPU", 1.0}});
    CHECK(n->available == n->total);
    CHECK(n->ip == rc.node(w)["ip"]);
    CHECK(n->ip.rfind(prefix, 0) == 0);
    CHECK_FALSE(n->is_head());
  }
  CHECK(RayCluster::find(s, stray) == nullptr);
  CHECK(rc.ok_state().version == 2);

  // The same GCS on the public IP; the dashboard on both.
  const json info = rc.head_info();
  CHECK(info["privateIp"] == rc.head_ip);
  const std::string public_ip = info["publicIp"];
  CHECK(public_ip.rfind(prefix, 0) == 0);
  HeadClient by_public(rc.io.get_executor(), public_ip + ":6379");
  auto pub = run_to_completion(rc.io, by_public.cluster_state());
  REQUIRE_MESSAGE(pub.ok(), pub.error().message);
  CHECK(pub->session_name == s.session_name);
  for (const std::string& ip : {rc.head_ip, public_ip}) {
    auto v = run_to_completion(rc.io, raydog::ray::dashboard_version(rc.io.get_executor(), "http://" + ip + ":8265", {}, 5s));
    REQUIRE_MESSAGE(v.ok(), v.error().message);
    CHECK(v->ray_version == "2.50.1");
    CHECK(v->session_name == s.session_name);
  }

  // Every call, oldest first, named by head; no violation from a client that follows the protocol.
  const json calls = rc.c.ok("GET", "/_sim/ray/calls");
  REQUIRE(calls.size() == 5);  // handshake + 2 states on the private IP, handshake + state on the public
  CHECK(calls[0]["method"] == "GetClusterId");
  CHECK(calls[1]["method"] == "GetClusterResourceState");
  for (const auto& call : calls) {
    CHECK(call["head"] == rc.head);
    CHECK(call["nodeTask"].is_null());
    CHECK(call["accepted"].is_null());
  }
  CHECK(rc.c.ok("GET", "/_sim/ray/violations").empty());
  CHECK(rc.sim.proc->terminate() == 0);  // SIGTERM with heads serving: a clean exit (and no leak under ASan)
}

TEST_CASE(
    "ray sim: the head and its workers as GCS lists them, on the private and the public IP, and the "
    "dashboard") {
  scenario_0({});
}

TEST_CASE(
    "ray sim: the head and its workers as GCS lists them, on the private and the public IP, and the "
    "dashboard (heads served by a helper process)") {
  scenario_0({"--ray-local-heads", "0"});
}

TEST_CASE("ray sim: demand placed first fit - leftovers, gangs and constraints pending - a joining node takes work") {
  RayCluster rc(2);
  const std::string w1 = rc.worker_tasks[0], w2 = rc.worker_tasks[1];
  rc.post("/_sim/ray/heads/" + rc.head + "/demand",
          {{"pending", {{{"shape", {{"CPU", 1}}}, {"count", 3}}}},
           {"gangs", {{{"strategy", "STRICT_SPREAD"}, {"bundles", {{{"CPU", 1}}, {{"CPU", 1}}}}}}},
           {"constraints", {{{"CPU", 8}}}}});
  ClusterState s = rc.ok_state();
  for (const auto& w : {w1, w2}) {
    CHECK(RayCluster::find(s, w)->status == NodeStatus::kRunning);
    CHECK(RayCluster::find(s, w)->available.at("CPU") == 0.0);
    CHECK(RayCluster::find(s, w)->idle_ms == 0);
  }
  CHECK(s.nodes[0].status == NodeStatus::kIdle);  // the head has no CPU
  REQUIRE(s.pending.size() == 1);
  CHECK(s.pending[0].count == 1);
  CHECK(s.pending[0].shape == std::map<std::string, double>{{"CPU", 1.0}});

  RawGcs raw(rc.gcs(), rc.client().cluster_id_hex());
  apb::GetClusterResourceStateReply reply;
  REQUIRE(raw.state(reply).ok());
  const auto& st = reply.cluster_resource_state();
  REQUIRE(st.pending_gang_resource_requests_size() == 1);
  const auto& gang = st.pending_gang_resource_requests(0);
  const std::string details = gang.details();
  const std::string pg = details.substr(0, details.find(':'));
  CHECK(pg.size() == 36);
  CHECK(details == pg + ":STRICT_SPREAD|PENDING");
  REQUIRE(gang.requests_size() == 2);
  CHECK(gang.requests(0).placement_constraints(0).anti_affinity().label_name() == "_PG_" + pg);
  REQUIRE(st.cluster_resource_constraints_size() == 1);
  REQUIRE(st.cluster_resource_constraints(0).resource_requests_size() == 1);
  CHECK(st.cluster_resource_constraints(0).resource_requests(0).request().resources_bundle().at("CPU") == 8.0);
  CHECK(st.cluster_resource_constraints(0).resource_requests(0).count() == 1);

  // A node that joins takes the leftover; the gang still needs two free nodes.
  const std::string w3 = rc.add_worker("worker-3");
  rc.wait_task(w3, "EXECUTING");
  REQUIRE(eventually([&] { return rc.node(w3)["state"] == "RUNNING"; }));
  s = rc.ok_state();
  CHECK(s.pending.empty());
  CHECK(RayCluster::find(s, w3)->status == NodeStatus::kRunning);

  // Its work done, a node is IDLE since the time given; what it ran leaves the demand.
  rc.post("/_sim/ray/nodes/" + w1, {{"state", "IDLE"}, {"idleMs", 90'000}});
  s = rc.ok_state();
  CHECK(RayCluster::find(s, w1)->status == NodeStatus::kIdle);
  CHECK(RayCluster::find(s, w1)->idle_ms >= 90'000);
  CHECK(RayCluster::find(s, w1)->idle_ms < 100'000);
  CHECK(s.pending.empty());
  REQUIRE(raw.state(reply).ok());
  CHECK(reply.cluster_resource_state().pending_gang_resource_requests_size() == 1);  // one free node only

  // New demand replaces the old and what it had placed: a STRICT_PACK gang lands on the first free node.
  rc.post("/_sim/ray/heads/" + rc.head + "/demand",
          {{"gangs", {{{"strategy", "STRICT_PACK"}, {"bundles", {{{"CPU", 0.5}}, {{"CPU", 0.5}}}}}}}});
  s = rc.ok_state();
  CHECK(RayCluster::find(s, w1)->status == NodeStatus::kRunning);
  CHECK(RayCluster::find(s, w2)->status == NodeStatus::kIdle);
  CHECK(RayCluster::find(s, w3)->status == NodeStatus::kIdle);
  CHECK(s.pending.empty());
  REQUIRE(raw.state(reply).ok());
  CHECK(reply.cluster_resource_state().pending_gang_resource_requests_size() == 0);
  CHECK(reply.cluster_resource_state().cluster_resource_constraints_size() == 0);
  CHECK(rc.c.ok("GET", "/_sim/ray/violations").empty());
}

static void scenario_1(std::vector<std::string> extra) {
  RayCluster rc(3, extra);
  const std::string w1 = rc.worker_tasks[0], w2 = rc.worker_tasks[1], w3 = rc.worker_tasks[2];

  auto idle = run_to_completion(rc.io, rc.client().drain(rc.node_id(w1), DrainReason::kIdleTermination, "idle 90s"));
  REQUIRE_MESSAGE(idle.ok(), idle.error().message);
  CHECK(idle->accepted);
  CHECK(rc.status_in_gcs(w1) == NodeStatus::kDraining);  // at once, in the GCS
  json done = rc.wait_task(w1, "COMPLETED");  // `ray start --block` returned
  CHECK(done["errors"].empty());
  CHECK(rc.status_in_gcs(w1) == NodeStatus::kDead);
  CHECK(rc.node(w1)["state"] == "DEAD");

  // Busy: IDLE_TERMINATION refused with Ray's message. reject-drain: refused while set.
  rc.post("/_sim/ray/nodes/" + w2, {{"state", "RUNNING"}});
  auto busy = run_to_completion(rc.io, rc.client().drain(rc.node_id(w2), DrainReason::kIdleTermination, "idle"));
  REQUIRE(busy.ok());
  CHECK_FALSE(busy->accepted);
  CHECK(busy->rejection == "The node to be idle terminated is no longer idle.");
  rc.post("/_sim/ray/nodes/" + w3 + "/reject-drain", {{"reject", true}});
  auto refused = run_to_completion(rc.io, rc.client().drain(rc.node_id(w3), DrainReason::kIdleTermination, "idle"));
  REQUIRE(refused.ok());
  CHECK_FALSE(refused->accepted);
  CHECK(refused->rejection == "The node to be idle terminated is no longer idle.");
  CHECK(rc.node(w3)["state"] == "IDLE");
  rc.post("/_sim/ray/nodes/" + w3 + "/reject-drain", {{"reject", false}});

  // PREEMPTION is never refused; a busy node stays DRAINING past the drain delay until its deadline.
  const auto deadline = std::chrono::system_clock::now() + 1500ms;
  auto preempt = run_to_completion(rc.io, rc.client().drain(rc.node_id(w2), DrainReason::kPreemption, "scale down", deadline));
  REQUIRE(preempt.ok());
  CHECK(preempt->accepted);
  std::this_thread::sleep_for(700ms);  // > the 300 ms drain delay
  CHECK(rc.node(w2)["state"] == "DRAINING");
  CHECK(rc.task_status(w2) == "EXECUTING");
  rc.wait_task(w2, "COMPLETED");
  CHECK(std::chrono::system_clock::now() >= deadline - 100ms);
  CHECK(rc.node(w2)["state"] == "DEAD");

  // An unknown node is accepted (as GCS does); a negative deadline is INVALID_ARGUMENT.
  auto unknown = run_to_completion(rc.io, rc.client().drain(std::string(28, 'x'), DrainReason::kIdleTermination, "?"));
  REQUIRE(unknown.ok());
  CHECK(unknown->accepted);
  RawGcs raw(rc.gcs(), rc.client().cluster_id_hex());
  apb::DrainNodeReply reply;
  CHECK(raw.drain(rc.node_id(w3), -5, reply).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(rc.node(w3)["state"] == "IDLE");

  // The calls name the drained node's task, the reason and the answer.
  std::vector<json> drains;
  for (const auto& call : rc.c.ok("GET", "/_sim/ray/calls"))
    if (call["method"] == "DrainNode") drains.push_back(call);
  REQUIRE(drains.size() == 6);
  CHECK(drains[0]["nodeTask"] == w1);
  CHECK(drains[0]["reason"] == "IDLE_TERMINATION");
  CHECK(drains[0]["accepted"] == true);
  CHECK(drains[1]["nodeTask"] == w2);
  CHECK(drains[1]["accepted"] == false);
  CHECK(drains[2]["nodeTask"] == w3);
  CHECK(drains[2]["accepted"] == false);
  CHECK(drains[3]["reason"] == "PREEMPTION");
  CHECK(drains[3]["accepted"] == true);
  CHECK(drains[4]["nodeTask"].is_null());
  CHECK(drains[4]["accepted"] == true);
  CHECK(drains[5]["accepted"].is_null());  // refused as invalid: no answer
  CHECK(rc.c.ok("GET", "/_sim/ray/violations").empty());
}

TEST_CASE(
    "ray sim: drains - idle accepted, DRAINING, DEAD, task COMPLETED - busy and reject-drain refused - "
    "PREEMPTION waits") {
  scenario_1({});
}

TEST_CASE(
    "ray sim: drains - idle accepted, DRAINING, DEAD, task COMPLETED - busy and reject-drain refused - "
    "PREEMPTION waits (heads served by a helper process)") {
  scenario_1({"--ray-local-heads", "0"});
}

static void scenario_2(std::vector<std::string> extra) {
  RayCluster rc(2, extra);
  const std::string w1 = rc.worker_tasks[0], w2 = rc.worker_tasks[1];
  const ClusterState before = rc.ok_state();
  const std::string old_id = rc.client().cluster_id_hex();

  json down = rc.post("/_sim/ray/heads/" + rc.head, {{"gcs", "down"}});
  CHECK(down["head"]["gcs"] == "down");
  HeadClientOptions quick;
  quick.deadline = 3s;
  HeadClient fresh(rc.io.get_executor(), rc.gcs(), quick);
  auto refused = run_to_completion(rc.io, fresh.cluster_state());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == HeadError::Kind::kUnreachable);
  auto dash = run_to_completion(rc.io, raydog::ray::dashboard_version(rc.io.get_executor(), "http://" + rc.head_ip + ":8265", {}, 3s));
  REQUIRE_FALSE(dash.ok());
  CHECK(dash.error().kind == HeadError::Kind::kUnreachable);
  CHECK(rc.task_status(rc.head) == "EXECUTING");

  rc.post("/_sim/ray/heads/" + rc.head, {{"gcs", "up"}});
  HeadClient after_up(rc.io.get_executor(), rc.gcs(), quick);
  auto up = run_to_completion(rc.io, after_up.cluster_state());
  REQUIRE_MESSAGE(up.ok(), up.error().message);
  CHECK(up->session_name != before.session_name);
  CHECK(up->version == 1);  // a new counter
  CHECK(after_up.cluster_id_hex() != old_id);
  CHECK(up->nodes.size() == 3);  // the raylets are still there
  CHECK(rc.head_info()["incarnation"] == 2);

  // ABSENT: the task runs, no Ray node; IDLE again: it joins.
  rc.post("/_sim/ray/nodes/" + w1, {{"state", "ABSENT"}});
  const ClusterState without = rc.ok_state(after_up);
  CHECK(RayCluster::find(without, w1) == nullptr);
  CHECK(rc.node(w1).is_null());
  CHECK(rc.task_status(w1) == "EXECUTING");
  rc.post("/_sim/ray/nodes/" + w1, {{"state", "IDLE"}});
  REQUIRE(eventually([&] { return !rc.node(w1).is_null(); }));
  CHECK(rc.node(w1)["state"] == "IDLE");

  // DEAD by control: listed DEAD, and the task keeps running (only a drain ends it).
  rc.post("/_sim/ray/nodes/" + w2, {{"state", "DEAD"}});
  const ClusterState with_dead = rc.ok_state(after_up);
  const RayNode* dead = RayCluster::find(with_dead, w2);
  REQUIRE(dead);
  CHECK(dead->status == NodeStatus::kDead);
  std::this_thread::sleep_for(600ms);  // two drain delays
  CHECK(rc.task_status(w2) == "EXECUTING");
  CHECK(rc.node(w2)["state"] == "DEAD");

  // The head task ends: its GCS goes with it.
  rc.c.ok("PUT", "/work/tasks/" + rc.head + "/cancel?abort=true");
  REQUIRE(eventually([&] { return rc.c.ok("GET", "/_sim/ray/heads").empty(); }));
  HeadClient gone(rc.io.get_executor(), rc.gcs(), quick);
  auto ended = run_to_completion(rc.io, gone.cluster_state());
  REQUIRE_FALSE(ended.ok());
  CHECK(ended.error().kind == HeadError::Kind::kUnreachable);
}

TEST_CASE(
    "ray sim: GCS down refuses while the task runs, up is a new incarnation - ABSENT and DEAD nodes - the "
    "head's end") {
  scenario_2({});
}

TEST_CASE(
    "ray sim: GCS down refuses while the task runs, up is a new incarnation - ABSENT and DEAD nodes - the "
    "head's end (heads served by a helper process)") {
  scenario_2({"--ray-local-heads", "0"});
}

static void scenario_3(std::vector<std::string> extra) {
  extra.insert(extra.begin(), {"--seed", "3"});
  RayCluster rc(0, extra);
  CHECK(rc.ok_state().nodes.size() == 1);  // the handshake and one state: two calls
  json f = rc.c.ok("PUT", "/_sim/ray/faults", {{"failNth", 2}, {"codes", {"DEADLINE_EXCEEDED"}}});
  CHECK(f["failNth"] == 2);
  CHECK(rc.state().ok());  // the first call from now
  auto failed = rc.state();  // the second fails
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == HeadError::Kind::kTimeout);
  CHECK(rc.state().ok());  // once only
  CHECK(rc.c.ok("GET", "/_sim/ray/faults")["failNth"] == 0);

  rc.c.ok("PUT", "/_sim/ray/faults", {{"failRate", 1}, {"codes", {"UNAVAILABLE"}}});
  auto unavailable = rc.state();
  REQUIRE_FALSE(unavailable.ok());
  CHECK(unavailable.error().kind == HeadError::Kind::kUnreachable);
  rc.c.ok("PUT", "/_sim/ray/faults", {{"failRate", 0}});
  CHECK(rc.state().ok());

  // One head's own n-th call (the fault matrices run several clusters on one simulator).
  json per_head = rc.c.ok("PUT", "/_sim/ray/faults", {{"head", rc.head}, {"failNth", 2}});
  CHECK(per_head["heads"][rc.head] == 2);
  CHECK(rc.state().ok());
  CHECK_FALSE(rc.state().ok());
  CHECK(rc.state().ok());
  CHECK(rc.c.ok("GET", "/_sim/ray/faults")["heads"].empty());
  CHECK(rc.c.send("PUT", "/_sim/ray/faults", json{{"head", "ydid:task:nope"}, {"failNth", 1}}.dump())->result_int() == 400);
  CHECK(rc.c.send("PUT", "/_sim/ray/faults", json{{"head", rc.head}, {"failRate", 1}}.dump())->result_int() == 400);

  // A wrong cluster id, and a version newer than this incarnation returned: what a real GCS punishes.
  HeadClientOptions wrong;
  wrong.cluster_id = "00ff";
  HeadClient stale(rc.io.get_executor(), rc.gcs(), wrong);
  auto auth = run_to_completion(rc.io, stale.cluster_state());
  REQUIRE_FALSE(auth.ok());
  CHECK(auth.error().kind == HeadError::Kind::kAuth);
  RawGcs raw(rc.gcs(), rc.client().cluster_id_hex());
  apb::GetClusterResourceStateReply reply;
  CHECK(raw.state(reply, 999).ok());

  const json violations = rc.c.ok("GET", "/_sim/ray/violations");
  REQUIRE(violations.size() == 2);
  CHECK(violations[0]["head"] == rc.head);
  CHECK(violations[0]["violation"] == "GetClusterResourceState: wrong ray_cluster_id");
  CHECK(violations[1]["violation"].get<std::string>().find("last_seen 999 is newer") != std::string::npos);

  const json calls = rc.c.ok("GET", "/_sim/ray/calls");
  std::vector<std::string> faults;
  for (const auto& call : calls)
    if (!call["fault"].is_null()) faults.push_back(call["fault"]);
  CHECK(faults == std::vector<std::string>{"DEADLINE_EXCEEDED", "UNAVAILABLE", "UNAVAILABLE"});
  // handshake, state; state, failed, state; failed; state; state, failed, state (one head's own n-th);
  // the stale client's refused state; the raw one
  CHECK(calls.size() == 12);
}

TEST_CASE("ray sim: GCS faults by n-th call and by rate, calls and violations listed") {
  scenario_3({});
}

TEST_CASE(
    "ray sim: GCS faults by n-th call and by rate, calls and violations listed (heads served by a helper "
    "process)") {
  scenario_3({"--ray-local-heads", "0"});
}

TEST_CASE(
    "ray sim: beyond --ray-heads-per-process heads helper processes serve them - they end with the "
    "simulator") {
  SimProcess sim({"--ray", "--ray-heads-per-process", "1"});
  Http c(sim.url);
  std::vector<std::string> heads;
  for (int i = 0; i < 3; ++i) {
    const std::string name = "hp" + std::to_string(i);
    c.ok("POST", "/workerPools/provisioned/template", pool_body(name, 1));
    json wr = c.ok("POST", "/work/requirements",
                   {{"namespace", "ray"}, {"name", name}, {"taskGroups", {group("head-node", name)}}});
    json t = c.ok("POST", "/work/taskGroups/" + wr["taskGroups"][0]["id"].get<std::string>() + "/tasks",
                  json::array({{{"name", "head"}, {"taskType", "bash"}}}));
    heads.push_back(t[0]["id"]);
  }
  json listed;
  REQUIRE(eventually([&] { return (listed = c.ok("GET", "/_sim/ray/heads")).size() == 3; }));
  net::io_context io;
  for (const auto& h : listed) {
    for (const std::string& ip : {h["privateIp"].get<std::string>(), h["publicIp"].get<std::string>()}) {
      HeadClient client(io.get_executor(), ip + ":6379");
      auto s = run_to_completion(io, client.cluster_state());
      REQUIRE_MESSAGE(s.ok(), ip << ": " << s.error().message);
      CHECK(s->session_name == h["session"]);
      REQUIRE(s->nodes.size() == 1);
      CHECK(s->nodes[0].instance_id == h["task"]);
      auto v = run_to_completion(
          io, raydog::ray::dashboard_version(io.get_executor(), "http://" + ip + ":8265", {}, 5s));
      REQUIRE_MESSAGE(v.ok(), v.error().message);
      CHECK(v->session_name == h["session"]);
    }
  }
  CHECK(c.ok("GET", "/_sim/ray/calls").size() == 12);  // a handshake and a state per head and address
  // Two helpers (the first head is the simulator's own), named on stderr with their pids.
  std::vector<int> pids;
  const std::string err = raydog::test::read_file(sim.dir.file("stderr"));
  for (auto at = err.find("(pid "); at != std::string::npos; at = err.find("(pid ", at + 1))
    pids.push_back(std::stoi(err.substr(at + 5)));
  REQUIRE(pids.size() == 2);
  for (int pid : pids) CHECK(::kill(pid, 0) == 0);
  // A head that ends is refused at once, wherever it was served.
  const std::string last = listed[2]["privateIp"];
  c.ok("PUT", "/work/tasks/" + listed[2]["task"].get<std::string>() + "/cancel?abort=true");
  REQUIRE(eventually([&] { return c.ok("GET", "/_sim/ray/heads").size() == 2; }));
  HeadClientOptions quick;
  quick.deadline = 3s;
  HeadClient gone(io.get_executor(), last + ":6379", quick);
  auto ended = run_to_completion(io, gone.cluster_state());
  REQUIRE_FALSE(ended.ok());
  CHECK(ended.error().kind == HeadError::Kind::kUnreachable);
  CHECK(sim.proc->terminate() == 0);
  for (int pid : pids) CHECK(::kill(pid, 0) == -1);  // ended and reaped with the simulator
}

TEST_CASE("ray sim: controls name what is wrong - unknown tasks 404, bad bodies 400 - and need --ray") {
  RayCluster rc(1);
  const std::string w = rc.worker_tasks[0];
  auto code = [&](const std::string& method, const std::string& path, const std::string& body, std::string* message) {
    auto r = rc.c.send(method, path, body);
    REQUIRE(r.ok());
    json j = json::parse(r->body());
    if (message) *message = j.value("message", "");
    return r->result_int();
  };
  std::string msg;
  CHECK(code("POST", "/_sim/ray/nodes/ydid:task:000000:none:1:1", R"({"state":"IDLE"})", &msg) == 404);
  CHECK(msg.find("ydid:task:000000:none:1:1") != std::string::npos);
  CHECK(code("POST", "/_sim/ray/nodes/" + w, R"({"state":"SLEEPY"})", &msg) == 400);
  CHECK(msg.find("state") != std::string::npos);
  CHECK(code("POST", "/_sim/ray/nodes/" + w, R"({"state":"IDLE","idleMs":-1})", &msg) == 400);
  CHECK(msg.find("idleMs") != std::string::npos);
  CHECK(code("POST", "/_sim/ray/nodes/" + w, "not json", &msg) == 400);
  CHECK(code("POST", "/_sim/ray/nodes/" + w + "/reject-drain", R"({"reject":"yes"})", &msg) == 400);
  CHECK(msg.find("reject") != std::string::npos);
  CHECK(code("POST", "/_sim/ray/heads/" + w, R"({"gcs":"down"})", &msg) == 400);
  CHECK(msg.find("head-node") != std::string::npos);
  CHECK(code("POST", "/_sim/ray/heads/" + rc.head, R"({"gcs":"sideways"})", &msg) == 400);
  CHECK(msg.find("gcs") != std::string::npos);
  CHECK(code("POST", "/_sim/ray/heads/" + rc.head + "/demand", R"({"pending":[{"shape":{"CPU":1},"count":-2}]})", &msg) == 400);
  CHECK(msg.find("pending[0].count") != std::string::npos);
  CHECK(code("POST", "/_sim/ray/heads/" + rc.head + "/demand", R"({"gangs":[{"strategy":"SPREAD","bundles":[{"CPU":1}]}]})", &msg) == 400);
  CHECK(msg.find("gangs[0].strategy") != std::string::npos);
  CHECK(code("POST", "/_sim/ray/heads/" + rc.head + "/demand", R"({"constraints":[{"CPU":"8"}]})", &msg) == 400);
  CHECK(msg.find("constraints[0].CPU") != std::string::npos);
  CHECK(code("POST", "/_sim/ray/heads/" + rc.head + "/demand", R"({"pendng":[]})", &msg) == 400);
  CHECK(msg.find("pendng") != std::string::npos);
  CHECK(code("PUT", "/_sim/ray/faults", R"({"codes":["SOMETIMES"]})", &msg) == 400);
  CHECK(msg.find("codes") != std::string::npos);
  CHECK(code("PUT", "/_sim/ray/faults", R"({"failRate":2})", &msg) == 400);
  CHECK(msg.find("failRate") != std::string::npos);
  CHECK(code("GET", "/_sim/ray/nowhere", "", &msg) == 404);
  // Nothing above changed anything, and the control API was never counted as YellowDog calls.
  CHECK(rc.node(w)["state"] == "IDLE");
  CHECK(rc.c.ok("GET", "/_sim/stats")["calls"].count("unknown") == 0);

  SimProcess plain;
  Http p(plain.url);
  auto r = p.send("GET", "/_sim/ray/nodes");
  REQUIRE(r.ok());
  CHECK(r->result_int() == 404);
  CHECK(json::parse(r->body())["message"].get<std::string>().find("--ray") != std::string::npos);
}

TEST_CASE("ray sim: simulators on one machine take different address blocks - a taken --ip-block exits 2") {
  SimProcess a({"--ray"}), b({"--ray"});
  const int block_a = Http(a.url).ok("GET", "/_sim/stats")["ipBlock"];
  const int block_b = Http(b.url).ok("GET", "/_sim/stats")["ipBlock"];
  CHECK(block_a != block_b);
  TempDir dir;
  auto taken = raydog::test::run_command({raydog::test::bin_path("yellowdog-sim"), "--ray", "--ip-block",
                                          std::to_string(block_a), "--write-url", dir.file("url")},
                                         {}, 20s);
  CHECK(taken.exit_code == 2);
  CHECK(taken.err.find("--ip-block " + std::to_string(block_a)) != std::string::npos);
  CHECK(taken.err.find("another simulator holds it") != std::string::npos);
  auto out_of_range = raydog::test::run_command({raydog::test::bin_path("yellowdog-sim"), "--ip-block", "1"}, {}, 20s);
  CHECK(out_of_range.exit_code == 2);
  // A free explicit block is used as given. Which one is free is only known by trying (another test
  // process may take one at any moment): from 254 down, a refusal exits 2 and the next is tried.
  int used = 0;
  for (int n = 254; n >= 200 && used == 0; --n) {
    if (n == block_a || n == block_b) continue;
    TempDir d;
    raydog::test::ProcessOptions po;
    po.stderr_file = d.file("stderr");
    ChildProcess c({raydog::test::bin_path("yellowdog-sim"), "--ip-block", std::to_string(n), "--write-url", d.file("url")},
                   po);
    auto url = raydog::test::wait_for_file(d.file("url"), 20s, &c);
    if (!url) {
      CHECK(c.wait(5s) == 2);  // taken meanwhile: refused, try the next
      continue;
    }
    url->pop_back();  // the newline
    CHECK(Http(*url).ok("GET", "/_sim/stats")["ipBlock"] == n);
    used = n;
  }
  CHECK(used != 0);
}
