#include <doctest/doctest.h>

#include <string>

#include "controller/util/gzip.hpp"

using raydog::gzip_compress;
using raydog::gzip_decompress;

TEST_CASE("gzip round-trips at every level, with gzip framing") {
  const std::string text = R"({"metadata":{"name":"c"},"status":{"conditions":[{"type":"Ready"},{"type":"Ready"}]}})";
  for (int level : {-1, 1, 9}) {
    const std::string z = gzip_compress(text, level);
    CHECK(static_cast<unsigned char>(z[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(z[1]) == 0x8b);
    CHECK(gzip_decompress(z) == text);
  }
  CHECK(gzip_compress(std::string(10000, 'a'), 1).size() < 200);
}

TEST_CASE("gzip_decompress rejects garbage and truncation") {
  CHECK_FALSE(gzip_decompress("not gzip"));
  auto z = gzip_compress(std::string(10000, 'a'));
  CHECK_FALSE(gzip_decompress(z.substr(0, z.size() / 2)));
  CHECK_FALSE(gzip_decompress(z, 100));
  CHECK(gzip_decompress(gzip_compress("")) == "");
}
