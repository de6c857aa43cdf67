// Rules added after the first version of the reconciler, as tables over observed states: decode errors
// reported like validation errors, the cluster lifetime expiring, the observability node moving, kstatus
// on every terminal path, the ids a timed-out cleanup lists.
#include <doctest/doctest.h>

#include "world.hpp"

namespace rr = raydog::reconcile;
namespace api = raydog::api;
using namespace rr;
using namespace rr::testing;
using namespace std::chrono_literals;

TEST_CASE("rules: decode errors -> InvalidSpec with the field path, Stalled, no YellowDog action") {
  struct Row {
    const char* name;
    api::FieldErrors decode;
    const char* path_in_message;  // nullptr: not InvalidSpec
  };
  const Row rows[] = {
      {"wrong type",
       {{"spec.workerPools[0].nodes", "must be an integer, got string"}},
       "spec.workerPools[0].nodes"},
      {"unknown field", {{"spec.head.bogus", "unknown field"}}, "spec.head.bogus"},
      {"whole document", {{"", "must be an object, got array"}}, "must be an object"},
      {"status only (ours to rewrite)", {{"status.phase", "must be one of ..."}}, nullptr},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    World w;
    w.o.decode_errors = row.decode;
    const rr::View v = rr::view(w.o, w.now);
    Actions a = w.reconcile();
    if (!row.path_in_message) {
      CHECK(v.lifecycle == rr::Lifecycle::Running);
      CHECK(count_of<ProvisionPool>(a) > 0);
      continue;
    }
    CHECK(v.lifecycle == rr::Lifecycle::InvalidSpec);
    CHECK(yellowdog_calls(a) == 0);
    CHECK(mutations(a) == 0);
    CHECK(has_event(a, "InvalidSpec"));
    CHECK(w.cond_status("Synced") == "False");
    CHECK(w.cond_reason("Synced") == "InvalidSpec");
    CHECK(w.condition("Synced")->message.find(row.path_in_message) != std::string::npos);
    CHECK(w.cond_status("Stalled") == "True");
    CHECK(w.cond_reason("Stalled") == "InvalidSpec");
    CHECK(w.cond_status("Reconciling") == "False");
    // Once per generation: the second reconcile emits no second event.
    CHECK_FALSE(has_event(w.reconcile(), "InvalidSpec"));
  }
}

TEST_CASE("rules: spec_errors puts decode errors first and drops validation errors they shadow") {
  World w;
  w.o.cluster.spec.worker_pools->at(0).nodes.reset();  // what decode leaves when nodes had a wrong type
  w.o.decode_errors = {{"spec.workerPools[0].nodes", "must be an integer, got string"}};
  auto errors = rr::spec_errors(w.o);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message == "must be an integer, got string");
  w.o.decode_errors.clear();
  errors = rr::spec_errors(w.o);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message == "required");
}
