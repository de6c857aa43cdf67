// No Docker engine runs on these machines, so the Dockerfile is checked statically: its stages, the non-root
// runtime user, and that the runtime stage installs exactly the Debian packages that own the shared
// libraries `raydog-operator` links (ldd + dpkg -S), beyond what bookworm-slim already has.
#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test/support/process.hpp"

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Packages a bookworm-slim image has, and the sanitizer runtimes of the test build.
const std::set<std::string> kBaseOrTooling = {"libc6", "libstdc++6", "libgcc-s1", "libasan8", "libubsan1",
                                              "libcrypt1", "libzstd1"};

}  // namespace

TEST_CASE("the Dockerfile builds in one stage and runs as non-root in a slim stage") {
  const std::string df = raydog::test::read_file(raydog::test::source_path("Dockerfile"));
  std::vector<std::string> froms;
  for (const auto& l : lines_of(df))
    if (l.rfind("FROM ", 0) == 0) froms.push_back(l);
  REQUIRE(froms.size() == 2);
  CHECK(froms[0] == "FROM debian:bookworm AS build");
  CHECK(froms[1] == "FROM debian:bookworm-slim AS runtime");
  CHECK(df.find("bash scripts/install-deps.sh") != std::string::npos);  // same packages as the dev machines
  CHECK(df.find("COPY --from=build /src/build/bin/raydog-operator") != std::string::npos);
  CHECK(std::regex_search(df, std::regex("\nUSER 65532:65532\n")));
}

TEST_CASE("the runtime stage installs exactly the packages of the libraries raydog-operator links") {
  const std::string df = raydog::test::read_file(raydog::test::source_path("Dockerfile"));
  auto runtime = df.substr(df.find("AS runtime"));
  std::smatch m;
  REQUIRE(std::regex_search(runtime, m, std::regex("apt-get install -y --no-install-recommends ([^\\\\&\n]+)")));
  std::set<std::string> listed;
  std::istringstream words(m[1].str());
  for (std::string w; words >> w;) listed.insert(w);
  listed.erase("ca-certificates");  // TLS trust store for api.yellowdog.ai, not a link dependency

  auto ldd = raydog::test::run_command({"ldd", raydog::test::bin_path("raydog-operator")});
  REQUIRE_MESSAGE(ldd.exit_code == 0, ldd.err);
  std::set<std::string> needed;
  std::regex so_line("=> (/[^ ]+) \\(");
  for (const auto& line : lines_of(ldd.out)) {
    std::smatch sm;
    if (!std::regex_search(line, sm, so_line)) continue;
    auto owner = raydog::test::run_command({"dpkg", "-S", sm[1].str()});
    if (owner.exit_code != 0) {  // /lib vs /usr/lib (merged /usr): ask for the other spelling
      std::string p = sm[1].str();
      p = p.rfind("/usr", 0) == 0 ? p.substr(4) : "/usr" + p;
      owner = raydog::test::run_command({"dpkg", "-S", p});
    }
    REQUIRE_MESSAGE(owner.exit_code == 0, "no package owns " << sm[1].str());
    std::string pkg = owner.out.substr(0, owner.out.find(':'));
    if (!kBaseOrTooling.count(pkg)) needed.insert(pkg);
  }
  // The image builds Release; the binary under test may be a sanitized Debug one. Release links jemalloc
  // (controller/util/allocator), which a sanitized build leaves to AddressSanitizer: required either way.
  // An unoptimised build keeps libboost_system, whose few calls Release inlines away: not in the image.
  if (!RAYDOG_TESTED_BINARY_LINKS_JEMALLOC) needed.insert("libjemalloc2");
  needed.erase("libboost-system1.74.0");
  CHECK(listed == needed);
}
