#pragma once
// Durations as users write them in manifests (Go's time.ParseDuration syntax: "90s", "10m", "1h30m",
// "1.5h", "300ms") and as YellowDog wants them (ISO-8601, "PT10M").
#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "controller/util/result.hpp"

namespace raydog::api {

using Nanos = std::chrono::nanoseconds;

// Go syntax: an optional sign, then one or more <decimal number><unit> pairs, units ns, us (or µs/μs),
// ms, s, m, h; "0" alone is zero. Overflow of int64 nanoseconds (~292 years) is an error.
// The error string says what is wrong ("missing unit in duration \"10\"").
Result<Nanos, std::string> parse_go_duration(std::string_view s);

// Go's Duration.String(): "1h30m0s", "10m0s", "1.5s", "300ms", "0s".
std::string format_go_duration(Nanos d);

// ISO-8601 duration in the form Java's Duration.toString() prints and YellowDog accepts: "PT10M",
// "PT1H30M", "PT24H", "PT1.5S", "PT0S"; hours are not folded into days. Negative durations get a leading
// "-" on each component ("PT-1M"), as Java does; the operator never sends one.
std::string format_iso8601_duration(Nanos d);

// ISO-8601 durations as YellowDog returns them: [-]P[nD][T[nH][nM][n[.f]S]] ("P0D", "PT3M", "P1DT2H30S",
// "PT1.5S"). Days are 24 hours; years/months/weeks are rejected (not exact lengths).
Result<Nanos, std::string> parse_iso8601_duration(std::string_view s);

// A Go duration from a spec (spec.lifetime, spec.buildTimeout, spec.daliuge.maxDeferral): parsed once, when
// it is decoded, and kept with the text the user wrote (encode gives the text back, so a manifest round-trips
// exactly, and messages quote it). Converts from a string, so tests and defaults can write "10m".
class Duration {
 public:
  Duration() = default;
  Duration(std::string text);  // NOLINT(google-explicit-constructor): "10m" is a Duration
  Duration(const char* text) : Duration(std::string(text)) {}       // NOLINT(google-explicit-constructor)
  Duration(std::string_view text) : Duration(std::string(text)) {}  // NOLINT(google-explicit-constructor)

  const std::string& text() const { return text_; }
  // The value, or nullopt when the text is not a Go duration (error() says why; validation reports it).
  const std::optional<Nanos>& parsed() const { return parsed_; }
  const std::string& error() const { return error_; }

  bool operator==(const Duration& other) const { return text_ == other.text_; }  // the value follows the text
  // Messages quote the text as written: "spec.lifetime " + lifetime + " is over".
  friend std::string operator+(std::string lhs, const Duration& d) { return lhs += d.text_; }
  friend std::ostream& operator<<(std::ostream& out, const Duration& d) { return out << d.text_; }

 private:
  std::string text_;
  std::optional<Nanos> parsed_;
  std::string error_;
};

}  // namespace raydog::api
