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

// Found by fuzz_yaml_json: yaml-cpp passes invalid UTF-8 through, and nlohmann's dump() then throws.
TEST_CASE("yaml_to_json refuses invalid UTF-8 and control characters with their position") {
  // A leading NUL made yaml-cpp read the stream as UTF-32 and invent characters (fuzz_yaml_json).
  auto nul = raydog::yaml_to_json(std::string_view("\0\0\0 v\n", 6));
  REQUIRE_FALSE(nul.ok());
  CHECK(nul.error().message == "line 1, column 1: control character 0x00 is not allowed in YAML");
  CHECK(raydog::yaml_to_json("a: \"tab\there\"\r\nb: 1\n").ok());
  for (std::string_view bad : {std::string_view("a: b\nc: d\xff\n"), std::string_view("a: b\nc: \xc0\xaf\n"),
                               std::string_view("a: b\nc: \xed\xa0\x80\n"), std::string_view("a: b\nc: \xe2\x82\n")}) {
    auto one = raydog::yaml_to_json(bad);
    REQUIRE_FALSE(one.ok());
    CHECK(one.error().message.rfind("line 2, column ", 0) == 0);
    CHECK(one.error().message.find("invalid UTF-8") != std::string::npos);
    CHECK_FALSE(raydog::yaml_documents_to_json(bad).ok());
  }
  auto fine = raydog::yaml_to_json("name: \xc3\xa9t\xc3\xa9 \xf0\x9f\x90\xb6\n");  // "été 🐶"
  REQUIRE(fine.ok());
  CHECK((*fine)["name"] == "\xc3\xa9t\xc3\xa9 \xf0\x9f\x90\xb6");
}

// Found by fuzz_kubeconfig and fuzz_yaml_json.
TEST_CASE("yaml_to_json keeps numbers JSON cannot carry as text, and bounds alias expansion") {
  auto j = raydog::yaml_to_json("hex: 0xFFFFFFFFFFFFFFFFFFFF\noct: 0o7777777777777777777777777\nbig: 1e999\nok: 0x1F\n");
  REQUIRE(j.ok());
  CHECK((*j)["hex"] == "0xFFFFFFFFFFFFFFFFFFFF");
  CHECK((*j)["oct"] == "0o7777777777777777777777777");
  CHECK((*j)["big"] == "1e999");
  CHECK((*j)["ok"] == 31);
  // Nine levels of ten aliases: a billion values from a few hundred bytes.
  std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string p = "*a" + std::to_string(i - 1);
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p + "," + p + "," + p + "," + p + "," + p +
              "," + p + "," + p + "," + p + "," + p + "," + p + "]\n";
  }
  auto bomb = raydog::yaml_to_json(laughs);
  REQUIRE_FALSE(bomb.ok());
  CHECK(bomb.error().message.find("expands to more than 1000000 values") != std::string::npos);
}

// Found by fuzz_yaml_json: yaml-cpp 0.7's LoadAll never returns on a stream starting with a stray ','.
TEST_CASE("yaml_documents_to_json splits at --- lines itself and returns on a stray comma") {
  auto r = raydog::yaml_documents_to_json(",,\n");  // returns at all (yaml-cpp's Load reads it as null)
  REQUIRE(r.ok());
  CHECK(r->empty());
  auto docs = raydog::yaml_documents_to_json("a: 1\n---\n\n--- \nb: [2, 3]\n...\n---\nc: x\n");
  REQUIRE(docs.ok());
  REQUIRE(docs->size() == 3);
  CHECK((*docs)[1]["b"][1] == 3);
  auto bad = raydog::yaml_documents_to_json("a: 1\n---\nb: 2\nc: [\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.rfind("line ", 0) == 0);
  CHECK(bad.error().message.rfind("line 1,", 0) != 0);  // counted in the whole stream, not the document
}

// Found by fuzz_yaml_json: a NUL written as a plain scalar did not read back.
TEST_CASE("json_to_yaml double-quotes strings with control characters, so they read back") {
  for (const std::string& s : {std::string("\0\0\0 v", 6), std::string("tab\there"), std::string("cr\r\nlf"),
                              std::string(" lead\nline"), std::string("\x7f")}) {
    const nlohmann::json j = {{"k", s}};
    const std::string yaml = raydog::json_to_yaml(j);
    auto back = raydog::yaml_to_json(yaml);
    INFO(yaml);
    REQUIRE(back.ok());
    CHECK(*back == j);
  }
}

// Found by fuzz_yaml_json: a recursive alias is a cycle (stack overflow); a \uD800 escape a lone surrogate.
TEST_CASE("yaml_to_json refuses recursive aliases and escapes that unescape to invalid UTF-8") {
  auto cycle = raydog::yaml_to_json("a: &x {b: *x}\n");
  REQUIRE_FALSE(cycle.ok());
  CHECK(cycle.error().message.find("nesting deeper than 256 levels") != std::string::npos);
  auto surrogate = raydog::yaml_to_json("a: \"\\uD800\"\n");
  REQUIRE_FALSE(surrogate.ok());
  CHECK(surrogate.error().message.rfind("line 1, column ", 0) == 0);  // yaml-cpp's words or ours
  auto fine = raydog::yaml_to_json("a: \"\\u00e9\\t\"\n");
  REQUIRE(fine.ok());
  CHECK((*fine)["a"] == "\xc3\xa9\t");
}
