// yd-streams-bench: what the `/updates` SSE streams would cost the operator at scale (issue 23's choice of
// how to observe YellowDog, controller/observer/README.md): N work requirements in yellowdog-sim, one
// stream per work requirement opened through the operator's own YellowDogClient and kept open; this
// process's RSS and open files before and after, the simulator's CPU with the streams open and nothing
// happening, and the time from a change (one work requirement cancelled) to its stream's event.
//   yd-streams-bench [N] [path/to/yellowdog-sim]   (default 1000 and this build's simulator)
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "controller/yellowdog/client.hpp"
#include "test/support/process.hpp"

namespace {

namespace net = boost::asio;
namespace yd = raydog::yellowdog;
using namespace std::chrono_literals;

double rss_mb(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

int open_files() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void run(net::io_context& ioc, net::awaitable<void> a) {
  bool done = false;
  net::co_spawn(ioc, std::move(a), [&](std::exception_ptr e) {
    done = true;
    if (e) std::rethrow_exception(e);
  });
  while (!done) ioc.run_one();
  ioc.restart();
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  const std::string sim_path = argc > 2 ? argv[2] : raydog::test::bin_path("yellowdog-sim");
  raydog::test::TempDir dir;
  const std::string url_file = dir.file("sim.url");
  raydog::test::ChildProcess sim({sim_path, "--listen", "127.0.0.1:0", "--write-url", url_file}, {});
  std::string url;
  for (int i = 0; i < 300 && url.empty(); ++i) {
    std::ifstream in(url_file);
    std::getline(in, url);
    if (url.empty()) std::this_thread::sleep_for(20ms);
  }
  if (url.empty()) {
    std::fprintf(stderr, "yd-streams-bench: the simulator did not start\n");
    return 1;
  }

  net::io_context ioc;
  yd::YellowDogClientOptions o;
  o.base_url = url;
  yd::YellowDogClient client(ioc.get_executor(), o);
  std::vector<std::string> ids;
  run(ioc, [&]() -> net::awaitable<void> {
    for (int i = 0; i < n; ++i) {
      yd::WorkRequirement wr;
      wr.namespace_ = "bench";
      wr.name = "wr-" + std::to_string(i);
      auto r = co_await client.create_work_requirement(wr);
      if (r && r->id) ids.push_back(*r->id);
    }
  }());
  if (static_cast<int>(ids.size()) != n) {
    std::fprintf(stderr, "yd-streams-bench: created %zu of %d work requirements\n", ids.size(), n);
    return 1;
  }
  const std::string self = std::to_string(getpid());
  const double rss_before = rss_mb(self);
  const int files_before = open_files();

  std::vector<std::unique_ptr<yd::UpdateStream<yd::WorkRequirement>>> streams(ids.size());
  const auto t_open = std::chrono::steady_clock::now();
  run(ioc, [&]() -> net::awaitable<void> {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      auto s = co_await client.watch_work_requirement(ids[i]);
      if (!s) continue;
      auto first = co_await (*s)->next(5s);  // the entity as it is now
      if (first && *first) streams[i] = std::move(*s);
    }
  }());
  const double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_open).count();
  int open = 0;
  for (const auto& s : streams) open += s != nullptr;
  const double rss_after = rss_mb(self);
  const int files_after = open_files();

  // The simulator with every stream open and nothing happening (it re-renders each watched entity per tick).
  const double cpu0 = cpu_seconds(sim.pid());
  std::this_thread::sleep_for(5s);
  const double sim_cpu_pct = (cpu_seconds(sim.pid()) - cpu0) * 100.0 / 5.0;

  // Latency: cancel the last work requirement, time its stream's next event.
  double latency_ms = -1;
  run(ioc, [&]() -> net::awaitable<void> {
    auto& s = streams.back();
    if (!s) co_return;
    const auto t0 = std::chrono::steady_clock::now();
    auto cancelled = co_await client.cancel_work_requirement(ids.back(), false);
    if (!cancelled) co_return;
    auto ev = co_await s->next(10s);
    if (ev && *ev)
      latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }());

  std::printf("streams open                 %d / %d (in %.2f s)\n", open, n, open_s);
  std::printf("operator-side RSS            %.1f MB -> %.1f MB (%.1f KB per stream)\n", rss_before, rss_after,
              open > 0 ? (rss_after - rss_before) * 1024.0 / open : 0.0);
  std::printf("open files                   %d -> %d\n", files_before, files_after);
  std::printf("simulator CPU, streams idle  %.1f %% of a core\n", sim_cpu_pct);
  std::printf("change -> event              %.1f ms\n", latency_ms);
  for (auto& s : streams)
    if (s) s->close();
  return open == n ? 0 : 1;
}
