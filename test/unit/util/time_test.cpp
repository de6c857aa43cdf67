#include "controller/util/time.hpp"

#include <doctest/doctest.h>

#include <ctime>

using namespace std::chrono;
using raydog::format_iso_duration;
using raydog::format_rfc3339;
using raydog::parse_http_date;
using raydog::parse_iso_duration;
using raydog::parse_rfc3339;

namespace {
// What status times used to be written with (strftime of to_time_t): the byte-for-byte reference.
std::string strftime_reference(system_clock::time_point t) {
  std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
}  // namespace

TEST_CASE("time: RFC 3339 with 0, 3 and 6 fractional digits, rounded down") {
  const auto t = system_clock::from_time_t(1746100800) + microseconds(123456);  // 2025-05-01T12:00:00.123456Z
  CHECK(format_rfc3339(t) == "2025-05-01T12:00:00Z");
  CHECK(format_rfc3339(t, 3) == "2025-05-01T12:00:00.123Z");
  CHECK(format_rfc3339(t, 6) == "2025-05-01T12:00:00.123456Z");
  CHECK(format_rfc3339(system_clock::from_time_t(0)) == "1970-01-01T00:00:00Z");
  CHECK(format_rfc3339(system_clock::from_time_t(0) - milliseconds(1), 3) == "1969-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(system_clock::from_time_t(951782400)) == "2000-02-29T00:00:00Z");  // leap day
}

TEST_CASE("time: seconds form is byte-identical to the strftime form the status code writes") {
  for (long long s : {0LL, 1LL, 59LL, 86399LL, 951782400LL, 1746100800LL, 4102444799LL, 4102444800LL}) {
    for (auto extra : {nanoseconds(0), nanoseconds(1), nanoseconds(999'999'999)}) {
      const auto t = system_clock::from_time_t(static_cast<std::time_t>(s)) + extra;
      CAPTURE(s);
      CHECK(format_rfc3339(t) == strftime_reference(t));
    }
  }
}

TEST_CASE("time: RFC 3339 parsing: fractions, offsets, separators") {
  const auto base = system_clock::from_time_t(1746100800);
  CHECK(parse_rfc3339("2025-05-01T12:00:00Z") == base);
  CHECK(parse_rfc3339("2025-05-01t12:00:00z") == base);
  CHECK(parse_rfc3339("2025-05-01 12:00:00Z") == base);
  CHECK(parse_rfc3339("2025-05-01T14:30:00+02:30") == base);
  CHECK(parse_rfc3339("2025-05-01T10:00:00-02:00") == base);
  CHECK(parse_rfc3339("2025-05-01T12:00:00.5Z") == base + milliseconds(500));
  CHECK(parse_rfc3339("2025-05-01T12:00:00,25Z") == base + milliseconds(250));
  CHECK(parse_rfc3339("2025-05-01T12:00:00.123456789Z") == base + nanoseconds(123456789));
  CHECK(parse_rfc3339("2025-05-01T12:00:00.1234567891Z") == base + nanoseconds(123456789));
  const auto t = base + microseconds(123456);
  for (int digits : {0, 3, 6}) {
    const auto back = parse_rfc3339(format_rfc3339(t, digits));
    REQUIRE(back);
    CHECK(format_rfc3339(*back, digits) == format_rfc3339(t, digits));
  }
}

TEST_CASE("time: malformed or out-of-range timestamps are rejected") {
  for (const char* s :
       {"", "2025-05-01", "2025-05-01T12:00:00", "2025-13-01T12:00:00Z", "2025-00-01T12:00:00Z",
        "2025-05-32T12:00:00Z", "2025-05-01T24:00:00Z", "2025-05-01T12:60:00Z", "2025-05-01T12:00:00.Z",
        "2025-05-01T12:00:00Zjunk", "2025-05-01T12:00:00+0200", "2025-05-01T12:00:00+02",
        "2025-5-01T12:00:00Z", "+025-05-01T12:00:00Z", "yesterday"}) {
    CAPTURE(s);
    CHECK_FALSE(parse_rfc3339(s).has_value());
  }
}

TEST_CASE("time: ISO-8601 durations") {
  CHECK(parse_iso_duration("P0D") == 0ms);
  CHECK(parse_iso_duration("PT3M") == 3min);
  CHECK(parse_iso_duration("P1DT2H30S") == 24h + 2h + 30s);
  CHECK(parse_iso_duration("PT1.5S") == 1500ms);
  CHECK(parse_iso_duration("PT1,5S") == 1500ms);
  CHECK(parse_iso_duration("P2W") == 14 * 24h);
  CHECK(parse_iso_duration("-PT1S") == -1s);
  for (const char* s : {"", "P", "PT", "P1Y", "P1M", "PT5", "PT5X", "PT1.2.3S", "3m", "PTT1S"}) {
    CAPTURE(s);
    CHECK_FALSE(parse_iso_duration(s).has_value());
  }
  CHECK(format_iso_duration(0ms) == "PT0S");
  CHECK(format_iso_duration(26h + 30s) == "PT26H30S");
  CHECK(format_iso_duration(1h + 30min) == "PT1H30M");
  CHECK(format_iso_duration(1500ms) == "PT1.5S");
  CHECK(format_iso_duration(-1s) == "-PT1S");
  for (auto d : {0ms, 1ms, 999ms, 61001ms, milliseconds(90061001)})
    CHECK(parse_iso_duration(format_iso_duration(d)) == d);
}

// Found by fuzz_durations: year 4436 overflowed the nanosecond clock (undefined behaviour).
TEST_CASE("parse_rfc3339 refuses instants the nanosecond clock cannot hold") {
  CHECK_FALSE(parse_rfc3339("4436-01-01T00:00:00Z").has_value());
  CHECK_FALSE(parse_rfc3339("9999-12-31T23:59:59Z").has_value());
  CHECK_FALSE(parse_rfc3339("0001-01-01T00:00:00Z").has_value());
  CHECK(parse_rfc3339("2262-01-01T00:00:00Z").has_value());
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z").has_value());
}

// Found by fuzz_durations: llround of a huge duration, and negating the most negative one, were undefined.
TEST_CASE("ISO durations: absurd magnitudes are refused, the extremes format without overflow") {
  CHECK_FALSE(raydog::parse_iso_duration("PT99999999999999999999H").has_value());
  CHECK_FALSE(raydog::parse_iso_duration("-P99999999999999D").has_value());
  CHECK(raydog::parse_iso_duration("P365D") == std::chrono::hours(24 * 365));
  const std::string lowest = raydog::format_iso_duration(std::chrono::milliseconds::min());
  CHECK(lowest.rfind("-PT", 0) == 0);
  CHECK(lowest == "-PT2562047788015H12M55.808S");
}

TEST_CASE("time: HTTP dates (the Date and Retry-After headers)") {
  const auto t = parse_http_date("Sun, 06 Dec 2026 23:59:01 GMT");
  REQUIRE(t.has_value());
  CHECK(format_rfc3339(*t) == "2026-12-06T23:59:01Z");
  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == parse_rfc3339("1994-11-06T08:49:37Z"));
  for (const char* bad : {"", "yesterday", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 31 Feb 2026 00:00:00 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"})
    CHECK_MESSAGE(!parse_http_date(bad).has_value(), bad);
}
