#include "controller/util/time.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace raydog {
namespace {

// Reads exactly `n` decimal digits at `pos` and moves past them.
bool digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool one_of(std::string_view s, std::size_t& pos, std::string_view accepted) {
  if (pos >= s.size() || accepted.find(s[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

}  // namespace

std::string format_rfc3339(SystemTime t, int fraction_digits) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);  // floor, not truncation: correct before the epoch too
  const auto day = floor<days>(secs);
  const year_month_day ymd(day);
  const hh_mm_ss hms(secs - day);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                        static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                        static_cast<int>(hms.seconds().count()));
  if (fraction_digits == 3) {
    n += std::snprintf(buf + n, sizeof buf - n, ".%03lld",
                       static_cast<long long>(floor<milliseconds>(t - secs).count()));
  } else if (fraction_digits == 6) {
    n += std::snprintf(buf + n, sizeof buf - n, ".%06lld",
                       static_cast<long long>(floor<microseconds>(t - secs).count()));
  }
  return std::string(buf, n) + "Z";
}

std::optional<SystemTime> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, pos, 4, y) || !one_of(s, pos, "-") || !digits(s, pos, 2, mo) || !one_of(s, pos, "-") ||
      !digits(s, pos, 2, d) || !one_of(s, pos, "Tt ") || !digits(s, pos, 2, h) || !one_of(s, pos, ":") ||
      !digits(s, pos, 2, mi) || !one_of(s, pos, ":") || !digits(s, pos, 2, sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  nanoseconds frac{0};
  if (one_of(s, pos, ".,")) {
    const std::size_t start = pos;
    long long scale = 100'000'000;  // the first digit's worth in nanoseconds
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, scale /= 10)
      frac += nanoseconds((s[pos] - '0') * scale);
    if (pos == start) return std::nullopt;
  }
  seconds offset{0};
  if (!one_of(s, pos, "Zz")) {
    if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) return std::nullopt;
    const int sign = s[pos++] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!digits(s, pos, 2, oh) || !one_of(s, pos, ":") || !digits(s, pos, 2, om)) return std::nullopt;
    offset = sign * (hours(oh) + minutes(om));
  }
  if (pos != s.size()) return std::nullopt;
  // Day 1 of the month plus (d - 1) days: a day past the month's end rolls over as timegm() does.
  const sys_days first(year_month_day(year(y), month(static_cast<unsigned>(mo)), day(1)));
  const auto whole = first + days(d - 1) + hours(h) + minutes(mi) + seconds(sec) - offset;
  // The clock counts nanoseconds in 64 bits (years 1678-2262): later or earlier instants are not
  // representable, and converting them would overflow.
  if (whole <= time_point_cast<seconds>(SystemTime::min()) || whole >= time_point_cast<seconds>(SystemTime::max()))
    return std::nullopt;
  return time_point_cast<SystemTime::duration>(whole + frac);
}

std::optional<std::chrono::milliseconds> parse_iso_duration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.size() < 2 || (s.front() != 'P' && s.front() != 'p')) return std::nullopt;
  s.remove_prefix(1);
  double total_ms = 0;
  bool in_time = false, any = false;
  while (!s.empty()) {
    if (s.front() == 'T' || s.front() == 't') {
      if (in_time) return std::nullopt;
      in_time = true;
      s.remove_prefix(1);
      continue;
    }
    std::size_t n = 0;
    bool dot = false;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.' || s[n] == ',')) {
      if (s[n] == '.' || s[n] == ',') {
        if (dot) return std::nullopt;
        dot = true;
      }
      ++n;
    }
    if (n == 0 || n == s.size()) return std::nullopt;
    std::string number(s.substr(0, n));
    for (auto& c : number)
      if (c == ',') c = '.';
    const double value = std::strtod(number.c_str(), nullptr);
    const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(s[n])));
    s.remove_prefix(n + 1);
    double unit_ms = 0;
    if (!in_time) {
      if (unit == 'W') {
        unit_ms = 7 * 86400e3;
      } else if (unit == 'D') {
        unit_ms = 86400e3;
      } else {
        return std::nullopt;  // years and months have no fixed length
      }
    } else if (unit == 'H') {
      unit_ms = 3600e3;
    } else if (unit == 'M') {
      unit_ms = 60e3;
    } else if (unit == 'S') {
      unit_ms = 1e3;
    } else {
      return std::nullopt;
    }
    total_ms += value * unit_ms;
    any = true;
  }
  // About 31,700 years: far beyond any real duration, and safely inside int64 milliseconds (llround of a
  // larger value is undefined; found by fuzz_durations).
  if (!any || !(total_ms < 1e15)) return std::nullopt;
  const auto ms = std::chrono::milliseconds(std::llround(total_ms));
  return negative ? -ms : ms;
}

std::string format_iso_duration(std::chrono::milliseconds d) {
  std::string out = d.count() < 0 ? "-PT" : "PT";
  // Magnitude as unsigned: negating the most negative count would overflow.
  const unsigned long long ms = d.count() < 0 ? 0ULL - static_cast<unsigned long long>(d.count())
                                              : static_cast<unsigned long long>(d.count());
  const long long h = ms / 3600000, m = (ms / 60000) % 60, s = (ms / 1000) % 60, frac = ms % 1000;
  if (h) out += std::to_string(h) + "H";
  if (m) out += std::to_string(m) + "M";
  if (s || frac || (!h && !m)) {
    out += std::to_string(s);
    if (frac) {
      char buf[8];
      std::snprintf(buf, sizeof buf, ".%03lld", frac);
      std::string f(buf);
      while (f.back() == '0') f.pop_back();
      out += f;
    }
    out += "S";
  }
  return out;
}

std::optional<SystemTime> parse_http_date(std::string_view text) {
  char wday[4] = {}, mon[4] = {}, zone[4] = {};
  int day = 0, year = 0, h = 0, m = 0, sec = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%3s, %d %3s %d %d:%d:%d %3s", wday, &day, mon, &year, &h, &m, &sec, zone) != 8)
    return std::nullopt;
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  unsigned month = 0;
  for (unsigned i = 0; i < 12; ++i)
    if (std::strcmp(mon, kMonths[i]) == 0) month = i + 1;
  if (month == 0 || std::strcmp(zone, "GMT") != 0 || day < 1 || day > 31 || h < 0 || h > 23 || m < 0 ||
      m > 59 || sec < 0 || sec > 60)
    return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{std::chrono::year(year), std::chrono::month(month),
                            std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return std::nullopt;
  return SystemTime(sys_days(date)) + hours(h) + minutes(m) + seconds(sec);
}

}  // namespace raydog
