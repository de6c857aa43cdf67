// Label/field selectors and structural-schema pruning, defaulting and validation messages.
#include <doctest/doctest.h>

#include <algorithm>

#include "test/emulator/schema.hpp"
#include "test/emulator/selectors.hpp"

using namespace raydog::emulator;

namespace {
json labelled(json labels) {
  return {{"metadata", {{"name", "x"}, {"namespace", "default"}, {"labels", labels}}}};
}

const json kSchema = json::parse(R"({
  "type": "object",
  "properties": {
    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
    "spec": {
      "type": "object",
      "required": ["yellowdog"],
      "properties": {
        "replicas": {"type": "integer", "minimum": 0, "default": 1},
        "suspend": {"type": "boolean", "default": false},
        "deletionPolicy": {"type": "string", "enum": ["Delete", "Orphan"], "default": "Delete"},
        "yellowdog": {"type": "object", "required": ["namespace"], "properties": {
          "namespace": {"type": "string", "minLength": 1},
          "apiURL": {"type": "string", "default": "https://api.yellowdog.ai"}}},
        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "workerPools": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
          "maxItems": 3,
          "items": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
            "nodes": {"type": "integer", "minimum": 0, "default": 1}}}}
      }
    },
    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
  }
})");
}  // namespace

TEST_CASE("selectors: label selector operators") {
  json o = labelled({{"app", "raydog"}, {"tier", "head"}});
  auto check = [&](const std::string& sel) {
    auto s = LabelSelector::parse(sel);
    REQUIRE_MESSAGE(s.ok(), sel);
    return s->matches(o);
  };
  CHECK(check(""));
  CHECK(check("app=raydog"));
  CHECK(check("app==raydog"));
  CHECK_FALSE(check("app!=raydog"));
  CHECK(check("app"));
  CHECK_FALSE(check("!app"));
  CHECK(check("!missing"));
  CHECK(check("tier in (head,worker)"));
  CHECK_FALSE(check("tier notin (head, worker)"));
  CHECK(check("app=raydog,tier=head"));
  CHECK_FALSE(check("app=raydog,tier=worker"));
  CHECK(check("missing!=x"));
  auto bad = LabelSelector::parse("app=(");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == 400);
}

TEST_CASE("selectors: field selectors - unsupported fields are 400") {
  json ev = {
      {"metadata", {{"name", "e1"}, {"namespace", "default"}}},
      {"involvedObject", {{"kind", "RayDogCluster"}, {"name", "x"}, {"uid", "u1"}, {"namespace", "default"}}},
      {"reason", "Scaled"},
      {"source", {{"component", "raydog-operator"}}},
      {"type", "Normal"}};
  auto s = FieldSelector::parse(
      "involvedObject.kind=RayDogCluster,involvedObject.uid=u1,involvedObject.name=x,involvedObject."
      "namespace=default",
      "", "Event");
  REQUIRE(s.ok());
  CHECK(s->matches(ev));
  auto src = FieldSelector::parse("source=raydog-operator,type!=Warning", "", "Event");
  REQUIRE(src.ok());
  CHECK(src->matches(ev));
  auto other = FieldSelector::parse("involvedObject.uid=u2", "", "Event");
  REQUIRE(other.ok());
  CHECK_FALSE(other->matches(ev));
  auto name = FieldSelector::parse("metadata.name==x", "raydog.io", "RayDogCluster");
  REQUIRE(name.ok());
  CHECK(name->matches(labelled(json::object())));
  auto bad = FieldSelector::parse("spec.replicas=3", "raydog.io", "RayDogCluster");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == 400);
  CHECK(bad.error().message == "field label not supported: spec.replicas");
}

TEST_CASE("schema: pruning removes unknown fields but keeps preserved ones") {
  json o = {{"apiVersion", "raydog.io/v1alpha1"},
            {"kind", "RayDogCluster"},
            {"metadata", {{"name", "x"}, {"anything", 1}}},
            {"spec",
             {{"replicas", 1},
              {"foo", 2},
              {"extra", {{"free", "form"}}},
              {"labels", {{"a", "b"}}},
              {"workerPools", {{{"name", "cpu"}, {"bogus", true}}}}}},
            {"junk", 1}};
  auto pruned = prune(o, kSchema);
  CHECK(pruned == std::vector<std::string>{"junk", "spec.foo", "spec.workerPools[0].bogus"});
  CHECK_FALSE(o.contains("junk"));
  CHECK(o["spec"]["extra"]["free"] == "form");
  CHECK(o["spec"]["labels"]["a"] == "b");
  CHECK(o["metadata"]["anything"] == 1);
}

TEST_CASE("schema: defaults are applied recursively also inside list items") {
  json o = {{"spec", {{"yellowdog", {{"namespace", "ray"}}}, {"workerPools", {{{"name", "cpu"}}}}}}};
  apply_defaults(o, kSchema);
  CHECK(o["spec"]["replicas"] == 1);
  CHECK(o["spec"]["suspend"] == false);
  CHECK(o["spec"]["deletionPolicy"] == "Delete");
  CHECK(o["spec"]["yellowdog"]["apiURL"] == "https://api.yellowdog.ai");
  CHECK(o["spec"]["workerPools"][0]["nodes"] == 1);
  CHECK_FALSE(o.contains("status"));
}

TEST_CASE("schema: validation messages name the field like the real server") {
  json o = {
      {"spec",
       {{"replicas", "three"},
        {"deletionPolicy", "Keep"},
        {"yellowdog", {{"namespace", ""}}},
        {"workerPools", {{{"name", "cpu"}, {"nodes", -1}}, {{"name", "cpu"}}, {{"name", "Bad_Name"}}}}}}};
  auto errs = validate(o, kSchema);
  std::vector<std::string> msgs;
  for (const auto& e : errs) msgs.push_back(e.field + ": " + e.detail);
  auto has = [&](const std::string& m) { return std::find(msgs.begin(), msgs.end(), m) != msgs.end(); };
  CHECK(has(
      "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\""));
  CHECK(has("spec.deletionPolicy: Unsupported value: \"Keep\": supported values: \"Delete\", \"Orphan\""));
  CHECK(
      has("spec.yellowdog.namespace: Invalid value: \"\": spec.yellowdog.namespace in body should be at "
          "least 1 chars long"));
  CHECK(
      has("spec.workerPools[0].nodes: Invalid value: -1: spec.workerPools[0].nodes in body should be greater "
          "than or equal to 0"));
  CHECK(has("spec.workerPools[1]: Duplicate value: {\"name\":\"cpu\"}"));
  CHECK(
      has("spec.workerPools[2].name: Invalid value: \"Bad_Name\": spec.workerPools[2].name in body should "
          "match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"));
  json missing = {{"spec", json::object()}};
  auto req = validate(missing, kSchema);
  REQUIRE(req.size() == 1);
  CHECK(req[0].field == "spec.yellowdog");
  CHECK(req[0].detail == "Required value");
  CHECK(req[0].reason == "FieldValueRequired");
  json many = {{"spec",
                {{"yellowdog", {{"namespace", "r"}}},
                 {"workerPools", {{{"name", "a"}}, {{"name", "b"}}, {{"name", "c"}}, {{"name", "d"}}}}}}};
  auto too_many = validate(many, kSchema);
  REQUIRE(too_many.size() == 1);
  CHECK(too_many[0].detail == "Too many: 4: must have at most 3 items");
}

TEST_CASE("status: 422 message joins several field errors") {
  auto e = invalid("RayDogCluster.raydog.io", "raydog.io", "RayDogCluster", "x",
                   {{"FieldValueRequired", "spec.a", "Required value"},
                    {"FieldValueInvalid", "spec.b", "Invalid value: 1: bad"}});
  CHECK(e.message ==
        "RayDogCluster.raydog.io \"x\" is invalid: [spec.a: Required value, spec.b: Invalid value: 1: bad]");
  json s = status_json(e);
  CHECK(s["kind"] == "Status");
  CHECK(s["code"] == 422);
  CHECK(s["details"]["causes"].size() == 2);
  CHECK(s["details"]["kind"] == "RayDogCluster");
}
