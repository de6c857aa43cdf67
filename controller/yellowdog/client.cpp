#include "controller/yellowdog/client.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>
#include <stdexcept>

#include "controller/http/client.hpp"
#include "controller/runtime/log.hpp"
#include "controller/util/time.hpp"
#include "controller/yellowdog/sse.hpp"

namespace raydog::yellowdog {
namespace net = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

const log::Logger& logger() {
  static const log::Logger l = log::root().with({{"component", "yellowdog-client"}});
  return l;
}

bhttp::verb verb_of(const std::string& method) {
  if (method == "GET") return bhttp::verb::get;
  if (method == "POST") return bhttp::verb::post;
  if (method == "PUT") return bhttp::verb::put;
  if (method == "DELETE") return bhttp::verb::delete_;
  throw std::invalid_argument("unsupported method " + method);
}

YdError transport_error(const http::TransportError& t, const std::string& operation) {
  YdError e;
  e.kind = YdErrorKind::kTransport;
  e.operation = operation;
  e.message = t.message;
  return e;
}

YdError protocol_error(std::string message, const std::string& operation) {
  YdError e;
  e.kind = YdErrorKind::kProtocol;
  e.operation = operation;
  e.message = std::move(message);
  return e;
}

// Creates answer with the object and its assigned id; a 200 without one means we cannot know what exists.
template <class T>
bool has_id(const T& v) {
  if constexpr (requires { v.id.has_value(); }) {
    return v.id.has_value() && !v.id->empty();
  } else if constexpr (requires { v.id.empty(); }) {
    return !v.id.empty();
  } else {
    return true;
  }
}

}  // namespace

// ---- construction, credentials ----------------------------------------------------------------------

YellowDogClient::YellowDogClient(net::any_io_executor ex, YellowDogClientOptions options)
    : options_(std::move(options)), rng_state_(std::random_device{}()) {
  rng_state_ = (rng_state_ << 32) ^ std::random_device{}();
  http::ClientOptions o;
  o.base_url = options_.base_url;
  o.tls.ca_pem = options_.ca_pem;
  o.tls.ca_adds_to_system = true;  // --yellowdog-ca-file adds a private CA; public certificates stay trusted
  o.egress = options_.egress;
  o.connect_timeout = options_.connect_timeout;
  o.request_timeout = options_.request_timeout;
  o.user_agent = options_.user_agent;
  http_ = std::make_unique<http::Client>(std::move(ex), std::move(o));
}

YellowDogClient::~YellowDogClient() = default;

void YellowDogClient::set_credentials(Credentials credentials) {
  if (!options_.credentials.key_secret.empty() && options_.credentials.key_secret != credentials.key_secret)
    old_secrets_.push_back(options_.credentials.key_secret);
  options_.credentials = std::move(credentials);
}

std::string YellowDogClient::authorization() const {
  return "yd-key " + options_.credentials.key_id + ":" + options_.credentials.key_secret;
}

std::vector<std::string> YellowDogClient::secrets() const {
  std::vector<std::string> s = old_secrets_;
  s.push_back(options_.credentials.key_secret);
  return s;
}

double YellowDogClient::draw() {
  if (options_.random) return options_.random();
  // splitmix64: good enough for jitter, and no shared state with anyone else's engine.
  std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

// ---- one request with retries -----------------------------------------------------------------------

Async<std::string> YellowDogClient::execute(ApiCall call) {
  const auto body = encode_body(call, options_.gzip_threshold);
  for (int retries = 0;; ++retries) {
    http::Request req{verb_of(call.method), call.target, 11};
    req.set(bhttp::field::authorization, authorization());
    req.set(bhttp::field::accept, "application/json");
    req.keep_alive(true);
    if (call.body) {
      req.set(bhttp::field::content_type, "application/json");
      if (body.gzip) req.set(bhttp::field::content_encoding, "gzip");
      req.body() = body.bytes;
    }
    req.prepare_payload();
    if (options_.budget)  // the account's budget first: a 429 elsewhere holds every request of the key
      if (const auto wait = options_.budget->reserve(std::chrono::steady_clock::now()); wait.count() > 0)
        co_await pause(wait);
    ++requests_sent_;
    auto sent = co_await http_->send(std::move(req), options_.request_timeout);

    AttemptFailure failure;
    if (!sent) {
      failure.error = transport_error(sent.error(), call.operation);
      // Only a connection that was never established proves the server did not see the request.
      failure.not_sent = sent.error().kind == http::TransportError::Kind::kConnect ||
                         sent.error().kind == http::TransportError::Kind::kTls;
    } else {
      auto& res = sent.value();
      int status = static_cast<int>(res.result_int());
      if (auto date = res.find(bhttp::field::date); date != res.end())
        if (auto t = parse_http_date(std::string_view(date->value().data(), date->value().size())))
          server_time_ = *t;
      if (status != 429 && options_.budget) options_.budget->answered(std::chrono::steady_clock::now());
      if (status >= 200 && status < 300) co_return std::move(res.body());
      failure.error = error_from_response(status, redact(res.body(), secrets()), call.operation);
      if (auto ra = res.find(bhttp::field::retry_after); ra != res.end())
        failure.error.retry_after =
            parse_retry_after(std::string(ra->value()), std::chrono::system_clock::now());
      if (status == 429 && options_.budget)
        options_.budget->throttled(failure.error.retry_after, std::chrono::steady_clock::now());
    }
    redact(failure.error, secrets());
    failure.error.attempts = retries + 1;

    auto decision =
        decide_retry(options_.retry, call.request_class, failure, retries, [this] { return draw(); });
    if (!decision.retry) {
      failure.error.maybe_applied = maybe_applied(call.request_class, failure);
      logger().debug("yellowdog request failed", {{"operation", call.operation},
                                                  {"kind", std::string(to_string(failure.error.kind))},
                                                  {"status", failure.error.http_status},
                                                  {"attempts", failure.error.attempts},
                                                  {"maybeApplied", failure.error.maybe_applied}});
      co_return unexpected(std::move(failure.error));
    }
    logger().info("yellowdog request retry", {{"operation", call.operation},
                                              {"kind", std::string(to_string(failure.error.kind))},
                                              {"status", failure.error.http_status},
                                              {"attempt", retries + 1},
                                              {"delayMs", decision.delay.count()}});
    co_await pause(decision.delay);
  }
}

net::awaitable<void> YellowDogClient::pause(std::chrono::milliseconds d) {
  if (options_.sleep) {
    co_await options_.sleep(d);
  } else {
    net::steady_timer timer(co_await net::this_coro::executor, d);
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

template <class T>
Async<T> YellowDogClient::execute_json(ApiCall call) {
  const bool create = call.request_class == RequestClass::kCreate;
  const std::string operation = call.operation;
  auto body = co_await execute(std::move(call));
  if (!body) co_return unexpected(std::move(body.error()));
  auto parsed = parse_text<T>(*body);
  if (!parsed || !has_id(*parsed)) {
    auto e = protocol_error(parsed ? std::string("response has no id") : redact(parsed.error(), secrets()),
                            operation);
    e.http_status = 200;
    e.maybe_applied = create;  // the server answered 200: the create happened, we just cannot read it
    co_return unexpected(std::move(e));
  }
  co_return std::move(*parsed);
}

template <class T, class MakeCall>
Async<std::vector<T>> YellowDogClient::collect(MakeCall make_call) {
  std::vector<T> out;
  Page page;
  page.size = options_.page_size;
  std::vector<std::string> seen;
  for (std::size_t n = 0;; ++n) {
    ApiCall call = make_call(page);
    const std::string operation = call.operation;
    if (n >= options_.max_pages) co_return unexpected(protocol_error("too many slices", operation));
    auto body = co_await execute(std::move(call));
    if (!body) co_return unexpected(std::move(body.error()));
    auto slice = parse_text<Slice<T>>(*body);
    if (!slice) co_return unexpected(protocol_error(redact(slice.error(), secrets()), operation));
    bool empty = slice->items.empty();
    for (auto& item : slice->items) out.push_back(std::move(item));
    if (!slice->next_slice_id || empty) co_return out;
    for (const auto& s : seen)
      if (s == *slice->next_slice_id) co_return unexpected(protocol_error("slice chain loops", operation));
    seen.push_back(*slice->next_slice_id);
    page.slice_id = slice->next_slice_id;
  }
}

// ---- operations -------------------------------------------------------------------------------------

Async<WorkerPool> YellowDogClient::provision_worker_pool(ProvisionRequest request) {
  co_return co_await execute_json<WorkerPool>(calls::provision_worker_pool(request));
}
Async<WorkerPool> YellowDogClient::get_worker_pool(std::string id) {
  co_return co_await execute_json<WorkerPool>(calls::get_worker_pool(id));
}
Async<WorkerPool> YellowDogClient::get_worker_pool_by_name(std::string ns, std::string name) {
  co_return co_await execute_json<WorkerPool>(calls::get_worker_pool_by_name(ns, name));
}
Async<std::vector<WorkerPoolSummary>> YellowDogClient::search_worker_pools(WorkerPoolSearch search) {
  co_return co_await collect<WorkerPoolSummary>(
      [&](const Page& p) { return calls::search_worker_pools(search, p); });
}
Async<Done> YellowDogClient::shut_down_worker_pool(std::string id) {
  auto body = co_await execute(calls::shut_down_worker_pool(id));
  if (!body) co_return unexpected(std::move(body.error()));
  co_return Done{};  // the response body's shape is unknown (§11); nothing in it is needed
}
Async<WorkerPool> YellowDogClient::resize_worker_pool(std::string id, std::int64_t size) {
  co_return co_await execute_json<WorkerPool>(calls::resize_worker_pool(id, size));
}
Async<Node> YellowDogClient::get_node_of_worker(std::string worker_id) {
  co_return co_await execute_json<Node>(calls::get_node_of_worker(worker_id));
}
Async<Node> YellowDogClient::get_node(std::string id) {
  co_return co_await execute_json<Node>(calls::get_node(id));
}
Async<Node> YellowDogClient::shut_down_node(std::string id) {
  co_return co_await execute_json<Node>(calls::shut_down_node(id));
}
Async<std::vector<Node>> YellowDogClient::search_nodes(NodeSearch search) {
  co_return co_await collect<Node>([&](const Page& p) { return calls::search_nodes(search, p); });
}

Async<WorkRequirement> YellowDogClient::create_work_requirement(WorkRequirement wr) {
  co_return co_await execute_json<WorkRequirement>(calls::create_work_requirement(wr));
}
Async<WorkRequirement> YellowDogClient::update_work_requirement(WorkRequirement wr) {
  co_return co_await execute_json<WorkRequirement>(calls::update_work_requirement(wr));
}
Async<WorkRequirement> YellowDogClient::get_work_requirement(std::string id) {
  co_return co_await execute_json<WorkRequirement>(calls::get_work_requirement(id));
}
Async<WorkRequirement> YellowDogClient::get_work_requirement_by_name(std::string ns, std::string name) {
  co_return co_await execute_json<WorkRequirement>(calls::get_work_requirement_by_name(ns, name));
}
Async<std::vector<WorkRequirementSummary>> YellowDogClient::search_work_requirements(
    WorkRequirementSearch search) {
  co_return co_await collect<WorkRequirementSummary>(
      [&](const Page& p) { return calls::search_work_requirements(search, p); });
}
Async<WorkRequirement> YellowDogClient::cancel_work_requirement(std::string id, bool abort) {
  co_return co_await execute_json<WorkRequirement>(calls::cancel_work_requirement(id, abort));
}
Async<std::vector<Task>> YellowDogClient::add_tasks(std::string task_group_id, std::vector<Task> tasks) {
  const std::size_t count = tasks.size();
  auto call = calls::add_tasks(task_group_id, tasks);
  const std::string operation = call.operation;
  auto body = co_await execute(std::move(call));
  if (!body) co_return unexpected(std::move(body.error()));
  auto parsed = parse_text<std::vector<Task>>(*body);
  if (!parsed || parsed->size() != count) {
    auto e = protocol_error(
        parsed ? "response has " + std::to_string(parsed->size()) + " tasks, sent " + std::to_string(count)
               : redact(parsed.error(), secrets()),
        operation);
    e.http_status = 200;
    e.maybe_applied = true;
    co_return unexpected(std::move(e));
  }
  co_return std::move(*parsed);
}
Async<Task> YellowDogClient::get_task(std::string id) {
  co_return co_await execute_json<Task>(calls::get_task(id));
}
Async<std::vector<Task>> YellowDogClient::search_tasks(TaskSearch search) {
  co_return co_await collect<Task>([&](const Page& p) { return calls::search_tasks(search, p); });
}
Async<Task> YellowDogClient::cancel_task(std::string id, bool abort) {
  co_return co_await execute_json<Task>(calls::cancel_task(id, abort));
}

Async<ComputeRequirement> YellowDogClient::get_compute_requirement(std::string id) {
  co_return co_await execute_json<ComputeRequirement>(calls::get_compute_requirement(id));
}
Async<ComputeRequirement> YellowDogClient::terminate_compute_requirement(std::string id) {
  co_return co_await execute_json<ComputeRequirement>(calls::terminate_compute_requirement(id));
}
Async<std::vector<Instance>> YellowDogClient::search_instances(InstanceSearch search) {
  co_return co_await collect<Instance>([&](const Page& p) { return calls::search_instances(search, p); });
}

// ---- update streams ---------------------------------------------------------------------------------

struct YellowDogClient::Stream {
  std::unique_ptr<http::Stream> http;
  std::string operation;
  std::vector<std::string> secrets;
};

template <class T>
class YellowDogClient::TypedStream final : public UpdateStream<T> {
 public:
  explicit TypedStream(std::unique_ptr<Stream> s) : s_(std::move(s)) {}
  ~TypedStream() override { close(); }

  Async<std::optional<T>> next(std::chrono::milliseconds idle_timeout) override {
    for (;;) {
      if (!pending_.empty()) {
        SseEvent ev = std::move(pending_.front());
        pending_.erase(pending_.begin());
        if (ev.event != "entity_updated") continue;  // other event names: not ours to interpret
        auto entity = parse_text<T>(ev.data);
        if (!entity) co_return unexpected(protocol_error(redact(entity.error(), s_->secrets), s_->operation));
        co_return std::optional<T>(std::move(*entity));
      }
      if (closed_) co_return std::optional<T>();
      auto line = co_await s_->http->next_line(idle_timeout);
      if (!line) co_return unexpected(transport_error(line.error(), s_->operation));
      if (!*line) {
        closed_ = true;
        parser_.feed("\n\n", pending_);  // a final event without its blank line still counts
        continue;
      }
      parser_.feed(**line, pending_);
      parser_.feed("\n", pending_);
    }
  }
  void close() override {
    if (s_ && s_->http) s_->http->close();
  }

 private:
  std::unique_ptr<Stream> s_;
  SseParser parser_;
  std::vector<SseEvent> pending_;
  bool closed_ = false;
};

Async<std::unique_ptr<YellowDogClient::Stream>> YellowDogClient::open_stream(ApiCall call) {
  http::Request req{bhttp::verb::get, call.target, 11};
  req.set(bhttp::field::authorization, authorization());
  req.set(bhttp::field::accept, "text/event-stream");
  req.prepare_payload();
  ++requests_sent_;
  auto opened = co_await http_->open_stream(std::move(req), options_.stream_head_timeout);
  if (!opened) {
    auto e = transport_error(opened.error(), call.operation);
    redact(e, secrets());
    co_return unexpected(std::move(e));
  }
  auto& http_stream = *opened;
  int status = static_cast<int>(http_stream->head().result_int());
  if (status != 200) {
    // Read the (small) error body to classify it; bounded in lines and time.
    std::string body;
    for (int i = 0; i < 64; ++i) {
      auto line = co_await http_stream->next_line(std::chrono::seconds(5));
      if (!line || !*line) break;
      body += **line;
      body += '\n';
    }
    http_stream->close();
    auto e = error_from_response(status, redact(body, secrets()), call.operation);
    redact(e, secrets());
    co_return unexpected(std::move(e));
  }
  auto s = std::make_unique<Stream>();
  s->http = std::move(http_stream);
  s->operation = call.operation;
  s->secrets = secrets();
  co_return std::move(s);
}

Async<std::unique_ptr<UpdateStream<WorkRequirement>>> YellowDogClient::watch_work_requirement(
    std::string id) {
  auto s = co_await open_stream(calls::work_requirement_updates(id));
  if (!s) co_return unexpected(std::move(s.error()));
  co_return std::unique_ptr<UpdateStream<WorkRequirement>>(new TypedStream<WorkRequirement>(std::move(*s)));
}
Async<std::unique_ptr<UpdateStream<WorkerPool>>> YellowDogClient::watch_worker_pool(std::string id) {
  auto s = co_await open_stream(calls::worker_pool_updates(id));
  if (!s) co_return unexpected(std::move(s.error()));
  co_return std::unique_ptr<UpdateStream<WorkerPool>>(new TypedStream<WorkerPool>(std::move(*s)));
}
Async<std::unique_ptr<UpdateStream<ComputeRequirement>>> YellowDogClient::watch_compute_requirement(
    std::string id) {
  auto s = co_await open_stream(calls::compute_requirement_updates(id));
  if (!s) co_return unexpected(std::move(s.error()));
  co_return std::unique_ptr<UpdateStream<ComputeRequirement>>(
      new TypedStream<ComputeRequirement>(std::move(*s)));
}

}  // namespace raydog::yellowdog
