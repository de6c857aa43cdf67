#include "controller/kube/time.hpp"

#include <cstdio>
#include <ctime>

namespace raydog::kube {
namespace {

std::string format(SystemTime t, bool micro) {
  using namespace std::chrono;
  auto secs = time_point_cast<seconds>(t);
  if (secs > t) secs -= seconds(1);  // floor for times before the epoch
  std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (micro) {
    auto us = duration_cast<microseconds>(t - secs).count();
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(us));
    out += buf;
  }
  return out + "Z";
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::string format_time(SystemTime t) {
  return format(t, false);
}
std::string format_micro_time(SystemTime t) {
  return format(t, true);
}

std::optional<SystemTime> parse_time(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  std::tm tm{};
  int v = 0;
  if (!digits(s, 0, 4, v) || s.size() < 20) return std::nullopt;
  tm.tm_year = v - 1900;
  if (s[4] != '-' || !digits(s, 5, 2, v)) return std::nullopt;
  tm.tm_mon = v - 1;
  if (s[7] != '-' || !digits(s, 8, 2, v)) return std::nullopt;
  tm.tm_mday = v;
  if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, v)) return std::nullopt;
  tm.tm_hour = v;
  if (s[13] != ':' || !digits(s, 14, 2, v)) return std::nullopt;
  tm.tm_min = v;
  if (s[16] != ':' || !digits(s, 17, 2, v)) return std::nullopt;
  tm.tm_sec = v;
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  std::size_t pos = 19;
  long long micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) micros = micros * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (int i = n; i < 6; ++i) micros *= 10;
  }
  long offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int hh = 0, mm = 0;
    if (!digits(s, pos + 1, 2, hh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, mm))
      return std::nullopt;
    offset = (hh * 3600L + mm * 60L) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::time_t tt = timegm(&tm);
  return std::chrono::system_clock::from_time_t(tt - offset) + std::chrono::microseconds(micros);
}

}  // namespace raydog::kube
