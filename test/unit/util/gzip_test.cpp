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

TEST_CASE("Gzipped keeps bytes compressed with their size, and inflates them back") {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "ydid:task:000000:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0:" + std::to_string(i) + ";";
  const auto g = raydog::Gzipped::of(text);
  CHECK(g.size == text.size());
  CHECK(g.bytes.size() < text.size() / 4);
  CHECK(g.bytes.capacity() <= g.bytes.size() + 15);  // no zlib worst-case slack kept
  CHECK(g.inflate() == text);
  CHECK(raydog::Gzipped::of("").inflate() == "");
  raydog::Gzipped cut = g;
  cut.bytes.resize(cut.bytes.size() / 2);
  CHECK_FALSE(cut.inflate());
}
