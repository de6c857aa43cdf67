#include "controller/yellowdog/retry.hpp"

#include "controller/util/time.hpp"

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
  // An HTTP date (IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT").
  const auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  const auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(*when - now);
  return std::max(delta, std::chrono::milliseconds(0));
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
