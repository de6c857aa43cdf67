// libFuzzer's entry point for one target, chosen at build time (test/fuzz/CMakeLists.txt).
#include "test/fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return raydog::fuzz::RAYDOG_FUZZ_TARGET(data, size);
}
