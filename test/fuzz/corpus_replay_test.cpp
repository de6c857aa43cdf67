// Replays every seed and every reproducer under test/fuzz/corpus/<target>/ through its target, built with
// the normal compiler and sanitizers: a crash the fuzzer once found stays fixed, and the seeds stay valid
// inputs. One test case per target, so ctest names the one that fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

#include "test/fuzz/targets.hpp"
#include "test/support/process.hpp"

namespace fs = std::filesystem;
using raydog::fuzz::all_targets;

namespace {

// Runs every file of the target's corpus; returns how many.
std::size_t replay(const std::string& name) {
  const auto& targets = all_targets();
  auto it = std::find_if(targets.begin(), targets.end(), [&](const auto& t) { return name == t.name; });
  REQUIRE(it != targets.end());
  const fs::path dir = fs::path(raydog::test::source_path("test/fuzz/corpus")) / name;
  REQUIRE_MESSAGE(fs::is_directory(dir), dir.string() << " is missing: every target has a seed corpus");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(file.string());
    CHECK(it->run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) == 0);
  }
  return files.size();
}

}  // namespace

TEST_CASE("fuzz corpus: every target has a seed corpus, and every corpus a target") {
  std::set<std::string> registered, listed, folders;
  for (const auto& t : all_targets()) registered.insert(t.name);
  std::istringstream names(RAYDOG_FUZZ_TARGET_NAMES);
  for (std::string n; std::getline(names, n, ',');) listed.insert(n);
  for (const auto& entry : fs::directory_iterator(raydog::test::source_path("test/fuzz/corpus")))
    if (entry.is_directory()) folders.insert(entry.path().filename().string());
  CHECK(registered == listed);  // targets.cpp and CMakeLists.txt agree
  CHECK(registered == folders);
}

#define RAYDOG_REPLAY(target)                                    \
  TEST_CASE("fuzz corpus: " #target) {                           \
    const std::size_t n = replay(#target);                       \
    MESSAGE(#target << ": " << n << " inputs replayed");         \
    CHECK(n >= 3);                                               \
  }
RAYDOG_REPLAY(kubeconfig)
RAYDOG_REPLAY(raydogcluster)
RAYDOG_REPLAY(yaml_json)
RAYDOG_REPLAY(yellowdog_model)
RAYDOG_REPLAY(sse)
RAYDOG_REPLAY(dim_nodes)
RAYDOG_REPLAY(durations)
RAYDOG_REPLAY(http_response)
RAYDOG_REPLAY(egress)
