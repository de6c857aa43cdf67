#pragma once
// Time on the wire, once for the whole project: RFC 3339 timestamps (Kubernetes Time/MicroTime, YellowDog's
// millisecond timestamps, the simulator) and ISO-8601 durations (YellowDog's "PT3M", "P1DT2H30S").
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace raydog {

using SystemTime = std::chrono::system_clock::time_point;

// UTC with 'Z' and exactly `fraction_digits` (0, 3 or 6) fractional digits, rounded down:
// 0 -> "2025-05-01T12:00:00Z" (Kubernetes Time), 3 -> "...00.123Z" (YellowDog), 6 -> "...00.123456Z"
// (Kubernetes MicroTime).
std::string format_rfc3339(SystemTime t, int fraction_digits = 0);
// "YYYY-MM-DD(T|t| )HH:MM:SS[(.|,)digits](Z|z|+HH:MM|-HH:MM)": any number of fractional digits, kept to
// the clock's precision. nullopt when malformed, a field is out of range, or the instant is outside the
// clock's range (about 1678-2262).
std::optional<SystemTime> parse_rfc3339(std::string_view text);

// An HTTP date in the IMF-fixdate form every server sends (RFC 9110 §5.6.7: "Sun, 06 Nov 1994 08:49:37
// GMT"): the `Date` and `Retry-After` headers. nullopt when malformed.
std::optional<SystemTime> parse_http_date(std::string_view text);

// ISO-8601 duration in the day form (weeks, days) or the PT form (hours, minutes, fractional seconds),
// optionally signed. Years and months have no fixed length and are refused. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_iso_duration(std::string_view text);
// Always the PT form without a day part: "PT0S", "PT3M", "PT26H30S", "PT1.5S", "-PT1S".
std::string format_iso_duration(std::chrono::milliseconds d);

}  // namespace raydog
