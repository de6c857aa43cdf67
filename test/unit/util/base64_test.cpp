#include <doctest/doctest.h>

#include <vector>

#include "controller/util/base64.hpp"

TEST_CASE("base64 round-trips every padding length") {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto enc = raydog::base64_encode(s);
    auto dec = raydog::base64_decode(enc);
    REQUIRE(dec.has_value());
    CHECK(*dec == s);
  }
  CHECK(raydog::base64_encode("abc") == "YWJj");
  CHECK(raydog::base64_encode("ab") == "YWI=");
}

TEST_CASE("base64_decode ignores line breaks and rejects garbage") {
  CHECK(raydog::base64_decode("YW\nJj\n").value() == "abc");
  CHECK_FALSE(raydog::base64_decode("YWJ").has_value());
  CHECK_FALSE(raydog::base64_decode("Y*Jj").has_value());
  CHECK_FALSE(raydog::base64_decode("=WJj").has_value());
}
