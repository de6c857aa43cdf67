#include "test/yellowdog-sim/executor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio.hpp>
#include <boost/asio/redirect_error.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

extern char** environ;

namespace raydog::ydsim {

namespace net = boost::asio;
namespace fs = std::filesystem;

namespace {
constexpr auto kReapInterval = std::chrono::milliseconds(50);
constexpr auto kKillGrace = std::chrono::seconds(10);

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string safe_name(const std::string& id) {
  std::string out = id;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  return out;
}
}  // namespace

struct TaskExecutor::Impl : std::enable_shared_from_this<Impl> {
  struct Process {
    pid_t pid;
    std::string task_id;
    bool stopping = false;  // the task already ended in the simulator; only reap
    std::chrono::steady_clock::time_point term_sent;
  };

  Impl(net::io_context& ioc, Simulator& sim, std::string dir)
      : ioc(ioc), sim(sim), dir(std::move(dir)), timer(ioc) {}

  void launch(const Task& t) {
    if (t.task_type() != "bash") return;  // other task types stay EXECUTING until told otherwise
    fs::path work = fs::path(dir) / (safe_name(t.id) + "-" + std::to_string(t.retry_count));
    std::error_code ec;
    fs::create_directories(work, ec);
    std::string task_data = t.spec.value("taskData", std::string());
    { std::ofstream(work / "taskdata.txt", std::ios::binary) << task_data; }
    std::vector<std::string> args{"/bin/bash"};
    const json& a = t.spec.value("arguments", json::array({"taskdata.txt"}));
    if (a.is_array())
      for (const auto& v : a) args.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
      std::string kv = *e;
      auto eq = kv.find('=');
      if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    // Each simulated node is its own VM: its own /tmp (Ray's temp dir, the scripts' work files) and its own
    // address, which a real VM's software finds on its interface and these processes, sharing one host,
    // are told (RAYDOG_NODE_IP: the scripts bind and pass it as Ray's --node-ip-address).
    fs::create_directories(work / "tmp", ec);
    env["TMPDIR"] = (work / "tmp").string();
    if (t.worker && t.worker->node && t.worker->node->instance)
      env["RAYDOG_NODE_IP"] = t.worker->node->instance->private_ip;
    if (t.spec.contains("environment") && t.spec["environment"].is_object())
      for (const auto& [k, v] : t.spec["environment"].items())
        env[k] = v.is_string() ? v.get<std::string>() : v.dump();
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, work.c_str());
    std::string out = (work / "stdout.txt").string(), err = (work / "stderr.txt").string();
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);  // its own group: SIGTERM reaches the script's children too
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, "/bin/bash", &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      // The agent could not start the process: the task fails like UNABLE_START_PROCESS would.
      std::cerr << "yellowdog-sim: cannot start task " << t.id << ": " << std::strerror(rc) << "\n";
      std::string id = t.id;
      net::post(ioc, [self = shared_from_this(), id] { (void)self->sim.task_exit(id, 127); });
      return;
    }
    Process started;
    started.pid = pid;
    started.task_id = t.id;
    procs.push_back(std::move(started));
  }

  void terminate(const Task& t) {
    for (auto& p : procs)
      if (p.task_id == t.id && !p.stopping) {
        p.stopping = true;
        p.term_sent = std::chrono::steady_clock::now();
        ::kill(-p.pid, SIGTERM);
      }
  }

  void reap() {
    auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < procs.size();) {
      int status = 0;
      pid_t r = ::waitpid(procs[i].pid, &status, WNOHANG);
      if (r == procs[i].pid || (r < 0 && errno == ECHILD)) {
        Process p = procs[i];
        procs.erase(procs.begin() + static_cast<std::ptrdiff_t>(i));
        if (!p.stopping) {
          auto t = sim.find_task(p.task_id);
          if (t && in_progress((*t)->status))
            (void)sim.task_exit(p.task_id, r < 0 ? 255 : decode_status(status));
        } else {
          ::kill(-p.pid, SIGKILL);  // whatever the script left behind in its group
        }
        continue;
      }
      if (procs[i].stopping && now - procs[i].term_sent > kKillGrace) ::kill(-procs[i].pid, SIGKILL);
      ++i;
    }
  }

  net::awaitable<void> reaper() {
    auto self = shared_from_this();
    while (!stopped || !procs.empty()) {
      timer.expires_after(kReapInterval);
      boost::system::error_code ec;
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (ec && stopped) break;
      reap();
    }
  }

  void kill_all() {
    for (auto& p : procs) {
      ::kill(-p.pid, SIGKILL);
      int status;
      ::waitpid(p.pid, &status, 0);
    }
    procs.clear();
  }

  net::io_context& ioc;
  Simulator& sim;
  std::string dir;
  net::steady_timer timer;
  std::vector<Process> procs;
  bool stopped = false;
};

TaskExecutor::TaskExecutor(net::io_context& ioc, Simulator& sim, std::string dir)
    : impl_(std::make_shared<Impl>(ioc, sim, std::move(dir))) {}

TaskExecutor::~TaskExecutor() {
  impl_->sim.on_task_executing = nullptr;
  impl_->sim.on_task_stopped = nullptr;
  impl_->kill_all();
}

void TaskExecutor::start() {
  std::error_code ec;
  fs::create_directories(impl_->dir, ec);
  std::weak_ptr<Impl> weak = impl_;
  impl_->sim.on_task_executing = [weak](const Task& t) {
    if (auto i = weak.lock()) i->launch(t);
  };
  impl_->sim.on_task_stopped = [weak](const Task& t) {
    if (auto i = weak.lock()) i->terminate(t);
  };
  net::co_spawn(impl_->ioc, impl_->reaper(), net::detached);
}

void TaskExecutor::stop() {
  impl_->stopped = true;
  for (auto& p : impl_->procs) {
    if (!p.stopping) {
      p.stopping = true;
      p.term_sent = std::chrono::steady_clock::now();
    }
    ::kill(-p.pid, SIGTERM);
  }
}

std::size_t TaskExecutor::running() const {
  return impl_->procs.size();
}

}  // namespace raydog::ydsim
