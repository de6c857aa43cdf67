#include "controller/kube/exec_credential.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "controller/util/base64.hpp"

extern char** environ;

namespace raydog::kube {
namespace {

using nlohmann::json;

std::string plugin_name(const ExecConfig& exec) {
  return "exec plugin " + exec.command;
}

ConfigError fail(const ExecConfig& exec, const std::string& what) {
  return {plugin_name(exec) + " (" + exec.origin + "): " + what};
}

// The last non-empty line of the plugin's stderr, shortened: enough to diagnose, little room for secrets.
std::string stderr_hint(const std::string& err) {
  std::string s = err;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  auto nl = s.rfind('\n');
  if (nl != std::string::npos) s = s.substr(nl + 1);
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s.empty() ? "" : ": " + s;
}

}  // namespace

std::string exec_info_json(const ExecConfig& exec, const RestConfig& cluster) {
  json spec = {{"interactive", false}};
  if (exec.provide_cluster_info) {
    json c = {{"server", cluster.server}};
    if (!cluster.tls_server_name.empty()) c["tls-server-name"] = cluster.tls_server_name;
    if (cluster.insecure_skip_tls_verify) c["insecure-skip-tls-verify"] = true;
    if (!cluster.ca_pem.empty()) c["certificate-authority-data"] = base64_encode(cluster.ca_pem);
    spec["cluster"] = c;
  }
  return json{{"apiVersion", exec.api_version}, {"kind", "ExecCredential"}, {"spec", spec}}.dump();
}

Result<ExecCredential, ConfigError> parse_exec_output(const ExecConfig& exec, std::string_view out) {
  json j = json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return unexpected(fail(exec, "output is not a JSON ExecCredential"));
  auto str = [&](const json& o, const char* k) -> std::string {
    auto it = o.find(k);
    return (it != o.end() && it->is_string()) ? it->get<std::string>() : std::string();
  };
  if (str(j, "kind") != "ExecCredential")
    return unexpected(fail(exec, "output kind is \"" + str(j, "kind") + "\", want \"ExecCredential\""));
  if (str(j, "apiVersion") != exec.api_version)
    return unexpected(fail(exec, "plugin returned apiVersion \"" + str(j, "apiVersion") +
                                     "\", configured \"" + exec.api_version + "\""));
  auto st = j.find("status");
  if (st == j.end() || !st->is_object()) return unexpected(fail(exec, "output has no status"));
  ExecCredential cred;
  cred.token = str(*st, "token");
  cred.client_cert_pem = str(*st, "clientCertificateData");
  cred.client_key_pem = str(*st, "clientKeyData");
  if (cred.token.empty() && cred.client_cert_pem.empty())
    return unexpected(fail(exec, "status has neither token nor clientCertificateData"));
  if (cred.client_cert_pem.empty() != cred.client_key_pem.empty())
    return unexpected(fail(exec, "status.clientCertificateData and status.clientKeyData must come together"));
  if (!cred.client_cert_pem.empty() && cred.client_cert_pem.find("-----BEGIN") == std::string::npos)
    return unexpected(fail(exec, "status.clientCertificateData is not PEM"));
  if (!cred.client_key_pem.empty() && cred.client_key_pem.find("-----BEGIN") == std::string::npos)
    return unexpected(fail(exec, "status.clientKeyData is not PEM"));
  if (auto exp = str(*st, "expirationTimestamp"); !exp.empty()) {
    cred.expiry = parse_time(exp);
    if (!cred.expiry)
      return unexpected(fail(exec, "status.expirationTimestamp \"" + exp + "\" is not an RFC 3339 time"));
  }
  return cred;
}

Result<ExecCredential, ConfigError> run_exec_plugin(const ExecConfig& exec, const RestConfig& cluster,
                                                    std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : exec.env) env[k] = v;
  env["KUBERNETES_EXEC_INFO"] = exec_info_json(exec, cluster);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{exec.command};
  argv_strings.insert(argv_strings.end(), exec.args.begin(), exec.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0)
    return unexpected(fail(exec, std::string("pipe: ") + std::strerror(errno)));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return unexpected(fail(exec, std::string("pipe: ") + std::strerror(errno)));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  pid_t pid = -1;
  // posix_spawnp looks the command up in PATH, like exec.LookPath in client-go.
  int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return unexpected(fail(exec, std::string("cannot start: ") + std::strerror(rc)));
  }

  std::string out, err;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        (i == 0 ? out : err).append(buf, static_cast<std::size_t>(r));
        if (out.size() > (1u << 20) || err.size() > (1u << 20)) timed_out = true;  // runaway plugin
      } else if (r == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
    if (timed_out) break;
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return unexpected(fail(exec, "did not finish within " + std::to_string(timeout.count()) + " ms"));
  if (WIFSIGNALED(status))
    return unexpected(fail(exec, "killed by signal " + std::to_string(WTERMSIG(status))));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && out.empty())
    return unexpected(fail(exec, "command not found or not executable" + stderr_hint(err)));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return unexpected(
        fail(exec, "exited with status " + std::to_string(WEXITSTATUS(status)) + stderr_hint(err)));
  return parse_exec_output(exec, out);
}

}  // namespace raydog::kube
