// Error classification (§8.1) and redaction of the key secret.
#include <doctest/doctest.h>

#include "controller/yellowdog/errors.hpp"

using namespace raydog::yellowdog;

TEST_CASE("HTTP status and errorType map onto error kinds (§8.1)") {
  struct Case {
    int status;
    const char* body;
    YdErrorKind kind;
  } cases[] = {
      {404, R"({"errorType":"WorkRequirementNotFoundException","message":"no such thing"})",
       YdErrorKind::kNotFound},
      {400, R"({"errorType":"WorkerPoolNotFoundException","message":"x"})", YdErrorKind::kNotFound},
      {400, R"({"errorType":"InvalidRequestException","message":"name is required"})",
       YdErrorKind::kInvalidRequest},
      {400, R"({"errorType":"InvalidRequestException","message":"Worker pool ray/x already exists"})",
       YdErrorKind::kAlreadyExists},
      {401, R"({"errorType":"NotAuthorisedException","message":"bad key"})", YdErrorKind::kNotAuthorised},
      {403, R"({"errorType":"NotAuthorisedException","message":"no"})", YdErrorKind::kNotAuthorised},
      {403, R"({"errorType":"InvalidWorkRequirementStatusException","message":"CANCELLED"})",
       YdErrorKind::kInvalidStatusTransition},
      {400, R"({"errorType":"InvalidComputeRequirementStatusException","message":"x"})",
       YdErrorKind::kInvalidStatusTransition},
      {429, "", YdErrorKind::kThrottled},
      {500, R"({"errorType":"InternalServerException","message":"boom"})", YdErrorKind::kServerError},
      {503, "<html>unavailable</html>", YdErrorKind::kServerError},
      {302, "", YdErrorKind::kProtocol},
      {418, "teapot", YdErrorKind::kInvalidRequest},
  };
  for (const auto& c : cases) {
    auto e = error_from_response(c.status, c.body, "GET /x");
    CHECK_MESSAGE(e.kind == c.kind, c.status, " ", c.body);
    CHECK(e.http_status == c.status);
  }
  auto e =
      error_from_response(400, R"({"errorType":"InvalidRequestException","message":"m","detail":["a","b"]})",
                          "POST /work/requirements");
  CHECK(e.error_type == "InvalidRequestException");
  CHECK(e.message == "m");
  CHECK(e.detail == std::vector<std::string>{"a", "b"});
  CHECK(e.what() == "POST /work/requirements: HTTP 400 InvalidRequestException: m; a; b");
  CHECK_FALSE(e.transient());
  CHECK(error_from_response(502, "", "").transient());
}

TEST_CASE("a huge non-JSON body becomes a bounded one-line message") {
  std::string body(100000, 'x');
  body[10] = '\n';
  auto e = error_from_response(502, body, "GET /x");
  CHECK(e.message.size() < 1000);
  CHECK(e.message.find('\n') == std::string::npos);
}

TEST_CASE("redaction removes every occurrence of the secret") {
  const std::string secret = "s3cr3t-KEY-value";
  std::vector<std::string> secrets{secret, ""};
  CHECK(redact("a s3cr3t-KEY-value b s3cr3t-KEY-values3cr3t-KEY-value", secrets) == "a *** b ******");
  auto e = error_from_response(
      401,
      R"({"errorType":"NotAuthorisedException","message":"key yd-key id:s3cr3t-KEY-value is wrong",
                                   "detail":["Authorization: yd-key id:s3cr3t-KEY-value"]})",
      "GET /workerPools/{id}");
  redact(e, secrets);
  CHECK(e.what().find(secret) == std::string::npos);
  CHECK(e.message == "key yd-key id:*** is wrong");
  YdError t;
  t.kind = YdErrorKind::kTransport;
  t.maybe_applied = true;
  t.attempts = 2;
  t.operation = "POST /work/requirements";
  CHECK(t.what() ==
        "POST /work/requirements: Transport (outcome unknown: the request may have been applied) "
        "(after 2 attempts)");
}
