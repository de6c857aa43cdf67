// Static checks of the node scripts: shellcheck (scripts and the test stand-ins), the embedded copies are
// the files, and no script talks to the DIM's node API (the operator is the only writer).
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "controller/reconcile/scripts.hpp"
#include "test/support/process.hpp"

namespace rs = raydog::reconcile::scripts;
using raydog::test::read_file;
using raydog::test::source_path;

TEST_CASE("scripts_static: shellcheck passes on every node script, the userdata and the stand-ins") {
  std::vector<std::string> argv = {"shellcheck"};
  for (const char* s :
       {"scripts/ray-head.sh", "scripts/ray-worker.sh", "scripts/ray-observability.sh",
        "scripts/node-userdata.sh", "scripts/demo.sh", "test/e2e/scripts/standin/ray",
        "test/e2e/scripts/standin/dlg", "test/e2e/scripts/standin/curl",
        "test/e2e/scripts/standin/prometheus", "test/e2e/scripts/standin/grafana",
        "test/e2e/scripts/standin/userdata/apt-get", "test/e2e/scripts/standin/userdata/python3",
        "test/e2e/scripts/standin/userdata/curl", "plugin/kubectl-raydog"})
    argv.push_back(source_path(s));
  auto r = raydog::test::run_command(argv);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("scripts_static: the operator embeds the files byte for byte, userdata included") {
  CHECK(std::string(rs::head()) == read_file(source_path("scripts/ray-head.sh")));
  CHECK(std::string(rs::worker()) == read_file(source_path("scripts/ray-worker.sh")));
  CHECK(std::string(rs::observability()) == read_file(source_path("scripts/ray-observability.sh")));
  const std::string userdata(rs::userdata_script());
  CHECK(userdata == read_file(source_path("scripts/node-userdata.sh")));
  CHECK(userdata.rfind("#!/usr/bin/env bash\n", 0) == 0);  // the operator inserts DLG_VERSION after it
  CHECK(userdata.find("/opt/yellowdog/agent/venv") != std::string::npos);
  CHECK(userdata.find("\"ray[default]\"") != std::string::npos);
  CHECK(userdata.find("\"daliuge-engine==${DLG_VERSION}\"") != std::string::npos);
}

TEST_CASE(
    "scripts_static: no script calls the DIM's node API or uses the manager flags the reference forbids") {
  for (const char* s : {"scripts/ray-head.sh", "scripts/ray-worker.sh", "scripts/ray-observability.sh",
                        "scripts/node-userdata.sh"}) {
    // The commands only (comments may, and do, name what not to use); each `dlg dim|nm` command with its
    // continuation lines.
    std::string text, dlg_commands;
    std::istringstream in(read_file(source_path(s)));
    bool continued = false;
    for (std::string line; std::getline(in, line);) {
      auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#') continue;
      text += line + "\n";
      if (continued || line.find("dlg dim ") != std::string::npos ||
          line.find("dlg nm ") != std::string::npos) {
        dlg_commands += line + "\n";
        continued = !line.empty() && line.back() == '\\';
      }
    }
    INFO(s, "\n", dlg_commands);
    CHECK(text.find("/api/node") == std::string::npos);
    for (const char* forbidden : {" -d ", " -N ", " -w ", " --watchdog", " -s "})
      CHECK(dlg_commands.find(forbidden) == std::string::npos);
    if (std::string(s) == "scripts/ray-head.sh")
      CHECK(dlg_commands.find("dlg dim -H 0.0.0.0") != std::string::npos);
    if (std::string(s) == "scripts/ray-worker.sh")
      CHECK(dlg_commands.find("dlg nm -H 0.0.0.0") != std::string::npos);
  }
}
