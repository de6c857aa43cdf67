#pragma once
// The DIM's answers as data (daliuge-integration.md §4): pure parsers the DIM client uses and the fuzzers
// exercise. Each returns nullopt when the body is not the JSON shape the DIM sends.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raydog::daliuge {

// GET /api/nodes: a JSON array of strings ("10.0.0.7:8000:5555:6666" or a bare host).
std::optional<std::vector<std::string>> parse_node_list(std::string_view body);
// GET /api/sessions: true when some session has a state 0-3 (PRISTINE..RUNNING) on some node (§4.8).
std::optional<bool> parse_sessions_active(std::string_view body);

}  // namespace raydog::daliuge
