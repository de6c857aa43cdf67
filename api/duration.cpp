#include "api/duration.hpp"

#include <algorithm>
#include <cstdint>
#include <regex>

namespace raydog::api {
namespace {

constexpr std::uint64_t kMaxMagnitude = std::uint64_t(1) << 63;  // |INT64_MIN|

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::uint64_t unit_nanos(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1000;  // us, µs (U+00B5), μs (U+03BC)
  if (u == "ms") return 1000000;
  if (u == "s") return 1000000000;
  if (u == "m") return 60ull * 1000000000;
  if (u == "h") return 3600ull * 1000000000;
  return 0;
}

// Appends v's decimal digits.
void append_uint(std::string& out, std::uint64_t v) {
  out += std::to_string(v);
}

// The fraction of v / 10^prec without trailing zeros (".5"), or "" when it is zero; returns v / 10^prec.
std::uint64_t split_fraction(std::uint64_t v, int prec, std::string& frac) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    char digit = char('0' + v % 10);
    print = print || digit != '0';
    if (print) digits.push_back(digit);
    v /= 10;
  }
  std::reverse(digits.begin(), digits.end());
  frac = print ? "." + digits : "";
  return v;
}

}  // namespace

// A transcription of Go's time.ParseDuration, so manifests mean what Kubernetes users expect.
Duration::Duration(std::string text) : text_(std::move(text)) {
  auto d = parse_go_duration(text_);
  if (d)
    parsed_ = *d;
  else
    error_ = d.error();
}

Result<Nanos, std::string> parse_go_duration(std::string_view orig) {
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Nanos(0);
  if (s.empty()) return unexpected("invalid duration " + quoted(orig));
  std::uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || is_digit(s[0]))) return unexpected("invalid duration " + quoted(orig));
    // Integer part.
    std::uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (v > (kMaxMagnitude - 1) / 10) return unexpected("invalid duration " + quoted(orig));
      v = v * 10 + std::uint64_t(s[i] - '0');
      if (v > kMaxMagnitude) return unexpected("invalid duration " + quoted(orig));
    }
    bool pre = i > 0;
    s.remove_prefix(i);
    // Fraction part: digits beyond what fits are dropped (as Go does).
    std::uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t k = 0;
      bool overflow = false;
      for (; k < s.size() && is_digit(s[k]); ++k) {
        if (overflow) continue;
        if (f > (kMaxMagnitude - 1) / 10) {
          overflow = true;
          continue;
        }
        std::uint64_t y = f * 10 + std::uint64_t(s[k] - '0');
        if (y > kMaxMagnitude) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = k > 0;
      s.remove_prefix(k);
    }
    if (!pre && !post) return unexpected("invalid duration " + quoted(orig));
    // Unit.
    size_t u = 0;
    while (u < s.size() && !(s[u] == '.' || is_digit(s[u]))) ++u;
    if (u == 0) return unexpected("missing unit in duration " + quoted(orig));
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    std::uint64_t unit_ns = unit_nanos(unit);
    if (unit_ns == 0) return unexpected("unknown unit " + quoted(unit) + " in duration " + quoted(orig));
    if (v > kMaxMagnitude / unit_ns) return unexpected("invalid duration " + quoted(orig));
    v *= unit_ns;
    if (f > 0) {
      v += std::uint64_t(double(f) * (double(unit_ns) / scale));
      if (v > kMaxMagnitude) return unexpected("invalid duration " + quoted(orig));
    }
    total += v;
    if (total > kMaxMagnitude) return unexpected("invalid duration " + quoted(orig));
  }
  if (neg) return Nanos(total == kMaxMagnitude ? INT64_MIN : -std::int64_t(total));
  if (total > kMaxMagnitude - 1) return unexpected("invalid duration " + quoted(orig));
  return Nanos(std::int64_t(total));
}

// A transcription of Go's Duration.String().
std::string format_go_duration(Nanos d) {
  std::int64_t n = d.count();
  bool neg = n < 0;
  std::uint64_t u = neg ? std::uint64_t(0) - std::uint64_t(n) : std::uint64_t(n);
  std::string out;
  if (u < 1000000000ull) {
    if (u == 0) return "0s";
    std::string unit;
    int prec;
    if (u < 1000ull) {
      prec = 0;
      unit = "ns";
    } else if (u < 1000000ull) {
      prec = 3;
      unit = "\xC2\xB5s";  // µs, as Go prints it
    } else {
      prec = 6;
      unit = "ms";
    }
    std::string frac;
    u = split_fraction(u, prec, frac);
    append_uint(out, u);
    out += frac + unit;
  } else {
    std::string frac;
    u = split_fraction(u, 9, frac);
    std::string secs = std::to_string(u % 60) + frac + "s";
    u /= 60;
    if (u > 0) {
      std::string mins = std::to_string(u % 60) + "m";
      u /= 60;
      if (u > 0) out = std::to_string(u) + "h";
      out += mins;
    }
    out += secs;
  }
  return neg ? "-" + out : out;
}

std::string format_iso8601_duration(Nanos d) {
  std::int64_t n = d.count();
  if (n == 0) return "PT0S";
  bool neg = n < 0;
  std::uint64_t u = neg ? std::uint64_t(0) - std::uint64_t(n) : std::uint64_t(n);
  const std::string sign = neg ? "-" : "";
  std::uint64_t nanos = u % 1000000000ull;
  std::uint64_t secs_total = u / 1000000000ull;
  std::uint64_t hours = secs_total / 3600, minutes = (secs_total % 3600) / 60, secs = secs_total % 60;
  std::string out = "PT";
  if (hours) out += sign + std::to_string(hours) + "H";
  if (minutes) out += sign + std::to_string(minutes) + "M";
  if (secs || nanos) {
    out += sign + std::to_string(secs);
    if (nanos) {
      std::string frac;
      split_fraction(nanos, 9, frac);
      out += frac;
    }
    out += "S";
  }
  return out;
}

Result<Nanos, std::string> parse_iso8601_duration(std::string_view s) {
  static const std::regex re(
      R"(([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?)",
      std::regex::icase);
  std::cmatch m;
  std::string str(s);
  if (!std::regex_match(str.c_str(), m, re) || str.size() < 3 || str.back() == 'T' || str.back() == 't')
    return unexpected("invalid ISO-8601 duration " + quoted(s));
  if (str == "P" || str == "-P" || str == "+P") return unexpected("invalid ISO-8601 duration " + quoted(s));
  // Magnitudes are bounded by the int64 range of nanoseconds (~106751 days).
  auto part = [&](int group, long double unit) -> long double {
    if (!m[group].matched) return 0;
    return std::stold(m[group].str()) * unit;
  };
  long double total = part(2, 86400e9L) + part(4, 3600e9L) + part(5, 60e9L) + part(6, 1e9L);
  if (m[7].matched && m[7].length() > 0) {
    std::string frac = m[7].str();
    frac.resize(9, '0');
    long double f = std::stold(frac);
    bool sec_neg = m[6].str().starts_with("-");
    total += sec_neg ? -f : f;
  }
  if (m[1].str() == "-") total = -total;
  if (total > 9.2e18L || total < -9.2e18L) return unexpected("ISO-8601 duration out of range " + quoted(s));
  return Nanos(std::int64_t(total));
}

}  // namespace raydog::api
