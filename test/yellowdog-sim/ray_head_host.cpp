// Helper processes for fake heads' servers (ray_head_host.hpp).
#include "test/yellowdog-sim/ray_head_host.hpp"

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/util/strings.hpp"
#include "test/yellowdog-sim/ray_head_servers.hpp"
#include "test/yellowdog-sim/ray_model.hpp"

extern char** environ;

namespace raydog::ydsim {

namespace net = boost::asio;

namespace {

constexpr auto kReplyTimeout = std::chrono::seconds(60);     // a helper that does not answer is given up
constexpr auto kDecisionTimeout = std::chrono::seconds(10);  // a GCS call then serves without a fault
constexpr auto kJobsTimeout = std::chrono::seconds(30);      // a forwarded Jobs API request then gets a 503

std::string hex_decode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
  };
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  return out;
}

// Length-prefixed JSON on a stream socket. send() from any thread; receive() from one reader thread.
class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}
  ~Channel() {
    if (fd_ >= 0) ::close(fd_);
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  bool send(const json& j) {
    const std::string body = j.dump();
    const auto n = static_cast<std::uint32_t>(body.size());
    std::string frame(4, '\0');
    for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    frame += body;
    std::lock_guard lock(write_mu_);
    std::size_t off = 0;
    while (off < frame.size()) {
      const ssize_t w = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      off += static_cast<std::size_t>(w);
    }
    return true;
  }
  std::optional<json> receive() {
    unsigned char len[4];
    if (!read_all(reinterpret_cast<char*>(len), 4)) return std::nullopt;
    const std::uint32_t n =
        len[0] | (len[1] << 8) | (len[2] << 16) | (static_cast<std::uint32_t>(len[3]) << 24);
    std::string body(n, '\0');
    if (!read_all(body.data(), n)) return std::nullopt;
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }
  void close_both() { ::shutdown(fd_, SHUT_RDWR); }  // wakes the reader

 private:
  bool read_all(char* p, std::size_t n) {
    std::size_t off = 0;
    while (off < n) {
      const ssize_t r = ::recv(fd_, p + off, n - off, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      off += static_cast<std::size_t>(r);
    }
    return true;
  }
  int fd_;
  std::mutex write_mu_;
};

json resources_json(const test::RayResources& r) {
  json out = json::object();
  for (const auto& [k, v] : r) out[k] = v;
  return out;
}
test::RayResources resources_from(const json& j) {
  test::RayResources out;
  for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = it.value().get<double>();
  return out;
}
json demands_json(const std::vector<test::FakeDemand>& ds) {
  json out = json::array();
  for (const auto& d : ds) out.push_back({{"shape", resources_json(d.shape)}, {"count", d.count}});
  return out;
}
std::vector<test::FakeDemand> demands_from(const json& j) {
  std::vector<test::FakeDemand> out;
  for (const auto& d : j)
    out.push_back(test::FakeDemand{resources_from(d.at("shape")), d.at("count").get<std::int64_t>()});
  return out;
}

json call_json(const test::FakeGcsCall& c) {
  return {{"method", c.method},      {"nodeId", hex_encode(c.node_id)},
          {"reason", c.reason},      {"accepted", c.accepted ? json(*c.accepted) : json(nullptr)},
          {"lastSeen", c.last_seen}, {"fault", c.fault}};
}
test::FakeGcsCall call_from(const json& j) {
  test::FakeGcsCall c;
  c.method = j.at("method").get<std::string>();
  c.node_id = hex_decode(j.at("nodeId").get<std::string>());
  c.reason = j.at("reason").get<std::string>();
  if (!j.at("accepted").is_null()) c.accepted = j.at("accepted").get<bool>();
  c.last_seen = j.at("lastSeen").get<std::int64_t>();
  c.fault = j.at("fault").get<std::string>();
  return c;
}
json drain_json(const test::FakeDrain& d) {
  return {{"nodeId", hex_encode(d.node_id)},
          {"reason", d.reason},
          {"deadlineMs", d.deadline_ms},
          {"atMs", d.at_ms}};
}
test::FakeDrain drain_from(const json& j) {
  return test::FakeDrain{hex_decode(j.at("nodeId").get<std::string>()), j.at("reason").get<std::string>(),
                         j.at("deadlineMs").get<std::int64_t>(), j.at("atMs").get<std::int64_t>()};
}
json serve_json(const HeadServe& s) {
  return {{"head", s.head},
          {"ips", s.ips},
          {"session", s.session},
          {"clusterId", hex_encode(s.cluster_id)},
          {"versionBody", s.version_body},
          {"incarnation", s.incarnation}};
}
HeadServe serve_from(const json& j) {
  return HeadServe{j.at("head").get<std::string>(),        j.at("ips").get<std::vector<std::string>>(),
                   j.at("session").get<std::string>(),     hex_decode(j.at("clusterId").get<std::string>()),
                   j.at("versionBody").get<std::string>(), j.at("incarnation").get<std::uint64_t>()};
}

json answer_json(const DashboardAnswer& a) {
  return {{"status", a.status},
          {"contentType", a.content_type},
          {"body", a.body},
          {"delayMs", a.delay.count()},
          {"drop", a.drop}};
}
DashboardAnswer answer_from(const json& j) {
  return DashboardAnswer{j.at("status").get<int>(), j.at("contentType").get<std::string>(),
                         j.at("body").get<std::string>(), Millis(j.at("delayMs").get<std::int64_t>()),
                         j.at("drop").get<bool>()};
}

// The helper's Jobs API requests waiting for the simulator's answer (its io thread only).
struct JobsLink {
  struct Waiting {
    explicit Waiting(net::io_context& ioc) : timer(ioc) {}
    net::steady_timer timer;  // cancelled when the answer is in (or the simulator is gone)
    std::optional<DashboardAnswer> answer;
  };
  net::io_context& ioc;
  Channel& channel;
  std::map<std::uint64_t, std::shared_ptr<Waiting>> waiting;
  std::uint64_t next_id = 1;
  bool closed = false;

  void answered(std::uint64_t id, DashboardAnswer a) {
    if (auto it = waiting.find(id); it != waiting.end()) {
      it->second->answer = std::move(a);
      it->second->timer.cancel();
    }
  }
  void close() {
    closed = true;
    for (auto& [id, w] : waiting) w->timer.cancel();
  }
};

// A helper's dashboard hands a Jobs API request to the simulator and waits for the answer without
// blocking its io thread (which also serves the other heads' dashboards and the simulator's messages).
net::awaitable<DashboardAnswer> forward_jobs(JobsLink* link, json request) {
  auto waiting = std::make_shared<JobsLink::Waiting>(link->ioc);
  const std::uint64_t id = link->next_id++;
  request["m"] = "jobs";
  request["id"] = id;
  waiting->timer.expires_after(kJobsTimeout);
  link->waiting[id] = waiting;
  if (!link->closed && link->channel.send(request)) {
    boost::system::error_code ec;
    co_await waiting->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  link->waiting.erase(id);
  if (waiting->answer) co_return std::move(*waiting->answer);
  co_return DashboardAnswer{503, "text/plain; charset=utf-8",
                            "yellowdog-sim --ray-head-host: the simulator did not answer", Millis(0), false};
}

}  // namespace

json state_to_json(const test::FakeClusterState& s) {
  json nodes = json::array();
  for (const auto& n : s.nodes)
    nodes.push_back({{"nodeId", hex_encode(n.node_id)},
                     {"instanceId", n.instance_id},
                     {"nodeType", n.node_type},
                     {"status", n.status},
                     {"idleMs", n.idle_ms},
                     {"total", resources_json(n.total)},
                     {"rejectDrain", n.reject_drain},
                     {"ip", n.ip},
                     {"available", n.available ? resources_json(*n.available) : json(nullptr)},
                     {"busy", n.busy}});
  json gangs = json::array();
  for (const auto& g : s.gangs) {
    json bundles = json::array();
    for (const auto& b : g.bundles) bundles.push_back(resources_json(b));
    gangs.push_back({{"pgId", g.pg_id}, {"strategy", g.strategy}, {"bundles", bundles}});
  }
  return {{"nodes", nodes},
          {"pending", demands_json(s.pending)},
          {"gangs", gangs},
          {"constraints", demands_json(s.constraints)}};
}

test::FakeClusterState state_from_json(const json& j) {
  test::FakeClusterState s;
  for (const auto& n : j.at("nodes")) {
    test::FakeRayNode node;
    node.node_id = hex_decode(n.at("nodeId").get<std::string>());
    node.instance_id = n.at("instanceId").get<std::string>();
    node.node_type = n.at("nodeType").get<std::string>();
    node.status = n.at("status").get<std::string>();
    node.idle_ms = n.at("idleMs").get<std::int64_t>();
    node.total = resources_from(n.at("total"));
    node.reject_drain = n.at("rejectDrain").get<bool>();
    node.ip = n.at("ip").get<std::string>();
    if (!n.at("available").is_null()) node.available = resources_from(n.at("available"));
    node.busy = n.at("busy").get<bool>();
    s.nodes.push_back(std::move(node));
  }
  s.pending = demands_from(j.at("pending"));
  for (const auto& g : j.at("gangs")) {
    test::FakeGang gang;
    gang.pg_id = g.at("pgId").get<std::string>();
    gang.strategy = g.at("strategy").get<std::string>();
    for (const auto& b : g.at("bundles")) gang.bundles.push_back(resources_from(b));
    s.gangs.push_back(std::move(gang));
  }
  s.constraints = demands_from(j.at("constraints"));
  return s;
}

// ---- the simulator's side ------------------------------------------------------------------------------

struct HeadHost::Impl {
  Impl(RayCallLog& l, std::function<void(const std::string&)> d, JobsForwarded j)
      : log(l), on_drain(std::move(d)), on_jobs(std::move(j)) {}

  RayCallLog& log;
  std::function<void(const std::string&)> on_drain;
  JobsForwarded on_jobs;
  std::weak_ptr<Impl> self;  // what a Jobs API answer, sent later from another thread, holds
  std::unique_ptr<Channel> channel;
  pid_t pid = -1;
  std::thread reader;
  std::mutex mu;  // pending, next_id, gone
  std::map<std::uint64_t, std::promise<json>> pending;
  std::uint64_t next_id = 1;
  bool gone = false;
  std::atomic<bool> closing{false};  // shutdown() ends it: not worth a word
  std::set<std::string> hosted;      // the simulator's thread only

  // Sends a request and waits for its reply; null when the helper is gone or does not answer.
  json request(json msg) {
    std::future<json> reply;
    {
      std::lock_guard lock(mu);
      if (gone) return nullptr;
      const std::uint64_t id = next_id++;
      msg["id"] = id;
      reply = pending[id].get_future();
    }
    if (!channel->send(msg)) return nullptr;
    if (reply.wait_for(kReplyTimeout) != std::future_status::ready) return nullptr;
    return reply.get();
  }

  void read_loop() {
    while (auto msg = channel->receive()) {
      const std::string m = msg->value("m", "");
      try {
        if (m == "decide") {
          const int code = log.decide(msg->at("head").get<std::string>());
          channel->send({{"m", "decision"}, {"id", msg->at("id")}, {"code", code}});
        } else if (m == "call") {
          log.record(msg->at("head").get<std::string>(), call_from(msg->at("call")));
        } else if (m == "violation") {
          log.violation(msg->at("head").get<std::string>(), msg->at("what").get<std::string>());
        } else if (m == "drain") {
          on_drain(msg->at("head").get<std::string>());
        } else if (m == "jobs") {
          JobsForward request{msg->at("head").get<std::string>(), msg->at("incarnation").get<std::uint64_t>(),
                              msg->at("method").get<std::string>(), msg->at("target").get<std::string>(),
                              msg->at("body").get<std::string>()};
          auto reply = [weak = self, id = msg->at("id")](const DashboardAnswer& a) {
            json out = answer_json(a);
            out["m"] = "jobs-reply";
            out["id"] = id;
            if (auto impl = weak.lock()) impl->channel->send(out);
          };
          if (on_jobs)
            on_jobs(std::move(request), std::move(reply));
          else
            reply(DashboardAnswer{503, "text/plain; charset=utf-8", "", Millis(0), true});
        } else if (m == "reply") {
          std::lock_guard lock(mu);
          if (auto it = pending.find(msg->at("id").get<std::uint64_t>()); it != pending.end()) {
            it->second.set_value(std::move(*msg));
            pending.erase(it);
          }
        }
      } catch (const json::exception& e) {
        std::cerr << "yellowdog-sim: --ray head host " << pid << ": bad message " << m << ": " << e.what()
                  << "\n";
      }
    }
    std::lock_guard lock(mu);
    gone = true;
    for (auto& [id, p] : pending) p.set_value(nullptr);
    pending.clear();
    if (!closing)
      std::cerr << "yellowdog-sim: --ray: head host process " << pid
                << " ended: the heads it served no longer answer" << std::endl;
  }
};

HeadHost::HeadHost(RayCallLog& log, SimClock clock, std::function<void(const std::string& head)> on_drain,
                   JobsForwarded on_jobs)
    : impl_(std::make_shared<Impl>(log, std::move(on_drain), std::move(on_jobs))) {
  impl_->self = impl_;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  const std::string exe = "/proc/self/exe";
  const auto ns = [](auto d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  };
  std::vector<std::string> args{"yellowdog-sim",
                                "--ray-head-host",
                                "3",
                                ns(clock.sim_start.time_since_epoch()),
                                ns(clock.real_start.time_since_epoch()),
                                std::to_string(clock.scale)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 3);  // dup2 clears close-on-exec on 3
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  // Nothing else: the simulator's thousands of listening sockets are not all close-on-exec, and a helper
  // that inherited them would start with a full descriptor table.
  posix_spawn_file_actions_addclosefrom_np(&fa, 4);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw std::runtime_error(std::string("cannot start a head host process: ") + std::strerror(rc));
  }
  impl_->pid = pid;
  impl_->channel = std::make_unique<Channel>(fds[0]);
  impl_->reader = std::thread([impl = impl_.get()] { impl->read_loop(); });
}

HeadHost::~HeadHost() {
  shutdown();
}

void HeadHost::shutdown() {
  if (impl_->pid < 0) return;
  impl_->closing = true;
  impl_->channel->close_both();  // the helper reads EOF and ends; the reader thread ends
  if (impl_->reader.joinable()) impl_->reader.join();
  int status = 0;
  // A helper stops its servers and leaves at once; one that hangs is killed.
  for (int i = 0; i < 100 && ::waitpid(impl_->pid, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (::waitpid(impl_->pid, &status, WNOHANG) == 0) {
    ::kill(impl_->pid, SIGKILL);
    ::waitpid(impl_->pid, &status, 0);
  }
  impl_->pid = -1;
  impl_->hosted.clear();
}

bool HeadHost::start(const HeadServe& serve) {
  const json reply = impl_->request({{"m", "start"}, {"serve", serve_json(serve)}});
  const bool ok = reply.is_object() && reply.value("gcs", false);
  if (reply.is_object()) impl_->hosted.insert(serve.head);
  return ok;
}

void HeadHost::set_state(const std::string& head, const test::FakeClusterState& state) {
  impl_->channel->send({{"m", "state"}, {"head", head}, {"state", state_to_json(state)}});
}

std::vector<test::FakeDrain> HeadHost::take_drains(const std::string& head) {
  std::vector<test::FakeDrain> out;
  const json reply = impl_->request({{"m", "take"}, {"head", head}});
  if (reply.is_object() && reply.contains("drains"))
    for (const auto& d : reply["drains"]) out.push_back(drain_from(d));
  return out;
}

void HeadHost::stop(const std::string& head) {
  if (impl_->pid < 0 || !impl_->hosted.erase(head)) return;
  (void)impl_->request({{"m", "stop"}, {"head", head}});
}

void HeadHost::sync() {
  if (impl_->pid > 0) (void)impl_->request({{"m", "sync"}});
}

std::size_t HeadHost::hosted() const {
  return impl_->hosted.size();
}

pid_t HeadHost::pid() const {
  return impl_->pid;
}

bool HeadHost::alive() const {
  std::lock_guard lock(impl_->mu);
  return impl_->pid > 0 && !impl_->gone;
}

// ---- the helper ------------------------------------------------------------------------------------------

int run_head_host(int fd, SimClock clock) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the simulator
  if (::getppid() == 1) return 1;      // it died before we got here
  ::signal(SIGPIPE, SIG_IGN);
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  net::io_context ioc;
  auto work = net::make_work_guard(ioc);
  Channel channel(fd);
  JobsLink jobs{ioc, channel, {}, 1, false};  // the io thread only
  std::map<std::string, HeadServers> heads;   // the io thread only

  // GCS faults are decided by the simulator (one PRNG for every head, in arrival order).
  std::mutex mu;
  std::map<std::uint64_t, std::promise<int>> decisions;
  std::uint64_t next_id = 1;
  bool closed = false;
  auto decide = [&](const std::string& head) -> int {
    std::future<int> answer;
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mu);
      if (closed) return 0;
      id = next_id++;
      answer = decisions[id].get_future();
    }
    if (!channel.send({{"m", "decide"}, {"id", id}, {"head", head}})) return 0;
    if (answer.wait_for(kDecisionTimeout) != std::future_status::ready) return 0;
    return answer.get();
  };
  auto hooks_for = [&](const std::string& head) {
    GcsHooks h;
    h.fault = [&decide, head](const std::string&) { return decide(head); };
    h.on_call = [&channel, head](const test::FakeGcsCall& c) {
      channel.send({{"m", "call"}, {"head", head}, {"call", call_json(c)}});
    };
    h.on_violation = [&channel, head](const std::string& what) {
      channel.send({{"m", "violation"}, {"head", head}, {"what", what}});
    };
    h.on_drain = [&channel, head] { channel.send({{"m", "drain"}, {"head", head}}); };
    return h;
  };
  auto handle = [&](const json& msg) {
    const std::string m = msg.value("m", "");
    if (m == "start") {
      const HeadServe serve = serve_from(msg.at("serve"));
      heads.erase(serve.head);
      // The Jobs API is answered by the simulator's model, for the incarnation this dashboard serves.
      JobsHook forward = [link = &jobs, head = serve.head, incarnation = serve.incarnation](
                             std::string method, std::string target, std::string body) {
        json request{{"head", head},     {"incarnation", incarnation}, {"method", std::move(method)},
                     {"target", std::move(target)}, {"body", std::move(body)}};
        return forward_jobs(link, std::move(request));
      };
      HeadServers& s = heads[serve.head] =
          start_head_servers(ioc, serve, clock, hooks_for(serve.head), std::move(forward));
      channel.send({{"m", "reply"}, {"id", msg.at("id")}, {"gcs", s.gcs != nullptr}});
    } else if (m == "state") {
      if (auto it = heads.find(msg.at("head").get<std::string>()); it != heads.end() && it->second.gcs)
        it->second.gcs->set_state(state_from_json(msg.at("state")));
    } else if (m == "take") {
      json drains = json::array();
      if (auto it = heads.find(msg.at("head").get<std::string>()); it != heads.end() && it->second.gcs)
        for (const auto& d : it->second.gcs->take_drains()) drains.push_back(drain_json(d));
      channel.send({{"m", "reply"}, {"id", msg.at("id")}, {"drains", drains}});
    } else if (m == "jobs-reply") {
      jobs.answered(msg.at("id").get<std::uint64_t>(), answer_from(msg));
    } else if (m == "sync") {
      channel.send({{"m", "reply"}, {"id", msg.at("id")}});
    } else if (m == "stop") {
      heads.erase(
          msg.at("head").get<std::string>());  // FakeGcs: shut down and waited for; dashboards stopped
      channel.send({{"m", "reply"}, {"id", msg.at("id")}});
    }
  };

  std::thread reader([&] {
    while (auto msg = channel.receive()) {
      if (msg->value("m", "") == "decision") {
        std::lock_guard lock(mu);
        if (auto it = decisions.find(msg->value("id", std::uint64_t{0})); it != decisions.end()) {
          it->second.set_value(msg->value("code", 0));
          decisions.erase(it);
        }
        continue;
      }
      net::post(ioc, [&handle, m = std::move(*msg)] {
        try {
          handle(m);
        } catch (const std::exception& e) {
          std::cerr << "yellowdog-sim --ray-head-host: " << e.what() << "\n";
        }
      });
    }
    {
      std::lock_guard lock(mu);
      closed = true;
      for (auto& [id, p] : decisions) p.set_value(0);
      decisions.clear();
    }
    net::post(ioc, [&] {
      jobs.close();  // a dashboard waiting for the simulator answers 503 (its server is stopping anyway)
      heads.clear();
      work.reset();
    });
  });
  ioc.run();
  reader.join();
  return 0;
}

}  // namespace raydog::ydsim
