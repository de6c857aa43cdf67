// Retry policy (§8.2): full jitter, Retry-After, creates never repeated once they may have been applied.
#include <doctest/doctest.h>

#include "controller/yellowdog/retry.hpp"

using namespace raydog::yellowdog;
using namespace std::chrono_literals;

namespace {
AttemptFailure failure(YdErrorKind kind, bool not_sent = false) {
  AttemptFailure f;
  f.error.kind = kind;
  f.not_sent = not_sent;
  return f;
}
}  // namespace

TEST_CASE("full-jitter backoff bounds follow min(60s, 10s*2^(n-1))") {
  RetryPolicy p;
  CHECK(backoff_delay(p, 1, 0.0) == 0ms);
  CHECK(backoff_delay(p, 1, 0.5) == 5000ms);
  CHECK(backoff_delay(p, 1, 0.999999) < 10000ms);
  CHECK(backoff_delay(p, 1, 1.0) == 9999ms);  // half-open interval
  CHECK(backoff_delay(p, 2, 0.5) == 10000ms);
  CHECK(backoff_delay(p, 3, 0.5) == 20000ms);
  CHECK(backoff_delay(p, 4, 0.5) == 30000ms);  // capped at 60s
  CHECK(backoff_delay(p, 10, 0.999) < 60000ms);
  RetryPolicy fast{3, 4ms, 10ms, 50ms};
  for (int n = 1; n <= 5; ++n)
    for (double u : {0.0, 0.3, 0.99}) CHECK(backoff_delay(fast, n, u) < std::min(10ms, 4ms * (1 << (n - 1))));
}

TEST_CASE("Retry-After: seconds and HTTP dates") {
  auto now = std::chrono::sys_days(std::chrono::year(2026) / 1 / 2) + 3h;
  CHECK(parse_retry_after("5", now) == 5000ms);
  CHECK(parse_retry_after(" 0 ", now) == 0ms);
  CHECK(parse_retry_after("1.5", now) == 1500ms);
  CHECK(parse_retry_after("Fri, 02 Jan 2026 03:00:07 GMT", now) == 7000ms);
  CHECK(parse_retry_after("Fri, 02 Jan 2026 02:00:00 GMT", now) == 0ms);  // in the past: now
  CHECK_FALSE(parse_retry_after("", now));
  CHECK_FALSE(parse_retry_after("-3", now));
  CHECK_FALSE(parse_retry_after("soon", now));
  CHECK_FALSE(parse_retry_after("5s", now));
}

TEST_CASE("reads and idempotent calls retry transient errors up to 3 times") {
  RetryPolicy p;
  auto rnd = [] { return 0.5; };
  for (auto cls : {RequestClass::kRead, RequestClass::kIdempotent}) {
    for (auto kind : {YdErrorKind::kThrottled, YdErrorKind::kServerError, YdErrorKind::kTransport}) {
      for (int done = 0; done < 3; ++done) {
        auto d = decide_retry(p, cls, failure(kind), done, rnd);
        CHECK(d.retry);
        CHECK(d.delay == backoff_delay(p, done + 1, 0.5));
      }
      CHECK_FALSE(decide_retry(p, cls, failure(kind), 3, rnd).retry);
    }
    for (auto kind :
         {YdErrorKind::kNotFound, YdErrorKind::kInvalidRequest, YdErrorKind::kAlreadyExists,
          YdErrorKind::kNotAuthorised, YdErrorKind::kInvalidStatusTransition, YdErrorKind::kProtocol})
      CHECK_FALSE(decide_retry(p, cls, failure(kind), 0, rnd).retry);
  }
}

TEST_CASE("Retry-After overrides the jitter, bounded by retry_after_cap") {
  RetryPolicy p;
  auto f = failure(YdErrorKind::kThrottled);
  f.error.retry_after = 2s;
  CHECK(decide_retry(p, RequestClass::kRead, f, 0, [] { return 0.9; }).delay == 2s);
  f.error.retry_after = 1h;
  CHECK(decide_retry(p, RequestClass::kRead, f, 0, [] { return 0.9; }).delay == 60s);
}

TEST_CASE("creates are not retried once they may have reached the server") {
  RetryPolicy p;
  auto rnd = [] { return 0.1; };
  for (auto kind : {YdErrorKind::kServerError, YdErrorKind::kTransport, YdErrorKind::kThrottled}) {
    auto f = failure(kind);
    CHECK_FALSE(decide_retry(p, RequestClass::kCreate, f, 0, rnd).retry);
  }
  CHECK(maybe_applied(RequestClass::kCreate, failure(YdErrorKind::kServerError)));
  CHECK(maybe_applied(RequestClass::kCreate, failure(YdErrorKind::kTransport)));
  CHECK(maybe_applied(RequestClass::kCreate, failure(YdErrorKind::kProtocol)));
  CHECK_FALSE(maybe_applied(RequestClass::kCreate, failure(YdErrorKind::kThrottled)));
  CHECK_FALSE(maybe_applied(RequestClass::kCreate, failure(YdErrorKind::kAlreadyExists)));
  CHECK_FALSE(maybe_applied(RequestClass::kRead, failure(YdErrorKind::kServerError)));
  // A connection that was never opened cannot have delivered the create: safe to try again.
  auto refused = failure(YdErrorKind::kTransport, /*not_sent=*/true);
  CHECK(decide_retry(p, RequestClass::kCreate, refused, 0, rnd).retry);
  CHECK_FALSE(maybe_applied(RequestClass::kCreate, refused));
}
