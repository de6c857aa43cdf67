#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "controller/util/bytes.hpp"

using raydog::ByteReader;
using raydog::ByteWriter;

TEST_CASE("bytes: integers, flags, strings and optionals read back as written") {
  const std::vector<std::int64_t> ints{0, 1, -1, 63, -64, 64, 127, 128, -129, 1 << 20,
                                       std::numeric_limits<std::int64_t>::max(),
                                       std::numeric_limits<std::int64_t>::min()};
  ByteWriter w;
  for (auto v : ints) w.i64(v);
  w.u64(std::numeric_limits<std::uint64_t>::max());
  w.u64(300);
  w.flag(true);
  w.flag(false);
  w.str("");
  w.str(std::string("a\0b", 3));
  w.str(std::string(1000, 'x'));
  w.opt_str(std::nullopt);
  w.opt_str(std::string());
  w.opt_i64(std::nullopt);
  w.opt_i64(-5);
  const std::string bytes = w.take();

  ByteReader r(bytes);
  for (auto v : ints) CHECK(r.i64() == v);
  CHECK(r.u64() == std::numeric_limits<std::uint64_t>::max());
  CHECK(r.u64() == 300);
  CHECK(r.flag());
  CHECK_FALSE(r.flag());
  CHECK(r.str().empty());
  CHECK(r.str() == std::string("a\0b", 3));
  CHECK(r.str() == std::string(1000, 'x'));
  CHECK_FALSE(r.opt_str());
  CHECK(r.opt_str() == std::string());
  CHECK_FALSE(r.opt_i64());
  CHECK(r.opt_i64() == -5);
  CHECK(r.ok());
  CHECK(r.at_end());
}

TEST_CASE("bytes: small values take one byte") {
  ByteWriter w;
  w.u64(127);
  w.i64(-64);
  w.i64(63);
  CHECK(w.take().size() == 3);
}

TEST_CASE("bytes: a reader past the end stops, returns empty values and says so") {
  ByteWriter w;
  w.str("hello");
  w.u64(1000);  // a count of items that are not there
  const std::string bytes = w.take();

  SUBCASE("a truncated string") {
    ByteReader r(std::string_view(bytes).substr(0, 3));
    CHECK(r.str().empty());
    CHECK_FALSE(r.ok());
    CHECK_FALSE(r.at_end());
    // Everything after a failure is empty too.
    CHECK(r.u64() == 0);
    CHECK_FALSE(r.flag());
  }
  SUBCASE("a count larger than what is left") {
    ByteReader r(bytes);
    CHECK(r.str() == "hello");
    CHECK(r.ok());
    CHECK(r.count() == 0);
    CHECK_FALSE(r.ok());
  }
  SUBCASE("a varint that never ends") {
    const std::string endless(12, '\xff');
    ByteReader r(endless);
    CHECK(r.u64() == 0);
    CHECK_FALSE(r.ok());
  }
  SUBCASE("left over bytes") {
    ByteReader r(bytes);
    CHECK(r.str() == "hello");
    CHECK(r.ok());
    CHECK_FALSE(r.at_end());
  }
}
