#include <doctest/doctest.h>

#include "controller/util/yaml_json.hpp"

using nlohmann::json;
using raydog::json_to_yaml;
using raydog::yaml_documents_to_json;
using raydog::yaml_to_json;

TEST_CASE("yaml_to_json resolves plain scalars by the core schema and keeps quoted ones as strings") {
  auto r = yaml_to_json(R"(
a: 1
b: "1"
c: true
d: 'true'
e: null
f: ~
g: 1.5
h: 90s
i: -3
j: [x, 2]
k: {}
l: ""
)");
  REQUIRE(r.ok());
  const json& j = *r;
  CHECK(j["a"] == 1);
  CHECK(j["b"] == "1");
  CHECK(j["c"] == true);
  CHECK(j["d"] == "true");
  CHECK(j["e"].is_null());
  CHECK(j["f"].is_null());
  CHECK(j["g"] == 1.5);
  CHECK(j["h"] == "90s");
  CHECK(j["i"] == -3);
  CHECK(j["j"] == json::array({"x", 2}));
  CHECK(j["k"] == json::object());
  CHECK(j["l"] == "");
}

TEST_CASE("yaml_to_json reports the position of a syntax error") {
  auto r = yaml_to_json("a: [1, 2\nb: 3\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("line") != std::string::npos);
}

TEST_CASE("yaml_documents_to_json splits a stream and skips empty documents") {
  auto r = yaml_documents_to_json("---\na: 1\n---\n---\nb: 2\n");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[1]["b"] == 2);
}

TEST_CASE("json_to_yaml round-trips, quoting strings that would change type") {
  json j = {{"s", "true"}, {"n", "123"}, {"e", ""}, {"b", false}, {"i", 7}, {"f", 0.25},
            {"multi", "line1\nline2\n"}, {"colon", "a: b"}, {"arr", json::array({"-x", "y"})},
            {"empty", json::object()}, {"list", json::array()}, {"nul", nullptr}};
  std::string y = json_to_yaml(j);
  auto back = yaml_to_json(y);
  REQUIRE(back.ok());
  CHECK(*back == j);
}
