#pragma once
// The default Ray node task scripts (scripts/ray-{head,worker,observability}.sh) and the default node
// userdata (scripts/node-userdata.sh), embedded into the binary at build time: core.cmake reads the files
// into a generated header, so `scripts/` holds the one copy.
#include <string_view>

#include "api/names.hpp"

namespace raydog::reconcile::scripts {

std::string_view head();
std::string_view worker();
std::string_view observability();
// Ubuntu 22.04 node setup: Ray venv at /opt/yellowdog/agent/venv, the DALiuGE engine at $DLG_VERSION if set.
std::string_view userdata_script();
std::string_view default_script(api::names::TaskKind kind);

}  // namespace raydog::reconcile::scripts
