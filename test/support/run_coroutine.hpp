#pragma once
// Runs one coroutine to completion on a test's private io_context and returns its result. The io_context
// must hold no endless work (a server, a watch): run() returns only when it is out of work. Tests whose
// io_context also runs servers poll instead (run_until in test/unit/kube/io_util.hpp).
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <doctest/doctest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>

namespace raydog::test {

template <class T>
T run_to_completion(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
  std::optional<T> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(a)); },
      boost::asio::detached);
  io.restart();
  io.run();
  REQUIRE(out.has_value());
  return std::move(*out);
}

}  // namespace raydog::test
