#include "controller/daliuge/dim_wire.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>

namespace raydog::daliuge {

using nlohmann::json;

std::optional<std::vector<std::string>> parse_node_list(std::string_view body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(j.size());
  for (const auto& n : j) {
    if (!n.is_string()) return std::nullopt;
    out.push_back(n.get<std::string>());
  }
  return out;
}

std::optional<bool> parse_sessions_active(std::string_view body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  for (const auto& s : j) {
    if (!s.is_object()) continue;
    const auto status = s.find("status");
    if (status == s.end() || !status->is_object()) continue;
    for (const auto& state : *status) {
      // Compared as a 64-bit value: a huge number is simply not a live state.
      if (state.is_number_integer() && state.get<std::int64_t>() >= 0 && state.get<std::int64_t>() <= 3) return true;
    }
  }
  return false;
}

}  // namespace raydog::daliuge
