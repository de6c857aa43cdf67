#include "test/yellowdog-sim/ray_heads.hpp"

#include <iostream>

#include "controller/http/server.hpp"
#include "test/ray-fake/fake_gcs.hpp"

namespace raydog::ydsim {

namespace net = boost::asio;
namespace http = raydog::http;

namespace {

constexpr const char* kFakeCommit = "0000000000000000000000000000000000000000";  // no real Ray build

// The dashboard of a fake head: GET /api/version as Ray answers it (controller/ray/dashboard.cpp reads
// ray_version and session_name), 404 for anything else. The body is fixed per GCS incarnation.
net::awaitable<void> serve_dashboard(std::shared_ptr<const std::string> version_body, http::Exchange& ex) {
  auto& req = ex.request();
  const std::string_view target = req.target();
  const bool version = target == "/api/version" || target.starts_with("/api/version?");
  http::Response res =
      version && req.method() == http::bhttp::verb::get
          ? http::make_response(req, http::bhttp::status::ok, *version_body)
          : http::make_response(req, http::bhttp::status::not_found,
                                R"({"result":false,"msg":"the yellowdog-sim fake head serves only GET /api/version"})");
  co_await ex.respond(std::move(res));
}

}  // namespace

struct RayHeads::Live {
  std::uint64_t incarnation = 0;
  std::unique_ptr<test::FakeGcs> gcs;  // null when it could not listen (logged once)
  std::vector<std::unique_ptr<http::Server>> dashboards;
  std::optional<std::uint64_t> published;  // the model generation its GCS serves
};

RayHeads::RayHeads(net::io_context& ioc, RaySim& ray, std::function<TimePoint()> clock)
    : ioc_(ioc), ray_(ray), clock_(std::move(clock)) {}

RayHeads::~RayHeads() {
  stop();
}

void RayHeads::stop() {
  stopped_ = true;
  live_.clear();  // FakeGcs: shut down and waited for; dashboards: stopped
}

std::size_t RayHeads::serving() const {
  std::size_t n = 0;
  for (const auto& [id, l] : live_) n += l->gcs ? 1 : 0;
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
      if (auto it = live_.find(id); it != live_.end() && it->second->gcs)
        for (const auto& d : it->second->gcs->take_drains()) ray_.drained(id, d);
  }
  ray_.tick(now);
  if (followed_ != ray_.revision()) follow();
}

void RayHeads::follow() {
  followed_ = ray_.revision();
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
    if (slot->gcs && slot->published != h.generation) {
      slot->gcs->set_state(ray_.state_of(h));
      slot->published = h.generation;
    }
  }
}

void RayHeads::start(const RaySim::Head& h, Live& live) {
  std::vector<std::string> ips{h.private_ip};
  if (!h.public_ip.empty()) ips.push_back(h.public_ip);
  test::FakeGcsOptions o;
  o.listen.clear();
  for (const auto& ip : ips) o.listen.push_back(ip + ":" + std::to_string(kGcsPort));
  o.session_name = h.session;
  o.cluster_id = h.cluster_id;
  auto clock = clock_;
  o.clock_ms = [clock] { return std::chrono::duration_cast<Millis>(clock().time_since_epoch()).count(); };
  RayCallLog* log = &ray_.log();
  const std::string head = h.task_id;
  o.fault = [log, head](const std::string&) { return log->decide(head); };
  o.on_call = [log, head](const test::FakeGcsCall& c) { log->record(head, c); };
  o.on_violation = [log, head](const std::string& v) { log->violation(head, v); };
  o.on_drain = [told = told_, head] {
    {
      std::lock_guard lock(told->mu);
      told->heads.push_back(head);
    }
    told->any.store(true);
  };
  o.keep_records = false;
  try {
    live.gcs = std::make_unique<test::FakeGcs>(std::move(o));
  } catch (const std::exception& e) {
    std::cerr << "yellowdog-sim: --ray: head " << head << ": " << e.what() << "\n";
    return;
  }
  auto body = std::make_shared<const std::string>(json{{"version", "4"},
                                                       {"ray_version", ray_.config().ray_version},
                                                       {"ray_commit", kFakeCommit},
                                                       {"session_name", h.session}}
                                                      .dump());
  for (const auto& ip : ips) {
    http::ServerOptions so;
    so.listen = ip + ":" + std::to_string(kDashboardPort);
    so.error_log = [](std::string_view what) { std::cerr << "yellowdog-sim: --ray dashboard: " << what << "\n"; };
    // The lambda only forwards: the coroutine takes its own copy of the body.
    auto server =
        std::make_unique<http::Server>(ioc_, so, [body](http::Exchange& ex) { return serve_dashboard(body, ex); });
    try {
      server->start();
    } catch (const std::exception& e) {
      std::cerr << "yellowdog-sim: --ray: head " << head << ": dashboard: " << e.what() << "\n";
      continue;
    }
    live.dashboards.push_back(std::move(server));
  }
}

}  // namespace raydog::ydsim
