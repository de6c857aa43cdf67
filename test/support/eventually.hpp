#pragma once
// Polling for tests that wait on another process (a server, the operator, kubectl): `cond` is asked every
// `every` until it holds or `timeout` passed, and once more at the end, so a condition that became true
// during the last pause is not reported as a timeout.
#include <chrono>
#include <functional>
#include <thread>

namespace raydog::test {

inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds every = std::chrono::milliseconds(100)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(every);
  }
  return cond();
}

}  // namespace raydog::test
