#include "controller/yellowdog/retry.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace raydog::yellowdog {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double uniform01) {
  if (retry < 1) retry = 1;
  double ceiling = static_cast<double>(policy.base.count()) * std::pow(2.0, retry - 1);
  ceiling = std::min(ceiling, static_cast<double>(policy.cap.count()));
  double u = std::clamp(uniform01, 0.0, 1.0);
  auto ms = static_cast<long long>(std::floor(u * ceiling));
  // Half-open interval: a draw of exactly 1.0 must still stay below the ceiling.
  if (ceiling >= 1 && ms >= static_cast<long long>(ceiling)) ms = static_cast<long long>(ceiling) - 1;
  return std::chrono::milliseconds(std::max(0LL, ms));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    std::string s(value);
    char* end = nullptr;
    double seconds = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || seconds < 0 || seconds > 86400 * 7) return std::nullopt;
    return std::chrono::milliseconds(std::llround(seconds * 1000));
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  char wday[4] = {}, mon[4] = {}, zone[4] = {};
  int day = 0, year = 0, h = 0, m = 0, sec = 0;
  std::string s(value);
  if (std::sscanf(s.c_str(), "%3s, %d %3s %d %d:%d:%d %3s", wday, &day, mon, &year, &h, &m, &sec, zone) != 8)
    return std::nullopt;
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  unsigned month = 0;
  for (unsigned i = 0; i < 12; ++i)
    if (std::strcmp(mon, kMonths[i]) == 0) month = i + 1;
  if (month == 0 || std::strcmp(zone, "GMT") != 0) return std::nullopt;
  using namespace std::chrono;
  auto when = sys_days(year_month_day(std::chrono::year(year), std::chrono::month(month),
                                      std::chrono::day(static_cast<unsigned>(day)))) +
              hours(h) + minutes(m) + seconds(sec);
  auto delta = duration_cast<milliseconds>(when - now);
  return std::max(delta, milliseconds(0));
}

bool maybe_applied(RequestClass request_class, const AttemptFailure& failure) {
  if (request_class != RequestClass::kCreate || failure.not_sent) return false;
  switch (failure.error.kind) {
    case YdErrorKind::kServerError:
    case YdErrorKind::kTransport:
    case YdErrorKind::kProtocol:  // a 200 with a body we could not read: it was applied
      return true;
    default:
      return false;  // 4xx (incl. 429) answers say the server refused it
  }
}

RetryDecision decide_retry(const RetryPolicy& policy, RequestClass request_class,
                           const AttemptFailure& failure, int retries_done,
                           const std::function<double()>& uniform01) {
  RetryDecision d;
  if (!failure.error.transient() || retries_done >= policy.max_retries) return d;
  if (request_class == RequestClass::kCreate && !failure.not_sent) return d;
  d.retry = true;
  if (failure.error.retry_after) {
    d.delay = std::min(*failure.error.retry_after, policy.retry_after_cap);
  } else {
    d.delay = backoff_delay(policy, retries_done + 1, uniform01 ? uniform01() : 0.5);
  }
  return d;
}

}  // namespace raydog::yellowdog
