// jemalloc for release builds. At 10,000 clusters the operator spends a quarter of its CPU in glibc's malloc
// and free (short-lived JSON, HTTP and gRPC buffers on the io thread), and the steady no-op reconcile's p99
// was 2.4-4.4 ms with glibc's malloc; with jemalloc it is 1.7-2.5 ms, for ~8 MB more RSS
// (test/bench/README.md, "Session 16"). Its defaults keep freed pages for 10 s and purge them only while the
// process allocates, so an operator that goes quiet after a burst (a fleet built, then steady) would keep the
// burst's pages; hence:
//   background_thread:true  a jemalloc thread returns unused pages while the io thread sleeps;
//   dirty_decay_ms:1000     freed pages go back to the kernel after ~1 s instead of 10 s;
//   muzzy_decay_ms:0        with MADV_DONTNEED at once, not MADV_FREE first (RSS counts lazily freed pages);
//   narenas:2               almost every allocation is on the io thread; 8 arenas (4 per core) would only
//                           spread the gRPC and metrics threads' memory thinner.
// At 10,000 clusters the peak is live data, and these settings moved neither the peak nor the p99 beyond
// run-to-run noise (the defaults and narenas:1 were measured too).
// MALLOC_CONF in the environment still overrides any of these (jemalloc reads it after this string).
#include <jemalloc/jemalloc.h>

#include <cstddef>

#include "controller/util/allocator/allocator.hpp"

// jemalloc reads this symbol at its first allocation; the executable's definition wins over its own.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2";
}

namespace raydog::allocator {
namespace {

template <typename T>
bool read(const char* name, T& value) {
  std::size_t size = sizeof value;
  return mallctl(name, &value, &size, nullptr, 0) == 0;
}

}  // namespace

std::string describe() {
  const char* version = nullptr;
  if (!read("version", version) || version == nullptr) return "jemalloc";
  bool background = false;
  ssize_t dirty = 0;
  ssize_t muzzy = 0;
  unsigned arenas = 0;
  std::string out = std::string("jemalloc ") + version;
  if (read("opt.background_thread", background) && read("opt.dirty_decay_ms", dirty) &&
      read("opt.muzzy_decay_ms", muzzy) && read("opt.narenas", arenas))
    out += std::string(" (background_thread:") + (background ? "true" : "false") +
           ", dirty_decay_ms:" + std::to_string(dirty) + ", muzzy_decay_ms:" + std::to_string(muzzy) +
           ", narenas:" + std::to_string(arenas) + ")";
  return out;
}

}  // namespace raydog::allocator
