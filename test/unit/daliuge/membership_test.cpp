// The pure membership plan (controller/daliuge/membership.hpp): table-driven cases for every rule of
// daliuge-integration.md §4, then a randomised run against an in-memory DIM list with lost responses.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "controller/daliuge/membership.hpp"

using namespace raydog::daliuge;

namespace {

const std::string A = "10.0.0.1:8000:5555:6666";
const std::string B = "10.0.0.2:8000:5555:6666";
const std::string C = "10.0.0.3:8000:5555:6666";

Write add(const std::string& k) {
  return {WriteKind::kAdd, k, Reason::kMissing};
}
Write del(const std::string& k, Reason r) {
  return {WriteKind::kRemove, k, r};
}

struct Case {
  const char* name;
  MembershipInput in;
  std::vector<Write> writes;
  std::vector<Write> deferred;
  bool in_sync;
};

}  // namespace

TEST_CASE("membership: node keys are canonical four-part strings") {
  CHECK(node_key("10.1.2.3", {}) == "10.1.2.3:8000:5555:6666");
  CHECK(node_key("10.1.2.3", {18000, 15555, 16666}) == "10.1.2.3:18000:15555:16666");
  CHECK(canonical_node("10.1.2.3") == "10.1.2.3:8000:5555:6666");
  CHECK(canonical_node("10.1.2.3:8000") == "10.1.2.3:8000:5555:6666");
  CHECK(canonical_node("10.1.2.3:9000:1:2") == "10.1.2.3:9000:1:2");
  // An invalid port is stored with the default (§3), so it compares equal to the default form.
  CHECK(canonical_node("10.1.2.3:99999") == "10.1.2.3:8000:5555:6666");
  CHECK(canonical_node("10.1.2.3:abc:x:y") == "10.1.2.3:8000:5555:6666");
  CHECK(host_of("10.1.2.3:8000:5555:6666") == "10.1.2.3");
  CHECK(host_of("10.1.2.3") == "10.1.2.3");
}

TEST_CASE("membership: every rule, table-driven") {
  const Case cases[] = {
      {"empty everything", {}, {}, {}, true},
      {"in sync", {{A, B}, {B, A}, {}, true, true}, {}, {}, true},
      {"in sync in short form", {{A}, {"10.0.0.1"}, {}, true, true}, {}, {}, true},
      {"new workers are added", {{A, B, C}, {A}, {}, true, true}, {add(B), add(C)}, {}, false},
      {"restarted (empty) DIM is repopulated", {{A, B}, {}, {}, true, true}, {add(A), add(B)}, {}, false},
      {"duplicates: one DELETE per extra copy",
       {{A, B}, {A, B, A, A}, {}, true, true},
       {del(A, Reason::kDuplicate), del(A, Reason::kDuplicate)},
       {},
       false},
      {"dead entry removed", {{A}, {A, B}, {}, true, true}, {del(B, Reason::kDead)}, {}, false},
      {"dead entry listed twice: two DELETEs",
       {{A}, {B, A, B}, {}, true, true},
       {del(B, Reason::kDead), del(B, Reason::kDead)},
       {},
       false},
      {"unwanted (alive) entry removed as a planned change",
       {{A}, {A, B}, {B}, true, true},
       {del(B, Reason::kExtra)},
       {},
       false},
      {"removals come before adds, dead first",
       {{A, C}, {A, A, B, "10.0.0.9"}, {B}, true, true},
       {del("10.0.0.9:8000:5555:6666", Reason::kDead), del(A, Reason::kDuplicate), del(B, Reason::kExtra),
        add(C)},
       {},
       false},
      {"WhenIdle holds planned changes, never dead or duplicate removals",
       {{A, C}, {A, A, B, "10.0.0.9"}, {B}, true, false},
       {del("10.0.0.9:8000:5555:6666", Reason::kDead), del(A, Reason::kDuplicate)},
       {del(B, Reason::kExtra), add(C)},
       false},
      {"IP reuse: same key, no second POST", {{A}, {"10.0.0.1:8000"}, {}, true, true}, {}, {}, true},
      {"replacement worker with a different IP: add new, delete old",
       {{B}, {A}, {}, true, true},
       {del(A, Reason::kDead), add(B)},
       {},
       false},
      {"a hostname entry is not the IP's entry",
       {{A}, {"worker-1", A}, {}, true, true},
       {del("worker-1:8000:5555:6666", Reason::kDead)},
       {},
       false},
      {"ports from the spec are part of the key",
       {{"10.0.0.1:18000:15555:16666"}, {A}, {}, true, true},
       {del(A, Reason::kDead), add("10.0.0.1:18000:15555:16666")},
       {},
       false},
      {"desired duplicates are one node", {{A, A}, {}, {}, true, true}, {add(A)}, {}, false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto p = plan_membership(c.in);
    CHECK_FALSE(p.read_first);
    CHECK(p.writes == c.writes);
    CHECK(p.deferred == c.deferred);
    CHECK(p.in_sync == c.in_sync);
  }
}

TEST_CASE("membership: after an uncertain write nothing is written before a fresh read") {
  MembershipInput in{{A, B}, {}, {}, false, true};
  auto p = plan_membership(in);
  CHECK(p.read_first);
  CHECK(p.writes.empty());
  CHECK(p.deferred.empty());
  CHECK_FALSE(p.in_sync);
}

TEST_CASE("membership: WhenIdle gate") {
  const auto now = Clock::now();
  const Millis max{std::chrono::minutes(10)};
  CHECK(planned_changes_allowed(false, true, std::nullopt, max, now));  // Immediate
  CHECK(planned_changes_allowed(true, false, std::nullopt, max, now));  // idle
  CHECK_FALSE(planned_changes_allowed(true, true, std::nullopt, max, now));
  CHECK_FALSE(planned_changes_allowed(true, std::nullopt, std::nullopt, max, now));  // unknown = busy
  CHECK_FALSE(planned_changes_allowed(true, true, now - std::chrono::minutes(9), max, now));
  CHECK(planned_changes_allowed(true, true, now - std::chrono::minutes(10), max, now));  // deferral over
}

TEST_CASE("membership: converges on a DIM that loses responses, never writing on a stale read (property)") {
  // The DIM: a list with duplicates, POST appends, DELETE removes the first match (500 when absent).
  // Each write is applied or not, and its answer arrives or not, at random. The driver follows the
  // registrar's rules: GET, plan, write in order, stop at the first uncertain write, GET again.
  std::mt19937 rng(12345);
  int rounds_total = 0;
  for (int scenario = 0; scenario < 300; ++scenario) {
    std::vector<std::string> pool;
    for (int i = 1; i <= 6; ++i) pool.push_back("10.0.1." + std::to_string(i) + ":8000:5555:6666");
    std::vector<std::string> dim, desired;
    for (const auto& k : pool) {
      if (rng() % 2) desired.push_back(k);
      for (unsigned n = rng() % 3; n > 0; --n) dim.push_back(k);
    }
    std::shuffle(dim.begin(), dim.end(), rng);
    bool fresh = false;
    std::vector<std::string> seen;  // the last GET
    int rounds = 0;
    for (; rounds < 50; ++rounds) {
      if (!fresh) {
        seen = dim;
        fresh = true;
      }
      auto p = plan_membership({desired, seen, {}, fresh, true});
      REQUIRE_FALSE(p.read_first);
      if (p.writes.empty()) break;
      for (const auto& w : p.writes) {
        bool applied = rng() % 4 != 0;
        bool answered = rng() % 4 != 0;
        if (applied) {
          if (w.kind == WriteKind::kAdd) {
            dim.push_back(w.key);
          } else {
            auto it = std::find(dim.begin(), dim.end(), w.key);
            if (it == dim.end())
              answered = false;  // 500 HTML: not what a DELETE should answer
            else
              dim.erase(it);
          }
        }
        if (!applied || !answered) {  // uncertain (or failed): stop, the next plan needs a fresh GET
          fresh = false;
          CHECK(plan_membership({desired, seen, {}, fresh, true}).writes.empty());
          break;
        }
      }
      // All writes answered: the next round re-reads anyway (the registrar confirms with a GET).
      fresh = false;
    }
    rounds_total += rounds;
    std::vector<std::string> got = dim, want = desired;
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    CHECK(got == want);  // exactly the desired set, no duplicates
  }
  MESSAGE("300 scenarios converged in " << rounds_total << " read/plan/write rounds");
}
