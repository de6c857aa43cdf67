#include "test/daliuge-fake/fake_dlg.hpp"

#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "controller/http/server.hpp"

namespace raydog::daliuge::fake {
namespace {

using nlohmann::json;
namespace bhttp = http::bhttp;

std::string port_or(const std::string& s, const char* fallback) {
  if (s.empty() || s.size() > 5) return fallback;
  for (char c : s)
    if (c < '0' || c > '9') return fallback;
  int v = std::stoi(s);
  return v >= 1 && v <= 65535 ? std::to_string(v) : fallback;
}

const char* kHtml404 = "<html><body><h1>Error: 404 Not Found</h1></body></html>";
const char* kHtml405 = "<html><body><h1>Error: 405 Method Not Allowed</h1></body></html>";
const char* kHtml500 =
    "<html><body><h1>Error: 500 Internal Server Error</h1><pre>ValueError: list.remove(x): x not in "
    "list</pre></body></html>";

}  // namespace

std::string canonical(const std::string& node) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = node.find(':', start);
    parts.push_back(node.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  const char* defaults[] = {"8000", "5555", "6666"};
  std::string out = parts[0];
  for (size_t i = 0; i < 3; ++i) out += ":" + port_or(i + 1 < parts.size() ? parts[i + 1] : "", defaults[i]);
  return out;
}

struct FakeDlg::Impl {
  http::net::io_context ioc;
  std::thread thread;
  std::unique_ptr<http::net::executor_work_guard<http::net::io_context::executor_type>> work;

  std::unique_ptr<http::Server> dim;
  std::string dim_listen;
  std::vector<std::string> nodes;
  std::vector<LogEntry> log;
  int drop_writes = 0;
  bool sessions_active = false;
  std::map<std::string, std::unique_ptr<http::Server>> nm_servers;

  template <class F>
  auto run(F&& f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto fut = task.get_future();
    http::net::post(ioc, [&task] { task(); });
    return fut.get();
  }

  http::ServerOptions options(const std::string& listen) {
    http::ServerOptions o;
    o.listen = listen;
    o.read_timeout = std::chrono::seconds(10);
    o.idle_timeout = std::chrono::seconds(30);
    o.write_timeout = std::chrono::seconds(10);
    return o;
  }

  http::Response reply(const http::Request& req, LogEntry& entry, bhttp::status status, std::string body,
                       std::string_view type) {
    entry.status = static_cast<int>(status);
    log.push_back(entry);
    return http::make_response(req, status, std::move(body), type);
  }

  // The DIM's REST routing (plain function: the coroutine below only sends what it returns). `dropped`:
  // the write was applied and its answer must not be sent.
  http::Response route_dim(const http::Request& req, bool& dropped) {
    std::string target(req.target());
    if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
    const auto method = req.method();
    LogEntry entry{std::string(req.method_string()), std::string(req.target()), 0};
    auto wrong_method = [&] {
      return reply(req, entry, bhttp::status::method_not_allowed, kHtml405, "text/html");
    };

    if (target == "/api") {
      if (method != bhttp::verb::get) return wrong_method();
      return reply(req, entry, bhttp::status::ok,
                   json{{"hosts", nodes}, {"sessionIds", json::array()}}.dump(), "application/json");
    }
    if (target == "/api/nodes") {
      if (method != bhttp::verb::get) return wrong_method();
      return reply(req, entry, bhttp::status::ok, json(nodes).dump(), "application/json");
    }
    if (target == "/api/sessions") {
      if (method != bhttp::verb::get) return wrong_method();
      json sessions = json::array();
      if (sessions_active) {
        // RUNNING on every listed node (and on one node of its own, so an empty island is busy too).
        json status = {{"127.0.0.1:8000:5555:6666", 3}};
        for (const auto& n : nodes) status[n] = 3;
        sessions.push_back({{"sessionId", "fake-session"}, {"status", status}, {"size", 1}});
      }
      return reply(req, entry, bhttp::status::ok, sessions.dump(), "application/json");
    }
    if (target == "/api/stop") {
      if (method != bhttp::verb::post) return wrong_method();
      return reply(req, entry, bhttp::status::ok, "", "text/plain");
    }
    const std::string prefix = "/api/node/";
    if (target.rfind(prefix, 0) == 0 && target.size() > prefix.size() &&
        target.find('/', prefix.size()) == std::string::npos) {
      const std::string node = canonical(http::url_decode(target.substr(prefix.size())));
      if (method == bhttp::verb::post) {
        nodes.push_back(node);
      } else if (method == bhttp::verb::delete_) {
        auto it = std::find(nodes.begin(), nodes.end(), node);
        if (it == nodes.end())
          return reply(req, entry, bhttp::status::internal_server_error, kHtml500, "text/html");
        nodes.erase(it);
      } else {
        return wrong_method();
      }
      if (drop_writes > 0) {  // applied, but the answer never arrives
        --drop_writes;
        dropped = true;
        entry.status = 0;
        log.push_back(entry);
        return http::make_response(req, bhttp::status::ok, "", "");
      }
      return reply(req, entry, bhttp::status::ok, R"({"Status": "Success"})", "application/json");
    }
    return reply(req, entry, bhttp::status::not_found, kHtml404, "text/html");
  }

  http::net::awaitable<void> handle_dim(http::Exchange& ex) {
    bool dropped = false;
    http::Response res = route_dim(ex.request(), dropped);
    if (dropped) {
      ex.drop();
      co_return;
    }
    co_await ex.respond(std::move(res));
  }
};

FakeDlg::FakeDlg() : impl_(std::make_unique<Impl>()) {
  impl_->work = std::make_unique<http::net::executor_work_guard<http::net::io_context::executor_type>>(
      impl_->ioc.get_executor());
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

FakeDlg::~FakeDlg() {
  impl_->run([this] {
    if (impl_->dim) impl_->dim->stop();
    for (auto& [k, s] : impl_->nm_servers) s->stop();
  });
  impl_->work.reset();
  impl_->ioc.stop();
  impl_->thread.join();
  // Servers are destroyed with the io_context stopped (allowed: "or while the io_context is not running").
  impl_->dim.reset();
  impl_->nm_servers.clear();
}

std::string FakeDlg::start_dim(const std::string& listen) {
  return impl_->run([&] {
    Impl* self = impl_.get();
    self->dim = std::make_unique<http::Server>(self->ioc, self->options(listen),
                                               [self](http::Exchange& ex) { return self->handle_dim(ex); });
    self->dim->start();
    // The bound address (port 0 resolved), so a restart comes back on the same port.
    const auto ep = self->dim->local_endpoint();
    self->dim_listen = ep.address().to_string() + ":" + std::to_string(ep.port());
    return self->dim->base_url();
  });
}

void FakeDlg::stop_dim() {
  impl_->run([this] {
    if (impl_->dim) impl_->dim->stop();
  });
}

std::vector<std::string> FakeDlg::dim_nodes() {
  return impl_->run([this] { return impl_->nodes; });
}

void FakeDlg::restart_dim() {
  impl_->run([this] {
    Impl* self = impl_.get();
    self->nodes.clear();
    if (self->dim) {
      self->dim->stop();
      self->dim = std::make_unique<http::Server>(self->ioc, self->options(self->dim_listen),
                                                 [self](http::Exchange& ex) { return self->handle_dim(ex); });
      self->dim->start();
    }
  });
}

void FakeDlg::drop_next_write_responses(int n) {
  impl_->run([&] { impl_->drop_writes = n; });
}

void FakeDlg::inject_node(const std::string& node) {
  impl_->run([&] { impl_->nodes.push_back(canonical(node)); });
}

void FakeDlg::set_sessions_active(bool active) {
  impl_->run([&] { impl_->sessions_active = active; });
}

std::vector<LogEntry> FakeDlg::dim_log() {
  return impl_->run([this] { return impl_->log; });
}

void FakeDlg::clear_dim_log() {
  impl_->run([this] { impl_->log.clear(); });
}

void FakeDlg::start_nm(const std::string& listen) {
  impl_->run([&] {
    Impl* self = impl_.get();
    if (self->nm_servers.count(listen)) return;
    auto server = std::make_unique<http::Server>(
        self->ioc, self->options(listen), [](http::Exchange& ex) -> http::net::awaitable<void> {
          const auto& req = ex.request();
          const bool api = req.target() == "/api" && req.method() == bhttp::verb::get;
          http::Response res =
              api ? http::make_response(req, bhttp::status::ok, R"({"sessions": []})", "application/json")
                  : http::make_response(req, bhttp::status::not_found, kHtml404, "text/html");
          co_await ex.respond(std::move(res));
        });
    server->start();
    self->nm_servers[listen] = std::move(server);
  });
}

void FakeDlg::stop_nm(const std::string& listen) {
  std::unique_ptr<http::Server> gone;
  impl_->run([&] {
    auto it = impl_->nm_servers.find(listen);
    if (it == impl_->nm_servers.end()) return;
    it->second->stop();
    // Keep the object alive until the io thread has finished with its connections: parked here.
    gone = std::move(it->second);
    impl_->nm_servers.erase(it);
  });
  // Destroy on the io thread too.
  impl_->run([&] { gone.reset(); });
}

bool FakeDlg::nm_running(const std::string& listen) {
  return impl_->run([&] { return impl_->nm_servers.count(listen) > 0; });
}

std::vector<std::string> FakeDlg::nms() {
  return impl_->run([this] {
    std::vector<std::string> out;
    for (const auto& [k, s] : impl_->nm_servers) out.push_back(k);
    return out;
  });
}

}  // namespace raydog::daliuge::fake
