#include "test/yellowdog-sim/time_util.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace raydog::ydsim {

std::optional<Millis> parse_cli_duration(std::string_view s) {
  std::size_t pos = 0;
  while (pos < s.size() && (std::isdigit(static_cast<unsigned char>(s[pos])) || s[pos] == '.')) ++pos;
  if (pos == 0) return std::nullopt;
  double v = std::strtod(std::string(s.substr(0, pos)).c_str(), nullptr);
  std::string_view unit = s.substr(pos);
  double scale;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60000;
  else if (unit == "h")
    scale = 3600000;
  else
    return std::nullopt;
  return Millis(static_cast<long long>(std::llround(v * scale)));
}

}  // namespace raydog::ydsim
