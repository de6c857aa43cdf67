#include "controller/util/enum_names.hpp"

#include <doctest/doctest.h>

#include <string>

namespace {
enum class Colour { kRed, kGreen, kBlue };
constexpr raydog::EnumName<Colour> kColours[] = {{Colour::kRed, "Red"}, {Colour::kGreen, "Green"}};
}  // namespace

TEST_CASE("enum names: both directions, with a fallback for a missing value") {
  static_assert(raydog::name_of(kColours, Colour::kGreen, "?")[0] == 'G');  // usable at compile time
  CHECK(std::string(raydog::name_of(kColours, Colour::kRed, "?")) == "Red");
  CHECK(std::string(raydog::name_of(kColours, Colour::kBlue, "?")) == "?");
  CHECK(raydog::value_of(kColours, "Green") == Colour::kGreen);
  CHECK_FALSE(raydog::value_of(kColours, "green").has_value());
  CHECK_FALSE(raydog::value_of(kColours, "").has_value());
}
