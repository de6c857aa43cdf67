#include "test/yellowdog-sim/time_util.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace raydog::ydsim {

std::string format_timestamp(TimePoint t) {
  auto ms = std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int frac = static_cast<int>(ms % 1000);
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

namespace {

bool read_int(std::string_view s, std::size_t& pos, std::size_t digits, int& out) {
  if (pos + digits > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    char c = s[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  pos += digits;
  out = v;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos < s.size() && (s[pos] == c || (c == 'T' && s[pos] == 't'))) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

std::optional<TimePoint> parse_timestamp(std::string_view s) {
  std::size_t pos = 0;
  int y, mo, d, h, mi, sec;
  if (!read_int(s, pos, 4, y) || !expect(s, pos, '-') || !read_int(s, pos, 2, mo) || !expect(s, pos, '-') ||
      !read_int(s, pos, 2, d) || !expect(s, pos, 'T') || !read_int(s, pos, 2, h) || !expect(s, pos, ':') ||
      !read_int(s, pos, 2, mi) || !expect(s, pos, ':') || !read_int(s, pos, 2, sec))
    return std::nullopt;
  long long frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    long long scale = 100;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (n < 3) frac_ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++n;
      ++pos;
    }
    if (n == 0) return std::nullopt;
  }
  long long offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om = 0;
    if (!read_int(s, pos, 2, oh)) return std::nullopt;
    if (pos < s.size() && s[pos] == ':') ++pos;
    if (pos < s.size() && !read_int(s, pos, 2, om)) return std::nullopt;
    offset_s = sign * (oh * 3600LL + om * 60LL);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  long long secs = static_cast<long long>(timegm(&tm)) - offset_s;
  return TimePoint(std::chrono::duration_cast<Clock::duration>(Millis(secs * 1000 + frac_ms)));
}

std::optional<Millis> parse_iso_duration(std::string_view s) {
  std::size_t pos = 0;
  bool negative = false;
  if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) negative = s[pos++] == '-';
  if (pos >= s.size() || (s[pos] != 'P' && s[pos] != 'p')) return std::nullopt;
  ++pos;
  bool in_time = false;
  bool any = false;
  double total_ms = 0;
  while (pos < s.size()) {
    if (s[pos] == 'T' || s[pos] == 't') {
      if (in_time) return std::nullopt;
      in_time = true;
      ++pos;
      continue;
    }
    std::size_t start = pos;
    while (pos < s.size() &&
           (std::isdigit(static_cast<unsigned char>(s[pos])) || s[pos] == '.' || s[pos] == ','))
      ++pos;
    if (start == pos || pos >= s.size()) return std::nullopt;
    std::string num(s.substr(start, pos - start));
    for (auto& c : num)
      if (c == ',') c = '.';
    double v = std::strtod(num.c_str(), nullptr);
    char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(s[pos++])));
    double unit_ms;
    if (!in_time) {
      if (unit == 'D')
        unit_ms = 86400e3;
      else if (unit == 'W')
        unit_ms = 7 * 86400e3;
      else
        return std::nullopt;  // years/months have no fixed length; the API never sends them
    } else {
      if (unit == 'H')
        unit_ms = 3600e3;
      else if (unit == 'M')
        unit_ms = 60e3;
      else if (unit == 'S')
        unit_ms = 1e3;
      else
        return std::nullopt;
    }
    total_ms += v * unit_ms;
    any = true;
  }
  if (!any) return std::nullopt;
  auto ms = Millis(static_cast<long long>(std::llround(total_ms)));
  return negative ? -ms : ms;
}

std::string format_iso_duration(Millis d) {
  long long ms = d.count();
  std::string out = ms < 0 ? "-PT" : "PT";
  if (ms < 0) ms = -ms;
  long long h = ms / 3600000, m = (ms / 60000) % 60, s = (ms / 1000) % 60, frac = ms % 1000;
  if (h) out += std::to_string(h) + "H";
  if (m) out += std::to_string(m) + "M";
  if (s || frac || (!h && !m)) {
    out += std::to_string(s);
    if (frac) {
      char buf[8];
      std::snprintf(buf, sizeof buf, ".%03lld", frac);
      std::string f = buf;
      while (f.back() == '0') f.pop_back();
      out += f;
    }
    out += "S";
  }
  return out;
}

std::optional<Millis> parse_cli_duration(std::string_view s) {
  std::size_t pos = 0;
  while (pos < s.size() && (std::isdigit(static_cast<unsigned char>(s[pos])) || s[pos] == '.')) ++pos;
  if (pos == 0) return std::nullopt;
  double v = std::strtod(std::string(s.substr(0, pos)).c_str(), nullptr);
  std::string_view unit = s.substr(pos);
  double scale;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60000;
  else if (unit == "h")
    scale = 3600000;
  else
    return std::nullopt;
  return Millis(static_cast<long long>(std::llround(v * scale)));
}

}  // namespace raydog::ydsim
