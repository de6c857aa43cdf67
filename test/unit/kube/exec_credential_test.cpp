#include "controller/kube/exec_credential.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "test/support/process.hpp"

using raydog::kube::ExecConfig;
using raydog::kube::RestConfig;
using raydog::test::TempDir;

namespace {

std::string make_script(const TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.file(name);
  raydog::test::write_file(path, "#!/bin/sh\n" + body);
  chmod(path.c_str(), 0755);
  return path;
}

ExecConfig exec_for(const std::string& command,
                    const std::string& version = "client.authentication.k8s.io/v1") {
  ExecConfig e;
  e.command = command;
  e.api_version = version;
  e.origin = "/tmp/kc: users[0].user.exec";
  return e;
}

}  // namespace

TEST_CASE("exec plugin: args, env and KUBERNETES_EXEC_INFO reach the plugin and its token comes back") {
  TempDir dir;
  auto cmd =
      make_script(dir, "plugin",
                  "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$OUT_DIR/info\"\n"
                  "printf '%s %s' \"$1\" \"$2\" > \"$OUT_DIR/args\"\n"
                  "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                  "\"status\":{\"token\":\"tok-1\",\"expirationTimestamp\":\"2030-01-01T00:00:00Z\"}}'\n");
  ExecConfig e = exec_for(cmd);
  e.args = {"get-token", "--cluster=a"};
  e.env = {{"OUT_DIR", dir.path().string()}};
  e.provide_cluster_info = true;
  RestConfig cluster;
  cluster.server = "https://127.0.0.1:6443";
  cluster.ca_pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
  auto cred = raydog::kube::run_exec_plugin(e, cluster);
  REQUIRE_MESSAGE(cred.ok(), (cred.ok() ? std::string() : cred.error().message));
  CHECK(cred->token == "tok-1");
  REQUIRE(cred->expiry.has_value());
  CHECK(raydog::kube::format_time(*cred->expiry) == "2030-01-01T00:00:00Z");
  CHECK(raydog::test::read_file(dir.file("args")) == "get-token --cluster=a");
  auto info = nlohmann::json::parse(raydog::test::read_file(dir.file("info")));
  CHECK(info["apiVersion"] == "client.authentication.k8s.io/v1");
  CHECK(info["kind"] == "ExecCredential");
  CHECK(info["spec"]["interactive"] == false);
  CHECK(info["spec"]["cluster"]["server"] == "https://127.0.0.1:6443");
  CHECK(info["spec"]["cluster"].contains("certificate-authority-data"));
}

TEST_CASE("exec plugin: v1beta1 plugins and client certificates") {
  TempDir dir;
  auto cmd = make_script(
      dir, "plugin",
      "cat <<'J'\n{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\nA\\n-----END "
      "CERTIFICATE-----\\n\","
      "\"clientKeyData\":\"-----BEGIN PRIVATE KEY-----\\nB\\n-----END PRIVATE KEY-----\\n\"}}\nJ\n");
  auto cred =
      raydog::kube::run_exec_plugin(exec_for(cmd, "client.authentication.k8s.io/v1beta1"), RestConfig{});
  REQUIRE_MESSAGE(cred.ok(), (cred.ok() ? std::string() : cred.error().message));
  CHECK(cred->token.empty());
  CHECK(cred->client_cert_pem.find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK(cred->client_key_pem.find("BEGIN PRIVATE KEY") != std::string::npos);
  CHECK_FALSE(cred->expiry.has_value());
}

TEST_CASE("exec plugin: failures are reported with the plugin's name and never the token") {
  TempDir dir;
  struct Case {
    std::string body;
    std::string expect;
  };
  const std::string prefix = "exec plugin ";
  std::vector<Case> cases = {
      {"echo 'login required' >&2\nexit 3\n", "exited with status 3: login required"},
      {"echo not-json\n", "output is not a JSON ExecCredential"},
      {"echo "
       "'{\"apiVersion\":\"client.authentication.k8s.io/"
       "v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"secret-x\"}}'\n",
       "plugin returned apiVersion \"client.authentication.k8s.io/v1beta1\", configured "
       "\"client.authentication.k8s.io/v1\""},
      {"echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\"}'\n",
       "output has no status"},
      {"echo "
       "'{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{}}'\n",
       "status has neither token nor clientCertificateData"},
      {"echo "
       "'{\"apiVersion\":\"client.authentication.k8s.io/"
       "v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"secret-x\",\"expirationTimestamp\":\"soon\"}"
       "}'\n",
       "status.expirationTimestamp \"soon\" is not an RFC 3339 time"},
  };
  int i = 0;
  for (const auto& c : cases) {
    CAPTURE(c.body);
    auto cmd = make_script(dir, "p" + std::to_string(i++), c.body);
    auto cred = raydog::kube::run_exec_plugin(exec_for(cmd), RestConfig{});
    REQUIRE_FALSE(cred.ok());
    CHECK(cred.error().message == prefix + cmd + " (/tmp/kc: users[0].user.exec): " + c.expect);
    CHECK(cred.error().message.find("secret-x") == std::string::npos);
  }
}

TEST_CASE("exec plugin: a missing command and a hung plugin fail cleanly") {
  TempDir dir;
  auto cred = raydog::kube::run_exec_plugin(exec_for(dir.file("nope")), RestConfig{});
  REQUIRE_FALSE(cred.ok());
  CHECK(cred.error().message.find("cannot start: No such file or directory") != std::string::npos);

  auto cmd = make_script(dir, "slow", "exec sleep 30\n");
  cred = raydog::kube::run_exec_plugin(exec_for(cmd), RestConfig{}, std::chrono::milliseconds(200));
  REQUIRE_FALSE(cred.ok());
  CHECK(cred.error().message.find("did not finish within 200 ms") != std::string::npos);
}
