// The observer's ledger (controller/observer/ledger.hpp): which key a change wakes, windows that overlap
// without reporting twice, and when a cluster's last observation may be trusted without reading YellowDog.
#include "controller/observer/ledger.hpp"

#include <doctest/doctest.h>

using namespace raydog;
using namespace raydog::observer;
using namespace std::chrono_literals;
namespace yd = raydog::yellowdog;

namespace {

const TimePoint t0 = *parse_rfc3339("2026-12-06T12:00:00Z");
const std::string kAccount = "https://api.yellowdog.ai key-a";

reconcile::FollowedCluster cluster(const std::string& wr, std::vector<std::string> groups,
                                   const std::string& ns = "ray", const std::string& account = kAccount) {
  reconcile::FollowedCluster c;
  c.account = account;
  c.yellowdog_namespace = ns;
  c.work_requirement_id = wr;
  c.task_group_ids = std::move(groups);
  return c;
}

yd::Task finished(const std::string& id, const std::string& group, TimePoint at, const char* status = "FAILED") {
  yd::Task t;
  t.id = id;
  t.name = "task-" + id;
  t.task_group_id = group;
  t.status = yd::TaskStatus(status);
  t.finished_time = yd::format_timestamp(at);
  return t;
}

yd::WorkRequirementSummary wr_changed(const std::string& id, TimePoint at, const char* status) {
  yd::WorkRequirementSummary s;
  s.id = id;
  s.status = yd::WorkRequirementStatus(status);
  s.status_changed_time = yd::format_timestamp(at);
  return s;
}

std::vector<std::string> keys(const std::vector<Change>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(c.key);
  return out;
}

}  // namespace

TEST_CASE("ledger: a finished task wakes the cluster that owns its group, once") {
  Ledger l;
  CHECK(l.follow("ns/a", cluster("wr-a", {"g-a1", "g-a2"}), t0));
  CHECK_FALSE(l.follow("ns/b", cluster("wr-b", {"g-b1"}), t0));  // same account: no second scan loop
  CHECK(l.following(kAccount));
  CHECK(l.plan(kAccount, t0).namespaces == std::vector<std::string>{"ray"});

  auto changes = l.scanned(kAccount, {finished("t1", "g-a2", t0 + 1s), finished("t2", "g-a1", t0 + 1s),
                                      finished("t3", "g-unknown", t0 + 1s)}, {},
                           {}, t0 + 2s, t0 + 2s, t0 + 2s);
  CHECK(keys(changes) == std::vector<std::string>{"ns/a"});  // two tasks of one cluster: one wake
  CHECK(changes[0].what == "task task-t1 FAILED");

  SUBCASE("the overlap of the next window reports nothing twice") {
    changes = l.scanned(kAccount, {finished("t1", "g-a2", t0 + 1s)}, {}, {}, t0 + 4s, t0 + 4s, t0 + 4s);
    CHECK(changes.empty());
  }
  SUBCASE("the same task finishing again (a retry ran it) is a new change") {
    changes = l.scanned(kAccount, {finished("t1", "g-a2", t0 + 3s)}, {}, {}, t0 + 4s, t0 + 4s, t0 + 4s);
    CHECK(keys(changes) == std::vector<std::string>{"ns/a"});
  }
  SUBCASE("a work requirement whose status changed wakes its cluster") {
    changes = l.scanned(kAccount, {}, {}, {wr_changed("wr-b", t0 + 3s, "CANCELLED")}, t0 + 4s, t0 + 4s, t0 + 4s);
    REQUIRE(keys(changes) == std::vector<std::string>{"ns/b"});
    CHECK(changes[0].what == "work requirement CANCELLED");
  }
  SUBCASE("an unfollowed cluster is woken no more, and its account stops when it was the last") {
    l.unfollow("ns/a");
    CHECK(l.scanned(kAccount, {finished("t9", "g-a1", t0 + 3s)}, {}, {}, t0 + 4s, t0 + 4s, t0 + 4s).empty());
    CHECK(l.following(kAccount));
    l.unfollow("ns/b");
    CHECK_FALSE(l.following(kAccount));
    CHECK(l.followed() == 0);
  }
}

TEST_CASE("ledger: windows start an overlap before the server's time of the last good scan") {
  Ledger l(LedgerOptions{5s, 30s});
  l.follow("ns/a", cluster("wr-a", {"g"}), t0);
  // Before any scan: the local clock, minus the overlap.
  CHECK(l.plan(kAccount, t0).window_start == t0 - 5s);
  // The server's clock (Date), not ours: a skewed local clock changes nothing.
  const TimePoint server = t0 + 1h;
  l.scanned(kAccount, {}, {}, {}, server, t0, t0);
  CHECK(l.plan(kAccount, t0 + 2s).window_start == server - 5s);
  // A failed scan records nothing: the next good one starts where this one did and covers the gap.
  CHECK(l.plan(kAccount, t0 + 4s).window_start == server - 5s);
  // Without a Date, the local time the scan started.
  l.scanned(kAccount, {}, {}, {}, std::nullopt, server + 10s, server + 10s);
  CHECK(l.plan(kAccount, server + 12s).window_start == server + 5s);
  // Never backwards.
  l.scanned(kAccount, {}, {}, {}, server, server + 12s, server + 12s);
  CHECK(l.plan(kAccount, server + 14s).window_start == server + 5s);
  // Reported ids older than the window are forgotten (the overlap can no longer return them).
  l.scanned(kAccount, {finished("t1", "g", server + 20s)}, {}, {}, server + 21s, server + 21s, server + 21s);
  CHECK(l.remembered() == 1);
  l.scanned(kAccount, {}, {}, {}, server + 60s, server + 60s, server + 60s);
  CHECK(l.remembered() == 0);
  // A server that ignores finishedTime.min answers with old tasks on every scan: outside the window, they
  // wake nobody and are not remembered.
  CHECK(l.scanned(kAccount, {finished("t1", "g", server + 20s)}, {}, {}, server + 62s, server + 62s, server + 62s).empty());
  CHECK(l.scanned(kAccount, {finished("t1", "g", server + 20s)}, {}, {}, server + 64s, server + 64s, server + 64s).empty());
  CHECK(l.remembered() == 0);
}

TEST_CASE("ledger: unchanged_since vouches only for what a scan would have reported") {
  Ledger l(LedgerOptions{5s, 30s});
  const TimePoint followed = t0;
  l.follow("ns/a", cluster("wr-a", {"g"}), followed);
  // Not followed, or no scan yet: no.
  CHECK_FALSE(l.unchanged_since("ns/other", t0 + 1s, t0 + 1s));
  CHECK_FALSE(l.unchanged_since("ns/a", t0 + 1s, t0 + 1s));
  l.scanned(kAccount, {}, {}, {}, t0 + 2s, t0 + 2s, t0 + 2s);
  // The follow itself counts as a change: an observation read before it (or at it) is not vouched for.
  CHECK_FALSE(l.unchanged_since("ns/a", followed, t0 + 3s));
  CHECK(l.unchanged_since("ns/a", followed + 1ms, t0 + 3s));
  // A change seen at 10 s: observations read before it are stale, those read after are current.
  l.scanned(kAccount, {finished("t1", "g", t0 + 9s)}, {}, {}, t0 + 10s, t0 + 10s, t0 + 10s);
  CHECK_FALSE(l.unchanged_since("ns/a", t0 + 5s, t0 + 11s));
  CHECK(l.unchanged_since("ns/a", t0 + 10s + 1ms, t0 + 11s));
  // Scans that stop succeeding: after stale_after nothing is vouched for (the clusters poll).
  CHECK(l.unchanged_since("ns/a", t0 + 10s + 1ms, t0 + 40s));
  CHECK_FALSE(l.unchanged_since("ns/a", t0 + 10s + 1ms, t0 + 41s));
  // Following again with the same objects is not a change; with a new task group it is.
  l.scanned(kAccount, {}, {}, {}, t0 + 50s, t0 + 50s, t0 + 50s);
  l.follow("ns/a", cluster("wr-a", {"g"}), t0 + 51s);
  CHECK(l.unchanged_since("ns/a", t0 + 20s, t0 + 52s));
  l.follow("ns/a", cluster("wr-a", {"g", "g2"}), t0 + 52s);
  CHECK_FALSE(l.unchanged_since("ns/a", t0 + 20s, t0 + 53s));
}

TEST_CASE("ledger: clusters move between accounts and namespaces without leaving stale owners") {
  Ledger l;
  const std::string other = "https://api.yellowdog.ai key-b";
  l.follow("ns/a", cluster("wr-a", {"g"}, "ray"), t0);
  l.follow("ns/b", cluster("wr-b", {"h"}, "batch"), t0);
  CHECK(l.plan(kAccount, t0).namespaces == std::vector<std::string>{"batch", "ray"});
  // A rotated key on another account: ns/a now scans under it; the old account keeps ns/b only.
  CHECK(l.follow("ns/a", cluster("wr-a", {"g"}, "ray", other), t0 + 1s));
  CHECK(l.plan(kAccount, t0).namespaces == std::vector<std::string>{"batch"});
  CHECK(l.plan(other, t0).namespaces == std::vector<std::string>{"ray"});
  // A change found by the old account's scan is not this cluster's any more.
  CHECK(l.scanned(kAccount, {finished("t1", "g", t0 + 1s)}, {}, {}, t0 + 2s, t0 + 2s, t0 + 2s).empty());
  CHECK(keys(l.scanned(other, {finished("t2", "g", t0 + 1s)}, {}, {}, t0 + 2s, t0 + 2s, t0 + 2s)) ==
        std::vector<std::string>{"ns/a"});
  // A new work requirement (a new incarnation) replaces the old ids.
  l.follow("ns/a", cluster("wr-a2", {"g2"}, "ray", other), t0 + 3s);
  CHECK(l.scanned(other, {finished("t3", "g", t0 + 3s)}, {}, {}, t0 + 4s, t0 + 4s, t0 + 4s).empty());
  CHECK(keys(l.scanned(other, {finished("t4", "g2", t0 + 3s)}, {}, {}, t0 + 4s, t0 + 4s, t0 + 4s)) ==
        std::vector<std::string>{"ns/a"});
}

namespace {

yd::Task began(const std::string& id, const std::string& group, TimePoint at) {
  yd::Task t;
  t.id = id;
  t.name = "task-" + id;
  t.task_group_id = group;
  t.status = yd::TaskStatus("EXECUTING");
  t.started_time = yd::format_timestamp(at);
  return t;
}

}  // namespace

TEST_CASE("ledger: task starts are searched only while a cluster waits for one, and wake it once") {
  Ledger l(LedgerOptions{5s, 30s});
  l.follow("ns/a", cluster("wr-a", {"g-a"}), t0);
  l.follow("ns/b", cluster("wr-b", {"g-b"}), t0);
  l.scanned(kAccount, {}, {}, {}, t0 + 2s, t0 + 2s, t0 + 2s);
  CHECK_FALSE(l.plan(kAccount, t0 + 2s).starts);  // a steady fleet makes only the two searches
  CHECK_FALSE(l.await_starts("ns/unknown", true, t0 + 3s));

  // The account's first waiter: scans before did not search for starts, so its observation read before
  // now is not vouched for; one read after is.
  CHECK(l.await_starts("ns/a", true, t0 + 3s));
  CHECK(l.plan(kAccount, t0 + 3s).starts);
  CHECK_FALSE(l.unchanged_since("ns/a", t0 + 2s, t0 + 3s));
  CHECK(l.unchanged_since("ns/a", t0 + 3s + 1ms, t0 + 3s));
  // A second waiter of the same account: starts were searched already, its observation stays vouched.
  CHECK(l.unchanged_since("ns/b", t0 + 1s, t0 + 3s));
  CHECK(l.await_starts("ns/b", true, t0 + 3s));
  CHECK(l.unchanged_since("ns/b", t0 + 1s, t0 + 3s));

  // A start wakes the owner once, even when the overlap returns it again; its end later is a change too.
  auto changes = l.scanned(kAccount, {}, {began("t1", "g-a", t0 + 4s)}, {}, t0 + 5s, t0 + 5s, t0 + 5s);
  CHECK(keys(changes) == std::vector<std::string>{"ns/a"});
  CHECK(changes[0].what == "task task-t1 started");
  CHECK_FALSE(l.unchanged_since("ns/a", t0 + 4s, t0 + 5s));
  CHECK(l.scanned(kAccount, {}, {began("t1", "g-a", t0 + 4s)}, {}, t0 + 7s, t0 + 7s, t0 + 7s).empty());
  CHECK(keys(l.scanned(kAccount, {finished("t1", "g-a", t0 + 8s)}, {began("t1", "g-a", t0 + 4s)}, {}, t0 + 9s,
                       t0 + 9s, t0 + 9s)) == std::vector<std::string>{"ns/a"});

  // Waiting ends (the clusters are steady, or gone): the start search stops.
  CHECK(l.await_starts("ns/a", false, t0 + 10s));
  CHECK(l.plan(kAccount, t0 + 10s).starts);
  l.unfollow("ns/b");
  CHECK_FALSE(l.plan(kAccount, t0 + 10s).starts);
  // A waiter that moves to another account is counted there, not here.
  const std::string other = "https://api.yellowdog.ai key-b";
  CHECK(l.await_starts("ns/a", true, t0 + 11s));
  l.follow("ns/a", cluster("wr-a", {"g-a"}, "ray", other), t0 + 12s);
  CHECK(l.plan(other, t0 + 12s).starts);
  CHECK_FALSE(l.following(kAccount));
}

TEST_CASE("ledger: current follows the account's last complete scan") {
  Ledger l(LedgerOptions{5s, 30s});
  l.follow("ns/a", cluster("wr-a", {"g"}), t0);
  CHECK_FALSE(l.current("ns/a", t0 + 1s));  // never scanned
  l.scanned(kAccount, {}, {}, {}, t0 + 2s, t0 + 2s, t0 + 2s);
  CHECK(l.current("ns/a", t0 + 32s));
  CHECK_FALSE(l.current("ns/a", t0 + 33s));
  CHECK_FALSE(l.current("ns/other", t0 + 3s));
}

TEST_CASE("ledger: a task stamped started but not EXECUTING yet is reported when it is") {
  Ledger l(LedgerOptions{5s, 30s});
  l.follow("ns/a", cluster("wr-a", {"g"}), t0);
  l.await_starts("ns/a", true, t0);
  yd::Task downloading = began("t1", "g", t0 + 1s);
  downloading.status = yd::TaskStatus("DOWNLOADING");
  CHECK(l.scanned(kAccount, {}, {downloading}, {}, t0 + 2s, t0 + 2s, t0 + 2s).empty());
  CHECK(keys(l.scanned(kAccount, {}, {began("t1", "g", t0 + 1s)}, {}, t0 + 4s, t0 + 4s, t0 + 4s)) ==
        std::vector<std::string>{"ns/a"});
}
