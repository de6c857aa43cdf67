// YellowDogClient against the real yellowdog-sim binary: RayDog's build() / add_worker_pool() /
// shut_down() sequences (yellowdog-api.md §9.1) using only the client, with and without injected faults.
#include <doctest/doctest.h>

#include <utility>  // first: Boost 1.74's awaitable.hpp needs it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <set>

#include "controller/http/client.hpp"
#include "controller/yellowdog/client.hpp"
#include "test/support/process.hpp"

using namespace raydog;
using namespace raydog::yellowdog;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

void run(net::io_context& ioc, net::awaitable<void> work) {
  std::exception_ptr failure;
  bool done = false;
  net::co_spawn(ioc, std::move(work), [&](std::exception_ptr e) {
    failure = e;
    done = true;
    ioc.stop();
  });
  ioc.restart();
  ioc.run();
  REQUIRE(done);
  if (failure) std::rethrow_exception(failure);
}

net::awaitable<void> pause(std::chrono::milliseconds d) {
  net::steady_timer t(co_await net::this_coro::executor, d);
  co_await t.async_wait(net::use_awaitable);
}

// The simulator as a child process, killed when the test ends.
struct Sim {
  test::TempDir dir;
  std::unique_ptr<test::ChildProcess> proc;
  std::string url;
  explicit Sim(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{test::bin_path("yellowdog-sim"),
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--write-url",
                                  dir.file("url"),
                                  "--key-id",
                                  "app-id",
                                  "--key-secret",
                                  "sim-secret-123",
                                  "--boot-delay",
                                  "200ms",
                                  "--register-delay",
                                  "200ms",
                                  "--task-start-delay",
                                  "200ms"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    test::ProcessOptions o;
    o.stdout_file = dir.file("sim.out");
    o.stderr_file = dir.file("sim.err");
    proc = std::make_unique<test::ChildProcess>(argv, o);
    auto u = test::wait_for_file(dir.file("url"), 30s, proc.get());
    REQUIRE(u);
    url = *u;
    while (!url.empty() && (url.back() == '\n' || url.back() == ' ')) url.pop_back();
  }
};

YellowDogClientOptions client_options(const std::string& url) {
  YellowDogClientOptions o;
  o.base_url = url;
  o.credentials = {"app-id", "sim-secret-123"};
  o.request_timeout = 10s;
  o.retry.base = 5ms;  // the §8.2 shape, scaled down so the test does not wait 10 s per retry
  o.retry.cap = 50ms;
  o.retry.retry_after_cap = 50ms;
  return o;
}

// GET on the simulator's /_sim/ API (no key needed, never faulted).
net::awaitable<Json> sim_get(http::Client& c, std::string target) {
  http::Request req{http::bhttp::verb::get, target, 11};
  auto r = co_await c.send(std::move(req));
  if (!r || r->result_int() != 200) throw std::runtime_error("sim control call failed: " + target);
  co_return Json::parse(r->body());
}

// An address of this simulator's own loopback block (GET /_sim/stats "ipBlock"): private 127.N.x.y with
// x < 128, public 127.N.(128+x).y.
net::awaitable<bool> in_block(http::Client& control, const std::string& ip, bool public_ip) {
  const Json stats = co_await sim_get(control, "/_sim/stats");
  const std::string block = "127." + std::to_string(stats["ipBlock"].get<int>()) + ".";
  if (ip.rfind(block, 0) != 0) co_return false;
  const int third = std::stoi(ip.substr(block.size(), ip.find('.', block.size()) - block.size()));
  co_return public_ip ? third >= 128 : third < 128;
}

net::awaitable<void> sim_put_faults(http::Client& c, Json faults) {
  http::Request req{http::bhttp::verb::put, "/_sim/faults", 11};
  req.set(http::bhttp::field::content_type, "application/json");
  req.body() = faults.dump();
  req.prepare_payload();
  auto r = co_await c.send(std::move(req));
  if (!r || r->result_int() != 200) throw std::runtime_error("PUT /_sim/faults failed");
}

ProvisionRequest pool_request(const std::string& name, int nodes) {
  ProvisionRequest p;
  auto& u = p.requirement_template_usage;
  u.template_id = "ray/sim-template";
  u.requirement_name = name;
  u.requirement_namespace = "ray";
  u.requirement_tag = "test";
  u.target_instance_count = nodes;
  auto& pp = p.provisioned_properties;
  pp.create_node_workers = NodeWorkersTarget{"PER_NODE", 1, std::nullopt};
  pp.min_nodes = 0;
  pp.max_nodes = nodes;
  pp.idle_node_shutdown = AutoShutdown{true, "PT3M"};
  pp.idle_pool_shutdown = AutoShutdown{true, "PT3M"};
  pp.worker_tag = name;
  pp.metrics_enabled = false;
  return p;
}

TaskGroup group(const std::string& name, const std::string& worker_tag, bool head) {
  TaskGroup g;
  g.name = name;
  g.run_specification.task_types = {"bash"};
  g.run_specification.worker_tags = Strings{worker_tag};
  g.run_specification.namespaces = Strings{"ray"};
  g.finish_if_any_task_failed = head;
  return g;
}

Task ray_task(const std::string& name, const std::string& script, StringMap env = {}) {
  Task t;
  t.name = name;
  t.task_type = "bash";
  t.arguments = {"taskdata.txt"};
  t.task_data = script;
  t.environment = std::move(env);
  return t;
}

// Find-before-create, as the reconciler does: a create whose outcome is unknown is followed by a lookup.
net::awaitable<WorkerPool> ensure_pool(YellowDogApi& api, ProvisionRequest request) {
  const std::string name = request.requirement_template_usage.requirement_name;
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto found = co_await api.get_worker_pool_by_name("ray", name);
    if (found) co_return *found;
    if (found.error().kind != YdErrorKind::kNotFound) continue;
    auto made = co_await api.provision_worker_pool(request);
    if (made) co_return *made;
  }
  throw std::runtime_error("could not ensure pool " + name);
}

net::awaitable<WorkRequirement> ensure_wr(YellowDogApi& api, WorkRequirement wr) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto found = co_await api.get_work_requirement_by_name("ray", wr.name);
    if (found) co_return *found;
    if (found.error().kind != YdErrorKind::kNotFound) continue;
    auto made = co_await api.create_work_requirement(wr);
    if (made) co_return *made;
  }
  throw std::runtime_error("could not ensure work requirement");
}

net::awaitable<std::vector<Task>> ensure_tasks(YellowDogApi& api, std::string wr_id, std::string group_id,
                                               std::vector<Task> wanted) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    TaskSearch s;
    s.work_requirement_id = wr_id;
    s.task_group_id = group_id;
    auto existing = co_await api.search_tasks(s);
    if (!existing) continue;
    std::vector<Task> missing;
    for (const auto& w : wanted) {
      bool have = false;
      for (const auto& t : *existing) have = have || t.name == w.name;
      if (!have) missing.push_back(w);
    }
    if (missing.empty()) co_return *existing;
    co_await api.add_tasks(group_id, missing);  // errors: look again
  }
  throw std::runtime_error("could not ensure tasks");
}

net::awaitable<Task> wait_executing(YellowDogApi& api, std::string task_id) {
  for (int i = 0; i < 600; ++i) {
    auto t = co_await api.get_task(task_id);
    if (t && t->status) {
      if (*t->status == "EXECUTING") co_return *t;
      if (is_fatal_while_waiting(*t->status)) throw std::runtime_error("task failed: " + t->status->str());
    }
    co_await pause(50ms);
  }
  throw std::runtime_error("task never reached EXECUTING");
}

struct HeadAddresses {
  std::string private_ip, public_ip, node_id;
};

// §9 head IP discovery: task -> worker -> node -> private IP; pool -> CR -> instances -> public IP.
net::awaitable<HeadAddresses> resolve_ips(YellowDogApi& api, const Task& task, const std::string& pool_id) {
  HeadAddresses out;
  auto node = co_await api.get_node_of_worker(*task.worker_id);
  if (!node) throw std::runtime_error(node.error().what());
  out.private_ip = node->details.private_ip_address.value_or("");
  out.node_id = node->id;
  auto pool = co_await api.get_worker_pool(pool_id);
  if (!pool || !pool->compute_requirement_id) throw std::runtime_error("no pool CR");
  InstanceSearch s;
  s.compute_requirement_id = *pool->compute_requirement_id;
  auto instances = co_await api.search_instances(s);
  if (!instances) throw std::runtime_error(instances.error().what());
  for (const auto& i : *instances)
    if (i.id.instance_id == node->details.instance_id) out.public_ip = i.public_ip_address.value_or("");
  co_return out;
}

struct BuildResult {
  WorkerPool head_pool, worker_pool;
  WorkRequirement wr;
  HeadAddresses head;
  std::vector<Task> worker_tasks;
};

// RayDog's build(): pools, WR, head task, wait EXECUTING, resolve IPs, worker tasks with RAY_HEAD_IP.
net::awaitable<BuildResult> build(YellowDogApi& api, int workers) {
  BuildResult b;
  b.head_pool = co_await ensure_pool(api, pool_request("c-00-head", 1));
  b.worker_pool = co_await ensure_pool(api, pool_request("c-01-wrkrs", workers));
  WorkRequirement wr;
  wr.namespace_ = "ray";
  wr.name = "c";
  wr.tag = "test";
  wr.task_groups.push_back(group("head-node", "c-00-head", true));
  wr.task_groups.push_back(group("worker-nodes-01", "c-01-wrkrs", false));
  b.wr = co_await ensure_wr(api, wr);
  const std::string head_group = *b.wr.find_group("head-node")->id;
  std::vector<Task> head_wanted;
  head_wanted.push_back(ray_task("task-00001", "ray start --head --port=6379 --block\n"));
  auto head_tasks = co_await ensure_tasks(api, *b.wr.id, head_group, std::move(head_wanted));
  auto head = co_await wait_executing(api, *head_tasks.at(0).id);
  // Under injected faults a lookup may still fail after the client's retries: repeat the resolution.
  for (int attempt = 0;; ++attempt) {
    try {
      b.head = co_await resolve_ips(api, head, b.head_pool.id);
      break;
    } catch (const std::runtime_error&) {
      if (attempt == 10) throw;
    }
  }
  std::vector<Task> wanted;
  for (int i = 0; i < workers; ++i) {
    wanted.push_back(
        ray_task("task-0000" + std::to_string(i + 2), "ray start --address=$RAY_HEAD_IP:6379 --block\n",
                 {{"RAY_HEAD_IP", b.head.private_ip}, {"RAY_HEAD_NODE_PRIVATE_IP", b.head.private_ip}}));
  }
  b.worker_tasks =
      co_await ensure_tasks(api, *b.wr.id, *b.wr.find_group("worker-nodes-01")->id, std::move(wanted));
  co_return b;
}

// RayDog's shut_down(): cancel the WR with abort (errors ignored), then per pool: GET -> terminate CR ->
// DELETE.
net::awaitable<void> shut_down(YellowDogApi& api, std::string wr_id, std::vector<std::string> pool_ids) {
  co_await api.cancel_work_requirement(wr_id, true);
  for (const auto& id : pool_ids) {
    auto pool = co_await api.get_worker_pool(id);
    if (pool && pool->compute_requirement_id)
      co_await api.terminate_compute_requirement(*pool->compute_requirement_id);
    co_await api.shut_down_worker_pool(id);
  }
}

}  // namespace

TEST_CASE("sim: build, add a worker pool, shut down (RayDog §9.1) using only the client") {
  Sim sim;
  net::io_context ioc;
  YellowDogClient client(ioc.get_executor(), client_options(sim.url));
  http::ClientOptions co;
  co.base_url = sim.url;
  http::Client control(ioc.get_executor(), co);

  run(ioc, [](YellowDogClient& api, http::Client& control) -> net::awaitable<void> {
    BuildResult b = co_await build(api, 2);
    const bool private_in_block = co_await in_block(control, b.head.private_ip, false);
    const bool public_in_block = co_await in_block(control, b.head.public_ip, true);
    CHECK(private_in_block);
    CHECK(public_in_block);
    REQUIRE(b.worker_tasks.size() == 2);
    for (const auto& t : b.worker_tasks) CHECK(t.environment.at("RAY_HEAD_IP") == b.head.private_ip);

    // Workers come up on their own pool's nodes.
    const std::string worker_group = *b.wr.find_group("worker-nodes-01")->id;
    for (const auto& t : b.worker_tasks) {
      auto running = co_await wait_executing(api, *t.id);
      auto node = co_await api.get_node_of_worker(*running.worker_id);
      REQUIRE(node.ok());
      CHECK(node->worker_pool_id == b.worker_pool.id);
      CHECK(node->details.private_ip_address != b.head.private_ip);
    }

    // add_worker_pool(): provision -> GET WR -> append group -> PUT WR -> add tasks to the new (last) group.
    auto extra_pool = co_await api.provision_worker_pool(pool_request("c-02-wrkrs", 1));
    REQUIRE(extra_pool.ok());
    auto wr = co_await api.get_work_requirement(*b.wr.id);
    REQUIRE(wr.ok());
    wr->task_groups.push_back(group("worker-nodes-02", "c-02-wrkrs", false));
    auto updated = co_await api.update_work_requirement(*wr);
    REQUIRE(updated.ok());
    REQUIRE(updated->task_groups.size() == 3);
    CHECK(updated->task_groups[0].id == b.wr.task_groups[0].id);
    REQUIRE(updated->task_groups[2].id);
    std::vector<Task> more{
        ray_task("task-00004", "ray start --block\n", {{"RAY_HEAD_IP", b.head.private_ip}})};
    auto added = co_await api.add_tasks(*updated->task_groups[2].id, more);
    REQUIRE(added.ok());
    co_await wait_executing(api, *added->at(0).id);

    // Searches over the simulator's slices.
    WorkerPoolSearch ps;
    ps.namespace_ = "ray";
    auto pools = co_await api.search_worker_pools(ps);
    REQUIRE(pools.ok());
    CHECK(pools->size() == 3);
    TaskSearch ts;
    ts.work_requirement_id = *b.wr.id;
    ts.statuses = {"EXECUTING"};
    auto executing = co_await api.search_tasks(ts);
    REQUIRE(executing.ok());
    CHECK(executing->size() == 4);

    std::vector<std::string> pool_ids;
    pool_ids.push_back(b.head_pool.id);
    pool_ids.push_back(b.worker_pool.id);
    pool_ids.push_back(extra_pool->id);
    co_await shut_down(api, *b.wr.id, pool_ids);
    for (int i = 0; i < 400; ++i) {
      auto w = co_await api.get_work_requirement(*b.wr.id);
      if (w && w->status && is_finished(*w->status)) break;
      co_await pause(50ms);
    }
    auto final_wr = co_await api.get_work_requirement(*b.wr.id);
    REQUIRE(final_wr.ok());
    CHECK(final_wr->status->str() == "CANCELLED");
    // 403 on an illegal transition is a value of the right kind.
    auto again = co_await api.cancel_work_requirement(*b.wr.id, true);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().kind == YdErrorKind::kInvalidStatusTransition);
    CHECK(again.error().http_status == 403);
    TaskSearch all;
    all.work_requirement_id = *b.wr.id;
    auto tasks = co_await api.search_tasks(all);
    REQUIRE(tasks.ok());
    CHECK(tasks->size() == 4);
    for (const auto& t : *tasks) CHECK(t.status->str() == "ABORTED");
    std::vector<std::string> first_pools;
    first_pools.push_back(b.head_pool.id);
    first_pools.push_back(b.worker_pool.id);
    for (const auto& id : first_pools) {
      auto p = co_await api.get_worker_pool(id);
      REQUIRE(p.ok());
      CHECK(is_finished(p->status));
    }

    Json stats = co_await sim_get(control, "/_sim/stats");
    CHECK(stats["calls"]["POST /workerPools/provisioned/template"] == 3);
    CHECK(stats["calls"]["POST /work/requirements"] == 1);
  }(client, control));
}

TEST_CASE("sim: wrong key is NotAuthorised and the secret is not echoed") {
  Sim sim;
  net::io_context ioc;
  auto o = client_options(sim.url);
  o.credentials = {"app-id", "the-wrong-secret-456"};
  YellowDogClient client(ioc.get_executor(), o);
  std::optional<YdError> err;
  run(ioc, [](YellowDogClient& api, std::optional<YdError>& err) -> net::awaitable<void> {
    auto r = co_await api.get_work_requirement_by_name("ray", "c");
    if (!r) err = r.error();
  }(client, err));
  REQUIRE(err);
  CHECK(err->kind == YdErrorKind::kNotAuthorised);
  CHECK(err->http_status == 401);
  CHECK(err->what().find("the-wrong-secret-456") == std::string::npos);
}

TEST_CASE("sim: SSE updates of a worker pool follow it to TERMINATED") {
  Sim sim;
  net::io_context ioc;
  YellowDogClient client(ioc.get_executor(), client_options(sim.url));
  run(ioc, [](YellowDogClient& api) -> net::awaitable<void> {
    auto pool = co_await api.provision_worker_pool(pool_request("c-00-head", 1));
    REQUIRE(pool.ok());
    auto stream = co_await api.watch_worker_pool(pool->id);
    REQUIRE(stream.ok());
    std::vector<std::string> statuses;
    bool shut = false;
    for (int i = 0; i < 100; ++i) {
      auto ev = co_await (*stream)->next(20s);
      REQUIRE(ev.ok());
      if (!ev->has_value()) break;  // the simulator ends the stream at a final status
      CHECK((*ev)->id == pool->id);
      if (statuses.empty() || statuses.back() != (*ev)->status.str()) statuses.push_back((*ev)->status.str());
      if ((*ev)->status == "IDLE" && !shut) {
        shut = true;
        auto d = co_await api.shut_down_worker_pool(pool->id);
        CHECK(d.ok());
      }
    }
    REQUIRE_FALSE(statuses.empty());
    CHECK(statuses.front() == "PENDING");
    CHECK(statuses.back() == "TERMINATED");
    CHECK(shut);
  }(client));
}

TEST_CASE("sim: build converges without duplicates under injected 5xx/429 and lost responses") {
  for (const char* seed : {"1", "2", "3"}) {
    CAPTURE(seed);
    Sim sim({"--fail-rate", "0.25", "--fail-codes", "500,503,429", "--lose-response-rate", "0.15", "--seed",
             seed, "--retry-after", "0"});
    net::io_context ioc;
    auto o = client_options(sim.url);
    YellowDogClient client(ioc.get_executor(), o);
    http::ClientOptions co;
    co.base_url = sim.url;
    http::Client control(ioc.get_executor(), co);
    run(ioc, [](YellowDogClient& api, http::Client& control) -> net::awaitable<void> {
      BuildResult b = co_await build(api, 2);
      const bool private_in_block = co_await in_block(control, b.head.private_ip, false);
      CHECK(private_in_block);
      Json objects = co_await sim_get(control, "/_sim/objects");
      CHECK(objects["workRequirements"].size() == 1);
      CHECK(objects["workerPools"].size() == 2);
      CHECK(objects["computeRequirements"].size() == 2);
      CHECK(objects["tasks"].size() == 3);
      std::set<std::string> names;
      for (const auto& t : objects["tasks"]) names.insert(t.value("name", ""));
      CHECK(names.size() == 3);
      Json stats = co_await sim_get(control, "/_sim/stats");
      CHECK(stats["faults"]["injected"].get<int>() + stats["faults"]["droppedResponses"].get<int>() > 0);
    }(client, control));
  }
}

TEST_CASE("sim: a create whose response is lost is reported maybe_applied, found by name, not duplicated") {
  Sim sim;
  net::io_context ioc;
  YellowDogClient client(ioc.get_executor(), client_options(sim.url));
  http::ClientOptions co;
  co.base_url = sim.url;
  http::Client control(ioc.get_executor(), co);
  run(ioc, [](YellowDogClient& api, http::Client& control) -> net::awaitable<void> {
    Json lose_all = Json::object();
    lose_all["loseResponseRate"] = 1.0;
    Json lose_none = Json::object();
    lose_none["loseResponseRate"] = 0.0;
    co_await sim_put_faults(control, lose_all);
    WorkRequirement wr;
    wr.namespace_ = "ray";
    wr.name = "lost";
    wr.task_groups.push_back(group("head-node", "lost-00-head", true));
    auto created = co_await api.create_work_requirement(wr);
    auto pool = co_await api.provision_worker_pool(pool_request("lost-00-head", 1));
    co_await sim_put_faults(control, lose_none);
    REQUIRE_FALSE(created.ok());
    CHECK(created.error().kind == YdErrorKind::kTransport);
    CHECK(created.error().maybe_applied);
    CHECK(created.error().attempts == 1);
    REQUIRE_FALSE(pool.ok());
    CHECK(pool.error().maybe_applied);

    auto found = co_await api.get_work_requirement_by_name("ray", "lost");
    REQUIRE(found.ok());
    CHECK(found->task_groups.size() == 1);
    auto found_pool = co_await api.get_worker_pool_by_name("ray", "lost-00-head");
    REQUIRE(found_pool.ok());
    Json stats = co_await sim_get(control, "/_sim/stats");
    CHECK(stats["calls"]["POST /work/requirements"] == 1);
    CHECK(stats["calls"]["POST /workerPools/provisioned/template"] == 1);
    Json objects = co_await sim_get(control, "/_sim/objects");
    CHECK(objects["workRequirements"].size() == 1);
    CHECK(objects["workerPools"].size() == 1);
  }(client, control));
}
