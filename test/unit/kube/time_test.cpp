#include "controller/kube/time.hpp"

#include <doctest/doctest.h>

using namespace std::chrono;

TEST_CASE("time: Time and MicroTime formats round-trip") {
  auto t = system_clock::from_time_t(1746100800) + microseconds(123456);  // 2025-05-01T12:00:00.123456Z
  CHECK(raydog::kube::format_time(t) == "2025-05-01T12:00:00Z");
  CHECK(raydog::kube::format_micro_time(t) == "2025-05-01T12:00:00.123456Z");
  auto back = raydog::kube::parse_time("2025-05-01T12:00:00.123456Z");
  REQUIRE(back.has_value());
  CHECK(*back == t);
  CHECK(raydog::kube::parse_time("2025-05-01T14:00:00+02:00") == system_clock::from_time_t(1746100800));
  CHECK(raydog::kube::parse_time("2025-05-01T12:00:00.5Z") ==
        system_clock::from_time_t(1746100800) + milliseconds(500));
}

TEST_CASE("time: malformed timestamps are rejected") {
  for (const char* s : {"", "2025-05-01", "2025-05-01T12:00:00", "2025-13-01T12:00:00Z",
                        "2025-05-01T12:00:00.Z", "2025-05-01T12:00:00Zjunk", "yesterday"}) {
    CAPTURE(s);
    CHECK_FALSE(raydog::kube::parse_time(s).has_value());
  }
}
