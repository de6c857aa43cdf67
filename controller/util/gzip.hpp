#pragma once
// gzip (RFC 1952) over zlib, once for the project: YellowDog request bodies (yellowdog/requests.hpp) and,
// through Gzipped, what the operator keeps compressed in memory.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace raydog {

// `level`: zlib's 1 (fastest) to 9 (smallest); -1 is zlib's default (6).
std::string gzip_compress(std::string_view data, int level = -1);
// nullopt when `data` is not valid gzip (or inflates beyond `limit`).
std::optional<std::string> gzip_decompress(std::string_view data, std::size_t limit = 64 * 1024 * 1024);

// Bytes kept gzipped (level 1) when that makes them smaller, with the size they inflate to: what the
// operator keeps per object or cluster (the informer's cache, reconcile/packed_snapshot.hpp, the pool
// index). Under `kFrom` bytes they are kept as they are: gzip's framing (18 bytes) and a deflate block cost
// more than they save there (a ConfigMap reduced to its name).
struct Gzipped {
  static constexpr std::size_t kFrom = 256;

  std::string bytes;
  std::size_t gzipped_from = 0;  // the size before compression; 0: `bytes` are the data itself

  static Gzipped of(std::string data);
  // The data; nullopt when gzipped bytes do not inflate (a broken invariant, never expected).
  std::optional<std::string> inflate() const;
};

}  // namespace raydog
