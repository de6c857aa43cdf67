#pragma once
// Api over HTTP: the shared Beast client (controller/http/client.hpp) with keep-alive connection reuse,
// a deadline on every request, TLS verification unless the kubeconfig says insecure-skip-tls-verify,
// credentials from Credentials (bearer token, rotated token file, exec plugin, client certificate).
//
// Retries: transport errors and 5xx (except 501) for idempotent requests (GET, PUT, DELETE, apply-PATCH);
// 429 for every verb (the server rejected it before doing anything), honouring Retry-After; exponential
// backoff with jitter otherwise. A 401 refreshes dynamic credentials (token file, exec plugin) and retries
// once. Credentials are never put in errors or logs; over plain http:// they are not sent at all
// (as kubectl).
//
// Pacing: with RestOptions::limiter every attempt first waits for a token (rate_limit.hpp), a watch one to
// open; with_limiter() makes a client on the same connections with a bucket of its own.
//
// This header is Beast-free (pimpl); include it from wiring code without paying for Beast.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "controller/kube/config.hpp"
#include "controller/kube/rate_limit.hpp"
#include "controller/kube/rest.hpp"

namespace raydog::kube {

// One finished HTTP exchange (also each retry), for metrics: rest_client_requests_total{code,method,host}
// and rest_client_request_duration_seconds{verb,host}. code 0 = transport error.
struct RequestMetric {
  std::string method;  // "GET", "PUT", ...
  std::string host;    // "host:port"
  std::string target;  // path and query ("/apis/raydog.io/v1alpha1/namespaces/ns/raydogclusters/x/status")
  int code = 0;
  std::chrono::duration<double> latency{};
};

// One request's wait for a token of its client's RequestRateLimiter (zero within the burst), for
// rest_client_rate_limiter_duration_seconds{verb,host}. Reported only by a paced client, as client-go does.
struct RateLimiterMetric {
  std::string method;
  std::string host;
  std::chrono::duration<double> waited{};
};

struct RestOptions {
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  int max_retries = 5;
  std::chrono::milliseconds retry_base{200};
  std::chrono::milliseconds retry_cap{std::chrono::seconds(30)};
  std::chrono::milliseconds token_file_refresh{std::chrono::minutes(1)};
  std::string user_agent = "raydog-operator/0.1.0";
  // HTTPS_PROXY/HTTP_PROXY/NO_PROXY (client-go reads them too); a kubeconfig proxy-url wins over them.
  http::EgressProxies egress;
  std::function<void(const RequestMetric&)> on_request;
  // Pacing (rate_limit.hpp): every request waits for a token first. Null: unpaced.
  std::shared_ptr<RequestRateLimiter> limiter;
  std::function<void(const RateLimiterMetric&)> on_rate_limited;
};

class RestClient : public Api {
 public:
  // Fails (with a message naming the problem) when the server URL or TLS material is unusable.
  static Result<std::unique_ptr<RestClient>, ConfigError> create(net::any_io_executor ex, RestConfig config,
                                                                 RestOptions options = {});
  ~RestClient() override;

  net::awaitable<Result<json, ApiError>> get(ResourceRef ref, std::string ns, std::string name,
                                             std::string subresource) override;
  net::awaitable<Result<ObjectList, ApiError>> list(ResourceRef ref, std::string ns,
                                                    ListOptions options) override;
  net::awaitable<Result<json, ApiError>> create(ResourceRef ref, std::string ns, json object,
                                                WriteOptions options) override;
  net::awaitable<Result<json, ApiError>> update(ResourceRef ref, json object, std::string subresource,
                                                WriteOptions options) override;
  net::awaitable<Result<json, ApiError>> patch(ResourceRef ref, std::string ns, std::string name,
                                               PatchType type, json patch, std::string subresource,
                                               WriteOptions options) override;
  net::awaitable<Result<json, ApiError>> remove(ResourceRef ref, std::string ns, std::string name,
                                                DeleteOptions options) override;
  net::awaitable<Result<std::unique_ptr<WatchStream>, ApiError>> watch(ResourceRef ref, std::string ns,
                                                                       WatchOptions options) override;

  const RestConfig& config() const;
  // A client on the same connections, credentials and metrics hooks that paces with `limiter` instead
  // (null: unpaced): the Event recorder's and the Lease's own buckets. Either may be destroyed first.
  std::unique_ptr<RestClient> with_limiter(std::shared_ptr<RequestRateLimiter> limiter) const;

  struct Impl;

 private:
  RestClient(std::shared_ptr<Impl> impl, std::shared_ptr<RequestRateLimiter> limiter);
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<RequestRateLimiter> limiter_;
};

}  // namespace raydog::kube
