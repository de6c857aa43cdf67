#include "controller/kube/events.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "test/support/fake_kube_api.hpp"
#include "test/unit/kube/io_util.hpp"

using namespace raydog::kube;
using raydog::Result;
using raydog::kube::testing::run_until;

namespace {

json involved() {
  return {
      {"apiVersion", "raydog.io/v1alpha1"},
      {"kind", "RayDogCluster"},
      {"metadata", {{"namespace", "team-a"}, {"name", "x"}, {"uid", "uid-x"}, {"resourceVersion", "1043"}}}};
}

// Writes that take a while (a timer each), so the recorder's writers overlap; counts how many did.
class SlowApi : public FakeApi {
 public:
  using FakeApi::FakeApi;
  int in_flight = 0, most_in_flight = 0;

  net::awaitable<Result<json, ApiError>> create(ResourceRef ref, std::string ns, json object,
                                                WriteOptions options) override {
    co_await slow();
    auto r = co_await FakeApi::create(ref, ns, object, options);
    --in_flight;
    co_return r;
  }
  net::awaitable<Result<json, ApiError>> patch(ResourceRef ref, std::string ns, std::string name,
                                               PatchType type, json patch, std::string subresource,
                                               WriteOptions options) override {
    co_await slow();
    auto r = co_await FakeApi::patch(ref, ns, name, type, patch, subresource, options);
    --in_flight;
    co_return r;
  }

 private:
  net::awaitable<void> slow() {
    most_in_flight = std::max(most_in_flight, ++in_flight);
    net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(2));
    co_await t.async_wait(net::use_awaitable);
  }
};

}  // namespace

TEST_CASE("events: an Event names its object by uid and carries the reporting component") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  EventRecorderOptions opts;
  opts.instance = "raydog-operator-0";
  EventRecorder rec(io.get_executor(), api, opts);
  rec.normal(involved(), "Scaled", "scaled workers to 3");
  REQUIRE(run_until(io, [&] { return rec.pending() == 0; }));
  auto evs = api.objects(resources::kEvents);
  REQUIRE(evs.size() == 1);
  const json& e = evs[0];
  CHECK(e["metadata"]["namespace"] == "team-a");
  CHECK(e["metadata"]["name"].get<std::string>().rfind("x.", 0) == 0);
  CHECK(e["involvedObject"]["uid"] == "uid-x");
  CHECK(e["involvedObject"]["kind"] == "RayDogCluster");
  CHECK(e["involvedObject"]["apiVersion"] == "raydog.io/v1alpha1");
  CHECK(e["involvedObject"]["namespace"] == "team-a");
  CHECK(e["involvedObject"]["resourceVersion"] == "1043");
  CHECK(e["type"] == "Normal");
  CHECK(e["reason"] == "Scaled");
  CHECK(e["message"] == "scaled workers to 3");
  CHECK(e["count"] == 1);
  CHECK(e["source"]["component"] == "raydog-operator");
  CHECK(e["reportingComponent"] == "raydog-operator");
  CHECK(e["reportingInstance"] == "raydog-operator-0");
  CHECK(e["firstTimestamp"] == e["lastTimestamp"]);
}

TEST_CASE("events: repeats aggregate into count, different messages do not") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  EventRecorder rec(io.get_executor(), api);
  for (int i = 0; i < 3; ++i) rec.warning(involved(), "YellowDogError", "401 from YellowDog");
  rec.warning(involved(), "YellowDogError", "503 from YellowDog");
  REQUIRE(run_until(io, [&] { return rec.pending() == 0; }));
  auto evs = api.objects(resources::kEvents);
  REQUIRE(evs.size() == 2);
  std::map<std::string, json> by_msg;
  for (auto& e : evs) by_msg[e["message"]] = e;
  CHECK(by_msg["401 from YellowDog"]["count"] == 3);
  CHECK(by_msg["401 from YellowDog"]["type"] == "Warning");
  CHECK(by_msg["503 from YellowDog"]["count"] == 1);
  CHECK(api.calls("create") == 2);
  CHECK(api.calls("patch") == 2);
}

TEST_CASE("events: failures never reach the caller and a vanished Event is recreated") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  bool fail = true;
  api.fault = [&](const std::string& verb, const ResourceRef&,
                  const std::string&) -> std::optional<ApiError> {
    if (fail && verb == "create")
      return decode_status(403, R"({"kind":"Status","code":403,"reason":"Forbidden"})");
    return std::nullopt;
  };
  EventRecorder rec(io.get_executor(), api);
  rec.normal(involved(), "Created", "created work requirement");
  REQUIRE(run_until(io, [&] { return rec.pending() == 0; }));
  CHECK(api.objects(resources::kEvents).empty());

  fail = false;
  rec.normal(involved(), "Created", "created work requirement");
  REQUIRE(run_until(io, [&] { return rec.pending() == 0; }));
  auto evs = api.objects(resources::kEvents);
  REQUIRE(evs.size() == 1);
  api.erase(resources::kEvents, "team-a", evs[0]["metadata"]["name"]);  // TTL garbage collection
  rec.normal(involved(), "Created", "created work requirement");
  REQUIRE(run_until(io, [&] { return rec.pending() == 0; }));
  evs = api.objects(resources::kEvents);
  REQUIRE(evs.size() == 1);
  CHECK(evs[0]["count"] == 1);
}

TEST_CASE("events: the queue is bounded") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  EventRecorderOptions opts;
  opts.max_queued = 5;
  EventRecorder rec(io.get_executor(), api, opts);
  for (int i = 0; i < 20; ++i) rec.normal(involved(), "R", "m" + std::to_string(i));
  CHECK(rec.dropped() == 15);
  REQUIRE(run_until(io, [&] { return rec.pending() == 0; }));
  CHECK(api.objects(resources::kEvents).size() == 5);
}

TEST_CASE("events: concurrent writers keep one Event per repeat key, with every repeat counted") {
  boost::asio::io_context io;
  SlowApi api(io.get_executor());
  EventRecorderOptions opts;
  opts.max_in_flight = 4;
  EventRecorder rec(io.get_executor(), api, opts);
  // A burst: 5 repeats of one event in a row (free writers must not take them at once), then 40 distinct.
  for (int i = 0; i < 5; ++i) rec.warning(involved(), "YellowDogError", "503 from YellowDog");
  for (int i = 0; i < 40; ++i) rec.normal(involved(), "Step", "step " + std::to_string(i));
  CHECK(rec.pending() == 45);
  REQUIRE(run_until(io, [&] { return rec.pending() == 0; }));
  CHECK(rec.dropped() == 0);
  auto evs = api.objects(resources::kEvents);
  REQUIRE(evs.size() == 41);
  int repeated = 0;
  for (const auto& e : evs)
    if (e["reason"] == "YellowDogError") {
      ++repeated;
      CHECK(e["count"] == 5);
    } else {
      CHECK(e["count"] == 1);
    }
  CHECK(repeated == 1);
  CHECK(api.most_in_flight == 4);
}
