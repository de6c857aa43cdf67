#pragma once
// Time on the wire (YellowDog API §2.1): ISO-8601 UTC timestamps with millisecond precision and 'Z', and
// ISO-8601 durations ("PT3M", "P1DT2H30S", "PT1.5S"). Plus the command line's short durations ("2s",
// "500ms").
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "controller/util/time.hpp"

namespace raydog::ydsim {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

// The wire formats are the project's one implementation (controller/util/time.hpp), so the simulator and
// the operator cannot drift apart.
// "2026-01-02T03:04:05.678Z"
inline std::string format_timestamp(TimePoint t) {
  return format_rfc3339(t, 3);
}
// Accepts any fractional precision and a 'Z' or "+hh:mm"/"-hh:mm" offset.
inline std::optional<TimePoint> parse_timestamp(std::string_view text) {
  return parse_rfc3339(text);
}

// ISO-8601 duration, both the day form and the PT form; fractional seconds allowed. nullopt when malformed.
using raydog::parse_iso_duration;
// Always the PT form without a day part (what the server most likely answers): "PT0S", "PT3M", "PT1H30M",
// "PT1.5S".
using raydog::format_iso_duration;

// The simulated clock: from the steady-clock reading `real_start` on, `scale` times faster than real time,
// starting at `sim_start`. Linux's steady clock (CLOCK_MONOTONIC) reads the same in every process of the
// machine, so a helper process given these three numbers keeps the simulator's time.
struct SimClock {
  TimePoint sim_start = Clock::now();
  std::chrono::steady_clock::time_point real_start = std::chrono::steady_clock::now();
  double scale = 1.0;
  TimePoint now() const {
    const auto scaled =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - real_start) * scale;
    return sim_start + std::chrono::duration_cast<Clock::duration>(scaled);
  }
};

// RFC 7231 IMF-fixdate, what an HTTP `Date` header carries: "Sun, 06 Dec 2026 23:59:01 GMT" (seconds
// rounded down).
std::string format_http_date(TimePoint t);

// Command-line durations: "2s", "500ms", "1m", "1h", "0"; a bare number means seconds.
std::optional<Millis> parse_cli_duration(std::string_view text);

}  // namespace raydog::ydsim
