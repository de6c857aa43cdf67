// The C library's malloc: sanitized and fuzzing builds (AddressSanitizer brings its own), and builds
// configured with -DRAYDOG_JEMALLOC=OFF.
#include "controller/util/allocator/allocator.hpp"

namespace raydog::allocator {

std::string describe() {
  return "system malloc";
}

}  // namespace raydog::allocator
