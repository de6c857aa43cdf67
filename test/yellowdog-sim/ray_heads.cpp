#include "test/yellowdog-sim/ray_heads.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <iostream>
#include <set>

#include <sys/resource.h>

#include "controller/http/server.hpp"
#include "test/ray-fake/fake_gcs.hpp"
#include "test/yellowdog-sim/ray_head_host.hpp"
#include "test/yellowdog-sim/ray_head_servers.hpp"

namespace raydog::ydsim {

namespace net = boost::asio;
namespace http = raydog::http;

namespace {

constexpr const char* kFakeCommit = "0000000000000000000000000000000000000000";  // no real Ray build

struct Dashboard {
  std::string version_body;  // fixed per GCS incarnation
  JobsHook jobs;
};

// The dashboard of a fake head: GET /api/version as Ray answers it (controller/ray/dashboard.cpp reads
// ray_version and session_name), the Jobs API under /api/jobs (answered by the jobs model, ray_jobs.hpp),
// 404 for anything else.
net::awaitable<void> serve_dashboard(std::shared_ptr<const Dashboard> dash, http::Exchange& ex) {
  auto& req = ex.request();
  const std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  if (path == "/api/version" && req.method() == http::bhttp::verb::get) {
    http::Response res = http::make_response(req, http::bhttp::status::ok, dash->version_body);
    co_await ex.respond(std::move(res));
    co_return;
  }
  if ((path == "/api/jobs" || path.starts_with("/api/jobs/")) && dash->jobs) {
    // Named arguments around co_await: GCC 12 double-destroys some temporaries inside co_await expressions.
    std::string method(req.method_string());
    std::string body = req.body();
    DashboardAnswer answer = co_await dash->jobs(method, target, body);
    // A late answer (jobs-faults delayNext) waits in slices, so that a stopping server is not held up.
    const auto until = std::chrono::steady_clock::now() + answer.delay;
    net::steady_timer timer(co_await net::this_coro::executor);
    while (!answer.drop && !ex.stopping() && std::chrono::steady_clock::now() < until) {
      timer.expires_after(std::min<std::chrono::steady_clock::duration>(until - std::chrono::steady_clock::now(),
                                                                        std::chrono::milliseconds(50)));
      boost::system::error_code ec;
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    if (answer.drop || ex.stopping()) {
      ex.drop();
      co_return;
    }
    http::Response res = http::make_response(req, static_cast<http::bhttp::status>(answer.status),
                                             std::move(answer.body), answer.content_type);
    co_await ex.respond(std::move(res));
    co_return;
  }
  http::Response res = http::make_response(
      req, http::bhttp::status::not_found,
      R"({"result":false,"msg":"the yellowdog-sim fake head serves only GET /api/version and /api/jobs/"})");
  co_await ex.respond(std::move(res));
}

// The jobs model's answer, already there (in-process heads): the hook's awaitable without a round trip.
net::awaitable<DashboardAnswer> ready(DashboardAnswer answer) {
  co_return answer;
}

}  // namespace

HeadServers start_head_servers(net::io_context& ioc, const HeadServe& serve, SimClock clock, GcsHooks hooks,
                               JobsHook jobs) {
  HeadServers out;
  test::FakeGcsOptions o;
  o.listen.clear();
  for (const auto& ip : serve.ips) o.listen.push_back(ip + ":" + std::to_string(kGcsPort));
  o.session_name = serve.session;
  o.cluster_id = serve.cluster_id;
  o.clock_ms = [clock] { return std::chrono::duration_cast<Millis>(clock.now().time_since_epoch()).count(); };
  o.fault = std::move(hooks.fault);
  o.on_call = std::move(hooks.on_call);
  o.on_violation = std::move(hooks.on_violation);
  o.on_drain = std::move(hooks.on_drain);
  o.keep_records = false;
  try {
    out.gcs = std::make_unique<test::FakeGcs>(std::move(o));
  } catch (const std::exception& e) {
    std::cerr << "yellowdog-sim: --ray: head " << serve.head << ": " << e.what() << "\n";
    return out;
  }
  auto dash = std::make_shared<const Dashboard>(Dashboard{serve.version_body, std::move(jobs)});
  for (const auto& ip : serve.ips) {
    http::ServerOptions so;
    so.listen = ip + ":" + std::to_string(kDashboardPort);
    so.error_log = [](std::string_view what) {
      std::cerr << "yellowdog-sim: --ray dashboard: " << what << "\n";
    };
    // The lambda only forwards: the coroutine takes its own reference to the dashboard.
    auto server = std::make_unique<http::Server>(
        ioc, so, [dash](http::Exchange& ex) { return serve_dashboard(dash, ex); });
    try {
      server->start();
    } catch (const std::exception& e) {
      std::cerr << "yellowdog-sim: --ray: head " << serve.head << ": dashboard: " << e.what() << "\n";
      continue;
    }
    out.dashboards.push_back(std::move(server));
  }
  return out;
}

// A head's servers: in this process (`local`), or in a helper (`host`).
struct RayHeads::Live {
  std::uint64_t incarnation = 0;
  std::optional<std::uint64_t> published;  // the model generation its GCS serves
  HeadServers local;
  HeadHost* host = nullptr;
  bool hosted_gcs = false;  // the helper's GCS listens
  std::string head;
  std::size_t* local_count = nullptr;  // RayHeads::local_ while `local` counts in it

  ~Live() {
    if (host) host->stop(head);
    if (local_count) --*local_count;
  }
  bool gcs_up() const { return local.gcs || hosted_gcs; }
  void set_state(test::FakeClusterState state) {
    if (local.gcs)
      local.gcs->set_state(std::move(state));
    else if (hosted_gcs)
      host->set_state(head, state);
  }
  std::vector<test::FakeDrain> take_drains() {
    if (local.gcs) return local.gcs->take_drains();
    if (hosted_gcs) return host->take_drains(head);
    return {};
  }
};

std::size_t RayHeads::default_per_process() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY) return 1'000'000;
  // Four listening sockets per head and about one connection, after a reserve for everything else.
  const auto usable = files.rlim_cur > 1024 ? files.rlim_cur - 512 : files.rlim_cur / 2;
  return std::max<std::size_t>(1, static_cast<std::size_t>(usable / 5));
}

RayHeads::RayHeads(net::io_context& ioc, RaySim& ray, SimClock clock, std::size_t per_process,
                   std::optional<std::size_t> local)
    : ioc_(ioc),
      ray_(ray),
      clock_(clock),
      per_process_(per_process ? per_process : default_per_process()),
      local_limit_(local.value_or(per_process_)) {}

RayHeads::~RayHeads() {
  stop();
}

void RayHeads::stop() {
  stopped_ = true;
  for (auto& h : hosts_) h->shutdown();  // the helpers end with their servers; no stop per head
  live_.clear();                         // FakeGcs: shut down and waited for; dashboards: stopped
  hosts_.clear();
}

void RayHeads::sync() {
  for (auto& h : hosts_) h->sync();
}

std::size_t RayHeads::serving() const {
  std::size_t n = 0;
  for (const auto& [id, l] : live_) n += l->gcs_up() ? 1 : 0;
  return n;
}

void RayHeads::tick(TimePoint now) {
  if (stopped_) return;
  if (told_->any.exchange(false)) {
    std::vector<std::string> heads;
    {
      std::lock_guard lock(told_->mu);
      heads.swap(told_->heads);
    }
    for (const auto& id : heads)
      if (auto it = live_.find(id); it != live_.end())
        for (const auto& d : it->second->take_drains()) ray_.drained(id, d);
  }
  ray_.tick(now);
  if (followed_ != ray_.revision()) follow();
}

void RayHeads::follow() {
  followed_ = ray_.revision();
  std::set<HeadHost*> synced;
  const auto& heads = ray_.heads();
  // Both maps are ordered by task id: one merge walk instead of a string lookup per head and tick.
  auto h = heads.begin();
  for (auto it = live_.begin(); it != live_.end();) {
    while (h != heads.end() && h->first < it->first) ++h;
    const bool keep = h != heads.end() && h->first == it->first && h->second.gcs_up &&
                      h->second.incarnation == it->second->incarnation;
    it = keep ? std::next(it) : live_.erase(it);  // its task stopped, its GCS went down or restarted
  }
  auto l = live_.begin();
  for (const auto& [id, h] : heads) {
    if (!h.gcs_up) continue;
    while (l != live_.end() && l->first < id) ++l;
    if (l == live_.end() || l->first != id) l = live_.emplace_hint(l, id, nullptr);
    auto& slot = l->second;
    if (!slot) {
      slot = std::make_unique<Live>();
      slot->incarnation = h.incarnation;
      start(h, *slot);
    }
    if (slot->gcs_up() && slot->published != h.generation) {
      slot->set_state(ray_.state_of(h));
      slot->published = h.generation;
      if (slot->host) synced.insert(slot->host);
    }
  }
  // States go to helpers without waiting, one round trip per helper then: the heads serve the new states
  // before the tick ends, as the ones in this process do.
  for (HeadHost* host : synced) host->sync();
}

HeadHost* RayHeads::host_with_room() {
  for (auto& h : hosts_)
    if (h->hosted() < per_process_ && h->alive()) return h.get();
  try {
    auto told = told_;
    // A helper's dashboards forward their /api/jobs requests: answered by the model on this io thread
    // (posted from the helper's reader thread), sent back by `reply` (any thread).
    auto on_jobs = [alive = std::weak_ptr<int>(alive_), ioc = &ioc_, ray = &ray_, clock = clock_](
                       JobsForward request, std::function<void(const DashboardAnswer&)> reply) {
      net::post(*ioc, [alive, ray, clock, request = std::move(request), reply = std::move(reply)] {
        DashboardAnswer answer{503, "text/plain; charset=utf-8", "", Millis(0), true};
        if (!alive.expired())
          answer = ray->jobs_request(request.head, request.incarnation, request.method, request.target,
                                     request.body, clock.now());
        reply(answer);
      });
    };
    hosts_.push_back(std::make_unique<HeadHost>(
        ray_.log(), clock_,
        [told](const std::string& head) {
          {
            std::lock_guard lock(told->mu);
            told->heads.push_back(head);
          }
          told->any.store(true);
        },
        std::move(on_jobs)));
    std::cerr << "yellowdog-sim: --ray: head host process " << hosts_.size() << " (pid "
              << hosts_.back()->pid() << ") serves the next " << per_process_ << " heads" << std::endl;
    return hosts_.back().get();
  } catch (const std::exception& e) {
    std::cerr << "yellowdog-sim: --ray: " << e.what() << std::endl;
    return nullptr;
  }
}

void RayHeads::start(const RaySim::Head& h, Live& live) {
  HeadServe serve;
  serve.head = h.task_id;
  serve.ips.push_back(h.private_ip);
  if (!h.public_ip.empty()) serve.ips.push_back(h.public_ip);
  serve.session = h.session;
  serve.cluster_id = h.cluster_id;
  serve.incarnation = h.incarnation;
  serve.version_body = json{
      {"version", "4"},
      {"ray_version", ray_.config().ray_version},
      {"ray_commit", kFakeCommit},
      {"session_name",
       h.session}}.dump();
  live.head = h.task_id;
  if (local_ >= local_limit_)
    if (HeadHost* host = host_with_room()) {
      live.host = host;
      live.hosted_gcs = host->start(serve);
      return;
    }
  RayCallLog* log = &ray_.log();
  const std::string head = h.task_id;
  GcsHooks hooks;
  hooks.fault = [log, head](const std::string&) { return log->decide(head); };
  hooks.on_call = [log, head](const test::FakeGcsCall& c) { log->record(head, c); };
  hooks.on_violation = [log, head](const std::string& v) { log->violation(head, v); };
  hooks.on_drain = [told = told_, head] {
    {
      std::lock_guard lock(told->mu);
      told->heads.push_back(head);
    }
    told->any.store(true);
  };
  // The jobs model answers on this thread, the one the dashboard runs on. `alive`: a request that arrives
  // while RayHeads is being torn down does not reach a model that may be gone.
  JobsHook jobs = [alive = std::weak_ptr<int>(alive_), ray = &ray_, clock = clock_, head,
                   incarnation = h.incarnation](std::string method, std::string target, std::string body) {
    DashboardAnswer answer{503, "text/plain; charset=utf-8", "", Millis(0), true};
    if (!alive.expired()) answer = ray->jobs_request(head, incarnation, method, target, body, clock.now());
    return ready(std::move(answer));
  };
  live.local = start_head_servers(ioc_, serve, clock_, std::move(hooks), std::move(jobs));
  ++local_;
  live.local_count = &local_;
}

}  // namespace raydog::ydsim
