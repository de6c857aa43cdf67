#pragma once
// gzip (RFC 1952) over zlib, once for the project: YellowDog request bodies (yellowdog/requests.hpp) and
// the informer's cached objects (kube/informer.hpp, level 1: its objects are compressed on every update).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace raydog {

// `level`: zlib's 1 (fastest) to 9 (smallest); -1 is zlib's default (6).
std::string gzip_compress(std::string_view data, int level = -1);
// nullopt when `data` is not valid gzip (or inflates beyond `limit`).
std::optional<std::string> gzip_decompress(std::string_view data, std::size_t limit = 64 * 1024 * 1024);

// Bytes kept gzipped (level 1) with the size they inflate to: what the operator keeps per cluster between
// reconciles (reconcile/packed_snapshot.hpp, the pool index).
struct Gzipped {
  std::string bytes;
  std::size_t size = 0;

  static Gzipped of(std::string_view data) {
    Gzipped g{gzip_compress(data, 1), data.size()};
    g.bytes.shrink_to_fit();  // zlib sized it for its worst case
    return g;
  }
  std::optional<std::string> inflate() const { return gzip_decompress(bytes, size); }
};

}  // namespace raydog
