// yellowdog-sim: a local YellowDog platform simulator (see README.md for flags and the /_sim/ API).
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <algorithm>
#include <boost/asio.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <sys/resource.h>

#include "controller/util/files.hpp"
#include "test/yellowdog-sim/ip_block.hpp"
#include "test/yellowdog-sim/ray_head_host.hpp"
#include "test/yellowdog-sim/ray_heads.hpp"
#include "test/yellowdog-sim/server.hpp"

using namespace raydog::ydsim;

namespace {

void usage(std::ostream& out) {
  out << "usage: yellowdog-sim [--listen 127.0.0.1:0] [--write-url FILE] [--key-id ID --key-secret S]\n"
         "  [--key ID:SECRET]... (more application keys: one per tenant)\n"
         "  [--boot-delay D] [--register-delay D] [--task-start-delay D] [--terminate-delay D]\n"
         "  [--time-scale X] [--fail-rate P --fail-codes 500,503,429] [--lose-response-rate P]\n"
         "  [--latency D] [--retry-after SECONDS] [--seed N] [--page-size N] [--no-public-ips]\n"
         "  [--strict-repeat] [--execute-tasks DIR] [--tls-cert FILE --tls-key FILE] [--ip-block N]\n"
         "  [--ray [--ray-version 2.49.2] [--ray-drain-delay 1s] [--ray-heads-per-process N] "
         "[--ray-local-heads N]\n"
         "         [--ray-job-duration 2s] [--ray-job-stop-delay 200ms]]\n"
         "durations: 2s, 500ms, 1m (a bare number means seconds)\n";
}

[[noreturn]] void fail(const std::string& msg) {
  std::cerr << "yellowdog-sim: " << msg << "\n";
  usage(std::cerr);
  std::exit(2);
}

// The whole content of a PEM file named by a flag.
std::string file_arg(const std::string& flag, const std::string& path) {
  auto text = raydog::read_small_file(path);
  if (!text) fail(flag + ": cannot read " + path + ": " + text.error());
  if (text->empty()) fail(flag + ": " + path + " is empty");
  return *text;
}

Millis duration_arg(const std::string& flag, const std::string& v) {
  auto d = parse_cli_duration(v);
  if (!d) fail(flag + ": not a duration: " + v);
  return *d;
}
double double_arg(const std::string& flag, const std::string& v, double lo, double hi) {
  try {
    std::size_t used = 0;
    double d = std::stod(v, &used);
    if (used != v.size() || d < lo || d > hi) throw std::out_of_range(v);
    return d;
  } catch (...) {
    fail(flag + ": expected a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]: " + v);
  }
}

// --ray: each fake head holds four listening sockets (GCS and dashboard on its private and its public IP),
// and the clients' connections come on top: 10,000 heads need 40,000 descriptors and more. Both limits go
// up to what the kernel allows a process (fs.nr_open, at most 2^20); raising the hard limit needs root
// (CAP_SYS_RESOURCE), else the soft limit goes up to the hard one. One line on stderr says what was set.
void raise_open_files_limit() {
  rlimit was{};
  if (getrlimit(RLIMIT_NOFILE, &was) != 0) return;
  rlim_t want = rlim_t{1} << 20;
  if (std::ifstream nr_open("/proc/sys/fs/nr_open"); nr_open) {
    unsigned long long n = 0;
    if (nr_open >> n && n > 0) want = std::min<rlim_t>(want, static_cast<rlim_t>(n));
  }
  if (was.rlim_cur >= want) return;
  rlimit next{want, std::max(want, was.rlim_max)};
  std::string note;
  if (setrlimit(RLIMIT_NOFILE, &next) != 0) {
    note = std::string(" (cannot raise the hard limit: ") + std::strerror(errno) + ")";
    next = rlimit{was.rlim_max, was.rlim_max};
    if (next.rlim_cur <= was.rlim_cur || setrlimit(RLIMIT_NOFILE, &next) != 0) next = was;
  }
  auto show = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
  std::cerr << "yellowdog-sim: --ray: open files limit " << show(next.rlim_cur) << " (was "
            << show(was.rlim_cur) << ", hard " << show(was.rlim_max) << ")" << note;
  if (next.rlim_cur < want)
    std::cerr << ": " << RayHeads::default_per_process()
              << " fake heads per process (4 listening sockets each), helper processes serve the next ones";
  std::cerr << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  // A helper process of --ray (ray_head_host.hpp), started by the simulator itself:
  //   yellowdog-sim --ray-head-host FD SIM_START_NS STEADY_START_NS TIME_SCALE
  if (argc == 6 && std::string(argv[1]) == "--ray-head-host") {
    try {
      SimClock clock;
      clock.sim_start = TimePoint(
          std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(std::stoll(argv[3]))));
      clock.real_start = std::chrono::steady_clock::time_point(
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::nanoseconds(std::stoll(argv[4]))));
      clock.scale = std::stod(argv[5]);
      return run_head_host(std::stoi(argv[2]), clock);
    } catch (const std::exception& e) {
      std::cerr << "yellowdog-sim --ray-head-host: " << e.what() << "\n";
      return 2;
    }
  }
  SimConfig config;
  SimServerOptions options;
  std::string key_id, key_secret;  // --key-id/--key-secret: one more key, the single-tenant spelling
  FaultSettings faults;
  std::string write_url;
  bool ray_flags = false;  // a --ray-... flag seen
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    if (auto eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    auto next = [&]() -> std::string {
      if (!value.empty()) return value;
      if (i + 1 >= argc) fail(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      usage(std::cout);
      return 0;
    } else if (flag == "--listen")
      options.listen = next();
    else if (flag == "--write-url")
      write_url = next();
    else if (flag == "--key-id")
      key_id = next();
    else if (flag == "--key-secret")
      key_secret = next();
    else if (flag == "--key") {
      // ID:SECRET, repeatable: one application key per tenant. The id is what /_sim/created-by shows.
      const std::string key = next();
      const auto colon = key.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == key.size())
        fail("--key: expected ID:SECRET");  // never echo the value: it holds a secret
      options.keys.emplace_back(key.substr(0, colon), key.substr(colon + 1));
    } else if (flag == "--boot-delay")
      config.boot_delay = duration_arg(flag, next());
    else if (flag == "--register-delay")
      config.register_delay = duration_arg(flag, next());
    else if (flag == "--task-start-delay")
      config.task_start_delay = duration_arg(flag, next());
    else if (flag == "--terminate-delay")
      config.terminate_delay = duration_arg(flag, next());
    else if (flag == "--time-scale")
      options.time_scale = double_arg(flag, next(), 0.001, 1e6);
    else if (flag == "--fail-rate")
      faults.fail_rate = double_arg(flag, next(), 0, 1);
    else if (flag == "--lose-response-rate")
      faults.lose_response_rate = double_arg(flag, next(), 0, 1);
    else if (flag == "--latency")
      faults.latency = duration_arg(flag, next());
    else if (flag == "--retry-after")
      faults.retry_after_seconds = static_cast<int>(double_arg(flag, next(), 0, 3600));
    else if (flag == "--seed")
      config.seed = static_cast<std::uint64_t>(double_arg(flag, next(), 0, 1e18));
    else if (flag == "--page-size")
      options.page_size = static_cast<std::size_t>(double_arg(flag, next(), 1, 1000));
    else if (flag == "--no-public-ips")
      config.public_ips = false;
    else if (flag == "--strict-repeat")
      config.strict_repeat = true;
    else if (flag == "--execute-tasks")
      options.execute_dir = next();
    else if (flag == "--tls-cert")
      options.tls_cert_pem = file_arg(flag, next());
    else if (flag == "--tls-key")
      options.tls_key_pem = file_arg(flag, next());
    else if (flag == "--ip-block")
      options.ip_block = static_cast<int>(double_arg(flag, next(), IpBlockClaim::kMin, IpBlockClaim::kMax));
    else if (flag == "--ray")
      options.ray = true;
    else if (flag == "--ray-version") {
      options.ray_config.ray_version = next();
      ray_flags = true;
    } else if (flag == "--ray-drain-delay") {
      options.ray_config.drain_delay = duration_arg(flag, next());
      ray_flags = true;
    } else if (flag == "--ray-job-duration") {
      options.ray_config.job_duration = duration_arg(flag, next());
      ray_flags = true;
    } else if (flag == "--ray-job-stop-delay") {
      options.ray_config.job_stop_delay = duration_arg(flag, next());
      ray_flags = true;
    } else if (flag == "--ray-heads-per-process") {
      options.ray_heads_per_process = static_cast<std::size_t>(double_arg(flag, next(), 1, 1e7));
      ray_flags = true;
    } else if (flag == "--ray-local-heads") {
      options.ray_local_heads = static_cast<std::size_t>(double_arg(flag, next(), 0, 1e7));
      ray_flags = true;
    } else if (flag == "--fail-codes") {
      faults.fail_codes.clear();
      std::stringstream ss(next());
      std::string code;
      while (std::getline(ss, code, ','))
        faults.fail_codes.push_back(static_cast<int>(double_arg(flag, code, 400, 599)));
      if (faults.fail_codes.empty()) fail("--fail-codes: no codes");
    } else {
      fail("unknown flag " + flag);
    }
  }
  if (key_id.empty() != key_secret.empty()) fail("--key-id and --key-secret go together");
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty())
    fail("--tls-cert and --tls-key go together");
  if (!key_id.empty()) options.keys.emplace_back(key_id, key_secret);
  if (ray_flags && !options.ray)
    fail("--ray-version, --ray-drain-delay, --ray-job-duration, --ray-job-stop-delay, --ray-heads-per-process "
         "and --ray-local-heads go with --ray");
  options.ray_config.seed = config.seed;
  if (options.ray) raise_open_files_limit();

  boost::asio::io_context ioc;
  SimServer server(ioc, config, options, faults);
  try {
    server.start();
  } catch (const IpBlockTaken& e) {
    std::cerr << "yellowdog-sim: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "yellowdog-sim: cannot listen on " << options.listen << ": " << e.what() << "\n";
    return 1;
  }
  std::string url = server.base_url();
  if (!write_url.empty()) {
    // Written atomically: readers poll for a non-empty file.
    std::string tmp = write_url + ".tmp";
    std::ofstream(tmp) << url << "\n";
    std::error_code ec;
    std::filesystem::rename(tmp, write_url, ec);
    if (ec) {
      std::cerr << "yellowdog-sim: cannot write " << write_url << ": " << ec.message() << "\n";
      return 1;
    }
  }
  std::cout << "yellowdog-sim listening on " << url << " (node addresses 127." << server.ip_block() << ".0.0/16"
            << (options.ray ? ", fake Ray heads" : "") << ")" << std::endl;

  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    server.stop();
    // Let streams and task processes wind down briefly, then leave.
    auto t = std::make_shared<boost::asio::steady_timer>(ioc, std::chrono::milliseconds(300));
    t->async_wait([&ioc, t](const boost::system::error_code&) { ioc.stop(); });
  });
  ioc.run();
  return 0;
}
