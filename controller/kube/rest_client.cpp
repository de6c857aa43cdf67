#include "controller/kube/rest_client.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>
#include <stdexcept>

#include "controller/http/client.hpp"
#include "controller/kube/credentials.hpp"
#include "controller/runtime/log.hpp"
#include "controller/util/json_read.hpp"

namespace raydog::kube {
namespace {

namespace bhttp = http::bhttp;

ApiError transport_error(const http::TransportError& t) {
  ApiError e;
  e.kind = ApiError::Kind::kTransport;
  e.message = t.message;
  return e;
}
ApiError decode_error(const std::string& what) {
  ApiError e;
  e.kind = ApiError::Kind::kDecode;
  e.message = what;
  return e;
}
ApiError credentials_error(const ConfigError& c) {
  ApiError e;
  e.kind = ApiError::Kind::kUnauthorized;
  e.message = "credentials: " + c.message;
  return e;
}

std::string write_query(const WriteOptions& o, bool apply) {
  std::string q;
  auto add = [&](const std::string& kv) { q += (q.empty() ? "?" : "&") + kv; };
  if (!o.field_manager.empty()) add("fieldManager=" + o.field_manager);
  if (apply && o.force) add("force=true");
  if (o.dry_run) add("dryRun=All");
  return q;
}

// Items of a list may lack apiVersion/kind (built-ins); fill them so objects look alike everywhere.
void fill_type(json& o, const ResourceRef& ref) {
  if (!o.is_object()) return;
  if (!o.contains("apiVersion")) o["apiVersion"] = ref.api_version();
  if (!o.contains("kind") && !ref.kind.empty()) o["kind"] = ref.kind;
}

class RestWatchStream : public WatchStream {
 public:
  RestWatchStream(std::unique_ptr<http::Stream> s, std::chrono::milliseconds idle)
      : s_(std::move(s)), idle_(idle) {}
  ~RestWatchStream() override { s_->close(); }
  net::awaitable<Result<std::optional<WatchEvent>, ApiError>> next() override {
    for (;;) {
      auto line = co_await s_->next_line(idle_);
      if (!line) co_return unexpected(transport_error(line.error()));
      if (!*line) co_return std::optional<WatchEvent>{};
      std::string& text = **line;
      if (!text.empty() && text.back() == '\r') text.pop_back();
      if (text.find_first_not_of(" \t") == std::string::npos) continue;
      json j = json::parse(text, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string())
        co_return unexpected(
            decode_error("watch: malformed event line (" + std::to_string(text.size()) + " bytes)"));
      WatchEvent ev{j["type"].get<std::string>(), std::move(j["object"])};
      co_return std::optional<WatchEvent>(std::move(ev));
    }
  }
  void close() override { s_->close(); }

 private:
  std::unique_ptr<http::Stream> s_;
  std::chrono::milliseconds idle_;
};

}  // namespace

struct RestClient::Impl {
  Impl(net::any_io_executor ex, RestConfig cfg, RestOptions opts)
      : ex(ex),
        config(std::move(cfg)),
        options(std::move(opts)),
        creds(ex, config, options.token_file_refresh),
        rng(std::random_device{}()) {}

  net::any_io_executor ex;
  RestConfig config;
  RestOptions options;
  Credentials creds;
  std::unique_ptr<http::Client> client;
  http::TlsOptions tls;
  std::uint64_t tls_generation = 0;
  bool send_credentials = true;
  std::string host;
  std::mt19937 rng;
  log::Logger log;

  std::chrono::milliseconds backoff(int attempt) {
    auto d = options.retry_base * (1L << std::min(attempt, 16));
    if (d > options.retry_cap) d = options.retry_cap;
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    return std::chrono::milliseconds(static_cast<long>(d.count() * jitter(rng)));
  }

  net::awaitable<void> sleep(std::chrono::milliseconds d) {
    net::steady_timer t(ex, d);
    boost::system::error_code ec;
    co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
  }

  // Authorization for the next request; rotates the TLS client certificate an exec plugin handed out.
  net::awaitable<Result<std::string, ApiError>> authorize() {
    if (!send_credentials) co_return std::string();
    auto st = co_await creds.get();
    if (!st) co_return unexpected(credentials_error(st.error()));
    if (st->tls_generation != tls_generation && !st->client_cert_pem.empty()) {
      tls_generation = st->tls_generation;
      http::TlsOptions t = tls;
      t.client_cert_pem = st->client_cert_pem;
      t.client_key_pem = st->client_key_pem;
      client->set_tls(t);
      client->close_idle();
    }
    co_return std::move(st->authorization);
  }

  http::Request make_request(bhttp::verb verb, const std::string& target, const std::string& auth,
                             const std::string& body, const std::string& content_type) {
    http::Request req{verb, target, 11};
    req.set(bhttp::field::accept, "application/json");
    req.set(bhttp::field::user_agent, options.user_agent);
    if (!auth.empty()) req.set(bhttp::field::authorization, auth);
    if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    return req;
  }

  // Waits for a token of `limiter` (none: unpaced) before a request is sent, as client-go's tryThrottle.
  net::awaitable<void> throttle(std::shared_ptr<RequestRateLimiter> limiter, bhttp::verb verb) {
    if (!limiter) co_return;
    const auto waited = co_await limiter->wait();
    if (waited >= std::chrono::seconds(1))
      log.debug("waited for client-side throttling (--kube-api-qps), not priority and fairness",
                {{"verb", std::string(bhttp::to_string(verb))},
                 {"waitedMs", std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()}});
    if (!options.on_rate_limited) co_return;
    RateLimiterMetric m;
    m.method = std::string(bhttp::to_string(verb));
    m.host = host;
    m.waited = waited;
    options.on_rate_limited(m);
  }

  void report(bhttp::verb verb, const std::string& target, int code,
              std::chrono::steady_clock::time_point t0) {
    if (!options.on_request) return;
    RequestMetric m;
    m.method = std::string(bhttp::to_string(verb));
    m.host = host;
    m.target = target;
    m.code = code;
    m.latency = std::chrono::steady_clock::now() - t0;
    options.on_request(m);
  }

  // One logical request with retries; any 2xx is returned, everything else becomes an ApiError. Every
  // attempt waits for its own token of `limiter` first.
  net::awaitable<Result<http::Response, ApiError>> send(std::shared_ptr<RequestRateLimiter> limiter,
                                                        bhttp::verb verb, std::string target,
                                                        std::string body, std::string content_type,
                                                        bool idempotent) {
    bool auth_retried = false;
    for (int attempt = 0;; ++attempt) {
      co_await throttle(limiter, verb);
      auto auth = co_await authorize();
      if (!auth) co_return unexpected(std::move(auth.error()));
      auto t0 = std::chrono::steady_clock::now();
      auto res = co_await client->send(make_request(verb, target, *auth, body, content_type),
                                       options.request_timeout);
      if (!res) {
        report(verb, target, 0, t0);
        ApiError e = transport_error(res.error());
        if (idempotent && attempt < options.max_retries) {
          auto d = backoff(attempt);
          log.debug(
              "retrying after transport error",
              {{"verb", std::string(bhttp::to_string(verb))}, {"error", e.message}, {"delayMs", d.count()}});
          co_await sleep(d);
          continue;
        }
        co_return unexpected(std::move(e));
      }
      const int code = res->result_int();
      report(verb, target, code, t0);
      if (code >= 200 && code < 300) co_return std::move(*res);
      if (code == 401 && !auth_retried && creds.invalidate()) {
        auth_retried = true;  // a rotated token file or an expired exec credential: refresh once
        --attempt;
        continue;
      }
      ApiError e = decode_status(code, res->body(), (*res)[bhttp::field::retry_after]);
      const bool retriable = code == 429 || (idempotent && code >= 500 && code != 501);
      if (retriable && attempt < options.max_retries) {
        auto d = e.retry_after ? std::min<std::chrono::milliseconds>(*e.retry_after, options.retry_cap)
                               : backoff(attempt);
        log.debug("retrying",
                  {{"verb", std::string(bhttp::to_string(verb))}, {"code", code}, {"delayMs", d.count()}});
        co_await sleep(d);
        continue;
      }
      co_return unexpected(std::move(e));
    }
  }

  net::awaitable<Result<json, ApiError>> send_json(std::shared_ptr<RequestRateLimiter> limiter,
                                                   bhttp::verb verb, std::string target, std::string body,
                                                   std::string content_type, bool idempotent) {
    auto res = co_await send(std::move(limiter), verb, std::move(target), std::move(body),
                             std::move(content_type), idempotent);
    if (!res) co_return unexpected(std::move(res.error()));
    json j = json::parse(res->body(), nullptr, false);
    if (j.is_discarded()) co_return unexpected(decode_error("response body is not JSON"));
    co_return j;
  }
};

RestClient::RestClient(std::shared_ptr<Impl> impl, std::shared_ptr<RequestRateLimiter> limiter)
    : impl_(std::move(impl)), limiter_(std::move(limiter)) {}
RestClient::~RestClient() = default;
const RestConfig& RestClient::config() const {
  return impl_->config;
}

std::unique_ptr<RestClient> RestClient::with_limiter(std::shared_ptr<RequestRateLimiter> limiter) const {
  return std::unique_ptr<RestClient>(new RestClient(impl_, std::move(limiter)));
}

Result<std::unique_ptr<RestClient>, ConfigError> RestClient::create(net::any_io_executor ex,
                                                                    RestConfig config, RestOptions options) {
  auto impl = std::make_shared<Impl>(ex, std::move(config), std::move(options));
  const RestConfig& rc = impl->config;
  impl->tls.ca_pem = rc.ca_pem;
  impl->tls.client_cert_pem = rc.client_cert_pem;
  impl->tls.client_key_pem = rc.client_key_pem;
  impl->tls.insecure_skip_verify = rc.insecure_skip_tls_verify;
  impl->tls.server_name = rc.tls_server_name;
  http::ClientOptions co;
  co.base_url = rc.server;
  co.tls = impl->tls;
  co.connect_timeout = impl->options.connect_timeout;
  co.request_timeout = impl->options.request_timeout;
  co.user_agent = impl->options.user_agent;
  co.egress = rc.proxy ? http::EgressProxies::always(*rc.proxy) : impl->options.egress;
  try {
    impl->client = std::make_unique<http::Client>(ex, co);
  } catch (const std::exception& e) {
    return unexpected(ConfigError{rc.origin + ": " + e.what()});
  }
  impl->host = impl->client->url().host_header();
  impl->log = log::root().with({{"component", "kube-client"}, {"server", rc.server}});
  if (!impl->client->url().tls()) {
    impl->send_credentials = false;  // as kubectl: credentials only travel over TLS
    if (rc.has_credentials())
      impl->log.warn("server is plain http://: credentials from the kubeconfig are not sent");
  }
  auto limiter = impl->options.limiter;
  return std::unique_ptr<RestClient>(new RestClient(std::move(impl), std::move(limiter)));
}

net::awaitable<Result<json, ApiError>> RestClient::get(ResourceRef ref, std::string ns, std::string name,
                                                       std::string subresource) {
  co_return co_await impl_->send_json(limiter_, bhttp::verb::get, resource_path(ref, ns, name, subresource),
                                      "", "", true);
}

net::awaitable<Result<ObjectList, ApiError>> RestClient::list(ResourceRef ref, std::string ns,
                                                              ListOptions options) {
  auto j = co_await impl_->send_json(limiter_, bhttp::verb::get, resource_path(ref, ns) + list_query(options),
                                     "", "", true);
  if (!j) co_return unexpected(std::move(j.error()));
  ObjectList out;
  const json md = json_object_or_empty(*j, "metadata");
  out.resource_version = json_string_or(md, "resourceVersion");
  out.continue_token = json_string_or(md, "continue");
  if (auto it = j->find("items"); it != j->end() && it->is_array()) {
    for (auto& item : *it) {
      fill_type(item, ref);
      out.items.push_back(std::move(item));
    }
  } else if (it != j->end() && !it->is_null()) {
    co_return unexpected(decode_error("list: items is not an array"));
  }
  co_return out;
}

net::awaitable<Result<json, ApiError>> RestClient::create(ResourceRef ref, std::string ns, json object,
                                                          WriteOptions options) {
  fill_type(object, ref);
  co_return co_await impl_->send_json(limiter_, bhttp::verb::post,
                                      resource_path(ref, ns) + write_query(options, false), object.dump(),
                                      "application/json", false);
}

net::awaitable<Result<json, ApiError>> RestClient::update(ResourceRef ref, json object,
                                                          std::string subresource, WriteOptions options) {
  fill_type(object, ref);
  const json md = object.value("metadata", json::object());
  std::string path = resource_path(ref, md.value("namespace", ""), md.value("name", ""), subresource);
  co_return co_await impl_->send_json(limiter_, bhttp::verb::put, path + write_query(options, false),
                                      object.dump(), "application/json", true);
}

net::awaitable<Result<json, ApiError>> RestClient::patch(ResourceRef ref, std::string ns, std::string name,
                                                         PatchType type, json patch, std::string subresource,
                                                         WriteOptions options) {
  const bool apply = type == PatchType::kApply;
  if (apply) fill_type(patch, ref);
  co_return co_await impl_->send_json(limiter_, bhttp::verb::patch,
                                      resource_path(ref, ns, name, subresource) + write_query(options, apply),
                                      patch.dump(), content_type(type), apply);
}

net::awaitable<Result<json, ApiError>> RestClient::remove(ResourceRef ref, std::string ns, std::string name,
                                                          DeleteOptions options) {
  json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty())
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  co_return co_await impl_->send_json(limiter_, bhttp::verb::delete_, resource_path(ref, ns, name),
                                      body.dump(), "application/json", true);
}

net::awaitable<Result<std::unique_ptr<WatchStream>, ApiError>> RestClient::watch(ResourceRef ref,
                                                                                 std::string ns,
                                                                                 WatchOptions options) {
  auto impl = impl_;
  const std::string target = resource_path(ref, ns) + watch_query(options);
  // The server ends the stream after timeoutSeconds; allow a margin before calling it dead.
  const auto idle = options.timeout.count() > 0
                        ? std::chrono::milliseconds(options.timeout) + std::chrono::seconds(60)
                        : std::chrono::milliseconds(std::chrono::minutes(30));
  auto limiter = limiter_;
  bool auth_retried = false;
  for (;;) {
    co_await impl->throttle(limiter, bhttp::verb::get);  // one token to open; none while it streams
    auto auth = co_await impl->authorize();
    if (!auth) co_return unexpected(std::move(auth.error()));
    auto t0 = std::chrono::steady_clock::now();
    auto s = co_await impl->client->open_stream(impl->make_request(bhttp::verb::get, target, *auth, "", ""),
                                                impl->options.request_timeout);
    if (!s) {
      impl->report(bhttp::verb::get, target, 0, t0);
      co_return unexpected(transport_error(s.error()));
    }
    const int code = static_cast<int>((*s)->head().result_int());
    impl->report(bhttp::verb::get, target, code, t0);
    if (code == 200)
      co_return std::unique_ptr<WatchStream>(std::make_unique<RestWatchStream>(std::move(*s), idle));
    // An error before streaming: the body is a Status. Read it (bounded) and decode.
    std::string body;
    for (int lines = 0; lines < 64 && body.size() < 65536; ++lines) {
      auto line = co_await (*s)->next_line(impl->options.request_timeout);
      if (!line || !*line) break;
      body += **line;
    }
    std::string retry_after((*s)->head()[bhttp::field::retry_after]);
    (*s)->close();
    if (code == 401 && !auth_retried && impl->creds.invalidate()) {
      auth_retried = true;
      continue;
    }
    co_return unexpected(decode_status(code, body, retry_after));
  }
}

}  // namespace raydog::kube
