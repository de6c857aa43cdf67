// Patch formats and Tables (printer columns, JSONPath subset, ages).
#include <doctest/doctest.h>

#include "test/emulator/meta.hpp"
#include "test/emulator/patch.hpp"
#include "test/emulator/table.hpp"

using namespace raydog::emulator;

TEST_CASE("patch: merge patch JSON patch and their errors") {
  json target = {{"metadata", {{"name", "x"}, {"labels", {{"a", "1"}, {"b", "2"}}}}},
                 {"spec", {{"list", {1, 2}}}}};
  auto m = apply_patch(target, PatchType::kMerge,
                       R"({"metadata":{"labels":{"a":null,"c":"3"}},"spec":{"list":[3]}})", nullptr);
  REQUIRE(m.ok());
  CHECK((*m)["metadata"]["labels"] == json{{"b", "2"}, {"c", "3"}});
  CHECK((*m)["spec"]["list"] == json{3});
  auto j = apply_patch(
      target, PatchType::kJson,
      R"([{"op":"test","path":"/spec/list/0","value":1},{"op":"add","path":"/spec/list/-","value":9},{"op":"remove","path":"/metadata/labels/a"}])",
      nullptr);
  REQUIRE(j.ok());
  CHECK((*j)["spec"]["list"] == json{1, 2, 9});
  CHECK_FALSE((*j)["metadata"]["labels"].contains("a"));
  auto failed =
      apply_patch(target, PatchType::kJson, R"([{"op":"test","path":"/spec/list/0","value":5}])", nullptr);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == 422);
  auto malformed = apply_patch(target, PatchType::kMerge, "{not json", nullptr);
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.error().code == 400);
  CHECK(patch_type_from_content_type("application/merge-patch+json; charset=utf-8") == PatchType::kMerge);
  CHECK(patch_type_from_content_type("application/strategic-merge-patch+json") == PatchType::kStrategic);
  CHECK(patch_type_from_content_type("application/apply-patch+yaml") == PatchType::kApply);
  CHECK(patch_type_from_content_type("text/plain") == PatchType::kUnknown);
}

TEST_CASE("patch: strategic merge directives and merge keys") {
  json target = {{"metadata", {{"finalizers", {"a"}}}},
                 {"spec",
                  {{"containers", {{{"name", "main"}, {"image", "v1"}}, {{"name", "side"}, {"image", "s1"}}}},
                   {"args", {"x", "y"}}}}};
  json p = json::parse(R"({"metadata":{"finalizers":["b"]},
    "spec":{"containers":[{"name":"main","image":"v2"},{"name":"side","$patch":"delete"},{"name":"new","image":"n"}],
            "$deleteFromPrimitiveList/args":["x"],"$setElementOrder/containers":[{"name":"main"}]}})");
  json out = strategic_merge(target, p);
  CHECK(out["metadata"]["finalizers"] == json{"a", "b"});
  REQUIRE(out["spec"]["containers"].size() == 2);
  CHECK(out["spec"]["containers"][0]["image"] == "v2");
  CHECK(out["spec"]["containers"][1]["name"] == "new");
  CHECK(out["spec"]["args"] == json{"y"});
  json replaced =
      strategic_merge({{"data", {{"a", "1"}}}}, json::parse(R"({"data":{"$patch":"replace","b":"2"}})"));
  CHECK(replaced["data"] == json{{"b", "2"}});
  json retained = strategic_merge({{"a", 1}, {"b", 2}}, json::parse(R"({"$retainKeys":["a","c"],"c":3})"));
  CHECK(retained == json{{"a", 1}, {"c", 3}});
}

TEST_CASE("patch: server-side apply merges maps and list-maps replaces atomic lists") {
  json schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
    "pools":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],"items":{"type":"object"}},
    "tags":{"type":"array","items":{"type":"string"}}}}}})");
  json target = {{"spec", {{"pools", {{{"name", "a"}, {"nodes", 1}}}}, {"tags", {"x"}}, {"keep", true}}}};
  json applied = {
      {"spec", {{"pools", {{{"name", "a"}, {"nodes", 2}}, {{"name", "b"}, {"nodes", 1}}}}, {"tags", {"y"}}}}};
  json out = apply_merge(target, applied, schema);
  CHECK(out["spec"]["keep"] == true);
  CHECK(out["spec"]["tags"] == json{"y"});
  REQUIRE(out["spec"]["pools"].size() == 2);
  CHECK(out["spec"]["pools"][0]["nodes"] == 2);
}

TEST_CASE("table: JSONPath subset") {
  json o = json::parse(
      R"({"status":{"phase":"Running","conditions":[{"type":"Synced","status":"True"},{"type":"Ready","status":"False"}],
    "pools":[{"n":1},{"n":2}]}})");
  CHECK(eval_json_path(o, ".status.phase") == std::vector<json>{"Running"});
  CHECK(eval_json_path(o, ".status.conditions[?(@.type==\"Ready\")].status") == std::vector<json>{"False"});
  CHECK(eval_json_path(o, "{.status.conditions[0].type}") == std::vector<json>{"Synced"});
  CHECK(eval_json_path(o, ".status.pools[*].n") == std::vector<json>{1, 2});
  CHECK(eval_json_path(o, ".status.missing").empty());
}

TEST_CASE("table: human ages like kubectl") {
  using namespace std::chrono;
  CHECK(human_duration(seconds(5)) == "5s");
  CHECK(human_duration(seconds(119)) == "119s");
  CHECK(human_duration(seconds(150)) == "2m30s");
  CHECK(human_duration(seconds(600)) == "10m");
  CHECK(human_duration(seconds(3 * 3600 + 120)) == "3h2m");
  CHECK(human_duration(seconds(10 * 3600)) == "10h");
  CHECK(human_duration(seconds(3 * 86400 + 3600)) == "3d1h");
  CHECK(human_duration(seconds(30 * 86400)) == "30d");
  CHECK(human_duration(seconds(-5)) == "<invalid>");
  auto now = system_clock::now();
  CHECK(human_age("", now) == "<unknown>");
  CHECK(human_age("garbage", now) == "<invalid>");
  CHECK(human_age(format_time(now - seconds(42)), now) == "42s");
}

TEST_CASE("table: printer columns priorities and row objects") {
  ResourceInfo info;
  info.group = "raydog.io";
  info.version = "v1alpha1";
  info.kind = "RayDogCluster";
  info.custom = true;
  info.columns = {{"Phase", "string", "", "phase", ".status.phase", 0},
                  {"Ready", "string", "", "ready", ".status.conditions[?(@.type==\"Ready\")].status", 0},
                  {"Workers", "integer", "", "", ".status.readyWorkers", 0},
                  {"Public IP", "string", "", "", ".status.head.publicIP", 1},
                  {"Age", "date", "", "", ".metadata.creationTimestamp", 0}};
  auto now = std::chrono::system_clock::now();
  json o = {
      {"metadata", {{"name", "x"}, {"creationTimestamp", format_time(now - std::chrono::seconds(300))}}},
      {"status",
       {{"phase", "Running"},
        {"readyWorkers", 3},
        {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
  json t = make_table(info, {&o}, {{"resourceVersion", "5"}}, IncludeObject::kMetadata, now);
  CHECK(t["kind"] == "Table");
  REQUIRE(t["columnDefinitions"].size() == 6);
  CHECK(t["columnDefinitions"][0]["name"] == "Name");
  CHECK(t["columnDefinitions"][4]["priority"] == 1);
  CHECK(t["rows"][0]["cells"] == json{"x", "Running", "True", 3, nullptr, "5m"});
  CHECK(t["rows"][0]["object"]["kind"] == "PartialObjectMetadata");
  json full = make_table(info, {&o}, json::object(), IncludeObject::kObject, now);
  CHECK(full["rows"][0]["object"]["status"]["phase"] == "Running");
  json none = make_table(info, {&o}, json::object(), IncludeObject::kNone, now);
  CHECK_FALSE(none["rows"][0].contains("object"));
}
