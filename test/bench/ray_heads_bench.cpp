// ray-heads-bench: what `yellowdog-sim --ray` costs with N EXECUTING Ray heads (issue 19): the simulator's
// RSS and thread count with N head tasks EXECUTING, without --ray and with it (N fake GCS servers on
// gRPC's callback API plus N dashboards), before and after every head answered one GetClusterResourceState
// (through the operator's HeadClient) and one GET /api/version.
//   ray-heads-bench [N] [path/to/yellowdog-sim]   (default 1000, the yellowdog-sim of this build)
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <vector>

#include "controller/http/client.hpp"
#include "controller/ray/dashboard.hpp"
#include "controller/ray/head_client.hpp"
#include "test/support/process.hpp"

namespace {

namespace net = boost::asio;
namespace http = raydog::http;
using json = nlohmann::json;
using namespace std::chrono_literals;

struct ProcStatus {
  double rss_mb = 0;
  int threads = 0;
};

// utime + stime of a process, in seconds.
double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));  // fields from 3 on
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The share of one core a process used over `window` of doing nothing else.
double idle_cpu_percent(int pid, std::chrono::seconds window) {
  const double before = cpu_seconds(pid);
  std::this_thread::sleep_for(window);
  return (cpu_seconds(pid) - before) * 100.0 / static_cast<double>(window.count());
}

ProcStatus status_of(int pid) {
  ProcStatus s;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_mb = std::stod(line.substr(6)) / 1024.0;
    if (line.rfind("Threads:", 0) == 0) s.threads = std::stoi(line.substr(8));
  }
  return s;
}

// Blocking JSON calls to the simulator (the bench has nothing else to do meanwhile).
struct Sim {
  explicit Sim(const std::string& url) : client(io.get_executor(), options(url)) {}
  static http::ClientOptions options(const std::string& url) {
    http::ClientOptions o;
    o.base_url = url;
    return o;
  }
  json call(http::bhttp::verb verb, const std::string& target, const json& body = nullptr) {
    http::Request req{verb, target, 11};
    if (!body.is_null()) {
      req.set(http::bhttp::field::content_type, "application/json");
      req.body() = body.dump();
      req.prepare_payload();
    }
    std::optional<raydog::Result<http::Response, http::TransportError>> out;
    net::co_spawn(
        io, [&]() -> net::awaitable<void> { out = co_await client.send(std::move(req), std::chrono::seconds(60)); },
        net::detached);
    io.restart();
    io.run();
    if (!out || !out->ok()) throw std::runtime_error(target + ": no answer");
    if ((*out)->result_int() != 200) throw std::runtime_error(target + ": HTTP " + std::to_string((*out)->result_int()) + " " + (*out)->body());
    return json::parse((*out)->body());
  }
  net::io_context io;
  http::Client client;
};

struct Run {
  ProcStatus started, executing, served;
  int heads = 0, answered = 0, dashboards = 0;
  double build_s = 0, poll_s = 0, steady_cpu = 0;
};

Run run(const std::string& sim_path, int n, bool ray) {
  raydog::test::TempDir dir;
  std::vector<std::string> argv{sim_path, "--listen", "127.0.0.1:0", "--write-url", dir.file("url"),
                                "--boot-delay", "0", "--register-delay", "0", "--task-start-delay", "0"};
  if (ray) argv.push_back("--ray");
  raydog::test::ProcessOptions po;
  po.stderr_file = dir.file("stderr");
  po.stdout_file = dir.file("stdout");
  raydog::test::ChildProcess proc(argv, po);
  auto url = raydog::test::wait_for_file(dir.file("url"), 30s, &proc);
  if (!url) throw std::runtime_error("yellowdog-sim did not start: " + raydog::test::read_file(dir.file("stderr")));
  while (!url->empty() && (url->back() == '\n' || url->back() == '\r')) url->pop_back();
  Sim sim(*url);
  Run r;
  std::this_thread::sleep_for(1s);
  r.started = status_of(proc.pid());

  const auto t0 = std::chrono::steady_clock::now();
  sim.call(http::bhttp::verb::post, "/workerPools/provisioned/template",
           {{"requirementTemplateUsage",
             {{"templateId", "ray/head"}, {"requirementName", "heads"}, {"requirementNamespace", "bench"},
              {"targetInstanceCount", n}}},
            {"provisionedProperties",
             {{"createNodeWorkers", {{"targetType", "PER_NODE"}, {"targetCount", 1}}},
              {"maxNodes", n},
              {"workerTag", "heads"}}}});
  for (int i = 0; i < n; ++i) {
    json wr = sim.call(http::bhttp::verb::post, "/work/requirements",
                       {{"namespace", "bench"},
                        {"name", "c" + std::to_string(i)},
                        {"taskGroups",
                         {{{"name", "head-node"},
                           {"runSpecification", {{"taskTypes", {"bash"}}, {"workerTags", {"heads"}}}}}}}});
    sim.call(http::bhttp::verb::post, "/work/taskGroups/" + wr["taskGroups"][0]["id"].get<std::string>() + "/tasks",
             json::array({{{"name", "head-00001"}, {"taskType", "bash"}}}));
  }
  for (;;) {
    const json stats = sim.call(http::bhttp::verb::get, "/_sim/stats");
    const json& tasks = stats["objects"]["tasks"];
    if (tasks.value("EXECUTING", 0) == n) break;
    std::this_thread::sleep_for(200ms);
  }
  std::vector<std::string> ips;
  if (ray) {
    for (;;) {
      const json heads = sim.call(http::bhttp::verb::get, "/_sim/ray/heads");
      if (static_cast<int>(heads.size()) == n) {
        for (const auto& h : heads) ips.push_back(h["privateIp"]);
        break;
      }
      std::this_thread::sleep_for(200ms);
    }
  }
  r.build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.heads = static_cast<int>(ips.size());
  std::this_thread::sleep_for(2s);
  r.executing = status_of(proc.pid());
  r.steady_cpu = idle_cpu_percent(proc.pid(), 5s);
  if (!ray) return r;

  // Every head answers once: its GCS (a fresh client per head, as the operator polls) and its dashboard,
  // 50 at a time.
  const auto t1 = std::chrono::steady_clock::now();
  net::io_context io;
  int answered = 0, dashboards = 0;
  for (std::size_t from = 0; from < ips.size(); from += 50) {
    for (std::size_t i = from; i < std::min(ips.size(), from + 50); ++i) {
      net::co_spawn(
          io,
          [&, ip = ips[i]]() -> net::awaitable<void> {
            raydog::ray::HeadClient client(io.get_executor(), ip + ":6379");
            auto s = co_await client.cluster_state();
            if (s.ok() && s->nodes.size() == 1) ++answered;
            auto v = co_await raydog::ray::dashboard_version(io.get_executor(), "http://" + ip + ":8265", {}, 10s);
            if (v.ok()) ++dashboards;
          },
          net::detached);
    }
    io.restart();
    io.run();
  }
  r.poll_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  r.answered = answered;
  r.dashboards = dashboards;
  std::this_thread::sleep_for(2s);
  r.served = status_of(proc.pid());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::stoi(argv[1]) : 1000;
  const std::string sim = argc > 2 ? argv[2] : raydog::test::bin_path("yellowdog-sim");
  try {
    const Run plain = run(sim, n, false);
    const Run ray = run(sim, n, true);
    std::printf("EXECUTING head tasks                          %d\n", n);
    std::printf("                                              RSS (MB)  threads\n");
    std::printf("without --ray, just started                   %8.1f  %7d\n", plain.started.rss_mb, plain.started.threads);
    std::printf("without --ray, %5d heads EXECUTING          %8.1f  %7d\n", n, plain.executing.rss_mb, plain.executing.threads);
    std::printf("--ray, just started                           %8.1f  %7d\n", ray.started.rss_mb, ray.started.threads);
    std::printf("--ray, %5d heads serving                    %8.1f  %7d\n", ray.heads, ray.executing.rss_mb, ray.executing.threads);
    std::printf("--ray, after every head answered once         %8.1f  %7d\n", ray.served.rss_mb, ray.served.threads);
    std::printf("per head (serving - without --ray) / N        %8.1f KB\n",
                (ray.executing.rss_mb - plain.executing.rss_mb) * 1024.0 / n);
    std::printf("heads answering GetClusterResourceState       %d/%d, dashboards %d/%d (%.1f s)\n", ray.answered,
                ray.heads, ray.dashboards, ray.heads, ray.poll_s);
    std::printf("build (create + all EXECUTING/serving), s      %.1f without --ray, %.1f with\n", plain.build_s,
                ray.build_s);
    std::printf("CPU of one core while nothing happens (5 s)    %.1f %% without --ray, %.1f %% with\n", plain.steady_cpu,
                ray.steady_cpu);
    return ray.answered == n && ray.dashboards == n ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ray-heads-bench: %s\n", e.what());
    return 1;
  }
}
