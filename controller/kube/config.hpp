#pragma once
// Where the API server is and how to authenticate to it: kubeconfig files (explicit path, a KUBECONFIG list
// merged first-wins per name, ~/.kube/config, a --context override) and in-cluster service-account config.
// Beast-free and I/O-light (small file reads only), so it is unit-tested without sockets.
//
// Every malformed input is reported as "<file>: <field>: <what is wrong>", for example
// "/tmp/kc: users[0].user.client-key-data: not valid base64". Messages never contain credential values.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/http/proxy.hpp"
#include "controller/util/result.hpp"

namespace raydog::kube {

struct ConfigError {
  std::string message;
};

// users[].user.exec: a credential plugin (client.authentication.k8s.io/v1 or v1beta1 ExecCredential).
struct ExecConfig {
  std::string api_version;  // "client.authentication.k8s.io/v1" | "client.authentication.k8s.io/v1beta1"
  std::string command;      // a relative command containing '/' is resolved against the kubeconfig's folder
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  bool provide_cluster_info = false;
  std::string interactive_mode = "IfAvailable";  // we never have a terminal: "Always" is refused
  std::string origin;                            // "<file>: users[2].user.exec" for error messages
};

// The resolved connection settings for one context (or in-cluster).
struct RestConfig {
  std::string server;  // "https://host:port[/prefix]"
  std::string ca_pem;  // empty: system trust store
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::optional<http::ProxyEndpoint> proxy;  // the cluster's proxy-url: every request tunnels through it

  std::string token;       // static bearer token (wins over token_file, as in client-go)
  std::string token_file;  // re-read periodically and on 401 (rotated service-account tokens)
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string username;  // basic auth (legacy; only when no token is given)
  std::string password;
  std::optional<ExecConfig> exec;

  std::string namespace_name = "default";  // the context's namespace or the pod's namespace
  std::string context;                     // context name; empty in-cluster
  std::string origin;                      // "kubeconfig /path (context x)" or "in-cluster": for logs
  bool in_cluster = false;

  bool has_credentials() const {
    return !token.empty() || !token_file.empty() || !client_cert_pem.empty() || exec.has_value() ||
           !username.empty();
  }
};

// The process environment the loader consults; tests inject their own.
struct ConfigEnv {
  std::optional<std::string> kubeconfig;     // $KUBECONFIG (unset vs empty matters)
  std::string home;                          // $HOME
  std::optional<std::string> service_host;   // $KUBERNETES_SERVICE_HOST
  std::optional<std::string> service_port;   // $KUBERNETES_SERVICE_PORT
  std::optional<std::string> pod_namespace;  // $POD_NAMESPACE
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";

  static ConfigEnv from_process();
};

struct LoadOptions {
  std::string kubeconfig;  // --kubeconfig; empty: see load_config
  std::string context;     // --context; empty: current-context
  ConfigEnv env = ConfigEnv::from_process();
};

// Order (as the Go tooling): explicit --kubeconfig; else in-cluster when KUBECONFIG is unset and both
// KUBERNETES_SERVICE_HOST/PORT are set; else the KUBECONFIG list; else ~/.kube/config.
Result<RestConfig, ConfigError> load_config(const LoadOptions& options);

// Kubeconfig files merged first-wins per cluster/user/context name; the first non-empty current-context
// wins. Files in `files` that do not exist are skipped when `skip_missing` (KUBECONFIG semantics), else
// an error (--kubeconfig semantics). `context` overrides current-context when non-empty.
Result<RestConfig, ConfigError> load_kubeconfig(const std::vector<std::string>& files,
                                                const std::string& context, bool skip_missing = false);

// One kubeconfig given as text; `path` names it in messages and anchors relative paths.
Result<RestConfig, ConfigError> parse_kubeconfig(std::string_view text, const std::string& path,
                                                 const std::string& context = "");

// In-cluster config: both KUBERNETES_SERVICE_HOST and _PORT must be set ("not in cluster" otherwise).
Result<RestConfig, ConfigError> load_in_cluster(const ConfigEnv& env);

// Splits a KUBECONFIG value on ':' and drops empty entries.
std::vector<std::string> split_kubeconfig_env(std::string_view value);

}  // namespace raydog::kube
