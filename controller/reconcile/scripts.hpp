#pragma once
// The default Ray node task scripts (scripts/ray-{head,worker,observability}.sh) and the default node
// userdata (scripts/node-userdata.sh), embedded into the binary at build time: core.cmake reads the files
// into a generated header, so `scripts/` holds the one copy.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/names.hpp"

namespace raydog::reconcile::scripts {

std::string_view head();
std::string_view worker();
std::string_view observability();
// Ubuntu 22.04 node setup: Ray venv at /opt/yellowdog/agent/venv, the DALiuGE engine at $DLG_VERSION if set.
std::string_view userdata_script();
std::string_view default_script(api::names::TaskKind kind);

// `script` with `KEY='value'` lines inserted right after its first line (the shebang), in order: how the
// operator passes settings to the built-in userdata. Values must be shell-safe (validated patterns).
std::string with_settings(std::string_view script, const std::vector<std::pair<std::string, std::string>>& settings);
// The built-in userdata every node kind gets when its spec gives none: userdata_script() with RAY_VERSION,
// then `setup` (node_setup() in desired.hpp: what this node kind needs beyond Ray).
std::string builtin_user_data(std::string_view ray_version,
                              const std::vector<std::pair<std::string, std::string>>& setup = {});

// The Prometheus release the built-in userdata installs where observability needs one (the head's metrics
// relay, the observability node): 2.53 is Prometheus's long-term-support line, with agent mode and the
// remote-write receiver; Ubuntu 22.04's own package (2.31) has neither.
inline constexpr std::string_view kPrometheusVersion = "2.53.4";

}  // namespace raydog::reconcile::scripts
