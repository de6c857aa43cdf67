#pragma once
// The default Ray node task scripts (scripts/ray-{head,worker,observability}.sh), embedded into the binary
// at build time: core.cmake reads the files into a generated .cpp, so `scripts/` holds the one copy.
#include <string_view>

#include "api/names.hpp"

namespace raydog::reconcile::scripts {

std::string_view head();
std::string_view worker();
std::string_view observability();
std::string_view default_script(api::names::TaskKind kind);

}  // namespace raydog::reconcile::scripts
