#pragma once
// Small metadata helpers shared by the store and the request layer: uids, timestamps, name rules.
#include <chrono>
#include <optional>
#include <string>

namespace raydog::emulator {

std::string new_uid();
// RFC 3339 UTC with seconds precision ("2025-05-01T12:00:00Z").
std::string format_time(std::chrono::system_clock::time_point t);
// With 6 fractional digits (MicroTime).
std::string format_micro_time(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text);
// generateName suffix: 5 chars from "bcdfghjklmnpqrstvwxz2456789".
std::string random_suffix();

// Empty when valid, else the real server's explanation.
std::string check_dns_subdomain(const std::string& name);
std::string check_dns_label(const std::string& name);

}  // namespace raydog::emulator
