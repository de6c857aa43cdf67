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
  CHECK(g.gzipped_from == text.size());
  CHECK(g.bytes.size() < text.size() / 4);
  CHECK(g.bytes.capacity() <= g.bytes.size() + 15);  // no zlib worst-case slack kept
  CHECK(g.inflate() == text);
  CHECK(raydog::Gzipped::of("").inflate() == "");
  raydog::Gzipped cut = g;
  cut.bytes.resize(cut.bytes.size() / 2);
  CHECK_FALSE(cut.inflate());
}

TEST_CASE("Gzipped keeps small or incompressible bytes as they are") {
  const std::string small = R"({"metadata":{"name":"unrelated-00001","resourceVersion":"12"},"dataDigest":"0a1b2c3d"})";
  const auto s = raydog::Gzipped::of(small);
  CHECK(s.gzipped_from == 0);
  CHECK(s.bytes == small);
  CHECK(s.inflate() == small);
  std::string noise;
  for (unsigned i = 0, x = 12345; i < 600; ++i) noise.push_back(static_cast<char>((x = x * 1103515245u + 12345u) >> 16));
  const auto n = raydog::Gzipped::of(noise);
  CHECK(n.gzipped_from == 0);  // deflate would not make it smaller
  CHECK(n.inflate() == noise);
}
