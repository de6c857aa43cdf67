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

}  // namespace raydog
