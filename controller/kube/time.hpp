#pragma once
// Kubernetes timestamps: Time is RFC 3339 UTC with seconds ("2025-05-01T12:00:00Z"), MicroTime has six
// fractional digits ("2025-05-01T12:00:00.123456Z"). Parsing accepts any fraction and numeric offsets.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace raydog::kube {

using SystemTime = std::chrono::system_clock::time_point;

std::string format_time(SystemTime t);        // seconds precision
std::string format_micro_time(SystemTime t);  // microseconds
std::optional<SystemTime> parse_time(std::string_view text);

}  // namespace raydog::kube
