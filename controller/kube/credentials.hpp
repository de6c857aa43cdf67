#pragma once
// The request credentials for one RestConfig, kept fresh: a static bearer token; a token file re-read every
// `token_file_refresh` and after a 401 (rotated service-account tokens); an exec plugin's credential cached
// until its expirationTimestamp and re-run after a 401; basic auth. The exec plugin blocks, so it runs on a
// helper thread and its result comes back to the io thread with co_await; concurrent callers share one run.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "controller/kube/config.hpp"
#include "controller/kube/exec_credential.hpp"
#include "controller/kube/rest.hpp"

namespace raydog::kube {

struct AuthState {
  std::string authorization;    // the Authorization header value ("Bearer ...", "Basic ..."), or ""
  std::string client_cert_pem;  // from an exec plugin; empty when the kubeconfig's own cert applies
  std::string client_key_pem;
  std::uint64_t tls_generation = 0;  // bumps when the exec plugin's client certificate changed
};

class Credentials {
 public:
  Credentials(net::any_io_executor ex, RestConfig config,
              std::chrono::milliseconds token_file_refresh = std::chrono::minutes(1),
              std::chrono::milliseconds exec_timeout = std::chrono::seconds(60));
  ~Credentials();
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;

  // The credentials to send now. Errors (a failing plugin, an unreadable token file) name their source,
  // never a secret.
  net::awaitable<Result<AuthState, ConfigError>> get();
  // The server said 401: forget cached dynamic credentials. True when a retry may help (exec or token file).
  bool invalidate();
  int exec_runs() const { return exec_runs_; }
  int token_file_reads() const { return token_file_reads_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  int exec_runs_ = 0;
  int token_file_reads_ = 0;
};

}  // namespace raydog::kube
