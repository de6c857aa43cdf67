// Store rules: one global resourceVersion, uid/generation/creationTimestamp, no-op writes, 409 on stale
// writes, finalizers + deletionTimestamp, namespace termination, watch history and 410 Expired.
#include <doctest/doctest.h>

#include "test/emulator/resources.hpp"
#include "test/emulator/store.hpp"

using namespace raydog::emulator;

namespace {

ResourceInfo cr_info() {
  ResourceInfo r;
  r.group = "raydog.io";
  r.version = "v1alpha1";
  r.plural = "raydogclusters";
  r.singular = "raydogcluster";
  r.kind = "RayDogCluster";
  r.list_kind = "RayDogClusterList";
  r.custom = true;
  r.has_status = true;
  r.tracks_generation = true;
  return r;
}

json cr(const std::string& name, json spec = {{"replicas", 1}}) {
  return {{"apiVersion", "raydog.io/v1alpha1"},
          {"kind", "RayDogCluster"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", spec}};
}

struct Fixture {
  Registry reg;
  Store store{100};
  ResourceInfo info = cr_info();
  Fixture() { (void)store.create(*reg.find("", "v1", "namespaces"), {{"metadata", {{"name", "default"}}}}); }
};

}  // namespace

TEST_CASE("store: create fills server-owned metadata and bumps the global resourceVersion") {
  Fixture f;
  auto before = f.store.resource_version();
  json body = cr("a");
  body["metadata"]["uid"] = "client-uid";
  body["metadata"]["generation"] = 7;
  body["status"] = {{"phase", "Running"}};
  auto created = f.store.create(f.info, body);
  REQUIRE(created.ok());
  const json& o = **created;
  CHECK(o["metadata"]["resourceVersion"] == std::to_string(before + 1));
  CHECK(o["metadata"]["uid"] != "client-uid");
  CHECK(o["metadata"]["uid"].get<std::string>().size() == 36);
  CHECK(o["metadata"]["generation"] == 1);
  CHECK(o["metadata"]["creationTimestamp"].get<std::string>().back() == 'Z');
  CHECK_FALSE(o.contains("status"));  // status subresource: dropped on create
  auto again = f.store.create(f.info, cr("a"));
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == 409);
  CHECK(again.error().reason == "AlreadyExists");
  CHECK(again.error().message == "raydogclusters.raydog.io \"a\" already exists");
}

TEST_CASE("store: create validates names and namespaces - generateName works") {
  Fixture f;
  auto bad = f.store.create(f.info, cr("Bad_Name"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == 422);
  CHECK(bad.error().message.find("RayDogCluster.raydog.io \"Bad_Name\" is invalid: metadata.name: Invalid "
                                 "value: \"Bad_Name\": a lowercase RFC 1123 subdomain") == 0);
  json missing_ns = cr("x");
  missing_ns["metadata"]["namespace"] = "nope";
  auto nf = f.store.create(f.info, missing_ns);
  REQUIRE_FALSE(nf.ok());
  CHECK(nf.error().code == 404);
  CHECK(nf.error().message == "namespaces \"nope\" not found");
  json gen = cr("");
  gen["metadata"].erase("name");
  gen["metadata"]["generateName"] = "rdc-";
  auto g = f.store.create(f.info, gen);
  REQUIRE(g.ok());
  std::string name = (**g)["metadata"]["name"];
  CHECK(name.size() == 9);
  CHECK(name.rfind("rdc-", 0) == 0);
  json none = cr("");
  none["metadata"].erase("name");
  auto n = f.store.create(f.info, none);
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().message.find("metadata.name: Required value: name or generateName is required") !=
        std::string::npos);
}

TEST_CASE("store: generation moves with spec only - status writes keep it - no-op writes keep the RV") {
  Fixture f;
  auto c = f.store.create(f.info, cr("a"));
  REQUIRE(c.ok());
  json upd = **c;
  upd["metadata"]["labels"] = {{"app", "x"}};
  auto u1 = f.store.update(f.info, upd, Store::Part::kMain);
  REQUIRE(u1.ok());
  CHECK((**u1)["metadata"]["generation"] == 1);  // metadata change
  upd = **u1;
  upd["spec"]["replicas"] = 3;
  auto u2 = f.store.update(f.info, upd, Store::Part::kMain);
  REQUIRE(u2.ok());
  CHECK((**u2)["metadata"]["generation"] == 2);
  json st = **u2;
  st["status"] = {{"phase", "Running"}};
  st["spec"]["replicas"] = 99;  // ignored on /status
  auto u3 = f.store.update(f.info, st, Store::Part::kStatus);
  REQUIRE(u3.ok());
  CHECK((**u3)["metadata"]["generation"] == 2);
  CHECK((**u3)["spec"]["replicas"] == 3);
  CHECK((**u3)["status"]["phase"] == "Running");
  json main = **u3;
  main["status"] = {{"phase", "Hacked"}};  // ignored on the main resource
  auto u4 = f.store.update(f.info, main, Store::Part::kMain);
  REQUIRE(u4.ok());
  CHECK((**u4)["status"]["phase"] == "Running");
  CHECK((**u4)["metadata"]["resourceVersion"] == (**u3)["metadata"]["resourceVersion"]);  // no-op
}

TEST_CASE("store: stale resourceVersion is a 409 Conflict - missing RV 422 when required") {
  Fixture f;
  auto c = f.store.create(f.info, cr("a"));
  REQUIRE(c.ok());
  json first = **c;
  first["spec"]["replicas"] = 2;
  REQUIRE(f.store.update(f.info, first, Store::Part::kMain).ok());
  json stale = **c;
  stale["spec"]["replicas"] = 5;
  auto r = f.store.update(f.info, stale, Store::Part::kMain);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == 409);
  CHECK(r.error().message ==
        "Operation cannot be fulfilled on raydogclusters.raydog.io \"a\": the object has been modified; "
        "please apply "
        "your changes to the latest version and try again");
  json norv = stale;
  norv["metadata"].erase("resourceVersion");
  auto r2 = f.store.update(f.info, norv, Store::Part::kMain, false, true);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().code == 422);
  CHECK(r2.error().message.find(
            "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update") !=
        std::string::npos);
}

TEST_CASE("store: finalizers hold deletion until removed - no new finalizers while deleting") {
  Fixture f;
  json body = cr("a");
  body["metadata"]["finalizers"] = {"raydog.io/cleanup"};
  auto c = f.store.create(f.info, body);
  REQUIRE(c.ok());
  auto d = f.store.remove(f.info, "default", "a", nullptr);
  REQUIRE(d.ok());
  CHECK_FALSE(d->deleted);
  const json& pending = *d->object;
  CHECK(pending["metadata"].contains("deletionTimestamp"));
  CHECK(pending["metadata"]["deletionGracePeriodSeconds"] == 0);
  CHECK(pending["metadata"]["generation"] == 2);
  auto d2 = f.store.remove(f.info, "default", "a", nullptr);  // repeated DELETE: no-op
  REQUIRE(d2.ok());
  CHECK((*d2->object)["metadata"]["resourceVersion"] == pending["metadata"]["resourceVersion"]);
  json add = pending;
  add["metadata"]["finalizers"].push_back("other/one");
  auto bad = f.store.update(f.info, add, Store::Part::kMain);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == 422);
  CHECK(bad.error().message.find("no new finalizers can be added if the object is being deleted") !=
        std::string::npos);
  json drop = pending;
  drop["metadata"]["finalizers"] = json::array();
  auto gone = f.store.update(f.info, drop, Store::Part::kMain);
  REQUIRE(gone.ok());
  CHECK(f.store.get(f.info, "default", "a") == nullptr);
  auto ev = f.store.events_since(f.info.store_key(), 0);
  REQUIRE(ev.ok());
  REQUIRE(ev->size() == 3);
  CHECK((*ev)[0].type == "ADDED");
  CHECK((*ev)[1].type == "MODIFIED");
  CHECK((*ev)[2].type == "DELETED");
}

TEST_CASE("store: delete preconditions and 404") {
  Fixture f;
  REQUIRE(f.store.create(f.info, cr("a")).ok());
  auto pre = f.store.remove(f.info, "default", "a", {{"preconditions", {{"uid", "nope"}}}});
  REQUIRE_FALSE(pre.ok());
  CHECK(pre.error().code == 409);
  auto ok = f.store.remove(f.info, "default", "a", {{"propagationPolicy", "Background"}});
  REQUIRE(ok.ok());
  CHECK(ok->deleted);
  auto nf = f.store.remove(f.info, "default", "a", nullptr);
  REQUIRE_FALSE(nf.ok());
  CHECK(nf.error().code == 404);
  CHECK(nf.error().message == "raydogclusters.raydog.io \"a\" not found");
}

TEST_CASE("store: history is bounded - older resourceVersions are 410 Expired") {
  Registry reg;
  Store store(5);
  (void)store.create(*reg.find("", "v1", "namespaces"), {{"metadata", {{"name", "default"}}}});
  ResourceInfo info = cr_info();
  std::uint64_t first_rv = 0;
  for (int i = 0; i < 10; ++i) {
    auto c = store.create(info, cr("c" + std::to_string(i)));
    REQUIRE(c.ok());
    if (i == 0) first_rv = parse_rv((**c)["metadata"]["resourceVersion"]);
  }
  auto old = store.events_since(info.store_key(), first_rv);
  REQUIRE_FALSE(old.ok());
  CHECK(old.error().code == 410);
  CHECK(old.error().reason == "Expired");
  CHECK(old.error().message.find("too old resource version: ") == 0);
  auto recent = store.events_since(info.store_key(), store.resource_version() - 2);
  REQUIRE(recent.ok());
  CHECK(recent->size() == 2);
}

TEST_CASE(
    "store: a replay gives every version as it was - superseded ones kept as text, even across compaction") {
  Registry reg;
  Store store(6);
  (void)store.create(*reg.find("", "v1", "namespaces"), {{"metadata", {{"name", "default"}}}});
  ResourceInfo info = cr_info();
  const std::uint64_t from = store.resource_version();
  auto a = store.create(info, cr("a", {{"replicas", 1}, {"ratio", 0.1}}));
  REQUIRE(a.ok());
  json next = **a;
  next["spec"]["replicas"] = 2;
  auto a2 = store.update(info, next, Store::Part::kMain);
  REQUIRE(a2.ok());
  next = **a2;
  next["status"] = {{"phase", "Running"}};
  auto a3 = store.update(info, next, Store::Part::kStatus);
  REQUIRE(a3.ok());
  auto stored = store.events_since(info.store_key(), from);
  REQUIRE(stored.ok());
  REQUIRE(stored->size() == 3);
  CHECK((*stored)[2].object == *a3);  // the stored version: shared with the store, not copied
  REQUIRE(store.remove(info, "default", "a", nullptr).ok());
  auto ev = store.events_since(info.store_key(), from);
  REQUIRE(ev.ok());
  REQUIRE(ev->size() == 4);
  CHECK((*ev)[0].type == "ADDED");
  CHECK(*(*ev)[0].object == **a);  // superseded: back from its text, the same object
  CHECK((*ev)[0].old_object == nullptr);
  CHECK(*(*ev)[1].object == **a2);
  CHECK(*(*ev)[1].old_object == **a);
  CHECK((*(*ev)[1].object)["spec"]["ratio"] == 0.1);
  CHECK(*(*ev)[2].object == **a3);
  CHECK(*(*ev)[2].old_object == **a2);
  CHECK((*ev)[3].type == "DELETED");
  CHECK(*(*ev)[3].old_object == **a3);
  CHECK((*(*ev)[3].object)["status"]["phase"] == "Running");
  // The event that made the stored version is compacted away: the next write still knows the old one.
  auto b = store.create(info, cr("b"));
  REQUIRE(b.ok());
  for (int i = 0; i < 6; ++i) REQUIRE(store.create(info, cr("f" + std::to_string(i))).ok());
  json b2 = **b;
  b2["spec"]["replicas"] = 5;
  REQUIRE(store.update(info, b2, Store::Part::kMain).ok());
  auto last = store.events_since(info.store_key(), store.resource_version() - 1);
  REQUIRE(last.ok());
  REQUIRE(last->size() == 1);
  CHECK(*(*last)[0].old_object == **b);
  CHECK((*(*last)[0].object)["spec"]["replicas"] == 5);
}

TEST_CASE("store: subscribers see every write of their resource in RV order") {
  Fixture f;
  std::vector<std::string> seen;
  auto id = f.store.subscribe(
      f.info.store_key(), [&](const WatchEvent& e) { seen.push_back(e.type + ":" + std::to_string(e.rv)); });
  auto c = f.store.create(f.info, cr("a"));
  REQUIRE(c.ok());
  (void)f.store.create(*f.reg.find("", "v1", "configmaps"),
                       {{"metadata", {{"name", "cm"}, {"namespace", "default"}}}});
  REQUIRE(f.store.remove(f.info, "default", "a", nullptr).ok());
  f.store.unsubscribe(id);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].rfind("ADDED:", 0) == 0);
  CHECK(seen[1].rfind("DELETED:", 0) == 0);
}

TEST_CASE("store: namespace deletion terminates deletes contents then goes") {
  Fixture f;
  const ResourceInfo& ns = *f.reg.find("", "v1", "namespaces");
  REQUIRE(f.store.create(ns, {{"metadata", {{"name", "team"}}}}).ok());
  json body = cr("a");
  body["metadata"]["namespace"] = "team";
  body["metadata"]["finalizers"] = {"x/y"};
  REQUIRE(f.store.create(f.info, body).ok());
  auto d = f.store.remove(ns, "", "team", nullptr);
  REQUIRE(d.ok());
  CHECK_FALSE(d->deleted);
  CHECK((*f.store.get(ns, "", "team"))["status"]["phase"] == "Terminating");
  json blocked = cr("b");
  blocked["metadata"]["namespace"] = "team";
  auto forbidden = f.store.create(f.info, blocked);
  REQUIRE_FALSE(forbidden.ok());
  CHECK(forbidden.error().code == 403);
  json pending = *f.store.get(f.info, "team", "a");
  pending["metadata"]["finalizers"] = json::array();
  REQUIRE(f.store.update(f.info, pending, Store::Part::kMain).ok());
  CHECK(f.store.get(ns, "", "team") == nullptr);
}
