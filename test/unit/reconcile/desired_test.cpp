// desired.hpp: names per incarnation/revision/attempt, builders of YellowDog objects, script selection,
// and the embedded default scripts.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "controller/reconcile/desired.hpp"
#include "controller/reconcile/scripts.hpp"
#include "test/support/process.hpp"
#include "world.hpp"

namespace rr = raydog::reconcile;
namespace names = raydog::api::names;
using rr::TaskKind;
using rr::testing::sample_cluster;

TEST_CASE("desired: names are deterministic, valid and carry incarnation and revision") {
  auto c = sample_cluster();
  auto n1 = rr::names_for(c, 1);
  auto again = rr::names_for(c, 1);
  CHECK(n1.work_requirement == again.work_requirement);
  CHECK(n1.head.revision == again.head.revision);
  CHECK(n1.work_requirement == n1.base);
  CHECK(n1.head.revision.starts_with(n1.base + "-head-"));
  CHECK(n1.head.rev.size() == 6);
  CHECK(n1.head.task_group == "head-node-" + n1.head.rev);
  CHECK(n1.head.key == "head");
  REQUIRE(n1.workers.size() == 2);
  CHECK(n1.workers[0].key == "worker-cpu");
  CHECK(n1.workers[0].task_group.starts_with("worker-nodes-cpu-"));
  CHECK_FALSE(n1.observability.has_value());
  for (const auto* s : {&n1.work_requirement, &n1.head.revision, &n1.head.task_group, &n1.workers[0].revision,
                        &n1.workers[1].task_group})
    CHECK_MESSAGE(names::is_valid(*s), *s);

  auto n3 = rr::names_for(c, 3);
  CHECK(n3.work_requirement == n1.base + "-3");
  CHECK(n3.head.revision.starts_with(n1.base + "-3-head-"));
  CHECK(n3.head.task_group == n1.head.task_group);  // groups live inside the WR: same name is fine

  // The incarnation round-trips through status.workRequirement.name.
  CHECK(rr::incarnation_from_status(c) == 1);
  c.status = raydog::api::RayDogClusterStatus{};
  c.status->work_requirement =
      raydog::api::WorkRequirementStatus{std::nullopt, n3.work_requirement, std::nullopt};
  CHECK(rr::incarnation_from_status(c) == 3);
  c.status->work_requirement->name = "something-else";
  CHECK(rr::incarnation_from_status(c) == 1);
}

TEST_CASE("desired: revision hash changes with immutable fields only") {
  raydog::api::NodeSpec n;
  n.compute_requirement_template = "ns/tmpl";
  const auto base = rr::rev_hash(n);
  auto changed = [&](auto mutate) {
    auto m = n;
    mutate(m);
    return rr::rev_hash(m) != base;
  };
  CHECK(changed([](auto& m) { m.compute_requirement_template = "ns/other"; }));
  CHECK(changed([](auto& m) { m.images_id = "ami-1"; }));
  CHECK(changed([](auto& m) { m.user_data = "#!/bin/sh"; }));
  CHECK(changed([](auto& m) { m.start_script = "echo"; }));
  CHECK(changed([](auto& m) {
    m.start_script_from = raydog::api::ValueSource{raydog::api::ConfigMapKeySelector{"cm", "k"}};
  }));
  CHECK(changed([](auto& m) { m.instance_tags = std::map<std::string, std::string>{{"a", "b"}}; }));
  CHECK(changed([](auto& m) { m.metrics_enabled = true; }));
  CHECK_FALSE(changed([](auto& m) { m.metrics_enabled = false; }));  // same as the default

  // `nodes` is not part of the node spec hash: a resize keeps the pool.
  auto c = sample_cluster();
  auto before = rr::names_for(c, 1).workers[0].revision;
  (*c.spec.worker_pools)[0].nodes = 7;
  CHECK(rr::names_for(c, 1).workers[0].revision == before);

  // rayResources needs new Ray nodes: a new revision; absent or empty it changes nothing (existing pools
  // keep their names when the operator is upgraded).
  (*c.spec.worker_pools)[0].ray_resources = std::map<std::string, std::string>{};
  CHECK(rr::names_for(c, 1).workers[0].revision == before);
  (*c.spec.worker_pools)[0].ray_resources = std::map<std::string, std::string>{{"CPU", "8"}};
  const auto with_cpus = rr::names_for(c, 1).workers[0].revision;
  CHECK(with_cpus != before);
  (*c.spec.worker_pools)[0].ray_resources = std::map<std::string, std::string>{{"CPU", "16"}};
  CHECK(rr::names_for(c, 1).workers[0].revision != with_cpus);
}

TEST_CASE("desired: rayResources reach ray start through the task environment") {
  const auto env = rr::ray_resources_env(
      {{"CPU", "8"}, {"GPU", "1"}, {"memory", "32Gi"}, {"object_store_memory", "2G"}, {"accel_a100", "1"}, {"half", "500m"}});
  CHECK(env.at("RAYDOG_NUM_CPUS") == "8");
  CHECK(env.at("RAYDOG_NUM_GPUS") == "1");
  CHECK(env.at("RAYDOG_MEMORY") == "34359738368");
  CHECK(env.at("RAYDOG_OBJECT_STORE_MEMORY") == "2000000000");
  CHECK(nlohmann::json::parse(env.at("RAYDOG_RAY_RESOURCES")) == nlohmann::json{{"accel_a100", 1.0}, {"half", 0.5}});
  CHECK(rr::ray_resources_env({{"CPU", "4"}}).size() == 1);  // no custom ones: no RAYDOG_RAY_RESOURCES
  CHECK(rr::ray_resources_env({}).empty());
}

TEST_CASE("desired: pool attempts") {
  const std::string r = "rdc-team-demo-12345678-w-cpu-abcdef";
  CHECK(rr::pool_attempt_name(r, 1) == r);
  CHECK(rr::pool_attempt_name(r, 2) == r + "-r2");
  CHECK(rr::pool_attempt(r, r) == 1);
  CHECK(rr::pool_attempt(r, r + "-r7") == 7);
  CHECK_FALSE(rr::pool_attempt(r, r + "x").has_value());
  const std::string long_r(60, 'a');
  CHECK(rr::pool_attempt_name(long_r, 3).size() == 60);
  CHECK(rr::pool_attempt(long_r, rr::pool_attempt_name(long_r, 3)) == 3);
}

TEST_CASE("desired: provision request, task group, work requirement and task follow the mapping") {
  auto c = sample_cluster();
  auto n = rr::names_for(c, 1);
  auto req = rr::provision_request(c, n.workers[0], n.workers[0].revision, (*c.spec.worker_pools)[0].node, 2,
                                   std::string("#!/bin/sh\n"));
  const auto& u = req.requirement_template_usage;
  CHECK(u.template_id == "ydid:crt:000000:cpu");
  CHECK(u.requirement_name == n.workers[0].revision);
  CHECK(u.requirement_namespace == "ray");
  CHECK(u.requirement_tag == "team-a");
  CHECK(u.target_instance_count == 2);
  CHECK(u.user_data == "#!/bin/sh\n");
  CHECK_FALSE(u.maintain_instance_count);
  const auto& p = req.provisioned_properties;
  CHECK(p.create_node_workers->target_type == "PER_NODE");
  CHECK(p.create_node_workers->target_count == 1);
  CHECK(p.min_nodes == 0);
  CHECK(p.max_nodes == 2);
  CHECK(p.idle_node_shutdown->enabled);
  CHECK(p.idle_node_shutdown->timeout == "PT3M");
  CHECK(p.idle_pool_shutdown->timeout == "PT3M");
  CHECK(p.worker_tag == n.workers[0].revision);
  CHECK(p.metrics_enabled == false);

  auto g = rr::task_group(c, n.workers[0]);
  CHECK(g.name == n.workers[0].task_group);
  CHECK(g.tag == "worker-cpu");
  CHECK(g.run_specification.task_types == std::vector<std::string>{"bash"});
  CHECK(*g.run_specification.worker_tags == std::vector<std::string>{n.workers[0].revision});
  CHECK(*g.run_specification.namespaces == std::vector<std::string>{"ray"});
  CHECK(g.run_specification.task_timeout == "PT24H");
  CHECK_FALSE(g.finish_if_all_tasks_finished);
  CHECK_FALSE(g.finish_if_any_task_failed);

  auto wr = rr::work_requirement(c, n);
  CHECK(wr.name == n.work_requirement);
  CHECK(wr.namespace_ == "ray");
  CHECK(wr.tag == "team-a");
  REQUIRE(wr.task_groups.size() == 3);
  CHECK(wr.task_groups[0].name == n.head.task_group);
  CHECK(wr.task_groups[2].name == n.workers[1].task_group);

  c.spec.lifetime.reset();
  CHECK_FALSE(rr::task_group(c, n.head).run_specification.task_timeout.has_value());

  auto t = rr::task(TaskKind::kWorker, 3, "echo hi", {{"RAY_HEAD_IP", "10.0.0.1"}});
  CHECK(t.name == "worker-00003");
  CHECK(t.task_type == "bash");
  CHECK(t.arguments == std::vector<std::string>{"taskdata.txt"});
  CHECK(t.task_data == "echo hi");
  CHECK(t.environment.at("RAY_HEAD_IP") == "10.0.0.1");
}

TEST_CASE("desired: script and userdata selection: inline, ConfigMap, built-in default, missing") {
  raydog::api::NodeSpec n;
  std::map<std::string, std::string> sources{{"scripts/head.sh", "from-configmap"}};
  CHECK(*rr::task_script(TaskKind::kHead, n, sources) == std::string(rr::scripts::head()));
  CHECK(*rr::task_script(TaskKind::kWorker, n, sources) == std::string(rr::scripts::worker()));
  n.start_script_from = raydog::api::ValueSource{raydog::api::ConfigMapKeySelector{"scripts", "head.sh"}};
  CHECK(*rr::task_script(TaskKind::kHead, n, sources) == "from-configmap");
  n.start_script = "inline";
  CHECK(*rr::task_script(TaskKind::kHead, n, sources) == "inline");
  n.start_script.reset();
  n.start_script_from->config_map_key_ref->key = "missing";
  auto missing = rr::task_script(TaskKind::kHead, n, sources);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().find("\"scripts\"") != std::string::npos);
  CHECK(missing.error().find("\"missing\"") != std::string::npos);

  raydog::api::NodeSpec u;
  CHECK_FALSE(rr::user_data(u, sources)->has_value());
  u.user_data_from = raydog::api::ValueSource{raydog::api::ConfigMapKeySelector{"scripts", "head.sh"}};
  CHECK(**rr::user_data(u, sources) == "from-configmap");
  u.user_data = "inline-ud";
  CHECK(**rr::user_data(u, sources) == "inline-ud");
}

TEST_CASE("desired: current task prefers the executing one, then the newest") {
  std::vector<raydog::yellowdog::Task> tasks(3);
  tasks[0].name = "head-00001";
  tasks[0].status = "FAILED";
  tasks[1].name = "head-00002";
  tasks[1].status = "EXECUTING";
  tasks[2].name = "head-00003";
  tasks[2].status = "READY";
  CHECK(rr::current_task(tasks, TaskKind::kHead) == &tasks[1]);
  tasks[1].status = "ABORTED";
  CHECK(rr::current_task(tasks, TaskKind::kHead) == &tasks[2]);
  tasks[2].status = "CANCELLED";
  CHECK(rr::current_task(tasks, TaskKind::kHead) == nullptr);
  CHECK(rr::next_ordinal(tasks, TaskKind::kHead) == 4);
  CHECK(rr::next_ordinal({}, TaskKind::kHead) == 1);
}

TEST_CASE("scripts: embedded defaults are byte-identical to scripts/ray-*.sh and follow RayDog's rules") {
  CHECK(std::string(rr::scripts::head()) ==
        raydog::test::read_file(raydog::test::source_path("scripts/ray-head.sh")));
  CHECK(std::string(rr::scripts::worker()) ==
        raydog::test::read_file(raydog::test::source_path("scripts/ray-worker.sh")));
  CHECK(std::string(rr::scripts::observability()) ==
        raydog::test::read_file(raydog::test::source_path("scripts/ray-observability.sh")));
  const std::string head(rr::scripts::head()), worker(rr::scripts::worker());
  for (const auto* s : {&head, &worker}) {
    CHECK(s->find("--block") != std::string::npos);
  }
  CHECK(worker.find("trap 'ray stop' EXIT") != std::string::npos);
  CHECK(head.find("trap stop_node EXIT") != std::string::npos);  // its children (DIM, NM, relay), then Ray
  CHECK(head.find("  ray stop\n}") != std::string::npos);
  CHECK(head.find("--head") != std::string::npos);
  CHECK(head.find("--port=6379") != std::string::npos);
  CHECK(head.find("--dashboard-host=0.0.0.0") != std::string::npos);
  CHECK(head.find("--ray-client-server-port=10001") != std::string::npos);
  CHECK(head.find("--dashboard-port=8265") != std::string::npos);
  CHECK(head.find("OBSERVABILITY_HOST}:9090") != std::string::npos);
  CHECK(head.find("OBSERVABILITY_HOST}:3000") != std::string::npos);
  CHECK(worker.find("--address=\"${RAY_HEAD_IP}:6379\"") != std::string::npos);
  const std::string obs(rr::scripts::observability());
  CHECK(obs.find("9090") != std::string::npos);
  CHECK(obs.find("3000") != std::string::npos);
}

TEST_CASE("scripts: shellcheck passes on the default node scripts") {
  auto r = raydog::test::run_command({"shellcheck", raydog::test::source_path("scripts/ray-head.sh"),
                                      raydog::test::source_path("scripts/ray-worker.sh"),
                                      raydog::test::source_path("scripts/ray-observability.sh")});
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("desired: attempt_of inverts attempt_name for every base length and rejects other bases") {
  // Bases from short to longer than fit() keeps, ending in a letter or a digit, and the attempt numbers
  // around the point where "<base>-r<n>" starts being hashed.
  for (std::size_t len = 1; len <= 62; ++len) {
    std::string base = "r";
    while (base.size() < len) base += static_cast<char>('a' + base.size() % 26);
    for (const char* marker : {"-r", "-g"}) {
      for (int n : {1, 2, 3, 9, 10, 11, 99, 100, 101, 999, 1000}) {
        const std::string name = rr::attempt_name(base, marker, n);
        CHECK_MESSAGE(rr::attempt_of(base, marker, name) == n, base << marker << n << " -> " << name);
      }
      // Other roles' names: never taken for an attempt of this base.
      CHECK_FALSE(rr::attempt_of(base, marker, base + "x").has_value());
      CHECK_FALSE(rr::attempt_of(base, marker, "q" + base).has_value());
      CHECK_FALSE(rr::attempt_of(base, marker, rr::attempt_name(base + "z", marker, 2)).has_value());
    }
  }
  // A marker followed by something that is not a number.
  CHECK_FALSE(rr::attempt_of("pool-abc", "-r", "pool-abc-rx").has_value());
  CHECK_FALSE(rr::attempt_of("pool-abc", "-r", "pool-abc-r1").has_value());   // attempt 1 has no suffix
  CHECK_FALSE(rr::attempt_of("pool-abc", "-r", "pool-abc-r02").has_value());  // not what attempt 2 is named
}
