#include "api/quantity.hpp"

#include <cctype>
#include <cmath>
#include <utility>

namespace raydog::api {

namespace {

// The multiplier of a suffix, or 0 when it is not one.
double multiplier(std::string_view suffix) {
  static constexpr std::pair<std::string_view, double> kSuffixes[] = {
      {"", 1},          {"m", 1e-3},       {"k", 1e3},         {"M", 1e6},          {"G", 1e9},
      {"T", 1e12},      {"P", 1e15},       {"E", 1e18},        {"Ki", 1024.0},      {"Mi", 1048576.0},
      {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}, {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0}};
  for (const auto& [s, m] : kSuffixes)
    if (s == suffix) return m;
  return 0;
}

}  // namespace

std::optional<double> parse_quantity(std::string_view text) {
  // A Kubernetes quantity: [+]digits[.digits] then a suffix or an exponent. A sign other than + and
  // anything else is refused: a negative resource means nothing to Ray.
  // The grammar of kQuantityPattern: digits, optionally '.' and digits, then a suffix or an exponent.
  std::size_t i = 0;
  if (i < text.size() && text[i] == '+') ++i;
  const std::size_t digits_from = i;
  auto digits = [&] {
    const std::size_t from = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i > from;
  };
  if (!digits()) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return std::nullopt;
  }
  const std::string number(text.substr(digits_from, i - digits_from));
  double value = std::stod(number);
  std::string_view rest = text.substr(i);
  if (!rest.empty() && (rest[0] == 'e' || rest[0] == 'E') && rest.size() > 1 &&
      (std::isdigit(static_cast<unsigned char>(rest[1])) || rest[1] == '-' || rest[1] == '+')) {
    std::size_t j = 1;
    int sign = 1;
    if (rest[j] == '-' || rest[j] == '+') sign = rest[j++] == '-' ? -1 : 1;
    if (j >= rest.size()) return std::nullopt;
    int exponent = 0;
    for (; j < rest.size(); ++j) {
      if (!std::isdigit(static_cast<unsigned char>(rest[j])) || exponent > 1000) return std::nullopt;
      exponent = exponent * 10 + (rest[j] - '0');
    }
    value *= std::pow(10.0, sign * exponent);
  } else {
    const double m = multiplier(rest);
    if (m == 0) return std::nullopt;
    value *= m;
  }
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

std::string quantity_error(std::string_view text) {
  return "\"" + std::string(text) + "\": expected a non-negative number with an optional suffix (500m, 8, 32Gi, 1e3)";
}

}  // namespace raydog::api
