// Ray resource quantities as Kubernetes quantity strings (api/quantity.hpp).
#include <doctest/doctest.h>

#include <regex>

#include "api/quantity.hpp"
#include "api/spec_fields.hpp"

using raydog::api::parse_quantity;
using raydog::api::quantity_error;
using raydog::api::kQuantityPattern;

TEST_CASE("quantities: plain numbers, milli, binary and decimal suffixes, exponents") {
  CHECK(parse_quantity("8") == 8.0);
  CHECK(parse_quantity("+2") == 2.0);
  CHECK(parse_quantity("0.5") == 0.5);
  CHECK(parse_quantity("500m") == doctest::Approx(0.5));
  CHECK(parse_quantity("32Gi") == 32.0 * 1024 * 1024 * 1024);
  CHECK(parse_quantity("1Ki") == 1024.0);
  CHECK(parse_quantity("2k") == 2000.0);
  CHECK(parse_quantity("1.5G") == 1.5e9);
  CHECK(parse_quantity("1e3") == 1000.0);
  CHECK(parse_quantity("25E-2") == doctest::Approx(0.25));
  CHECK(parse_quantity("1E") == 1e18);  // E alone is the exa suffix, as in Kubernetes
  CHECK(parse_quantity("0") == 0.0);
}

TEST_CASE("quantities: anything else is refused with a message that shows the value and the form") {
  for (const char* bad : {"", "-1", "8 cores", "Gi", "1.2.3", "1x", "1e", "1e-", "0x10", "one", "1 Gi", ".5", "1."})
    CHECK_MESSAGE(!parse_quantity(bad), bad);
  CHECK(quantity_error("8 cores") == "\"8 cores\": expected a non-negative number with an optional suffix (500m, 8, 32Gi, 1e3)");
}

TEST_CASE("quantities: the CRD pattern accepts exactly what the parser accepts") {
  const std::regex pattern(kQuantityPattern);
  for (const char* text : {"8", "+2", "0.5", "500m", "32Gi", "1Ki", "2k", "1.5G", "1e3", "25E-2", "1E", "0", "",
                           "-1", "8 cores", "Gi", "1.2.3", "1x", "1e", "1e-", "0x10", "one", "1 Gi", ".5", "1."})
    CHECK_MESSAGE(std::regex_search(std::string(text), pattern) == parse_quantity(text).has_value(), text);
}

TEST_CASE("quantities: the CEL rule for whole CPUs, GPUs and bytes spells the whole-number pattern") {
  CHECK(std::string(raydog::api::kRuleRayWholeResources).find(std::string("'") + raydog::api::kWholeQuantityPattern + "'") !=
        std::string::npos);
}
