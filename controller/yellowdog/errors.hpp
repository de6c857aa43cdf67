#pragma once
// YellowDog errors as values (yellowdog-api.md §8.1). Callers branch on `kind`; `http_status`,
// `error_type` and `message` are for conditions and logs. No field ever contains the application key
// secret: every message built from a server body goes through redact() with the current credentials.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raydog::yellowdog {

enum class YdErrorKind {
  kNotFound,                 // 404, or an errorType ending in NotFoundException
  kInvalidRequest,           // 400 / other 4xx: validation; terminal until the request changes
  kAlreadyExists,            // 400 InvalidRequestException "... already exists" (duplicate name)
  kNotAuthorised,            // 401, 403 NotAuthorisedException: credentials
  kInvalidStatusTransition,  // 403 Invalid...StatusException (e.g. cancelling a finished WR)
  kThrottled,                // 429
  kServerError,              // 5xx
  kTransport,                // no complete response: connect/TLS/timeout/connection closed
  kProtocol,                 // a response we cannot use: garbage body, unexpected status, missing id
};

std::string_view to_string(YdErrorKind kind);

struct YdError {
  YdErrorKind kind = YdErrorKind::kProtocol;
  int http_status = 0;     // 0 when no response arrived
  std::string error_type;  // the body's errorType, e.g. "InvalidRequestException"
  std::string message;     // human text, secret-free, bounded length
  std::vector<std::string> detail;
  // A create whose outcome is unknown: the request may have been applied although no success came
  // back (5xx, timeout, connection closed after sending). Not retried by the client; resolve it by a
  // lookup by name.
  bool maybe_applied = false;
  std::optional<std::chrono::milliseconds> retry_after;  // from a Retry-After header
  int attempts = 1;                                      // how many times the request was sent
  std::string operation;                                 // "GET /workerPools/{id}" style, for messages

  // True for the kinds worth retrying later (throttled, server error, transport).
  bool transient() const;
  // "POST /work/requirements: HTTP 400 InvalidRequestException: name already exists (after 1 attempt)"
  std::string what() const;
};

// Classifies an HTTP error response from its status and body (§8.1 shape, or anything else).
YdError error_from_response(int http_status, std::string_view body, std::string_view operation);

// Replaces every occurrence of each non-empty secret in `text` by "***". Applied to anything derived
// from the network before it is stored in an error.
std::string redact(std::string text, const std::vector<std::string>& secrets);
void redact(YdError& error, const std::vector<std::string>& secrets);

}  // namespace raydog::yellowdog
