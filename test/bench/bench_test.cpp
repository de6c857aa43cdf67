// The benchmark's building blocks: the emulator's request counters (what the harness counts Kubernetes
// writes with) and a smoke run of the harness itself on 3 clusters (every figure present; no timing is
// asserted, the harness reports figures, it does not judge them here).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "test/emulator/request_stats.hpp"
#include "test/support/process.hpp"

using nlohmann::json;
using raydog::emulator::RequestStats;

TEST_CASE("request stats: keys by verb, resource and subresource") {
  CHECK(RequestStats::key_of("PATCH", "/apis/raydog.io/v1alpha1/namespaces/a/raydogclusters/x/status") ==
        "PATCH raydogclusters.raydog.io/status");
  CHECK(RequestStats::key_of("PATCH", "/apis/raydog.io/v1alpha1/namespaces/a/raydogclusters/x") ==
        "PATCH raydogclusters.raydog.io");
  CHECK(RequestStats::key_of("POST", "/api/v1/namespaces/a/events") == "POST events");
  CHECK(RequestStats::key_of("POST", "/apis/events.k8s.io/v1/namespaces/a/events") ==
        "POST events.events.k8s.io");
  CHECK(RequestStats::key_of("GET", "/apis/raydog.io/v1alpha1/raydogclusters?watch=1&resourceVersion=5") ==
        "GET(watch) raydogclusters.raydog.io");
  CHECK(RequestStats::key_of("GET", "/apis/raydog.io/v1alpha1/raydogclusters?limit=500") ==
        "GET(list) raydogclusters.raydog.io");
  CHECK(RequestStats::key_of("GET", "/api/v1/watch/namespaces/a/configmaps") == "GET(watch) configmaps");
  CHECK(RequestStats::key_of("GET", "/api/v1/namespaces/a/secrets/yd") == "GET secrets");
  CHECK(RequestStats::key_of("GET", "/api/v1/namespaces/a") == "GET namespaces");
  CHECK(RequestStats::key_of("GET", "/api/v1/namespaces") == "GET(list) namespaces");
  CHECK(RequestStats::key_of("DELETE", "/api/v1/namespaces/a/configmaps") == "DELETE(collection) configmaps");
  CHECK(RequestStats::key_of("PUT", "/apis/coordination.k8s.io/v1/namespaces/a/leases/l") ==
        "PUT leases.coordination.k8s.io");
  CHECK(RequestStats::key_of("GET", "/version") == "GET /other");
  CHECK(RequestStats::key_of("GET", "/apis/raydog.io/v1alpha1?x=watch=1") == "GET /other");
  // "watch=10" or "xwatch=1" is not a watch.
  CHECK(RequestStats::key_of("GET", "/api/v1/configmaps?xwatch=1") == "GET(list) configmaps");
}

TEST_CASE("request stats: counts, writes, errors, reset") {
  RequestStats s;
  s.record("PATCH", "/apis/raydog.io/v1alpha1/namespaces/a/raydogclusters/x/status", 200);
  s.record("PATCH", "/apis/raydog.io/v1alpha1/namespaces/a/raydogclusters/x/status", 409);
  s.record("GET", "/api/v1/namespaces/a/secrets/yd", 404);
  s.record("POST", "/api/v1/namespaces/a/events", 201);
  auto j = json::parse(s.to_json());
  CHECK(j["totalRequests"] == 4);
  CHECK(j["writes"] == 3);
  CHECK(j["requests"]["PATCH raydogclusters.raydog.io/status"] == 2);
  CHECK(j["errors"]["PATCH raydogclusters.raydog.io/status"] == 1);
  CHECK(j["errors"]["GET secrets"] == 1);
  CHECK_FALSE(j["errors"].contains("POST events"));
  s.reset();
  j = json::parse(s.to_json());
  CHECK(j["totalRequests"] == 0);
  CHECK(j["requests"].empty());
}

namespace {

// Runs test/bench/<script> with the build's binaries and `args`; REQUIREs exit 0 and one run in its results.
std::pair<raydog::test::CommandResult, json> run_harness(raydog::test::TempDir& dir, const std::string& script,
                                                         std::vector<std::string> args) {
  const std::string out = dir.file("results.json");
  auto bin = raydog::test::bin_path("raydog-operator");
  std::vector<std::string> argv = {"/usr/bin/python3", raydog::test::source_path("test/bench/" + script),
                                   "--bin-dir", bin.substr(0, bin.rfind('/')), "--out", out, "--workdir",
                                   dir.file("runs")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = raydog::test::run_command(argv, {}, std::chrono::seconds(200));
  INFO(r.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = json::parse(raydog::test::read_file(out));
  REQUIRE(j["runs"].size() == 1);
  return {r, j};
}

}  // namespace

TEST_CASE("harness: a 3-cluster run produces every figure") {
  raydog::test::TempDir dir;
  auto [r, j] = run_harness(dir, "raydog_bench.py",
                            {"--n", "3", "--steady-window", "1", "--idle-seconds", "0.5", "--settle-quiet", "1",
                             "--ready-timeout", "120", "--configmaps", "50"});
  const auto& run = j["runs"][0];
  CHECK(run["ok"] == true);
  CHECK(run["readyClusters"] == 3);
  CHECK(run["headTasks"] == 3);
  CHECK(run["duplicates"]["workRequirements"] == 0);
  // 1 head + 2 pools: 2 lookups, 3 provisions, WR, head task, head seen, 2 IP lookups, 2 worker adds,
  // workers seen, 3 pool reads for the pool status (raydog_bench.py minimum_yellowdog_calls()).
  CHECK(run["ydMinimumPerCluster"] == 16);
  CHECK(run["configMaps"] == 50);
  for (const char* k : {"timeToAllHeadTasksS", "timeToAllReadyS", "rssIdleMB", "rssConfigMapsGrowthMB", "rssPeakMB",
                        "rssAfterReadyMB",
                        "bytesPerCluster", "ydCallsPerCluster", "ydCallsRatio", "steadyK8sWrites",
                        "steadyYdCallsPerClusterMin", "steadyGcsCallsPerClusterMin"})
    CHECK_MESSAGE(run[k].is_number(), k);
  CHECK(run["k8sWritesPerCluster"]["statusPatches"].get<double>() >= 1);
  CHECK(run["k8sWritesPerCluster"]["finalizerUpdates"].get<double>() >= 1);
  for (const char* p : {"raydog-operator", "kube-emulator", "yellowdog-sim"})
    CHECK_MESSAGE(run["cpuSeconds"]["build"][p].is_number(), p);
  CHECK(r.out.find("ratio to the minimum") != std::string::npos);
}

TEST_CASE("harness: the autoscaling row with 3 clusters produces every figure") {
  raydog::test::TempDir dir;
  auto [r, j] = run_harness(dir, "autoscaler_bench.py",
                            {"--n", "3", "--window", "2", "--poll-interval", "1", "--ready-timeout", "120"});
  const auto& run = j["runs"][0];
  CHECK(run["ok"] == true);
  CHECK(run["readyClusters"] == 3);
  CHECK(run["clustersServed"] == 3);
  CHECK(run["extraTasks"] == 0);
  for (const char* k : {"p50", "p99", "max"}) CHECK_MESSAGE(run["demandToRequestedS"][k].is_number(), k);
  for (const char* k : {"gcsCallsPerClusterMin", "rssIdleMB", "rssBeforeDemandMB", "rssPeakMB"})
    CHECK_MESSAGE(run[k].is_number(), k);
  CHECK(r.out.find("demand -> every needed task requested") != std::string::npos);
}
