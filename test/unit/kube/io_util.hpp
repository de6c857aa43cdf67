#pragma once
// Drives an io_context from a test until a condition holds (no fixed sleeps).
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

namespace raydog::kube::testing {

// Runs handlers until `done()` is true or `timeout` passes; returns done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return done();
}

// Runs until no work is left (every coroutine finished) or `timeout`.
inline bool drain(boost::asio::io_context& io, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
    if (io.stopped()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
}

}  // namespace raydog::kube::testing
