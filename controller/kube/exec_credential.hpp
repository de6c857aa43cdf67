#pragma once
// client-go credential plugins ("users[].user.exec"): run the command with KUBERNETES_EXEC_INFO set, parse
// the ExecCredential it prints. Blocking on purpose: Credentials (credentials.hpp) runs it on a helper
// thread and brings the result back to the io thread with co_await.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "controller/kube/config.hpp"
#include "controller/kube/time.hpp"

namespace raydog::kube {

struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<SystemTime> expiry;  // nullopt: valid until a 401 says otherwise
};

// The KUBERNETES_EXEC_INFO value: {"apiVersion":..,"kind":"ExecCredential","spec":{"interactive":false
// [,"cluster":{...}]}} (cluster only with provideClusterInfo).
std::string exec_info_json(const ExecConfig& exec, const RestConfig& cluster);

// Parses what the plugin printed. Errors name the plugin ("exec plugin /path/cmd: ...") and never quote
// the credential.
Result<ExecCredential, ConfigError> parse_exec_output(const ExecConfig& exec, std::string_view out);

// Runs the plugin to completion (killed after `timeout`); stdin is /dev/null (never interactive).
Result<ExecCredential, ConfigError> run_exec_plugin(
    const ExecConfig& exec, const RestConfig& cluster,
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace raydog::kube
