#pragma once
// Which malloc the executable runs on, for the "starting" log line. Release builds link jemalloc
// (allocator_jemalloc.cpp, with the settings that file explains); sanitized and fuzzing builds keep the C
// library's malloc, which AddressSanitizer replaces (allocator_system.cpp). CMake compiles exactly one of
// them.
#include <string>

namespace raydog::allocator {

// "jemalloc 5.3.0-0-g54eaed1d... (background_thread:true, dirty_decay_ms:1000, ...)" or "system malloc".
std::string describe();

}  // namespace raydog::allocator
