#pragma once
// Small metadata helpers shared by the store and the request layer: uids, timestamps, name rules.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "controller/util/time.hpp"

namespace raydog::emulator {

std::string new_uid();
// metav1.Time ("2025-05-01T12:00:00Z") and MicroTime (six fractional digits): the project's one RFC 3339
// implementation (controller/util/time.hpp), so the emulator and the operator read each other's times alike.
inline std::string format_time(std::chrono::system_clock::time_point t) {
  return format_rfc3339(t, 0);
}
inline std::string format_micro_time(std::chrono::system_clock::time_point t) {
  return format_rfc3339(t, 6);
}
inline std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view text) {
  return parse_rfc3339(text);
}
// generateName suffix: 5 chars from "bcdfghjklmnpqrstvwxz2456789".
std::string random_suffix();

// Empty when valid, else the real server's explanation.
std::string check_dns_subdomain(const std::string& name);
std::string check_dns_label(const std::string& name);

}  // namespace raydog::emulator
