// Runs manifests/argocd/health.lua (the Argo CD health check) in a real Lua 5.4 interpreter against the
// status examples in manifests/argocd/testdata: each file holds `object` (what Argo CD passes as `obj`)
// and `expected` (the health status and message the script must return).
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "controller/util/yaml_json.hpp"
#include "test/support/process.hpp"

namespace {

using nlohmann::json;

std::string lua_string(const std::string& s) {
  std::ostringstream out;
  out << '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out << '\\' << c;
    else if (c < 0x20) out << '\\' << static_cast<int>(c);
    else out << c;
  }
  out << '"';
  return out.str();
}

// A JSON value as a Lua table constructor (arrays 1-based, as Argo CD's JSON->Lua conversion makes them).
std::string to_lua(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "nil";
    case json::value_t::boolean: return j.get<bool>() ? "true" : "false";
    case json::value_t::string: return lua_string(j.get<std::string>());
    case json::value_t::array: {
      std::string out = "{";
      for (const auto& item : j) out += to_lua(item) + ",";
      return out + "}";
    }
    case json::value_t::object: {
      std::string out = "{";
      for (auto it = j.begin(); it != j.end(); ++it) out += "[" + lua_string(it.key()) + "]=" + to_lua(it.value()) + ",";
      return out + "}";
    }
    default: return j.dump();
  }
}

}  // namespace

TEST_CASE("the Argo CD health check maps every status example to the expected health") {
  namespace fs = std::filesystem;
  const std::string script = raydog::test::source_path("manifests/argocd/health.lua");
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(raydog::test::source_path("manifests/argocd/testdata"))) {
    CAPTURE(entry.path().filename().string());
    auto doc = raydog::yaml_to_json(raydog::test::read_file(entry.path().string()));
    REQUIRE(doc.ok());
    raydog::test::TempDir dir;
    const std::string harness = dir.file("harness.lua");
    raydog::test::write_file(harness, "obj = " + to_lua((*doc)["object"]) + "\nlocal hs = dofile(" +
                                          lua_string(script) + ")\nio.write(hs.status, '\\n', hs.message or '')\n");
    auto r = raydog::test::run_command({"lua5.4", harness});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto nl = r.out.find('\n');
    REQUIRE(nl != std::string::npos);
    CHECK(r.out.substr(0, nl) == (*doc)["expected"]["status"].get<std::string>());
    CHECK(r.out.substr(nl + 1) == (*doc)["expected"]["message"].get<std::string>());
    ++cases;
  }
  CHECK(cases >= 8);
}
