// The autoscaler's fault matrix (issue 20): over one scale-up (2 x {CPU: 8} pending on {CPU: 8} nodes) and
// one scale-down (the demand gone, both nodes idle past idleTimeout), the n-th YellowDog call fails with
// HTTP 500, or the n-th GCS call of the cluster's head fails with UNAVAILABLE, for every n. Each run must
// end exactly where a fault-free one does: 2 worker tasks ever created, both drained once and gone, no
// protocol violation, the operator never crashed.
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

constexpr int kParallel = 8;  // runs at once on one simulator, each its own namespace and operator

struct Run {
  int n = 0;
  std::string mode;  // yd | gcs | none
  std::string ns, name = "as";
  std::unique_ptr<ChildProcess> op;
  int spawned = 0;
  std::string head;
  enum class Phase { kBuilding, kUp, kDown, kDone } phase = Phase::kBuilding;
};

std::string cluster_yaml(Env& env, const Run& r) {
  return small_cluster(env, r.name, r.ns, 0,
                       "    maxNodes: 4\n    rayResources:\n      CPU: \"8\"\n  autoscaling:\n    enabled: true\n"
                       "    pollInterval: 1s\n    idleTimeout: 3s\n");
}

void spawn(Env& env, Run& r, bool armed) {
  if (r.op) r.op->terminate();
  // Poll mode: the observer's paced searches would make the n-th YellowDog call a different step per run.
  std::vector<std::string> extra = {"--namespace", r.ns, "--yellowdog-observe", "poll"};
  if (armed && r.mode == "yd") extra.insert(extra.end(), {"--yd-fault", "5xx", "--yd-fault-nth", std::to_string(r.n)});
  r.op = env.spawn_operator(extra, r.ns + "-" + std::to_string(r.spawned++) + ".log");
}

std::string log_of(Env& env, const Run& r) {
  std::string out;
  for (int i = 0; i < r.spawned; ++i) {
    auto text = read_file(env.dir.file(r.ns + "-" + std::to_string(i) + ".log"));
    if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
    out += "--- operator run " + std::to_string(i) + " of " + r.ns + "\n" + text;
  }
  return out;
}

// PUT /_sim/ray/faults {"head", "failNth"}: the n-th GCS call of that head fails.
void arm_head(Env& env, const std::string& head, int n) {
  const std::string body = json{{"head", head}, {"failNth", n}}.dump();
  auto r = run_command({"curl", "-sS", "-f", "-X", "PUT", "-H", "Content-Type: application/json", "--data", body,
                        env.sim_url() + "/_sim/ray/faults"},
                       {}, std::chrono::seconds(30));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

struct Workers {
  std::size_t ever = 0, executing = 0;
};

Workers workers_of(const json& objects, const Run& r) {
  Workers w;
  for (const auto& t : view_of(objects, "rdc-" + r.ns + "-" + r.name).tasks) {
    if (t.value("name", "").rfind("worker-", 0) != 0) continue;
    ++w.ever;
    if (t.value("status", "") == "EXECUTING") ++w.executing;
  }
  return w;
}

std::string head_of(const json& objects, const Run& r) {
  for (const auto& t : view_of(objects, "rdc-" + r.ns + "-" + r.name).tasks)
    if (t.value("name", "").rfind("head-", 0) == 0 && t.value("status", "") == "EXECUTING") return t["id"];
  return "";
}

int pending_of(const json& heads, const std::string& head) {
  for (const auto& h : heads)
    if (h.value("task", "") == head) return h.value("pendingRequests", -1);
  return -1;
}

// Every worker task of the run, one line each: what a failed check needs to tell a replacement from a launch.
std::string worker_tasks(const json& objects, const Run& r) {
  std::string out;
  for (const auto& t : view_of(objects, "rdc-" + r.ns + "-" + r.name).tasks) {
    if (t.value("name", "").rfind("worker-", 0) != 0) continue;
    out += t.value("name", "") + " " + t.value("status", "") + " started " + t.value("startedTime", "-") +
           " finished " + t.value("finishedTime", "-") + " abortRequested " + t.value("abortRequestedTime", "-") +
           " errors " + t.value("errors", json::array()).dump() + "\n";
  }
  return out;
}

void check_end(Env& env, const Run& r, const json& objects) {
  CAPTURE(r.mode);
  CAPTURE(r.n);
  INFO(log_of(env, r));
  const Workers w = workers_of(objects, r);
  if (w.ever != 2) {
    // What tells a replacement from a second launch: the tasks' times and errors, and the Events
    // (RayNodeLost would mean a drained node's task was healed instead of released).
    std::string events;
    for (const auto& e : env.events(r.ns, r.name)) events += e.value("reason", "") + ": " + e.value("message", "") + "\n";
    MESSAGE("worker tasks of " << r.ns << ":\n" << worker_tasks(objects, r) << "events:\n" << events);
  }
  CHECK(w.ever == 2);  // no duplicate launch
  CHECK(w.executing == 0);
  std::map<std::string, int> accepted;
  for (const auto& c : env.sim_get("ray/calls"))
    if (c.value("head", "") == r.head && c.value("method", "") == "DrainNode" && c.value("accepted", json()) == true)
      ++accepted[c.value("nodeTask", "")];
  CHECK(accepted.size() == 2);
  for (const auto& [task, n] : accepted) CHECK_MESSAGE(n == 1, task << " drained " << n << " times");
  for (const auto& v : env.sim_get("ray/violations")) CHECK_MESSAGE(v.value("head", "") != r.head, v.dump());
}

// Runs of the GCS mode whose armed call came (n beyond the calls a run makes never fires).
int fired = 0;
void count_fired(Env& env, const Run& r) {
  for (const auto& c : env.sim_get("ray/calls"))
    if (c.value("head", "") == r.head && !c.value("fault", json()).is_null()) {
      ++fired;
      return;
    }
}

void batch(Env& env, const std::string& mode, const std::vector<int>& ns) {
  std::vector<Run> runs;
  std::string yaml;
  for (int n : ns) {
    Run r;
    r.n = n;
    r.mode = mode;
    r.ns = "af-" + mode + "-" + std::to_string(n);
    yaml += Env::prerequisites_yaml(r.ns) + "---\n" + cluster_yaml(env, r) + "---\n";
    runs.push_back(std::move(r));
  }
  env.apply(yaml);
  for (auto& r : runs) spawn(env, r, false);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120 + 10 * runs.size());
  for (;;) {
    const json objects = env.sim_get("objects");
    const json heads = env.sim_get("ray/heads");
    bool all_done = true;
    for (auto& r : runs) {
      if (r.phase == Run::Phase::kDone) continue;
      all_done = false;
      if (!r.op->running()) {
        FAIL_CHECK("operator died: mode " << mode << " n=" << r.n << "\n" << log_of(env, r));
        r.phase = Run::Phase::kDone;
        continue;
      }
      const Workers w = workers_of(objects, r);
      if (r.phase == Run::Phase::kBuilding && env.is_ready(r.ns, r.name)) {
        // Armed from here: the n-th call of the scale-up and scale-down that follow.
        r.head = head_of(objects, r);
        if (r.head.empty()) continue;
        spawn(env, r, true);
        if (mode == "gcs") arm_head(env, r.head, r.n);
        env.sim_post("ray/heads/" + r.head + "/demand", json{{"pending", {{{"shape", {{"CPU", 8}}}, {"count", 2}}}}});
        r.phase = Run::Phase::kUp;
      } else if (r.phase == Run::Phase::kUp && w.executing == 2 && pending_of(heads, r.head) == 0) {
        CAPTURE(r.n);
        CHECK_MESSAGE(w.ever == 2, "mode " << mode << " n=" << r.n << "\n" << log_of(env, r));
        env.sim_post("ray/heads/" + r.head + "/demand", json::object());
        r.phase = Run::Phase::kDown;
      } else if (r.phase == Run::Phase::kDown && w.executing == 0) {
        check_end(env, r, objects);
        if (mode == "gcs") count_fired(env, r);
        r.op->terminate();
        r.phase = Run::Phase::kDone;
      }
    }
    if (all_done) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (auto& r : runs)
        if (r.phase != Run::Phase::kDone)
          FAIL_CHECK("mode " << mode << " n=" << r.n << " did not finish (phase " << static_cast<int>(r.phase) << ")\n"
                             << log_of(env, r));
      break;
    }
    std::this_thread::sleep_for(250ms);
  }
}

// n in [from, to], kParallel runs at a time.
void matrix(const std::string& mode, int from, int to) {
  Env env(sim_flags({"--boot-delay", "0", "--register-delay", "0", "--task-start-delay", "0"}));
  for (int n = from; n <= to; n += kParallel) {
    std::vector<int> ns;
    for (int k = n; k <= std::min(to, n + kParallel - 1); ++k) ns.push_back(k);
    batch(env, mode, ns);
  }
}

// How far n goes (RAYDOG_AUTOSCALER_FAULT_MAX_N, else the default): the calls a fault-free run makes after
// arming, as the first case reports them (34 YellowDog calls with the build, 9 GCS calls, on a 2-core
// machine), plus a margin for polls, whose number grows with the machine's load.
int max_n(const char* mode) {
  if (const char* v = std::getenv("RAYDOG_AUTOSCALER_FAULT_MAX_N")) return std::atoi(v);
  return std::string(mode) == "yd" ? 40 : 16;
}

}  // namespace

TEST_CASE("autoscaler fault matrix: a fault-free scale-up and scale-down, and the calls it takes") {
  Env env(sim_flags({"--boot-delay", "0", "--register-delay", "0", "--task-start-delay", "0"}));
  env.sim_post("reset-counters");
  batch(env, "none", {0});
  int gcs = 0;
  for (const auto& c : env.sim_get("ray/calls"))
    if (c.value("method", "") != "GetClusterId") ++gcs;
  MESSAGE("a fault-free run: " << env.sim_get("stats").value("totalCalls", -1) << " YellowDog calls (build included), "
                               << gcs << " GCS calls; the matrix covers n <= " << max_n("yd") << " (YellowDog) and "
                               << max_n("gcs") << " (GCS)");
}

TEST_CASE("autoscaler fault matrix: the n-th YellowDog call after arming fails with HTTP 500, n 1-20") {
  matrix("yd", 1, std::min(20, max_n("yd")));
}

TEST_CASE("autoscaler fault matrix: the n-th YellowDog call after arming fails with HTTP 500, n 21-max") {
  matrix("yd", 21, max_n("yd"));
}

TEST_CASE("autoscaler fault matrix: the n-th GCS call of the cluster's head fails with UNAVAILABLE") {
  fired = 0;
  matrix("gcs", 1, max_n("gcs"));
  MESSAGE("the armed GCS call came in " << fired << " of " << max_n("gcs") << " runs");
  CHECK(fired >= 5);  // the matrix is not vacuous: a run makes at least this many GCS calls after arming
}
