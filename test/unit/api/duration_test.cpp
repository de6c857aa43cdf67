#include <doctest/doctest.h>

#include "api/duration.hpp"

using namespace raydog::api;
using namespace std::chrono_literals;

TEST_CASE("duration: Go syntax parses like time.ParseDuration") {
  struct Case {
    const char* in;
    Nanos want;
  };
  // Expected values as Go computes them.
  const Case cases[] = {
      {"0", 0ns},
      {"5s", 5s},
      {"30s", 30s},
      {"1478s", 1478s},
      {"-5s", -5s},
      {"+5s", 5s},
      {"-0", 0ns},
      {"+0", 0ns},
      {"5.0s", 5s},
      {"5.6s", 5600ms},
      {"5.s", 5s},
      {".5s", 500ms},
      {"1.0s", 1s},
      {"1.00s", 1s},
      {"1.004s", 1004ms},
      {"1.0040s", 1004ms},
      {"100.00100s", 100001ms},
      {"10ns", 10ns},
      {"11us", 11us},
      {"12\xC2\xB5s", 12us},
      {"12\xCE\xBCs", 12us},
      {"13ms", 13ms},
      {"14s", 14s},
      {"15m", 15min},
      {"16h", 16h},
      {"3h30m", 3h + 30min},
      {"10.5s4m", 4min + 10500ms},
      {"-2m3.4s", -(2min + 3400ms)},
      {"1h2m3s4ms5us6ns", 1h + 2min + 3s + 4ms + 5us + 6ns},
      {"39h9m14.425s", 39h + 9min + 14425ms},
      {"52763797000ns", 52763797000ns},
      {"0.3333333333333333333h", 20min},
      {"1.5h", 90min},
      {"90s", 90s},
      {"24h", 24h},
      {"1h30m", 90min},
      {"300ms", 300ms},
      {"9223372036854775807ns", Nanos(INT64_MAX)},
      {"-9223372036854775808ns", Nanos(INT64_MIN)},
      {"0.100000000000000000000h", 6min},
  };
  for (const auto& c : cases) {
    auto got = parse_go_duration(c.in);
    REQUIRE_MESSAGE(got.ok(), c.in);
    CHECK_MESSAGE(got->count() == c.want.count(), c.in);
  }
}

TEST_CASE("duration: Go syntax errors") {
  struct Case {
    const char* in;
    const char* want;
  };
  const Case cases[] = {
      {"", "invalid duration \"\""},
      {"3", "missing unit in duration \"3\""},
      {"-", "invalid duration \"-\""},
      {"s", "invalid duration \"s\""},
      {".", "invalid duration \".\""},
      {"-.", "invalid duration \"-.\""},
      {".s", "invalid duration \".s\""},
      {"+.s", "invalid duration \"+.s\""},
      {"1d", "unknown unit \"d\" in duration \"1d\""},
      {"10x", "unknown unit \"x\" in duration \"10x\""},
      {"1h 30m", "unknown unit \"h \" in duration \"1h 30m\""},
      {"9223372036854775808ns", "invalid duration \"9223372036854775808ns\""},
      {"9223372036854775.808us", "invalid duration \"9223372036854775.808us\""},
      {"3000000h", "invalid duration \"3000000h\""},
      {"PT10M", "invalid duration \"PT10M\""},
  };
  for (const auto& c : cases) {
    auto got = parse_go_duration(c.in);
    REQUIRE_MESSAGE(!got.ok(), c.in);
    CHECK(got.error() == c.want);
  }
}

TEST_CASE("duration: Go formatting matches Duration.String") {
  struct Case {
    Nanos in;
    const char* want;
  };
  const Case cases[] = {
      {0ns, "0s"},
      {1ns, "1ns"},
      {1100ns, "1.1\xC2\xB5s"},
      {2200us, "2.2ms"},
      {3300ms, "3.3s"},
      {4min + 5s, "4m5s"},
      {4min + 5001ms, "4m5.001s"},
      {5h + 6min + 7001ms, "5h6m7.001s"},
      {8min + 1ns, "8m0.000000001s"},
      {Nanos(INT64_MAX), "2562047h47m16.854775807s"},
      {Nanos(INT64_MIN), "-2562047h47m16.854775808s"},
      {10min, "10m0s"},
      {24h, "24h0m0s"},
      {-90s, "-1m30s"},
  };
  for (const auto& c : cases) CHECK(format_go_duration(c.in) == c.want);
  // Parse(format(d)) == d.
  for (Nanos d : std::initializer_list<Nanos>{1ns, 999ns, 1us, 1500us, 10min, 90min, 24h, 1h + 1ns, -3s})
    CHECK(parse_go_duration(format_go_duration(d))->count() == d.count());
}

TEST_CASE("duration: ISO-8601 formatting for YellowDog") {
  CHECK(format_iso8601_duration(0ns) == "PT0S");
  CHECK(format_iso8601_duration(10min) == "PT10M");
  CHECK(format_iso8601_duration(90min) == "PT1H30M");
  CHECK(format_iso8601_duration(24h) == "PT24H");
  CHECK(format_iso8601_duration(1500ms) == "PT1.5S");
  CHECK(format_iso8601_duration(1h + 30s) == "PT1H30S");
  CHECK(format_iso8601_duration(3h + 2min + 1s + 5ms) == "PT3H2M1.005S");
  CHECK(format_iso8601_duration(1ns) == "PT0.000000001S");
  CHECK(format_iso8601_duration(-60s) == "PT-1M");
  // Go input -> YellowDog: the taskTimeout of `lifetime: 1.5h`.
  CHECK(format_iso8601_duration(*parse_go_duration("1.5h")) == "PT1H30M");
}

TEST_CASE("duration: ISO-8601 parsing of YellowDog's forms") {
  struct Case {
    const char* in;
    Nanos want;
  };
  const Case cases[] = {{"P0D", 0ns},
                        {"PT0S", 0ns},
                        {"PT3M", 3min},
                        {"PT30M", 30min},
                        {"PT1H", 1h},
                        {"PT10M", 10min},
                        {"P1DT2H30S", 26h + 30s},
                        {"PT1.5S", 1500ms},
                        {"PT-1M", -1min},
                        {"-PT1M", -1min},
                        {"pt2h", 2h},
                        {"PT0.000000001S", 1ns},
                        {"P2D", 48h},
                        {"PT1,5S", 1500ms}};
  for (const auto& c : cases) {
    auto got = parse_iso8601_duration(c.in);
    REQUIRE_MESSAGE(got.ok(), c.in);
    CHECK_MESSAGE(got->count() == c.want.count(), c.in);
  }
  for (const char* bad : {"", "P", "PT", "10m", "P1Y", "P1W", "PT1H1H", "P1DT", "PT1.5M", "P1000000D"})
    CHECK_MESSAGE(!parse_iso8601_duration(bad).ok(), bad);
  for (Nanos d : std::initializer_list<Nanos>{0ns, 10min, 90min, 24h, 1500ms, 26h + 30s, 1ns, -60s})
    CHECK(parse_iso8601_duration(format_iso8601_duration(d))->count() == d.count());
}

TEST_CASE("duration: a spec Duration is parsed once, when it is made, and keeps its text") {
  Duration lifetime = "1h30m";
  REQUIRE(lifetime.parsed().has_value());
  CHECK(*lifetime.parsed() == 90min);
  CHECK(lifetime.text() == "1h30m");
  CHECK(lifetime.error().empty());
  Duration bad = std::string("1 day");
  CHECK_FALSE(bad.parsed().has_value());
  CHECK(bad.text() == "1 day");
  CHECK(bad.error() == parse_go_duration("1 day").error());
  // Equality and messages go by the text the user wrote.
  CHECK(Duration("90m") != Duration("1h30m"));
  CHECK("spec.lifetime " + lifetime + " is over" == "spec.lifetime 1h30m is over");
  std::optional<Duration> absent;
  CHECK(absent.value_or("10m") == "10m");
}
