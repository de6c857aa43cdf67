#include "controller/runtime/health.hpp"

#include "controller/http/server.hpp"

namespace raydog::runtime {

namespace {
struct NamedCheck {
  std::string name;
  Check check;
};
}  // namespace

struct HealthServer::Impl {
  std::vector<NamedCheck> healthz{{"ping", [] { return std::optional<std::string>(); }}};
  std::vector<NamedCheck> readyz{{"ping", [] { return std::optional<std::string>(); }}};
};

HealthServer::HealthServer(boost::asio::io_context& ioc, std::string bind_address)
    : ProbeServer(ioc, bind_address, [this](http::Exchange& ex) { return handle(ex); }),
      impl_(std::make_unique<Impl>()) {}

boost::asio::awaitable<void> HealthServer::handle(http::Exchange& ex) {
  auto& req = ex.request();
  const std::string_view target = req.target();
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  const bool verbose = query.find("verbose") != std::string_view::npos;
  bool readiness = false;
  std::string_view only;
  if (path == "/healthz" || path == "/livez") {
    readiness = false;
  } else if (path == "/readyz") {
    readiness = true;
  } else if (path.rfind("/healthz/", 0) == 0) {
    only = path.substr(9);
  } else if (path.rfind("/readyz/", 0) == 0) {
    readiness = true;
    only = path.substr(8);
  } else {
    co_await ex.respond(http::make_response(req, http::bhttp::status::not_found, "404 page not found\n",
                                            "text/plain; charset=utf-8"));
    co_return;
  }
  Outcome o = evaluate(readiness, only, verbose);
  const bool unknown = !only.empty() && o.body.empty();
  // Built outside the co_await: GCC 12 mishandles conditional-operator temporaries inside co_await
  // expressions (bad free under ASan).
  http::bhttp::status status = http::bhttp::status::ok;
  std::string body = o.body;
  if (unknown) {
    status = http::bhttp::status::not_found;
    body = "404 page not found\n";
  } else if (!o.ok) {
    status = http::bhttp::status::internal_server_error;
  }
  http::Response res = http::make_response(req, status, std::move(body), "text/plain; charset=utf-8");
  co_await ex.respond(std::move(res));
}

HealthServer::~HealthServer() = default;

void HealthServer::add_healthz_check(std::string name, Check check) {
  impl_->healthz.push_back({std::move(name), std::move(check)});
}
void HealthServer::add_readyz_check(std::string name, Check check) {
  impl_->readyz.push_back({std::move(name), std::move(check)});
}

HealthServer::Outcome HealthServer::evaluate(bool readiness, std::string_view only, bool verbose) const {
  const auto& checks = readiness ? impl_->readyz : impl_->healthz;
  const char* kind = readiness ? "readyz" : "healthz";
  if (!only.empty()) {
    for (const auto& c : checks) {
      if (c.name != only) continue;
      auto failure = c.check();
      if (failure) return {false, "internal server error: " + *failure + "\n"};
      return {true, "ok"};
    }
    return {false, ""};
  }
  bool ok = true;
  std::string lines;
  for (const auto& c : checks) {
    auto failure = c.check();
    if (failure) {
      ok = false;
      // As Kubernetes' healthz: reasons only with ?verbose (probe output may reach unauthenticated callers).
      lines += "[-]" + c.name + " failed: " + (verbose ? *failure : std::string("reason withheld")) + "\n";
    } else {
      lines += "[+]" + c.name + " ok\n";
    }
  }
  if (ok) return {true, verbose ? lines + kind + " check passed\n" : "ok"};
  return {false, lines + kind + " check failed\n"};
}

}  // namespace raydog::runtime
