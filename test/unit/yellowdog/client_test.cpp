// YellowDogClient against the scripted in-process fake: fail the n-th request for every n (Beast
// fail_count style), lost responses, slices, gzip, SSE, credentials and secrets.
#include <doctest/doctest.h>

#include <utility>  // first: Boost 1.74's awaitable.hpp needs it

#include <boost/asio/co_spawn.hpp>
#include <iostream>
#include <sstream>

#include "controller/runtime/log.hpp"
#include "controller/yellowdog/client.hpp"
#include "test/support/process.hpp"
#include "test/unit/yellowdog/fake_yellowdog.hpp"

using namespace raydog;
using namespace raydog::yellowdog;
using raydog::yellowdog::testing::FakeYellowDog;
using raydog::yellowdog::testing::Fault;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

const char* kSecret = "Sup3rS3cretKeyValue-xyz";

// Runs one coroutine to completion on the test's io_context (the fake server shares it).
void run(net::io_context& ioc, net::awaitable<void> work) {
  std::exception_ptr failure;
  bool done = false;
  net::co_spawn(ioc, std::move(work), [&](std::exception_ptr e) {
    failure = e;
    done = true;
    ioc.stop();
  });
  ioc.restart();
  ioc.run();
  REQUIRE(done);
  if (failure) std::rethrow_exception(failure);
}

struct Fixture {
  net::io_context ioc;
  FakeYellowDog fake{ioc};
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<YellowDogClient> client;

  explicit Fixture(std::function<void(YellowDogClientOptions&)> tweak = {}) {
    YellowDogClientOptions o;
    o.base_url = fake.base_url();
    o.credentials = {"app-key-id", kSecret};
    o.request_timeout = 5s;
    o.random = [] { return 0.5; };
    // Record instead of sleeping: tests never wait for a backoff.
    o.sleep = [this](std::chrono::milliseconds d) -> net::awaitable<void> {
      sleeps.push_back(d);
      co_return;
    };
    if (tweak) tweak(o);
    client = std::make_unique<YellowDogClient>(ioc.get_executor(), o);
  }
};

ProvisionRequest head_pool_request() {
  ProvisionRequest p;
  p.requirement_template_usage.template_id = "ns/template";
  p.requirement_template_usage.requirement_name = "c-00-head";
  p.requirement_template_usage.requirement_namespace = "ray";
  p.requirement_template_usage.target_instance_count = 1;
  p.provisioned_properties.worker_tag = "c-00-head";
  p.provisioned_properties.max_nodes = 1;
  return p;
}

WorkRequirement cluster_wr() {
  WorkRequirement wr;
  wr.namespace_ = "ray";
  wr.name = "c";
  TaskGroup g;
  g.name = "head-node";
  g.run_specification.task_types = {"bash"};
  g.run_specification.worker_tags = Strings{"c-00-head"};
  wr.task_groups.push_back(g);
  return wr;
}

Task named_task(const std::string& name, std::size_t data_bytes = 10) {
  Task t;
  t.name = name;
  t.task_type = "bash";
  t.arguments = {"taskdata.txt"};
  t.task_data = std::string(data_bytes, 'x');
  return t;
}

// What a reconciler does: find by name before create; a create that failed (maybe applied or not) is
// followed by another lookup, never by a blind re-POST. Returns an error string or "" on success.
net::awaitable<std::string> converge(YellowDogApi& api, int task_count, std::vector<YdError>& errors) {
  auto note = [&](const YdError& e) { errors.push_back(e); };
  std::string pool_id;
  for (int attempt = 0; attempt < 4 && pool_id.empty(); ++attempt) {
    auto found = co_await api.get_worker_pool_by_name("ray", "c-00-head");
    if (found) {
      pool_id = found->id;
      break;
    }
    note(found.error());
    if (found.error().kind != YdErrorKind::kNotFound) continue;
    auto made = co_await api.provision_worker_pool(head_pool_request());
    if (made)
      pool_id = made->id;
    else
      note(made.error());
  }
  if (pool_id.empty()) co_return "no pool";

  std::optional<WorkRequirement> wr;
  for (int attempt = 0; attempt < 4 && !wr; ++attempt) {
    auto found = co_await api.get_work_requirement_by_name("ray", "c");
    if (found) {
      wr = *found;
      break;
    }
    note(found.error());
    if (found.error().kind != YdErrorKind::kNotFound) continue;
    auto made = co_await api.create_work_requirement(cluster_wr());
    if (made)
      wr = *made;
    else
      note(made.error());
  }
  if (!wr) co_return "no work requirement";
  const std::string group_id = *wr->task_groups.at(0).id;

  for (int attempt = 0; attempt < 4; ++attempt) {
    TaskSearch s;
    s.task_group_id = group_id;
    auto existing = co_await api.search_tasks(s);
    if (!existing) {
      note(existing.error());
      continue;
    }
    std::vector<Task> missing;
    for (int i = 1; i <= task_count; ++i) {
      std::string name = "task-0000" + std::to_string(i);
      bool have = false;
      for (const auto& t : *existing) have = have || t.name == name;
      if (!have) missing.push_back(named_task(name));
    }
    if (missing.empty()) {
      auto cancelled = co_await api.cancel_work_requirement(*wr->id, true);
      if (!cancelled) {
        note(cancelled.error());
        continue;
      }
      co_return "";
    }
    auto added = co_await api.add_tasks(group_id, missing);
    if (!added) note(added.error());
  }
  co_return "did not converge";
}

}  // namespace

TEST_CASE("client: happy path sends yd-key auth and parses responses") {
  Fixture fx;
  run(fx.ioc, [](Fixture& fx) -> net::awaitable<void> {
    auto pool = co_await fx.client->provision_worker_pool(head_pool_request());
    REQUIRE(pool.ok());
    CHECK(pool->provisioned());
    CHECK(pool->name == "c-00-head");
    auto again = co_await fx.client->get_worker_pool(pool->id);
    REQUIRE(again.ok());
    CHECK(again->compute_requirement_id == pool->compute_requirement_id);
    auto missing = co_await fx.client->get_worker_pool("ydid:wrkrpool:000000:nope");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == YdErrorKind::kNotFound);
    CHECK(missing.error().attempts == 1);
    auto dup = co_await fx.client->provision_worker_pool(head_pool_request());
    REQUIRE_FALSE(dup.ok());
    CHECK(dup.error().kind == YdErrorKind::kAlreadyExists);
    CHECK_FALSE(dup.error().maybe_applied);
  }(fx));
  REQUIRE(fx.fake.seen().size() == 4);
  for (const auto& r : fx.fake.seen()) CHECK(r.authorization == std::string("yd-key app-key-id:") + kSecret);
  CHECK(fx.fake.seen()[1].target.find("/workerPools/ydid:wrkrpool:000000:") == 0);
  CHECK(fx.sleeps.empty());
}

TEST_CASE("client: fail the n-th request for every n: GETs retried, creates never re-sent, no duplicates") {
  for (Fault fault :
       {Fault::kStatus500, Fault::kStatus429, Fault::kCloseBefore, Fault::kLostResponse, Fault::kGarbage}) {
    bool reached_clean_run = false;
    for (std::size_t n = 1; n < 100 && !reached_clean_run; ++n) {
      CAPTURE(n);
      CAPTURE(static_cast<int>(fault));
      Fixture fx;
      fx.fake.fail_nth(n, fault);
      std::string outcome = "not run";
      std::vector<YdError> errors;
      run(fx.ioc,
          [](Fixture& fx, std::string& outcome, std::vector<YdError>& errors) -> net::awaitable<void> {
            outcome = co_await converge(*fx.client, 3, errors);
          }(fx, outcome, errors));
      CHECK(outcome == "");
      // Never a duplicate, whatever failed.
      CHECK(fx.fake.pools.size() == 1);
      CHECK(fx.fake.requirements.size() == 1);
      CHECK(fx.fake.tasks.size() == 3);
      const auto& seen = fx.fake.seen();
      reached_clean_run = n > seen.size();
      if (reached_clean_run) break;
      const auto& failed = seen.at(n - 1);
      REQUIRE(failed.faulted);
      bool create = failed.method == "POST";
      if (!create && fault != Fault::kGarbage) {
        // A read or idempotent write is simply repeated by the client.
        REQUIRE(seen.size() > n);
        CHECK(seen[n].method == failed.method);
        CHECK(seen[n].target == failed.target);
      }
      if (create) {
        // The create came back as an error value, and the next request is not the same POST.
        const YdError* create_error = nullptr;
        for (const auto& e : errors)
          if (!create_error && e.operation.rfind("POST ", 0) == 0) create_error = &e;
        REQUIRE(create_error != nullptr);
        const YdError& e = *create_error;
        CHECK(e.attempts == 1);
        CHECK(e.maybe_applied == (fault != Fault::kStatus429));
        if (seen.size() > n) CHECK_FALSE((seen[n].method == "POST" && seen[n].target == failed.target));
        if (fault == Fault::kStatus429) CHECK(e.kind == YdErrorKind::kThrottled);
        if (fault == Fault::kStatus500) CHECK(e.kind == YdErrorKind::kServerError);
        if (fault == Fault::kCloseBefore || fault == Fault::kLostResponse)
          CHECK(e.kind == YdErrorKind::kTransport);
        if (fault == Fault::kGarbage) CHECK(e.kind == YdErrorKind::kProtocol);
        CHECK((e.what().find("outcome unknown") != std::string::npos) == e.maybe_applied);
      }
      for (const auto& e : errors) CHECK(e.what().find(kSecret) == std::string::npos);
    }
    CHECK(reached_clean_run);
  }
}

TEST_CASE("client: retries give up after 3 and report attempts, Retry-After overrides jitter") {
  Fixture fx([](YellowDogClientOptions& o) {
    o.retry.base = 8ms;
    o.retry.cap = 20ms;
  });
  run(fx.ioc, [](Fixture& fx) -> net::awaitable<void> {
    // 429 answers carry Retry-After: 0.
    fx.fake.fail_nth(1, Fault::kStatus429);
    auto r = co_await fx.client->get_worker_pool_by_name("ray", "absent");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == YdErrorKind::kNotFound);
    CHECK(r.error().attempts == 2);
  }(fx));
  REQUIRE(fx.sleeps.size() == 1);
  CHECK(fx.sleeps[0] == 0ms);

  // A server that is always down: 4 attempts, jittered sleeps within min(cap, base*2^(n-1)).
  net::io_context ioc;
  http::ServerOptions so;
  int hits = 0;
  http::Server down(ioc, so, [&](http::Exchange& ex) -> net::awaitable<void> {
    ++hits;
    co_await ex.respond(http::make_response(ex.request(), http::bhttp::status::service_unavailable, "down"));
  });
  down.start();
  std::vector<std::chrono::milliseconds> sleeps;
  YellowDogClientOptions o;
  o.base_url = down.base_url();
  o.retry.base = 8ms;
  o.retry.cap = 20ms;
  o.random = [] { return 0.99; };
  o.sleep = [&](std::chrono::milliseconds d) -> net::awaitable<void> {
    sleeps.push_back(d);
    co_return;
  };
  YellowDogClient client(ioc.get_executor(), o);
  std::optional<YdError> err;
  run(ioc, [](YellowDogClient& c, std::optional<YdError>& err) -> net::awaitable<void> {
    auto r = co_await c.get_task("ydid:task:0:1");
    if (!r) err = r.error();
  }(client, err));
  REQUIRE(err);
  CHECK(err->kind == YdErrorKind::kServerError);
  CHECK(err->http_status == 503);
  CHECK(err->attempts == 4);
  CHECK(err->message == "down");
  CHECK(hits == 4);
  REQUIRE(sleeps.size() == 3);
  CHECK(sleeps[0] == 7ms);   // 0.99 * 8
  CHECK(sleeps[1] == 15ms);  // 0.99 * 16
  CHECK(sleeps[2] == 19ms);  // 0.99 * min(20, 32)
  CHECK(client.requests_sent() == 4);
}

TEST_CASE("client: slices are followed over several pages") {
  Fixture fx;
  fx.fake.task_page_size = 2;
  run(fx.ioc, [](Fixture& fx) -> net::awaitable<void> {
    auto wr = co_await fx.client->create_work_requirement(cluster_wr());
    REQUIRE(wr.ok());
    std::vector<Task> batch;
    for (int i = 0; i < 7; ++i) batch.push_back(named_task("t" + std::to_string(i)));
    auto added = co_await fx.client->add_tasks(*wr->task_groups[0].id, batch);
    REQUIRE(added.ok());
    REQUIRE(added->size() == 7);
    CHECK((*added)[3].name == "t3");
    CHECK((*added)[3].status->str() == "READY");
    TaskSearch s;
    s.task_group_id = *wr->task_groups[0].id;
    auto all = co_await fx.client->search_tasks(s);
    REQUIRE(all.ok());
    REQUIRE(all->size() == 7);
    for (int i = 0; i < 7; ++i) CHECK((*all)[i].name == "t" + std::to_string(i));
  }(fx));
  CHECK(fx.fake.count("GET", "/work/tasks?") == 4);  // pages of 2, 2, 2, 1
  CHECK(fx.fake.seen().back().target.find("sliceId=6") != std::string::npos);
}

TEST_CASE("client: task arrays over 2 KiB are sent gzipped and arrive intact") {
  Fixture fx;
  run(fx.ioc, [](Fixture& fx) -> net::awaitable<void> {
    auto wr = co_await fx.client->create_work_requirement(cluster_wr());
    REQUIRE(wr.ok());
    std::vector<Task> two{named_task("a", 3000), named_task("b", 3000)};
    auto big = co_await fx.client->add_tasks(*wr->task_groups[0].id, two);
    REQUIRE(big.ok());
    std::vector<Task> one{named_task("c", 10)};
    auto small = co_await fx.client->add_tasks(*wr->task_groups[0].id, one);
    REQUIRE(small.ok());
  }(fx));
  const auto& seen = fx.fake.seen();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].content_encoding == "");  // small WR body
  CHECK(seen[1].content_encoding == "gzip");
  CHECK(seen[1].body_bytes < 1000);  // 6 KB of 'x' compresses well
  CHECK(seen[2].content_encoding == "");
  REQUIRE(fx.fake.tasks.size() == 3);
  CHECK(fx.fake.tasks[0]["taskData"].get<std::string>().size() == 3000);
  CHECK(fx.fake.tasks[1]["name"] == "b");
}

TEST_CASE("client: the key secret never appears in errors or logs, and credentials can be replaced") {
  struct Capture {  // restores the process-wide logger even when an assertion ends the test early
    std::ostringstream out;
    Capture() { log::configure(log::Level::kDebug, log::Format::kJson, &out); }
    ~Capture() { log::configure(log::Level::kInfo, log::Format::kJson, &std::cerr); }
  } capture;
  auto& logs = capture.out;
  Fixture fx;
  fx.fake.required_authorization = "yd-key new-id:new-secret-value";
  run(fx.ioc, [](Fixture& fx) -> net::awaitable<void> {
    auto r = co_await fx.client->get_work_requirement("ydid:workreq:000000:1");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == YdErrorKind::kNotAuthorised);
    CHECK(r.error().http_status == 401);
    CHECK(r.error().message.find("***") != std::string::npos);  // the echoed header, redacted
    CHECK(r.error().what().find(kSecret) == std::string::npos);
    // Failing over many faults with the secret echoed: nothing leaks either.
    fx.fake.fail_nth(2, Fault::kStatus500);
    auto r2 = co_await fx.client->provision_worker_pool(head_pool_request());
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().what().find(kSecret) == std::string::npos);

    fx.client->set_credentials({"new-id", "new-secret-value"});
    auto r3 = co_await fx.client->get_worker_pool_by_name("ray", "x");
    REQUIRE_FALSE(r3.ok());
    CHECK(r3.error().kind == YdErrorKind::kNotFound);  // authorised now
    // Old secret still redacted if a server echoes it back later.
    fx.fake.required_authorization = "something-else";
    auto r4 = co_await fx.client->get_worker_pool_by_name("ray", "x");
    REQUIRE_FALSE(r4.ok());
    CHECK(r4.error().what().find("new-secret-value") == std::string::npos);
  }(fx));
  CHECK(logs.str().find(kSecret) == std::string::npos);
  CHECK(logs.str().find("new-secret-value") == std::string::npos);
  CHECK(logs.str().find("yellowdog request failed") != std::string::npos);  // something was logged
}

TEST_CASE("client: SSE update stream yields typed entities across chunk boundaries") {
  Fixture fx;
  std::string stream =
      ": hello\n\n"
      "event: entity_updated\ndata: {\"id\":\"ydid:workreq:000000:1\",\"namespace\":\"ray\",\"name\":\"c\","
      "\"status\":\"RUNNING\"}\n\n"
      "event: other\ndata: {}\n\n"
      "event: entity_updated\r\ndata: {\"id\":\"ydid:workreq:000000:1\",\"namespace\":\"ray\",\"name\":\"c\","
      "\"status\":\"CANCELLED\"}\r\n\r\n";
  // Chunks of 7 bytes: boundaries land inside field names, JSON and CRLF pairs.
  for (std::size_t i = 0; i < stream.size(); i += 7) fx.fake.sse_chunks.push_back(stream.substr(i, 7));
  run(fx.ioc, [](Fixture& fx) -> net::awaitable<void> {
    auto w = co_await fx.client->watch_work_requirement("ydid:workreq:000000:1");
    REQUIRE(w.ok());
    auto& s = **w;
    auto e1 = co_await s.next(5s);
    REQUIRE(e1.ok());
    REQUIRE(e1->has_value());
    CHECK((*e1)->status->str() == "RUNNING");
    auto e2 = co_await s.next(5s);
    REQUIRE(e2.ok());
    REQUIRE(e2->has_value());
    CHECK((*e2)->status->str() == "CANCELLED");
    auto end = co_await s.next(5s);
    REQUIRE(end.ok());
    CHECK_FALSE(end->has_value());
  }(fx));
  CHECK(fx.fake.seen().at(0).target == "/work/requirements/ydid:workreq:000000:1/updates");
}

TEST_CASE("client: a server that never answers is a transport error after the deadline, retried") {
  net::io_context ioc;
  int hits = 0;
  http::Server silent(ioc, {}, [&](http::Exchange& ex) -> net::awaitable<void> {
    ++hits;
    net::steady_timer t(co_await net::this_coro::executor, 30s);
    boost::system::error_code ec;
    co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
    ex.drop();
  });
  silent.start();
  YellowDogClientOptions o;
  o.base_url = silent.base_url();
  o.request_timeout = 150ms;
  o.retry.max_retries = 1;
  o.sleep = [](std::chrono::milliseconds) -> net::awaitable<void> { co_return; };
  YellowDogClient client(ioc.get_executor(), o);
  std::optional<YdError> read_err, create_err;
  run(ioc,
      [](YellowDogClient& c, std::optional<YdError>& r, std::optional<YdError>& w) -> net::awaitable<void> {
        auto a = co_await c.get_node("ydid:node:0:1");
        if (!a) r = a.error();
        auto b = co_await c.create_work_requirement(cluster_wr());
        if (!b) w = b.error();
      }(client, read_err, create_err));
  silent.stop();
  REQUIRE(read_err);
  CHECK(read_err->kind == YdErrorKind::kTransport);
  CHECK(read_err->attempts == 2);
  REQUIRE(create_err);
  CHECK(create_err->kind == YdErrorKind::kTransport);
  CHECK(create_err->maybe_applied);
  CHECK(create_err->attempts == 1);
  CHECK(hits == 3);
}

TEST_CASE("client: connection refused is a transport error, safe to retry even for creates") {
  net::io_context ioc;
  std::string url;
  {
    http::Server s(ioc, {}, [](http::Exchange& ex) -> net::awaitable<void> {
      ex.drop();
      co_return;
    });
    s.start();
    url = s.base_url();
  }  // closed: nothing listens on that loopback port any more
  YellowDogClientOptions o;
  o.base_url = url;
  o.connect_timeout = 2s;
  o.sleep = [](std::chrono::milliseconds) -> net::awaitable<void> { co_return; };
  YellowDogClient client(ioc.get_executor(), o);
  std::optional<YdError> err;
  run(ioc, [](YellowDogClient& c, std::optional<YdError>& err) -> net::awaitable<void> {
    auto r = co_await c.create_work_requirement(cluster_wr());
    if (!r) err = r.error();
  }(client, err));
  REQUIRE(err);
  CHECK(err->kind == YdErrorKind::kTransport);
  CHECK_FALSE(err->maybe_applied);
  CHECK(err->attempts == 4);
}

TEST_CASE("client: TLS is verified: an unknown CA fails, the configured CA works") {
  test::TempDir dir;
  auto gen = test::run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir.file("key.pem"),
                                "-out", dir.file("cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1",
                                "-addext", "subjectAltName=IP:127.0.0.1"});
  REQUIRE(gen.exit_code == 0);
  auto tls = std::make_shared<http::ssl::context>(http::ssl::context::tls_server);
  tls->use_certificate_chain_file(dir.file("cert.pem"));
  tls->use_private_key_file(dir.file("key.pem"), http::ssl::context::pem);

  net::io_context ioc;
  http::ServerOptions so;
  so.tls = tls;
  int hits = 0;
  http::Server server(ioc, so, [&](http::Exchange& ex) -> net::awaitable<void> {
    ++hits;
    co_await ex.respond(http::make_response(ex.request(), http::bhttp::status::not_found,
                                            R"({"errorType":"WorkerPoolNotFoundException","message":"no"})"));
  });
  server.start();
  REQUIRE(server.base_url().rfind("https://", 0) == 0);

  auto options = [&](std::string ca) {
    YellowDogClientOptions o;
    o.base_url = server.base_url();
    o.credentials = {"id", kSecret};
    o.ca_pem = std::move(ca);
    o.sleep = [](std::chrono::milliseconds) -> net::awaitable<void> { co_return; };
    return o;
  };
  YellowDogClient untrusting(ioc.get_executor(), options(""));  // system store only
  YellowDogClient trusting(ioc.get_executor(), options(test::read_file(dir.file("cert.pem"))));
  std::optional<YdError> rejected, answered;
  run(ioc,
      [](YellowDogClient& a, YellowDogClient& b, std::optional<YdError>& rejected,
         std::optional<YdError>& answered) -> net::awaitable<void> {
        auto r1 = co_await a.get_worker_pool_by_name("ray", "x");
        if (!r1) rejected = r1.error();
        auto r2 = co_await b.get_worker_pool_by_name("ray", "x");
        if (!r2) answered = r2.error();
      }(untrusting, trusting, rejected, answered));
  REQUIRE(rejected);
  CHECK(rejected->kind == YdErrorKind::kTransport);
  CHECK(rejected->what().find(kSecret) == std::string::npos);
  REQUIRE(answered);
  CHECK(answered->kind == YdErrorKind::kNotFound);
  CHECK(hits == 1);  // only the trusting client's request reached the handler
}
