#include "controller/kube/leader_election.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "test/support/fake_kube_api.hpp"
#include "test/unit/kube/io_util.hpp"

using namespace raydog::kube;
using raydog::Result;
using raydog::unexpected;
using raydog::kube::testing::drain;
using raydog::kube::testing::run_until;
using namespace std::chrono_literals;

namespace {

// Forwards to a shared FakeApi; `broken` makes every call fail like a partitioned client.
class PartitionableApi : public Api {
 public:
  explicit PartitionableApi(Api& inner) : inner_(inner) {}
  bool broken = false;
  net::awaitable<Result<json, ApiError>> get(ResourceRef r, std::string ns, std::string n,
                                             std::string s) override {
    if (broken) co_return unexpected(down());
    co_return co_await inner_.get(r, ns, n, s);
  }
  net::awaitable<Result<ObjectList, ApiError>> list(ResourceRef r, std::string ns, ListOptions o) override {
    if (broken) co_return unexpected(down());
    co_return co_await inner_.list(r, ns, o);
  }
  net::awaitable<Result<json, ApiError>> create(ResourceRef r, std::string ns, json o,
                                                WriteOptions w) override {
    if (broken) co_return unexpected(down());
    co_return co_await inner_.create(r, ns, o, w);
  }
  net::awaitable<Result<json, ApiError>> update(ResourceRef r, json o, std::string s,
                                                WriteOptions w) override {
    if (broken) co_return unexpected(down());
    co_return co_await inner_.update(r, o, s, w);
  }
  net::awaitable<Result<json, ApiError>> patch(ResourceRef r, std::string ns, std::string n, PatchType t,
                                               json p, std::string s, WriteOptions w) override {
    if (broken) co_return unexpected(down());
    co_return co_await inner_.patch(r, ns, n, t, p, s, w);
  }
  net::awaitable<Result<json, ApiError>> remove(ResourceRef r, std::string ns, std::string n,
                                                DeleteOptions d) override {
    if (broken) co_return unexpected(down());
    co_return co_await inner_.remove(r, ns, n, d);
  }
  net::awaitable<Result<std::unique_ptr<WatchStream>, ApiError>> watch(ResourceRef r, std::string ns,
                                                                       WatchOptions o) override {
    if (broken) co_return unexpected(down());
    co_return co_await inner_.watch(r, ns, o);
  }

 private:
  static ApiError down() {
    ApiError e;
    e.kind = ApiError::Kind::kTransport;
    e.message = "connect 127.0.0.1:1: Connection refused";
    return e;
  }
  Api& inner_;
};

struct Candidate {
  Candidate(boost::asio::io_context& io, Api& api, const std::string& id) {
    LeaderElectionConfig c;
    c.lease_namespace = "raydog-system";
    c.identity = id;
    c.lease_duration = 1000ms;
    c.renew_deadline = 600ms;
    c.retry_period = 100ms;
    c.on_started_leading = [this] { ++started; };
    c.on_stopped_leading = [this] { ++stopped; };
    elector = std::make_unique<LeaderElector>(io.get_executor(), api, c);
  }
  int started = 0;
  int stopped = 0;
  std::unique_ptr<LeaderElector> elector;
};

}  // namespace

TEST_CASE("leader election: identity is <hostname>_<uuid>") {
  auto id = make_identity();
  auto us = id.find('_');
  REQUIRE(us != std::string::npos);
  CHECK(us > 0);
  CHECK(id.size() - us - 1 == 36);
  CHECK(make_identity() != id);
}

TEST_CASE("leader election: a lone candidate creates the Lease in the documented shape") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  Candidate a(io, api, "a");
  a.elector->start();
  REQUIRE(run_until(io, [&] { return a.elector->is_leader(); }));
  CHECK(a.started == 1);
  auto lease = api.object(resources::kLeases, "raydog-system", "raydog-operator-leader");
  REQUIRE(lease.has_value());
  const json& spec = (*lease)["spec"];
  CHECK(spec["holderIdentity"] == "a");
  CHECK(spec["leaseDurationSeconds"] == 1);
  CHECK(spec["leaseTransitions"] == 0);
  CHECK(spec["acquireTime"].get<std::string>().size() == std::string("2025-05-01T12:00:00.123456Z").size());
  // Renewals move renewTime and keep acquireTime.
  auto first_renew = spec["renewTime"];
  REQUIRE(run_until(io, [&] {
    return api.object(resources::kLeases, "raydog-system", "raydog-operator-leader")
               ->at("spec")
               .at("renewTime") != first_renew;
  }));
  auto later = api.object(resources::kLeases, "raydog-system", "raydog-operator-leader")->at("spec");
  CHECK(later["acquireTime"] == spec["acquireTime"]);
  CHECK(later["leaseTransitions"] == 0);
  a.elector->stop();
  CHECK(drain(io));
  CHECK(a.stopped == 1);
  // Released: empty holder, duration 1.
  auto released = api.object(resources::kLeases, "raydog-system", "raydog-operator-leader")->at("spec");
  CHECK(released["holderIdentity"] == "");
  CHECK(released["leaseDurationSeconds"] == 1);
}

TEST_CASE("leader election: two candidates, exactly one leader, a clean stop hands over at once") {
  boost::asio::io_context io;
  FakeApi api(io.get_executor());
  Candidate a(io, api, "a"), b(io, api, "b");
  a.elector->start();
  b.elector->start();
  REQUIRE(run_until(io, [&] { return a.elector->is_leader() || b.elector->is_leader(); }));
  // Several lease durations: never two leaders, never a flap.
  auto until = std::chrono::steady_clock::now() + 2500ms;
  bool both = false;
  run_until(
      io,
      [&] {
        both = both || (a.elector->is_leader() && b.elector->is_leader());
        return std::chrono::steady_clock::now() > until;
      },
      5s);
  CHECK_FALSE(both);
  CHECK(a.started + b.started == 1);
  CHECK(a.stopped + b.stopped == 0);

  Candidate& leader = a.elector->is_leader() ? a : b;
  Candidate& other = a.elector->is_leader() ? b : a;
  leader.elector->stop();
  // The release (holder "") lets the other take over without waiting out the lease duration.
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(run_until(
      io, [&] { return other.elector->is_leader(); }, 5s));
  MESSAGE(
      "handover after release took "
      << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()
      << " ms");
  CHECK(leader.stopped == 1);
  auto spec = api.object(resources::kLeases, "raydog-system", "raydog-operator-leader")->at("spec");
  CHECK(spec["holderIdentity"] == other.elector->identity());
  CHECK(spec["leaseTransitions"] == 1);
  other.elector->stop();
  CHECK(drain(io));
}

TEST_CASE("leader election: a partitioned leader stops leading by the renew deadline, the other takes over") {
  boost::asio::io_context io;
  FakeApi store(io.get_executor());
  PartitionableApi api_a(store), api_b(store);
  Candidate a(io, api_a, "a");
  a.elector->start();
  REQUIRE(run_until(io, [&] { return a.elector->is_leader(); }));
  Candidate b(io, api_b, "b");
  b.elector->start();
  REQUIRE(run_until(io, [&] { return store.calls("update") >= 3; }));  // a renews, b watches
  CHECK_FALSE(b.elector->is_leader());

  api_a.broken = true;  // a can no longer renew (and cannot release)
  REQUIRE(run_until(
      io, [&] { return !a.elector->is_leader(); }, 5s));
  CHECK(a.stopped == 1);
  REQUIRE(run_until(
      io, [&] { return b.elector->is_leader(); }, 5s));
  CHECK(b.started == 1);
  api_a.broken = false;  // a comes back: it must see b's live lease and stay a follower
  auto until = std::chrono::steady_clock::now() + 500ms;
  run_until(io, [&] { return std::chrono::steady_clock::now() > until; });
  CHECK_FALSE(a.elector->is_leader());
  CHECK(b.elector->is_leader());
  a.elector->stop();
  b.elector->stop();
  CHECK(drain(io));
}
