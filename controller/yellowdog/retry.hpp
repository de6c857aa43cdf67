#pragma once
// When and how long to wait before repeating a YellowDog request (yellowdog-api.md §8.2), as pure
// functions: the client supplies the randomness and the sleeping, so tests neither sleep nor flake.
//
// Rules:
//  * Throttled (429), server errors (5xx) and transport failures are retried, up to `max_retries` times.
//  * The wait before retry n (1-based) is uniform in [0, min(cap, base * 2^(n-1))) ("full jitter"); a
//    Retry-After header replaces it (bounded by `retry_after_cap`).
//  * Creates (provision pool, create/update WR, add tasks) are never re-sent once they may have reached
//    the server: a 5xx, a timeout or a closed connection marks the error `maybe_applied` and the caller
//    resolves it by looking the object up by name. Only failures that prove the request was not sent (the
//    connection could not be opened) are retried for them.
#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "controller/yellowdog/errors.hpp"
#include "controller/yellowdog/requests.hpp"  // RequestClass

namespace raydog::yellowdog {

struct RetryPolicy {
  int max_retries = 3;
  std::chrono::milliseconds base{std::chrono::seconds(10)};
  std::chrono::milliseconds cap{std::chrono::seconds(60)};
  std::chrono::milliseconds retry_after_cap{std::chrono::seconds(60)};
};

// Uniform in [0, min(cap, base * 2^(retry-1))); `uniform01` is a draw in [0, 1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double uniform01);

// Parses a Retry-After value: delta-seconds ("120", "1.5" tolerated) or an HTTP-date relative to `now`.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

// What happened on the wire, as far as retrying cares.
struct AttemptFailure {
  YdError error;          // classified error (kind, status, retry_after)
  bool not_sent = false;  // the connection was never established: the server cannot have seen it
};

struct RetryDecision {
  bool retry = false;
  std::chrono::milliseconds delay{0};
};

// `retries_done`: retries already made for this request (0 after the first attempt).
RetryDecision decide_retry(const RetryPolicy& policy, RequestClass request_class,
                           const AttemptFailure& failure, int retries_done,
                           const std::function<double()>& uniform01);

// Whether a failed create may have been applied (sets YdError::maybe_applied).
bool maybe_applied(RequestClass request_class, const AttemptFailure& failure);

}  // namespace raydog::yellowdog
