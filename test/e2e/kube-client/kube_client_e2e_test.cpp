// The Kubernetes client against the real kube-emulator binary: plain and TLS with a token, rotated token
// files, exec plugins, the informer under --drop-watches-every/--history churn, leader election across
// processes, and events.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <thread>
#include <utility>  // before Boost 1.74's awaitable.hpp (uses std::exchange)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <random>

#include "controller/kube/config.hpp"
#include "controller/kube/events.hpp"
#include "controller/kube/informer.hpp"
#include "controller/kube/rest_client.hpp"
#include "controller/util/yaml_json.hpp"
#include "test/support/process.hpp"

using namespace raydog::kube;
using namespace std::chrono_literals;
using raydog::Result;
using raydog::test::bin_path;
using raydog::test::ChildProcess;
using raydog::test::ProcessOptions;
using raydog::test::TempDir;
using raydog::test::write_file;
namespace asio = boost::asio;

namespace {

bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(5ms);
  }
  return done();
}

template <class T>
T run(asio::io_context& io, std::function<asio::awaitable<T>()> fn, std::chrono::milliseconds timeout = 60s) {
  std::optional<T> out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await fn()); }, asio::detached);
  REQUIRE(run_until(
      io, [&] { return out.has_value(); }, timeout));
  return std::move(*out);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// A kube-emulator child process on 127.0.0.1:0 and the kubeconfig it wrote.
struct Emulator {
  explicit Emulator(std::vector<std::string> extra = {}) {
    kubeconfig = dir.file("kubeconfig");
    std::vector<std::string> argv = {bin_path("kube-emulator"), "--listen", "127.0.0.1:0",
                                     "--write-kubeconfig", kubeconfig};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ProcessOptions po;
    po.stdout_file = dir.file("emulator.out");
    po.stderr_file = dir.file("emulator.err");
    proc = std::make_unique<ChildProcess>(argv, po);
    REQUIRE_MESSAGE(
        raydog::test::wait_for_file(kubeconfig, 60s, proc.get()).has_value(),
        "kube-emulator did not write its kubeconfig: " << raydog::test::read_file(dir.file("emulator.err")));
    // The file may be written in pieces: parse until it is complete.
    for (int i = 0; i < 100; ++i) {
      auto rc = load_kubeconfig({kubeconfig}, "");
      if (rc) {
        config = *rc;
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
    FAIL("kubeconfig never became loadable");
  }
  std::unique_ptr<RestClient> client(asio::io_context& io, RestConfig rc) {
    RestOptions o;
    o.retry_base = 5ms;
    auto c = RestClient::create(io.get_executor(), std::move(rc), o);
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().message));
    return std::move(*c);
  }
  std::unique_ptr<RestClient> client(asio::io_context& io) { return client(io, config); }
  TempDir dir;
  std::string kubeconfig;
  std::unique_ptr<ChildProcess> proc;
  RestConfig config;
};

const ResourceRef& cm = resources::kConfigMaps;

json configmap(const std::string& name, const std::string& value) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}}}, {"data", {{"v", value}}}};
}

}  // namespace

TEST_CASE("e2e plain: CRUD, typed errors and an aggregated Event") {
  Emulator emu;
  CHECK(emu.config.server.rfind("http://127.0.0.1:", 0) == 0);
  asio::io_context io;
  auto c = emu.client(io);
  auto created = run<Result<json, ApiError>>(
      io, [&] { return c->create(cm, "default", configmap("a", "1"), WriteOptions()); });
  REQUIRE_MESSAGE(created.ok(), (created.ok() ? std::string() : created.error().describe()));
  CHECK_FALSE(resource_version_of(*created).empty());

  auto dup = run<Result<json, ApiError>>(
      io, [&] { return c->create(cm, "default", configmap("a", "1"), WriteOptions()); });
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().kind == ApiError::Kind::kAlreadyExists);

  json stale = *created;
  stale["data"]["v"] = "2";
  auto upd = run<Result<json, ApiError>>(io, [&] { return c->update(cm, stale, "", WriteOptions()); });
  REQUIRE(upd.ok());
  auto conflict = run<Result<json, ApiError>>(io, [&] { return c->update(cm, stale, "", WriteOptions()); });
  REQUIRE_FALSE(conflict.ok());
  CHECK(conflict.error().kind == ApiError::Kind::kConflict);

  auto patched = run<Result<json, ApiError>>(io, [&] {
    return c->patch(cm, "default", "a", PatchType::kMerge, json{{"data", {{"w", "x"}}}}, "", WriteOptions());
  });
  REQUIRE(patched.ok());
  CHECK((*patched)["data"]["w"] == "x");
  auto jp = run<Result<json, ApiError>>(io, [&] {
    return c->patch(cm, "default", "a", PatchType::kJson,
                    json::array({{{"op", "test"}, {"path", "/data/v"}, {"value", "nope"}}}), "",
                    WriteOptions());
  });
  REQUIRE_FALSE(jp.ok());
  CHECK(jp.error().code == 422);

  // Events about the object: repeats aggregate, involvedObject.uid is set.
  EventRecorder rec(io.get_executor(), *c);
  json obj = *patched;
  for (int i = 0; i < 3; ++i) rec.warning(obj, "TestReason", "same message");
  REQUIRE(run_until(io, [&] { return rec.pending() == 0; }));
  ListOptions lo;
  lo.field_selector = "involvedObject.uid=" + obj["metadata"]["uid"].get<std::string>();
  auto evs =
      run<Result<ObjectList, ApiError>>(io, [&] { return list_all(*c, resources::kEvents, "default", lo); });
  REQUIRE_MESSAGE(evs.ok(), (evs.ok() ? std::string() : evs.error().describe()));
  REQUIRE(evs->items.size() == 1);
  CHECK(evs->items[0]["count"] == 3);
  CHECK(evs->items[0]["type"] == "Warning");
  CHECK(evs->items[0]["involvedObject"]["name"] == "a");

  auto del = run<Result<json, ApiError>>(io, [&] { return c->remove(cm, "default", "a", DeleteOptions()); });
  CHECK(del.ok());
  auto gone = run<Result<json, ApiError>>(io, [&] { return c->get(cm, "default", "a", ""); });
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().kind == ApiError::Kind::kNotFound);
  auto missing = run<Result<json, ApiError>>(io, [&] {
    return c->get({"nope.io", "v1", "things", true, "Thing"}, "default", "x", "");
  });
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ApiError::Kind::kNotFound);
}

TEST_CASE("e2e tls: verified TLS with a bearer token, a wrong token is Unauthorized") {
  Emulator emu({"--tls", "--token", "e2e-token"});
  CHECK(emu.config.server.rfind("https://127.0.0.1:", 0) == 0);
  CHECK_FALSE(emu.config.ca_pem.empty());
  CHECK_FALSE(emu.config.insecure_skip_tls_verify);
  asio::io_context io;
  auto c = emu.client(io);
  auto ns =
      run<Result<json, ApiError>>(io, [&] { return c->get(resources::kNamespaces, "", "default", ""); });
  REQUIRE_MESSAGE(ns.ok(), (ns.ok() ? std::string() : ns.error().describe()));

  RestConfig wrong = emu.config;
  wrong.token = "wrong-token";
  auto w = emu.client(io, wrong);
  auto denied =
      run<Result<json, ApiError>>(io, [&] { return w->get(resources::kNamespaces, "", "default", ""); });
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().kind == ApiError::Kind::kUnauthorized);
  CHECK(denied.error().describe().find("wrong-token") == std::string::npos);

  RestConfig no_ca = emu.config;
  no_ca.ca_pem.clear();  // the system store does not trust the emulator's fresh CA
  auto untrusted = emu.client(io, no_ca);
  auto tls_err = run<Result<json, ApiError>>(
      io, [&] { return untrusted->get(resources::kNamespaces, "", "default", ""); });
  REQUIRE_FALSE(tls_err.ok());
  CHECK(tls_err.error().kind == ApiError::Kind::kTransport);
}

TEST_CASE("e2e tls: a rotated token file is re-read after a 401") {
  Emulator emu({"--tls", "--token", "right-token"});
  asio::io_context io;
  RestConfig rc = emu.config;
  rc.token.clear();
  rc.token_file = emu.dir.file("sa-token");
  write_file(rc.token_file, "old-token\n");
  RestOptions o;
  o.token_file_refresh = std::chrono::hours(1);  // only a 401 makes it re-read
  auto c = RestClient::create(io.get_executor(), rc, o);
  REQUIRE(c.ok());
  auto first =
      run<Result<json, ApiError>>(io, [&] { return (*c)->get(resources::kNamespaces, "", "default", ""); });
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().kind == ApiError::Kind::kUnauthorized);
  write_file(rc.token_file, "right-token\n");  // the kubelet rotated it
  auto second =
      run<Result<json, ApiError>>(io, [&] { return (*c)->get(resources::kNamespaces, "", "default", ""); });
  CHECK_MESSAGE(second.ok(), (second.ok() ? std::string() : second.error().describe()));
}

TEST_CASE("e2e tls: an exec plugin supplies the token and is re-run after a 401") {
  Emulator emu({"--tls", "--token", "plugin-token"});
  // The plugin's first answer is stale (as after a server-side revocation); later answers are right.
  std::string plugin = emu.dir.file("plugin.sh");
  write_file(plugin,
             "#!/bin/sh\nn=$(cat \"$COUNT\" 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > \"$COUNT\"\n"
             "tok=plugin-token; [ $n -eq 1 ] && tok=revoked\n"
             "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
             "\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}' \"$tok\"\n");
  chmod(plugin.c_str(), 0755);
  // Rewrite the emulator's kubeconfig to use the plugin instead of its token.
  auto kc = raydog::yaml_to_json(raydog::test::read_file(emu.kubeconfig));
  REQUIRE(kc.ok());
  for (auto& u : (*kc)["users"]) {
    u["user"].erase("token");
    u["user"]["exec"] = {{"apiVersion", "client.authentication.k8s.io/v1"},
                         {"command", "./plugin.sh"},
                         {"env", json::array({{{"name", "COUNT"}, {"value", emu.dir.file("count")}}})},
                         {"provideClusterInfo", true}};
  }
  write_file(emu.dir.file("exec-kubeconfig"), raydog::json_to_yaml(*kc));
  auto rc = load_kubeconfig({emu.dir.file("exec-kubeconfig")}, "");
  REQUIRE_MESSAGE(rc.ok(), (rc.ok() ? std::string() : rc.error().message));
  REQUIRE(rc->exec.has_value());
  CHECK(rc->exec->command == plugin);  // relative to the kubeconfig's folder
  asio::io_context io;
  auto c = emu.client(io, *rc);
  for (int i = 0; i < 3; ++i) {
    auto r =
        run<Result<json, ApiError>>(io, [&] { return c->get(resources::kNamespaces, "", "default", ""); });
    CHECK_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().describe()));
  }
  CHECK(raydog::test::read_file(emu.dir.file("count")) == "2\n");  // revoked once, then cached until expiry
}

TEST_CASE(
    "e2e informer: survives --drop-watches-every 1s and --history 10 under churn, ends equal to the server") {
  Emulator emu({"--drop-watches-every", "1s", "--history", "10"});
  asio::io_context io;
  auto watcher = emu.client(io);
  auto writer = emu.client(io);
  InformerOptions opts;
  opts.resource = cm;
  opts.ns = "default";
  opts.backoff_initial = 50ms;
  opts.backoff_max = 500ms;
  Informer inf(io.get_executor(), *watcher, opts);
  // Per key: the informer's view must alternate present/absent (a delete never arrives twice or for an
  // object it never had).
  std::map<std::string, bool> present;
  int duplicate_or_phantom_deletes = 0, events = 0;
  inf.add_handler([&](InformerEvent e, const std::string& key) {
    ++events;
    if (e == InformerEvent::kDeleted) {
      if (!present[key]) ++duplicate_or_phantom_deletes;
      present[key] = false;
    } else {
      present[key] = true;
    }
  });
  inf.start();
  REQUIRE(run_until(io, [&] { return inf.has_synced(); }));

  // Four concurrent writers (disjoint keys) for several drop periods: bursts of writes between a drop and
  // the re-watch overflow the 10-event history, so resumes meet 410 and relist.
  const int writers = 4, ops_per_writer = 150;
  int finished = 0;
  for (int w = 0; w < writers; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          std::mt19937 rng(42 + w);
          std::map<std::string, bool> exists;
          for (int i = 0; i < ops_per_writer; ++i) {
            std::string name = "churn-" + std::to_string(w) + "-" + std::to_string(rng() % 8);
            if (!exists[name]) {
              auto r =
                  co_await writer->create(cm, "default", configmap(name, std::to_string(i)), WriteOptions());
              exists[name] = r.ok();
            } else if (rng() % 2) {
              json data = json::object();
              data["data"]["v"] = std::to_string(i);  // GCC 12: no braced temporaries inside co_await
              co_await writer->patch(cm, "default", name, PatchType::kMerge, data, "", WriteOptions());
            } else {
              auto r = co_await writer->remove(cm, "default", name, DeleteOptions());
              exists[name] = !r.ok();
            }
            if (i % 30 == 29) co_await sleep_for(400ms);  // spread the churn over several watch drops
          }
          ++finished;
        },
        asio::detached);
  }
  REQUIRE(run_until(
      io, [&] { return finished == writers; }, 120s));

  // Converges: the cache equals a fresh list (same keys, same resourceVersions).
  bool equal = false;
  std::string diff;
  for (int attempt = 0; attempt < 100 && !equal; ++attempt) {
    auto l = run<Result<ObjectList, ApiError>>(
        io, [&] { return list_all(*writer, cm, "default", ListOptions()); });
    REQUIRE(l.ok());
    std::map<std::string, std::string> server;
    for (auto& o : l->items) server[object_key(o)] = resource_version_of(o);
    std::map<std::string, std::string> cache;
    for (auto& [k, o] : inf.snapshot()) cache[k] = resource_version_of(o);
    equal = server == cache;
    diff = "server " + std::to_string(server.size()) + " objects, cache " + std::to_string(cache.size());
    if (!equal)
      run_until(
          io, [] { return false; }, 100ms);
  }
  CHECK_MESSAGE(equal, diff);
  CHECK(duplicate_or_phantom_deletes == 0);
  auto s = inf.stats();
  MESSAGE("informer: " << events << " handler events, " << s.lists << " lists (" << s.relists_after_gone
                       << " after 410), " << s.watches << " watches, " << s.watch_errors << " watch errors, "
                       << s.bookmarks << " bookmarks");
  CHECK(s.watches > 1);  // the drops happened and were survived
  inf.stop();
  run_until(
      io, [&] { return !inf.running(); }, 10s);
  CHECK_FALSE(inf.running());
}

TEST_CASE(
    "e2e leader election: two processes, one leader, kill -9 it and the other leads, SIGTERM releases") {
  Emulator emu;
  const long lease_ms = 3000, renew_ms = 2000, retry_ms = 300;
  auto probe = [&](const std::string& id) {
    std::vector<std::string> argv = {bin_path("kube-elector-probe"),
                                     "--kubeconfig",
                                     emu.kubeconfig,
                                     "--identity",
                                     id,
                                     "--namespace",
                                     "default",
                                     "--status-file",
                                     emu.dir.file(id + ".status"),
                                     "--lease-ms",
                                     std::to_string(lease_ms),
                                     "--renew-ms",
                                     std::to_string(renew_ms),
                                     "--retry-ms",
                                     std::to_string(retry_ms)};
    ProcessOptions po;
    po.stderr_file = emu.dir.file(id + ".err");
    return std::make_unique<ChildProcess>(argv, po);
  };
  auto status = [&](const std::string& id) {
    std::error_code ec;
    if (!std::filesystem::exists(emu.dir.file(id + ".status"), ec)) return std::string();
    auto s = raydog::test::read_file(emu.dir.file(id + ".status"));
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  };
  asio::io_context io;
  auto c = emu.client(io);
  auto holder = [&]() {
    auto l = run<Result<json, ApiError>>(
        io, [&] { return c->get(resources::kLeases, "default", "raydog-operator-leader", ""); });
    return l ? (*l)["spec"].value("holderIdentity", "") : std::string("<no lease>");
  };
  auto poll = [&](const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!cond() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
    return cond();
  };

  auto a = probe("a");
  REQUIRE(poll([&] { return status("a") == "leader"; }, 30s));
  auto b = probe("b");
  REQUIRE(poll([&] { return status("b") == "follower"; }, 30s));
  // Several retry periods with both running: still exactly one leader.
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(retry_ms));
    CHECK(status("a") == "leader");
    CHECK(status("b") == "follower");
  }
  CHECK(holder() == "a");

  a->kill9();
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(poll([&] { return status("b") == "leader"; }, 30s));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  MESSAGE("takeover after kill -9 of the leader: " << took.count() << " ms (lease duration " << lease_ms
                                                   << " ms)");
  CHECK(took.count() < 2 * lease_ms);  // expected: at most lease duration + one retry period
  CHECK(holder() == "b");

  CHECK(b->terminate() == 0);  // SIGTERM: stop leading, release the lease, exit 0
  CHECK(holder() == "");
}
