#include "controller/kube/informer.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "test/support/fake_kube_api.hpp"
#include "test/unit/kube/io_util.hpp"

using namespace raydog::kube;
using raydog::kube::testing::drain;
using raydog::kube::testing::run_until;
using namespace std::chrono_literals;

namespace {

const ResourceRef& rdc = resources::kRayDogClusters;

json cr(const std::string& ns, const std::string& name, int nodes = 1) {
  return {{"metadata", {{"namespace", ns}, {"name", name}}}, {"spec", {{"nodes", nodes}}}};
}

InformerOptions fast_options() {
  InformerOptions o;
  o.resource = rdc;
  o.backoff_initial = 1ms;
  o.backoff_max = 5ms;
  return o;
}

struct Recorder {
  std::vector<std::pair<InformerEvent, std::string>> events;
  int count(InformerEvent e, const std::string& key) const {
    int n = 0;
    for (auto& [t, k] : events) n += (t == e && k == key);
    return n;
  }
};

// An informer (fast_options()) over a FakeApi holding `objects`, recording every event, started.
struct Started {
  boost::asio::io_context io;
  FakeApi api{io.get_executor()};
  Informer inf{io.get_executor(), api, fast_options()};
  Recorder rec;
  explicit Started(const std::vector<json>& objects) {
    for (const auto& o : objects) api.upsert(rdc, o);
    inf.add_handler([this](InformerEvent e, const std::string& k) { rec.events.emplace_back(e, k); });
    inf.start();
  }
};

// The cache equals the server's objects (same keys, same resourceVersions).
bool cache_matches(const Informer& inf, const FakeApi& api) {
  auto snap = inf.snapshot();
  auto objs = api.objects(rdc);
  if (snap.size() != objs.size()) return false;
  for (auto& o : objs) {
    auto it = snap.find(object_key(o));
    if (it == snap.end() || resource_version_of(it->second) != resource_version_of(o)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("informer: lists, syncs, then follows watch events with keys") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  api.upsert(rdc, cr("a", "one"));
  api.upsert(rdc, cr("b", "two"));
  Informer inf(io.get_executor(), api, fast_options());
  Recorder rec;
  bool synced_cb = false;
  inf.add_handler([&](InformerEvent e, const std::string& k) { rec.events.emplace_back(e, k); });
  inf.on_synced([&] { synced_cb = true; });
  inf.start();
  REQUIRE(run_until(io, [&] { return inf.has_synced(); }));
  CHECK(synced_cb);
  CHECK(inf.size() == 2);
  CHECK(rec.count(InformerEvent::kAdded, "a/one") == 1);
  CHECK(rec.count(InformerEvent::kAdded, "b/two") == 1);
  REQUIRE(run_until(io, [&] { return api.open_watches() == 1; }));

  api.upsert(rdc, cr("a", "three"));
  api.upsert(rdc, cr("a", "one", 5));
  api.erase(rdc, "b", "two");
  REQUIRE(run_until(io, [&] { return rec.count(InformerEvent::kDeleted, "b/two") == 1; }));
  CHECK(rec.count(InformerEvent::kAdded, "a/three") == 1);
  CHECK(rec.count(InformerEvent::kUpdated, "a/one") == 1);
  CHECK(inf.get("a/one")->at("spec").at("nodes") == 5);
  CHECK_FALSE(inf.get("b/two").has_value());
  CHECK(cache_matches(inf, api));
  CHECK(inf.last_resource_version() == std::to_string(api.resource_version()));
  CHECK(inf.stats().lists == 1);

  inf.stop();
  CHECK(drain(io));
  CHECK_FALSE(inf.running());
}

TEST_CASE("informer: a clean watch end re-watches from the last resourceVersion without relisting") {
  Started started(std::vector<json>{cr("a", "one")});
  auto& [io, api, inf, rec] = started;
  REQUIRE(run_until(io, [&] { return api.open_watches() == 1; }));
  for (int i = 0; i < 5; ++i) {
    api.close_watches();
    api.upsert(rdc, cr("a", "n" + std::to_string(i)));  // happens while no watch is open
    REQUIRE(run_until(io, [&] { return api.open_watches() == 1; }));
  }
  REQUIRE(run_until(io, [&] { return inf.size() == 6; }));
  CHECK(inf.stats().lists == 1);
  CHECK(inf.stats().watches == 6);
  for (int i = 0; i < 5; ++i) CHECK(rec.count(InformerEvent::kAdded, "a/n" + std::to_string(i)) == 1);
  CHECK(cache_matches(inf, api));
  inf.stop();
  CHECK(drain(io));
}

TEST_CASE("informer: 410 relists and synthesizes exactly one DELETED for vanished objects") {
  Started started(std::vector<json>{cr("a", "keep"), cr("a", "gone"), cr("a", "changed")});
  auto& [io, api, inf, rec] = started;
  REQUIRE(run_until(io, [&] { return api.open_watches() == 1; }));
  rec.events.clear();
  int failures = 0;  // outlives the fault hook installed below

  SUBCASE("ERROR event with 410 in the stream") {
    api.close_watches();
    api.erase(rdc, "a", "gone");
    api.upsert(rdc, cr("a", "changed", 7));
    api.upsert(rdc, cr("a", "new"));
    api.expire_history();
  }
  SUBCASE("HTTP 410 on the watch request") {
    api.fault = [&](const std::string& verb, const ResourceRef&,
                    const std::string&) -> std::optional<ApiError> {
      if (verb != "watch" || failures++ > 0) return std::nullopt;
      return decode_status(410, R"({"kind":"Status","code":410,"reason":"Expired","message":"too old"})");
    };
    api.close_watches();
    api.erase(rdc, "a", "gone");
    api.upsert(rdc, cr("a", "changed", 7));
    api.upsert(rdc, cr("a", "new"));
  }
  REQUIRE(run_until(io, [&] { return inf.stats().relists_after_gone == 1 && api.open_watches() == 1; }));
  CHECK(inf.stats().lists == 2);
  CHECK(rec.count(InformerEvent::kDeleted, "a/gone") == 1);
  CHECK(rec.count(InformerEvent::kUpdated, "a/changed") == 1);
  CHECK(rec.count(InformerEvent::kAdded, "a/new") == 1);
  CHECK(rec.count(InformerEvent::kUpdated, "a/keep") == 0);  // unchanged: no event storm on relist
  CHECK(rec.events.size() == 3);
  CHECK(cache_matches(inf, api));

  // A later delete arrives once, over the new watch.
  api.erase(rdc, "a", "keep");
  REQUIRE(run_until(io, [&] { return rec.count(InformerEvent::kDeleted, "a/keep") == 1; }));
  CHECK(cache_matches(inf, api));
  inf.stop();
  CHECK(drain(io));
}

TEST_CASE("informer: list and watch failures back off and recover") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  api.upsert(rdc, cr("a", "one"));
  int list_failures = 0, watch_failures = 0;
  api.fault = [&](const std::string& verb, const ResourceRef&,
                  const std::string&) -> std::optional<ApiError> {
    if (verb == "list" && list_failures < 3) {
      ++list_failures;
      return decode_status(503, "upstream down");
    }
    if (verb == "watch" && watch_failures < 2) {
      ++watch_failures;
      return decode_status(500, R"({"kind":"Status","code":500,"reason":"InternalError","message":"boom"})");
    }
    return std::nullopt;
  };
  Informer inf(io.get_executor(), api, fast_options());
  inf.start();
  REQUIRE(run_until(io, [&] { return inf.has_synced() && api.open_watches() == 1; }));
  CHECK(inf.stats().lists == 4);
  CHECK(inf.stats().watches == 3);
  CHECK(inf.stats().watch_errors == 2);
  api.upsert(rdc, cr("a", "two"));
  REQUIRE(run_until(io, [&] { return inf.size() == 2; }));
  inf.stop();
  CHECK(drain(io));
}

TEST_CASE("informer: stop() during a backoff sleep ends the loop promptly") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  api.fault = [](const std::string&, const ResourceRef&, const std::string&) -> std::optional<ApiError> {
    return decode_status(503, "");
  };
  auto opts = fast_options();
  opts.backoff_initial = std::chrono::hours(1);
  opts.backoff_max = std::chrono::hours(1);
  Informer inf(io.get_executor(), api, opts);
  inf.start();
  REQUIRE(run_until(io, [&] { return api.calls("list") == 1; }));
  CHECK_FALSE(inf.has_synced());
  inf.stop();
  CHECK(drain(io, std::chrono::seconds(5)));
  CHECK_FALSE(inf.running());
}

TEST_CASE("informer: bookmarks advance the resume point without touching the cache") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  api.upsert(rdc, cr("a", "one"));
  Informer inf(io.get_executor(), api, fast_options());
  int events = 0;
  inf.add_handler([&](InformerEvent, const std::string&) { ++events; });
  inf.start();
  REQUIRE(run_until(io, [&] { return api.open_watches() == 1; }));
  api.upsert(resources::kLeases, json{{"metadata", {{"namespace", "a"}, {"name", "l"}}}});  // RV moves on
  api.send_bookmarks(rdc);
  REQUIRE(run_until(io, [&] { return inf.stats().bookmarks == 1; }));
  CHECK(inf.last_resource_version() == std::to_string(api.resource_version()));
  CHECK(inf.size() == 1);
  CHECK(events == 1);  // only the initial ADDED
  inf.stop();
  CHECK(drain(io));
}

TEST_CASE("informer: an update that changes only status is STATUS_UPDATED, anything else UPDATED") {
  Started started(std::vector<json>{cr("a", "one")});
  auto& [io, api, inf, rec] = started;
  REQUIRE(run_until(io, [&] { return inf.has_synced() && api.open_watches() == 1; }));

  // A status write (the echo of a controller's own patch): new resourceVersion, same everything else.
  json with_status = cr("a", "one");
  with_status["status"] = {{"phase", "Running"}};
  api.upsert(rdc, with_status);
  REQUIRE(run_until(io, [&] { return rec.count(InformerEvent::kStatusUpdated, "a/one") == 1; }));
  CHECK(rec.count(InformerEvent::kUpdated, "a/one") == 0);
  CHECK(inf.get("a/one")->at("status").at("phase") == "Running");

  // Spec, annotations, finalizers: UPDATED.
  json spec = with_status;
  spec["spec"]["nodes"] = 3;
  api.upsert(rdc, spec);
  REQUIRE(run_until(io, [&] { return rec.count(InformerEvent::kUpdated, "a/one") == 1; }));
  json annotated = spec;
  annotated["metadata"]["annotations"] = {{"note", "x"}};
  api.upsert(rdc, annotated);
  REQUIRE(run_until(io, [&] { return rec.count(InformerEvent::kUpdated, "a/one") == 2; }));
  json finalized = annotated;
  finalized["metadata"]["finalizers"] = {"raydog.io/cleanup"};
  api.upsert(rdc, finalized);
  REQUIRE(run_until(io, [&] { return rec.count(InformerEvent::kUpdated, "a/one") == 3; }));
  CHECK(rec.count(InformerEvent::kStatusUpdated, "a/one") == 1);
  CHECK(std::string(to_string(InformerEvent::kStatusUpdated)) == "STATUS_UPDATED");
  inf.stop();
  drain(io);
}

TEST_CASE(
    "informer: a transform runs before caching, strip_managed_fields drops what controllers never read") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  json fat = cr("a", "one");
  fat["metadata"]["managedFields"] =
      json::array({{{"manager", "kubectl"}, {"fieldsV1", {{"f:spec", json::object()}}}}});
  fat["metadata"]["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration", "{\"spec\":{}}"},
                                    {"team", "a"}};
  api.upsert(rdc, fat);
  InformerOptions o = fast_options();
  o.transform = strip_managed_fields;
  Informer inf(io.get_executor(), api, o);
  inf.start();
  REQUIRE(run_until(io, [&] { return inf.has_synced() && api.open_watches() == 1; }));
  auto listed = inf.get("a/one");
  REQUIRE(listed);
  CHECK_FALSE(listed->at("metadata").contains("managedFields"));
  CHECK(listed->at("metadata").at("annotations") == json{{"team", "a"}});
  // Watch events go through it too.
  fat["spec"]["nodes"] = 2;
  api.upsert(rdc, fat);
  REQUIRE(run_until(io, [&] { return inf.get("a/one")->at("spec").at("nodes") == 2; }));
  CHECK_FALSE(inf.get("a/one")->at("metadata").contains("managedFields"));
  json bare = cr("b", "two");
  strip_managed_fields(bare);
  CHECK(bare == cr("b", "two"));
  inf.stop();
  CHECK(drain(io));
}

TEST_CASE("informer: large objects (kept gzipped) and small ones (kept as they are) read back whole") {
  json large = cr("a", "large");
  for (int i = 0; i < 40; ++i)
    large["status"]["conditions"].push_back({{"type", "Condition" + std::to_string(i)},
                                             {"status", "True"},
                                             {"message", std::string(50, static_cast<char>('a' + i % 26))}});
  REQUIRE(large.dump().size() > 2048);
  Started s({large, cr("a", "small")});
  REQUIRE(run_until(s.io, [&] { return s.inf.has_synced(); }));
  const auto big = s.inf.get("a/large");
  REQUIRE(big);
  CHECK(big->at("status") == large["status"]);
  CHECK(big->at("spec") == large["spec"]);
  CHECK(s.inf.get("a/small")->at("spec").at("nodes") == 1);
  CHECK(s.inf.snapshot().at("a/large").at("status") == large["status"]);
  s.inf.stop();
  CHECK(drain(s.io));
}
