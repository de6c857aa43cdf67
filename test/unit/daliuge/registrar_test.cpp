// The registrar against the fake DIM/NM (no YellowDog: IPs given), and the pure cluster helpers:
// task env, default userdata, decorate(), collect(), merge_status(), the DIM-check pacing.
#include <doctest/doctest.h>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/io_context.hpp>
#include <optional>

#include "api/defaults.hpp"
#include "controller/daliuge/cluster.hpp"
#include "controller/daliuge/registrar.hpp"
#include "controller/reconcile/scripts.hpp"
#include "test/daliuge-fake/fake_dlg.hpp"
#include "test/support/run_coroutine.hpp"

using namespace raydog;
using namespace raydog::daliuge;
namespace net = boost::asio;
using raydog::test::run_to_completion;
using namespace std::chrono_literals;

namespace {

struct Island {
  fake::FakeDlg dlg;
  int dim_port = 0;
  int nm_port = 0;
  Island() {
    const std::string url = dlg.start_dim("127.0.0.1:0");
    dim_port = std::stoi(url.substr(url.rfind(':') + 1));
    // Any other free port number for the NMs (on other loopback IPs): a second server on 127.0.0.1:0.
    fake::FakeDlg probe;
    const std::string other = probe.start_dim("127.0.0.1:0");
    nm_port = std::stoi(other.substr(other.rfind(':') + 1));
  }
  std::string key(const std::string& ip) const { return ip + ":" + std::to_string(nm_port) + ":5555:6666"; }
  Collected input(api::MembershipPolicy policy, std::vector<std::pair<std::string, bool>> nodes) const {
    api::DaliugeSpec spec;
    spec.enabled = true;
    spec.ports = api::DaliugePorts{dim_port, nm_port, 5555, 6666};
    spec.membership_policy = policy;
    Collected c;
    c.spec = effective(spec);
    c.head_private_ip = "127.0.0.1";
    for (const auto& [ip, wanted] : nodes) {
      NodeManagerRef n;
      n.pool = "cpu";
      n.task_id = "task-" + ip;
      n.ip = ip;
      n.wanted = wanted;
      c.nodes.push_back(n);
    }
    return c;
  }
};

}  // namespace

TEST_CASE("registrar: registers answering NMs once, skips unreachable ones, removes dead entries") {
  Island island;
  island.dlg.start_nm("127.1.210.1:" + std::to_string(island.nm_port));
  island.dlg.start_nm("127.1.210.2:" + std::to_string(island.nm_port));
  island.dlg.inject_node("127.1.210.9:" + std::to_string(island.nm_port) + ":5555:6666");  // a dead worker
  net::io_context ioc;
  Registrar reg;
  auto in = island.input(api::MembershipPolicy::kImmediate,
                         {{"127.1.210.1", true}, {"127.1.210.2", true}, {"127.1.210.3", true}});
  auto r = run_to_completion(ioc, reg.sync("ns/c", in, nullptr, Clock::now()));
  auto nodes = island.dlg.dim_nodes();
  std::sort(nodes.begin(), nodes.end());
  CHECK(nodes == std::vector<std::string>{island.key("127.1.210.1"), island.key("127.1.210.2")});
  CHECK(r.ready);
  CHECK(r.reason == "NodeManagersRegistered");
  CHECK(r.status.desired_node_managers == 2);
  CHECK(r.status.registered_node_managers == 2);
  REQUIRE(r.status.node_managers.size() == 3);
  CHECK(r.status.node_managers[2].state == "Unreachable");  // 127.1.210.3 has no NM
  CHECK(r.status.dim_url == "http://127.0.0.1:" + std::to_string(island.dim_port));
  CHECK(reg.added() == 2);
  CHECK(reg.removed() == 1);
  // A second pass changes nothing.
  island.dlg.clear_dim_log();
  auto again = run_to_completion(ioc, reg.sync("ns/c", in, nullptr, Clock::now()));
  CHECK(again.performed.empty());
  for (const auto& e : island.dlg.dim_log()) CHECK(e.method == "GET");
}

TEST_CASE("registrar: WhenIdle defers planned changes while a session runs, at most maxDeferral") {
  Island island;
  island.dlg.start_nm("127.1.211.1:" + std::to_string(island.nm_port));
  island.dlg.inject_node("127.1.211.9");  // dead: removed even while busy
  island.dlg.set_sessions_active(true);
  net::io_context ioc;
  Registrar reg;
  auto in = island.input(api::MembershipPolicy::kWhenIdle, {{"127.1.211.1", true}});
  const auto t0 = Clock::now();
  auto r = run_to_completion(ioc, reg.sync("ns/c", in, nullptr, t0));
  CHECK(island.dlg.dim_nodes().empty());  // the dead entry went, the add waits
  CHECK_FALSE(r.ready);
  CHECK(r.reason == "Deferred");
  REQUIRE(r.status.node_managers.size() == 1);
  CHECK(r.status.node_managers[0].state == "Deferred");
  // Still busy 9 minutes later: still deferred. 10 minutes (the default maxDeferral): applied.
  run_to_completion(ioc, reg.sync("ns/c", in, nullptr, t0 + 9min));
  CHECK(island.dlg.dim_nodes().empty());
  auto late = run_to_completion(ioc, reg.sync("ns/c", in, nullptr, t0 + 10min));
  CHECK(island.dlg.dim_nodes() == std::vector<std::string>{island.key("127.1.211.1")});
  CHECK(late.ready);
}

TEST_CASE("registrar: the DIM unreachable is DaliugeReady False with a Warning, no write") {
  Island island;
  island.dlg.stop_dim();
  net::io_context ioc;
  Registrar reg;
  auto r = run_to_completion(
      ioc, reg.sync("ns/c", island.input(api::MembershipPolicy::kImmediate, {}), nullptr, Clock::now()));
  CHECK_FALSE(r.ready);
  CHECK(r.reason == "DimUnreachable");
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].type == "Warning");
  CHECK(reg.errors() == 1);
}

TEST_CASE("registrar: DIM checks every 30 s between steady full reconciles") {
  Registrar reg;
  const auto t0 = Clock::now();
  // No input yet: never a DIM-only pass.
  CHECK(reg.remember_steady("k", 1, 60s, t0) == 30s);
  CHECK_FALSE(reg.due_dim_check("k", 1, t0 + 30s));
  Island island;
  net::io_context ioc;
  run_to_completion(ioc, reg.sync("k", island.input(api::MembershipPolicy::kImmediate, {}), nullptr, t0));
  CHECK(reg.remember_steady("k", 1, 60s, t0) == 30s);
  CHECK(reg.due_dim_check("k", 1, t0 + 30s) == 30s);  // 30 s left until the full reconcile
  CHECK_FALSE(reg.due_dim_check("k", 2, t0 + 30s));   // the spec changed: full reconcile
  CHECK(reg.remember_steady("k", 1, 60s, t0) == 30s);
  CHECK_FALSE(reg.due_dim_check("k", 1, t0 + 60s));  // the full reconcile is due
  CHECK(reg.remember_steady("k", 1, 2s, t0) == 2s);  // converging: unchanged
  CHECK_FALSE(reg.due_dim_check("k", 1, t0 + 1s));
}

TEST_CASE("cluster: task env, default userdata and decorate()") {
  api::DaliugeSpec spec;
  spec.enabled = true;
  spec.version = "6.6.0";
  auto head = task_env(spec, true);
  CHECK(head == std::map<std::string, std::string>{{"DLG_ENABLED", "true"},
                                                   {"DLG_ROOT", "/var/dlg"},
                                                   {"DLG_DIM_PORT", "8001"},
                                                   {"DLG_NM_PORT", "8000"},
                                                   {"DLG_EVENTS_PORT", "5555"},
                                                   {"DLG_RPC_PORT", "6666"},
                                                   {"DLG_NM_ON_HEAD", "false"}});
  CHECK_FALSE(task_env(spec, false).count("DLG_NM_ON_HEAD"));
  const std::string builtin = reconcile::scripts::builtin_user_data("2.49.2");
  const std::string ud = with_daliuge(builtin, spec);
  const std::string original(reconcile::scripts::userdata_script());
  const auto eol = original.find('\n');
  CHECK(ud.substr(0, eol + 1) == original.substr(0, eol + 1));  // the shebang stays first
  CHECK(ud.substr(eol + 1).rfind("DLG_VERSION='6.6.0'\nRAY_VERSION='2.49.2'\n", 0) == 0);

  api::RayDogCluster cluster;
  cluster.spec.daliuge = spec;
  reconcile::Actions actions;
  reconcile::AddTasks add;
  yellowdog::Task w, h, o;
  w.name = "worker-00001";
  h.name = "head-00001";
  o.name = "observability-00001";
  add.tasks = {w, h, o};
  actions.push_back(add);
  reconcile::ProvisionPool own, none, obs;
  own.key = "worker-cpu";
  own.request.requirement_template_usage.user_data = "#!/bin/bash\necho mine\n";
  none.key = "worker-gpu";
  none.builtin_user_data = true;
  none.request.requirement_template_usage.user_data = builtin;
  obs.key = "observability";
  obs.builtin_user_data = true;
  obs.request.requirement_template_usage.user_data = builtin;
  actions.push_back(own);
  actions.push_back(none);
  actions.push_back(obs);
  decorate(actions, cluster);
  const auto& tasks = std::get<reconcile::AddTasks>(actions[0]).tasks;
  CHECK(tasks[0].environment.at("DLG_NM_PORT") == "8000");
  CHECK_FALSE(tasks[0].environment.count("DLG_NM_ON_HEAD"));
  CHECK(tasks[1].environment.at("DLG_NM_ON_HEAD") == "false");
  CHECK(tasks[2].environment.empty());
  CHECK(std::get<reconcile::ProvisionPool>(actions[1]).request.requirement_template_usage.user_data ==
        "#!/bin/bash\necho mine\n");  // a pool's own userData wins
  CHECK(std::get<reconcile::ProvisionPool>(actions[2]).request.requirement_template_usage.user_data == ud);
  CHECK(std::get<reconcile::ProvisionPool>(actions[3]).request.requirement_template_usage.user_data == builtin);

  // Disabled: nothing changes.
  cluster.spec.daliuge->enabled = false;
  reconcile::Actions untouched{add};
  decorate(untouched, cluster);
  CHECK(std::get<reconcile::AddTasks>(untouched[0]).tasks[0].environment.empty());
}

TEST_CASE("cluster: collect() marks cancelled tasks and removed pools unwanted") {
  reconcile::Observed o;
  o.cluster.spec.daliuge = api::DaliugeSpec{};
  o.cluster.spec.daliuge->enabled = true;
  o.cluster.spec.worker_pools = std::vector<api::WorkerPoolSpec>{{"cpu", 2, {}, {}, {}, {}, {}}};
  yellowdog::WorkRequirement wr;
  yellowdog::TaskGroup cpu, gone;
  cpu.name = "worker-nodes-cpu-abc";
  cpu.tag = "worker-cpu";
  gone.name = "worker-nodes-gpu-def";
  gone.tag = "worker-gpu";
  wr.task_groups = {cpu, gone};
  o.work_requirement = wr;
  auto task = [](const std::string& id, const std::string& status) {
    yellowdog::Task t;
    t.id = id;
    t.name = "worker-0000" + id;
    t.worker_id = "w" + id;
    t.status = yellowdog::TaskStatus(status);
    return t;
  };
  o.tasks[cpu.name] = {task("1", "EXECUTING"), task("2", "EXECUTING"), task("3", "FAILED")};
  o.tasks[gone.name] = {task("4", "EXECUTING")};
  reconcile::Actions actions{reconcile::CancelTasks{{"2"}, true, reconcile::CancelReason::kSurplus, "g"}};
  auto c = collect(o, actions);
  REQUIRE(c.nodes.size() == 3);
  CHECK(c.nodes[0].task_id == "1");
  CHECK(c.nodes[0].wanted);
  CHECK(c.nodes[0].worker_id == "w1");
  CHECK_FALSE(c.nodes[1].wanted);  // being cancelled (scale-down)
  CHECK(c.nodes[2].pool == "gpu");
  CHECK_FALSE(c.nodes[2].wanted);  // its pool left the spec
}

TEST_CASE(
    "cluster: merge_status keeps lastTransitionTime, carries over without a pass, drops when disabled") {
  api::RayDogClusterStatus previous;
  api::Condition before;
  before.type = "DaliugeReady";
  before.status = "True";
  before.reason = "NodeManagersRegistered";
  before.last_transition_time = "2026-01-01T00:00:00Z";
  previous.conditions.push_back(before);
  previous.daliuge = api::DaliugeStatus{};
  previous.daliuge->desired_node_managers = 3;
  const std::optional<api::RayDogClusterStatus> prev = previous;

  SyncResult ok;
  ok.ready = true;
  ok.reason = "NodeManagersRegistered";
  api::RayDogClusterStatus s;
  merge_status(s, prev, ok, true, Clock::now());
  REQUIRE(s.conditions.size() == 1);
  CHECK(s.conditions[0].last_transition_time == "2026-01-01T00:00:00Z");

  SyncResult bad;
  bad.reason = "DimUnreachable";
  api::RayDogClusterStatus s2;
  merge_status(s2, prev, bad, true, Clock::now());
  CHECK(s2.conditions[0].status == "False");
  CHECK(s2.conditions[0].last_transition_time != "2026-01-01T00:00:00Z");

  api::RayDogClusterStatus s3;
  merge_status(s3, prev, std::nullopt, true, Clock::now());
  CHECK(s3.daliuge == previous.daliuge);
  CHECK(s3.conditions.size() == 1);

  api::RayDogClusterStatus s4 = previous;
  merge_status(s4, prev, ok, false, Clock::now());
  CHECK_FALSE(s4.daliuge);
  CHECK(s4.conditions.empty());
}
