#pragma once
// Assertions shared by the kubectl tests: a failed command prints its stdout and stderr.
#include <doctest/doctest.h>

#include <string>

#include "test/support/process.hpp"

namespace raydog::e2e {

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

inline std::string describe(const test::CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "\n--- stderr\n" + r.err;
}

}  // namespace raydog::e2e

#define REQUIRE_OK(r)                  \
  do {                                 \
    const auto& r_ = (r);              \
    INFO(::raydog::e2e::describe(r_)); \
    REQUIRE(r_.exit_code == 0);        \
  } while (0)
#define CHECK_OUT(r, text)                        \
  do {                                            \
    const auto& r_ = (r);                         \
    INFO(::raydog::e2e::describe(r_));            \
    CHECK(::raydog::e2e::contains(r_.out, text)); \
  } while (0)
#define CHECK_ERR(r, text)                        \
  do {                                            \
    const auto& r_ = (r);                         \
    INFO(::raydog::e2e::describe(r_));            \
    CHECK(r_.exit_code != 0);                     \
    CHECK(::raydog::e2e::contains(r_.err, text)); \
  } while (0)
