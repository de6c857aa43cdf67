// `make demo` (scripts/demo.sh) end to end with this build's binaries (RAYDOG_BIN): every stage prints, the
// cluster converges, scales, loses a pool, is deleted, YellowDog is left clean and the script exits 0; and a
// Ctrl-C (SIGINT to the script's process group) mid-run exits 130 with everything it started stopped.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "test/support/process.hpp"

using namespace std::chrono_literals;
using raydog::test::ChildProcess;
using raydog::test::ProcessOptions;
using raydog::test::TempDir;

namespace {

ProcessOptions demo_options(const TempDir& dir) {
  ProcessOptions po;
  po.env["RAYDOG_BIN"] =
      std::filesystem::path(raydog::test::bin_path("raydog-operator")).parent_path().string();
  po.env["TMPDIR"] = dir.path().string();  // its work dir goes here: the test sees it is removed
  po.stdout_file = dir.file("demo.out");
  po.stderr_file = dir.file("demo.err");
  return po;
}

// Direct children of `pid` (from /proc).
std::vector<int> children_of(int pid) {
  std::vector<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so parse after the last ')'.
    const std::string text = raydog::test::read_file((e.path() / "stat").string());
    auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(text.substr(close + 1));
    std::string state;
    int ppid = 0;
    rest >> state >> ppid;
    const int self = std::stoi(name);
    if (ppid == pid) out.push_back(self);
  }
  return out;
}

bool alive(int pid) {
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

}  // namespace

TEST_CASE("scripts_e2e: make demo runs every stage, leaves YellowDog clean and exits 0") {
  TempDir dir;
  ChildProcess demo({"bash", raydog::test::source_path("scripts/demo.sh")}, demo_options(dir));
  auto rc = demo.wait(240s);
  const std::string out = raydog::test::read_file(dir.file("demo.out"));
  const std::string err = raydog::test::read_file(dir.file("demo.err"));
  INFO(out, "\n--- stderr\n", err);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  for (const char* stage :
       {"== Starting kube-emulator", "== Installing the CRD and starting raydog-operator",
        "== Applying a credentials", "== Converging", "== Endpoints", "== Scaling pool 'cpu'",
        "== Removing pool 'gpu'", "== Deleting the cluster", "== Autoscaling", "== Reaching the cluster",
        "== YellowDog after deletion",
        "== Done in"})
    CHECK(out.find(stage) != std::string::npos);
  // The autoscaled pools grow with the demand and shrink back when idle.
  CHECK(out.find("cpu 4 target / 4 ready   gpu 1 target / 1 ready") != std::string::npos);
  CHECK(out.find("ScaledUp   pool cpu: +3 nodes") != std::string::npos);
  CHECK(out.find("ScaledDown   pool cpu: -") != std::string::npos);
  CHECK(out.find("Running") != std::string::npos);
  CHECK(out.find("Ray dashboard:  http://") != std::string::npos);
  CHECK(out.find("clean: every work requirement finished, every pool shut down") != std::string::npos);
  // kubectl raydog get and the head Service of the autoscaled cluster.
  CHECK(std::regex_search(out, std::regex(R"(elastic\s+Running\s+True)")));
  CHECK(std::regex_search(out, std::regex(R"(In-cluster client:\s+ray://elastic-head\.team-a\.svc:10001)")));
  CHECK(out.find("service/elastic-head") != std::string::npos);
  CHECK(out.find("endpointslice.discovery.k8s.io/elastic-head") != std::string::npos);
  // Its work dir (kubeconfig, logs) is gone.
  CHECK(std::filesystem::is_empty(dir.path()) == false);  // demo.out/err are ours
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().rfind("raydog-demo.", 0) != 0);
}

TEST_CASE("scripts_e2e: demo.sh --observability prints the Ray nodes Prometheus holds after Ready, a scale-up and a scale-down") {
  TempDir dir;
  ChildProcess demo({"bash", raydog::test::source_path("scripts/demo.sh"), "--observability"}, demo_options(dir));
  auto rc = demo.wait(240s);
  const std::string out = raydog::test::read_file(dir.file("demo.out"));
  INFO(out, "\n--- stderr\n", raydog::test::read_file(dir.file("demo.err")));
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  // N = head + workers: 2 workers, then 4, then 1 (the drained ones leave Prometheus, none lingers).
  const auto first = out.find("prometheus targets up: 3/3\n");
  const auto second = out.find("prometheus targets up: 5/5\n");
  const auto third = out.find("prometheus targets up: 2/2\n");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(third != std::string::npos);
  CHECK((first < second && second < third));
  CHECK(out.find("== Done in") != std::string::npos);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().rfind("raydog-demo.", 0) != 0);  // its work dir, tasks included, is gone
}

TEST_CASE("scripts_e2e: demo.sh --job shows a RayDogJob from apply to Complete, its cluster and then itself deleted") {
  TempDir dir;
  ChildProcess demo({"bash", raydog::test::source_path("scripts/demo.sh"), "--job"}, demo_options(dir));
  auto rc = demo.wait(240s);
  const std::string out = raydog::test::read_file(dir.file("demo.out"));
  INFO(out, "\n--- stderr\n", raydog::test::read_file(dir.file("demo.err")));
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  // The job's deployment status moves through its steps in order, one line per change.
  const auto init = out.find(" Initializing ");
  const auto running = out.find(" Running ");
  const auto complete = out.find("raydogjob.raydog.io/pi condition met");
  CHECK(init != std::string::npos);
  CHECK(running != std::string::npos);
  CHECK(complete != std::string::npos);
  CHECK((init < running && running < complete));
  // Exactly one submission reached the simulated head, and it succeeded.
  CHECK(std::regex_search(out, std::regex(R"(Submissions the simulated head received: \[\('pi-[0-9a-f]{8}-1', 'SUCCEEDED'\)\])")));
  CHECK(out.find("Submitted") != std::string::npos);
  CHECK(out.find("ClusterDeleted") != std::string::npos);
  CHECK(out.find("== Done in") != std::string::npos);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().rfind("raydog-demo.", 0) != 0);
}

TEST_CASE("scripts_e2e: Ctrl-C during make demo exits 130 and stops everything it started") {
  TempDir dir;
  ChildProcess demo({"bash", raydog::test::source_path("scripts/demo.sh")}, demo_options(dir));
  // Interrupt while the cluster converges: all three servers run then.
  bool converging = false;
  for (int i = 0; i < 1200 && !converging; ++i) {
    converging = raydog::test::read_file(dir.file("demo.out")).find("== Converging") != std::string::npos;
    if (!converging) std::this_thread::sleep_for(100ms);
  }
  REQUIRE_MESSAGE(converging, raydog::test::read_file(dir.file("demo.out"))
                                  << raydog::test::read_file(dir.file("demo.err")));
  std::vector<int> started;
  for (int pid : children_of(demo.pid())) {
    const std::string cmd = raydog::test::read_file("/proc/" + std::to_string(pid) + "/cmdline");
    for (const char* exe : {"kube-emulator", "yellowdog-sim", "raydog-operator"})
      if (cmd.find(exe) != std::string::npos) started.push_back(pid);
  }
  CHECK(started.size() == 3);
  // Ctrl-C in a terminal signals the whole foreground process group, not only bash: the running kubectl or
  // sleep dies of SIGINT too, which is what makes bash run its INT trap (a SIGINT to bash alone, while a
  // child that does not die of it runs, is ignored by bash's wait-and-cooperate rule). ChildProcess puts the
  // script in its own group, so signal that group as the terminal would.
  REQUIRE(::kill(-demo.pid(), SIGINT) == 0);
  auto rc = demo.wait(60s);
  const std::string err = raydog::test::read_file(dir.file("demo.err"));
  INFO(err);
  REQUIRE(rc.has_value());
  CHECK(*rc == 130);
  CHECK(err.find("demo interrupted; everything it started is stopped") != std::string::npos);
  for (int pid : started) CHECK_MESSAGE(!alive(pid), "pid " << pid << " still runs");
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().rfind("raydog-demo.", 0) != 0);
}
