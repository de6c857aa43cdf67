// The embedded node userdata (scripts/node-userdata.sh) run for real with stand-in apt-get and python3 (the
// venv it creates holds a recording `python`): the Ray venv at RAY_VENV, `ray[default]`, and
// `daliuge-engine==<version>` exactly when the operator inserts DLG_VERSION='<version>' after the shebang.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "controller/reconcile/scripts.hpp"
#include "test/support/process.hpp"

namespace fs = std::filesystem;
namespace rs = raydog::reconcile::scripts;
using raydog::test::TempDir;

namespace {

// Runs the userdata (with `insert` placed after its shebang line); returns the stand-ins' record.
std::string run_userdata(const TempDir& dir, const std::string& insert, int* exit_code) {
  std::string script(rs::userdata_script());
  auto nl = script.find('\n');
  REQUIRE(nl != std::string::npos);
  script.insert(nl + 1, insert);
  raydog::test::write_file(dir.file("userdata.sh"), script);
  const fs::path bin = dir.path() / "bin";
  fs::create_directories(bin);
  for (const char* name : {"apt-get", "python3", "curl"}) {
    fs::copy_file(raydog::test::source_path(std::string("test/e2e/scripts/standin/userdata/") + name),
                  bin / name, fs::copy_options::overwrite_existing);
    fs::permissions(bin / name, fs::perms::owner_all);
  }
  raydog::test::ProcessOptions po;
  po.env["PATH"] = bin.string() + ":/usr/bin:/bin";
  po.env["RAYDOG_STANDIN_LOG"] = dir.file("standin.log");
  po.env["RAY_VENV"] = dir.file("opt/yellowdog/agent/venv");
  po.env["AGENT_USER"] = "raydog-no-such-user";
  po.env["PROMETHEUS_HOME"] = dir.file("opt/prometheus");
  po.env["BIN_DIR"] = dir.file("usr/local/bin");
  if (const char* bad = std::getenv("STANDIN_BAD_CHECKSUM")) po.env["STANDIN_BAD_CHECKSUM"] = bad;
  auto r = raydog::test::run_command({"/bin/bash", dir.file("userdata.sh")}, po, std::chrono::seconds(60));
  INFO(r.out, r.err);
  *exit_code = r.exit_code;
  return raydog::test::read_file(dir.file("standin.log"));
}

}  // namespace

TEST_CASE(
    "scripts_e2e: the userdata installs Ray into the agent venv and DALiuGE only when DLG_VERSION is set") {
  SUBCASE("DALiuGE enabled: the operator's DLG_VERSION line after the shebang") {
    TempDir dir;
    int rc = -1;
    const std::string log = run_userdata(dir, "DLG_VERSION='6.6.0'\n", &rc);
    INFO(log);
    CHECK(rc == 0);
    CHECK(log.find("apt-get|install -y -q --no-install-recommends python3 python3-venv python3-pip") !=
          std::string::npos);
    CHECK(log.find("python3|-m venv " + dir.file("opt/yellowdog/agent/venv")) != std::string::npos);
    CHECK(log.find("venv-python|-m pip install --quiet ray[default]\n") != std::string::npos);
    CHECK(log.find("venv-python|-m pip install --quiet daliuge-engine==6.6.0\n") != std::string::npos);
    CHECK(fs::exists(dir.path() / "opt/yellowdog/agent/venv/bin/activate"));  // what the task scripts source
  }
  SUBCASE("DALiuGE off: no daliuge-engine") {
    TempDir dir;
    int rc = -1;
    const std::string log = run_userdata(dir, "", &rc);
    INFO(log);
    CHECK(rc == 0);
    CHECK(log.find("ray[default]") != std::string::npos);
    CHECK(log.find("daliuge") == std::string::npos);
  }
  SUBCASE("a prepared image that holds the pinned Ray installs nothing") {
    TempDir dir;
    const fs::path venv_bin = dir.path() / "opt/yellowdog/agent/venv/bin";
    fs::create_directories(venv_bin);
    raydog::test::write_file((venv_bin / "python").string(),
                             "#!/usr/bin/env bash\n"
                             "printf 'userdata|venv-python|%s\\n' \"$*\" >>\"$RAYDOG_STANDIN_LOG\"\n"
                             "[[ \"$1\" == -c ]] && echo 2.49.2\n"
                             "exit 0\n");
    fs::permissions(venv_bin / "python", fs::perms::owner_all);
    int rc = -1;
    const std::string log = run_userdata(dir, "RAY_VERSION='2.49.2'\n", &rc);
    INFO(log);
    CHECK(rc == 0);
    CHECK(log.find("apt-get") == std::string::npos);
    CHECK(log.find("pip install") == std::string::npos);
  }
  SUBCASE("observability: a Prometheus release, checked against its sha256sums.txt, linked into BIN_DIR") {
    TempDir dir;
    int rc = -1;
    std::string log = run_userdata(dir, "RAY_VERSION='2.49.2'\nPROMETHEUS_VERSION='2.53.4'\n", &rc);
    INFO(log);
    CHECK(rc == 0);
    CHECK(log.find("curl|https://github.com/prometheus/prometheus/releases/download/v2.53.4/prometheus-2.53.4.linux-") !=
          std::string::npos);
    CHECK(log.find("curl|https://github.com/prometheus/prometheus/releases/download/v2.53.4/sha256sums.txt") !=
          std::string::npos);
    auto v = raydog::test::run_command({dir.file("usr/local/bin/prometheus"), "--version"});
    CHECK(v.out.find("prometheus, version 2.53.4") != std::string::npos);
    CHECK(fs::exists(dir.path() / "usr/local/bin/promtool"));
    CHECK(log.find("grafana") == std::string::npos);  // only the observability node gets GRAFANA='true'
  }
  SUBCASE("a Prometheus release whose checksum does not match is refused") {
    TempDir dir;
    ::setenv("STANDIN_BAD_CHECKSUM", "1", 1);
    int rc = -1;
    const std::string log = run_userdata(dir, "PROMETHEUS_VERSION='2.53.4'\n", &rc);
    ::unsetenv("STANDIN_BAD_CHECKSUM");
    INFO(log);
    CHECK(rc != 0);
    CHECK(!fs::exists(dir.path() / "usr/local/bin/prometheus"));
  }
  SUBCASE("a pinned Ray version") {
    TempDir dir;
    int rc = -1;
    const std::string log = run_userdata(dir, "RAY_VERSION='2.9.3'\n", &rc);
    INFO(log);
    CHECK(rc == 0);
    CHECK(log.find("venv-python|-m pip install --quiet ray[default]==2.9.3\n") != std::string::npos);
  }
}
