#include "controller/kube/config.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "controller/util/base64.hpp"
#include "test/support/process.hpp"

using raydog::kube::ConfigEnv;
using raydog::kube::LoadOptions;
using raydog::test::TempDir;
using raydog::test::write_file;

namespace {

const std::string kCertPem = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
const std::string kKeyPem = "-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n";

std::string b64(const std::string& s) {
  return raydog::base64_encode(s);
}

// A valid kubeconfig with two contexts; tests patch pieces of it.
std::string base_config() {
  return "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
         "clusters:\n"
         "- name: c1\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: " +
         b64(kCertPem) +
         "\n"
         "- name: c2\n  cluster:\n    server: http://127.0.0.1:8080\n"
         "users:\n"
         "- name: u1\n  user:\n    token: s3cret-token\n"
         "- name: u2\n  user:\n    client-certificate-data: " +
         b64(kCertPem) + "\n    client-key-data: " + b64(kKeyPem) +
         "\n"
         "contexts:\n"
         "- name: dev\n  context:\n    cluster: c1\n    user: u1\n    namespace: team-a\n"
         "- name: plain\n  context:\n    cluster: c2\n    user: u2\n";
}

}  // namespace

TEST_CASE("kubeconfig: current-context resolves cluster, user and namespace") {
  auto rc = raydog::kube::parse_kubeconfig(base_config(), "/tmp/kc");
  REQUIRE_MESSAGE(rc.ok(), (rc.ok() ? std::string() : rc.error().message));
  CHECK(rc->server == "https://127.0.0.1:6443");
  CHECK(rc->ca_pem == kCertPem);
  CHECK(rc->token == "s3cret-token");
  CHECK(rc->namespace_name == "team-a");
  CHECK(rc->context == "dev");
  CHECK_FALSE(rc->insecure_skip_tls_verify);
}

TEST_CASE("kubeconfig: --context overrides current-context") {
  auto rc = raydog::kube::parse_kubeconfig(base_config(), "/tmp/kc", "plain");
  REQUIRE_MESSAGE(rc.ok(), (rc.ok() ? std::string() : rc.error().message));
  CHECK(rc->server == "http://127.0.0.1:8080");
  CHECK(rc->client_cert_pem == kCertPem);
  CHECK(rc->client_key_pem == kKeyPem);
  CHECK(rc->token.empty());
  CHECK(rc->namespace_name == "default");
}

TEST_CASE("kubeconfig: malformed inputs name the file, the field and the problem") {
  struct Case {
    std::string name;
    std::string yaml;
    std::string context;
    std::string message;
  };
  const std::string ctx = "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
  const std::string cl = "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n";
  const std::vector<Case> cases = {
      {"yaml syntax", "clusters: [\n", "", "/tmp/kc: not valid YAML: "},
      {"top is a list", "- a\n- b\n", "",
       "/tmp/kc: not a kubeconfig: expected a mapping at the top, got a list"},
      {"wrong kind", "kind: Pod\n", "", "/tmp/kc: kind: expected \"Config\", got \"Pod\""},
      {"clusters not a list", "clusters: {a: 1}\n", "", "/tmp/kc: clusters: expected a list, got a mapping"},
      {"cluster without name", "clusters:\n- cluster: {server: x}\n", "",
       "/tmp/kc: clusters[0].name: required"},
      {"duplicate name", cl + "- name: c\n  cluster: {}\n", "",
       "/tmp/kc: clusters[1].name: duplicate name \"c\" (also clusters[0])"},
      {"server not a string", "clusters:\n- name: c\n  cluster: {server: [1]}\n", "",
       "/tmp/kc: clusters[0].cluster.server: expected a string, got a list"},
      {"bad ca base64", "clusters:\n- name: c\n  cluster: {certificate-authority-data: '!!notb64'}\n", "",
       "/tmp/kc: clusters[0].cluster.certificate-authority-data: not valid base64"},
      {"ca data not pem",
       "clusters:\n- name: c\n  cluster: {certificate-authority-data: " + b64("hello") + "}\n", "",
       "/tmp/kc: clusters[0].cluster.certificate-authority-data: decodes to something that is not PEM "
       "(expected a CA certificate)"},
      {"insecure not bool", "clusters:\n- name: c\n  cluster: {insecure-skip-tls-verify: 'yes'}\n", "",
       "/tmp/kc: clusters[0].cluster.insecure-skip-tls-verify: expected true or false, got a string"},
      {"bad key base64",
       "users:\n- name: a\n  user: {}\n- name: u\n  user:\n    client-certificate-data: " + b64(kCertPem) +
           "\n    client-key-data: 'abc$'\n",
       "", "/tmp/kc: users[1].user.client-key-data: not valid base64"},
      {"cert without key", "users:\n- name: u\n  user:\n    client-certificate-data: " + b64(kCertPem) + "\n",
       "", "/tmp/kc: users[0].user: client-certificate(-data) is set without client-key(-data)"},
      {"cert file and data",
       "users:\n- name: u\n  user:\n    client-certificate: a.crt\n    client-certificate-data: " +
           b64(kCertPem) + "\n    client-key: a.key\n",
       "", "/tmp/kc: users[0].user: client-certificate and client-certificate-data are both set; set one"},
      {"exec without command",
       "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1}\n", "",
       "/tmp/kc: users[0].user.exec.command: required"},
      {"exec without apiVersion", "users:\n- name: u\n  user:\n    exec: {command: x}\n", "",
       "/tmp/kc: users[0].user.exec.apiVersion: required"},
      {"exec v1alpha1",
       "users:\n- name: u\n  user:\n    exec: {command: x, apiVersion: "
       "client.authentication.k8s.io/v1alpha1}\n",
       "",
       "/tmp/kc: users[0].user.exec.apiVersion: client.authentication.k8s.io/v1alpha1 is no longer "
       "supported; use v1"},
      {"exec env without name",
       "users:\n- name: u\n  user:\n    exec:\n      command: x\n      apiVersion: "
       "client.authentication.k8s.io/v1\n"
       "      env: [{value: y}]\n",
       "", "/tmp/kc: users[0].user.exec.env[0].name: required"},
      {"exec args not strings",
       "users:\n- name: u\n  user:\n    exec: {command: x, apiVersion: client.authentication.k8s.io/v1, "
       "args: [a, [b]]}\n",
       "", "/tmp/kc: users[0].user.exec.args[1]: expected a string, got a list"},
      {"exec bad interactive mode",
       "users:\n- name: u\n  user:\n    exec: {command: x, apiVersion: client.authentication.k8s.io/v1, "
       "interactiveMode: Sometimes}\n",
       "",
       "/tmp/kc: users[0].user.exec.interactiveMode: must be Never, IfAvailable or Always, got "
       "\"Sometimes\""},
      {"no current context", cl, "", "/tmp/kc: current-context: not set (and no --context given)"},
      {"current context missing", cl + "current-context: nope\n", "",
       "/tmp/kc: current-context: context \"nope\" not found"},
      {"--context missing", cl + ctx, "other", "/tmp/kc: --context \"other\": no such context"},
      {"context names missing cluster", ctx, "",
       "/tmp/kc: contexts[0].context.cluster: cluster \"c\" not found"},
      {"context names missing user", cl + ctx, "", "/tmp/kc: contexts[0].context.user: user \"u\" not found"},
      {"context without cluster", "contexts:\n- name: x\n  context: {user: u}\ncurrent-context: x\n", "",
       "/tmp/kc: contexts[0].context.cluster: required"},
      {"server missing", "clusters:\n- name: c\n  cluster: {}\nusers:\n- name: u\n" + ctx, "",
       "/tmp/kc: clusters[0].cluster.server: required"},
      {"server bad scheme", "clusters:\n- name: c\n  cluster: {server: 'ftp://h'}\nusers:\n- name: u\n" + ctx,
       "", "/tmp/kc: clusters[0].cluster.server: must be an http:// or https:// URL, got \"ftp://h\""},
      {"insecure with ca",
       "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: "
       "true\n"
       "    certificate-authority-data: " +
           b64(kCertPem) + "\nusers:\n- name: u\n" + ctx,
       "",
       "/tmp/kc: clusters[0].cluster: insecure-skip-tls-verify: cannot be combined with "
       "certificate-authority(-data); remove one"},
      {"ca file missing",
       "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1', certificate-authority: ca.pem}\n"
       "users:\n- name: u\n" +
           ctx,
       "",
       "/tmp/kc: clusters[0].cluster.certificate-authority: cannot read \"/tmp/ca.pem\": No such file or "
       "directory"},
      {"token file missing", cl + "users:\n- name: u\n  user: {tokenFile: /nonexistent/tok}\n" + ctx, "",
       "/tmp/kc: users[0].user.tokenFile: cannot read \"/nonexistent/tok\": No such file or directory"},
      {"auth-provider", cl + "users:\n- name: u\n  user: {auth-provider: {name: gcp}}\n" + ctx, "",
       "/tmp/kc: users[0].user.auth-provider: auth-provider plugins are not supported; use exec"},
      {"exec always interactive",
       cl +
           "users:\n- name: u\n  user:\n    exec: {command: x, apiVersion: client.authentication.k8s.io/v1, "
           "interactiveMode: Always}\n" +
           ctx,
       "",
       "/tmp/kc: users[0].user.exec.interactiveMode: \"Always\" needs a terminal; raydog-operator runs "
       "non-interactively"},
      {"socks proxy",
       "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1', proxy-url: "
       "'socks5://u:pw@127.0.0.1:1080'}\n"
       "users:\n- name: u\n" +
           ctx,
       "",
       "/tmp/kc: clusters[0].cluster.proxy-url: 'socks5://***@127.0.0.1:1080': the proxy scheme 'socks5' is not "
       "supported; use http://"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto rc = raydog::kube::parse_kubeconfig(c.yaml, "/tmp/kc", c.context);
    REQUIRE_FALSE(rc.ok());
    if (c.name == "yaml syntax") {
      CHECK(rc.error().message.rfind(c.message, 0) == 0);
      CHECK(rc.error().message.find("line") != std::string::npos);
    } else {
      CHECK(rc.error().message == c.message);
    }
  }
}

TEST_CASE("kubeconfig: proxy-url routes every request of that cluster through the proxy") {
  const std::string yaml =
      "clusters:\n- name: c\n  cluster: {server: 'https://10.0.0.1:6443', proxy-url: "
      "'http://ops:pw@proxy.corp.example:3128'}\nusers:\n- name: u\n  user: {token: t}\n"
      "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
  auto rc = raydog::kube::parse_kubeconfig(yaml, "/tmp/kc");
  REQUIRE(rc.ok());
  REQUIRE(rc->proxy);
  CHECK(rc->proxy->display() == "http://proxy.corp.example:3128");
  CHECK(rc->proxy->authorization == "Basic b3BzOnB3");  // ops:pw
}

TEST_CASE("kubeconfig: error messages never contain credential values") {
  std::string yaml =
      "clusters:\n- name: c\n  cluster: {server: 'ftp://h'}\nusers:\n- name: u\n  user:\n"
      "    token: topsecret\n    client-key-data: 'topsecret$'\n    client-certificate-data: " +
      b64(kCertPem) + "\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
  auto rc = raydog::kube::parse_kubeconfig(yaml, "/tmp/kc");
  REQUIRE_FALSE(rc.ok());
  CHECK(rc.error().message.find("topsecret") == std::string::npos);
}

TEST_CASE("kubeconfig: relative file paths resolve against the kubeconfig's folder") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "certs");
  write_file(dir.file("certs/ca.pem"), kCertPem);
  write_file(dir.file("certs/client.crt"), kCertPem);
  write_file(dir.file("certs/client.key"), kKeyPem);
  write_file(dir.file("token"), "tok\n");
  write_file(
      dir.file("kc"),
      "clusters:\n- name: c\n  cluster: {server: '127.0.0.1:6443', certificate-authority: certs/ca.pem, "
      "tls-server-name: kubernetes}\n"
      "users:\n- name: u\n  user: {client-certificate: certs/client.crt, client-key: certs/client.key, "
      "tokenFile: token}\n"
      "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n");
  auto rc = raydog::kube::load_kubeconfig({dir.file("kc")}, "");
  REQUIRE_MESSAGE(rc.ok(), (rc.ok() ? std::string() : rc.error().message));
  CHECK(rc->server == "https://127.0.0.1:6443");  // a bare host:port means https, as in client-go
  CHECK(rc->ca_pem == kCertPem);
  CHECK(rc->client_cert_pem == kCertPem);
  CHECK(rc->client_key_pem == kKeyPem);
  CHECK(rc->token_file == dir.file("token"));
  CHECK(rc->tls_server_name == "kubernetes");
}

TEST_CASE("kubeconfig: a KUBECONFIG list merges first-wins per name and skips missing files") {
  TempDir dir;
  write_file(dir.file("a"),
             "clusters:\n- name: shared\n  cluster: {server: 'https://127.0.0.1:1111'}\n"
             "users:\n- name: u\n  user: {token: first}\n");
  write_file(dir.file("b"),
             "current-context: ctx\n"
             "clusters:\n- name: shared\n  cluster: {server: 'https://127.0.0.1:2222'}\n"
             "- name: other\n  cluster: {server: 'https://127.0.0.1:3333'}\n"
             "users:\n- name: u\n  user: {token: second}\n"
             "contexts:\n- name: ctx\n  context: {cluster: shared, user: u, namespace: b-ns}\n"
             "- name: ctx2\n  context: {cluster: other, user: u}\n");
  ConfigEnv env;
  env.kubeconfig = dir.file("missing") + ":" + dir.file("a") + "::" + dir.file("b");
  env.home = dir.path().string();
  LoadOptions opts{"", "", env};
  auto rc = raydog::kube::load_config(opts);
  REQUIRE_MESSAGE(rc.ok(), (rc.ok() ? std::string() : rc.error().message));
  CHECK(rc->server == "https://127.0.0.1:1111");
  CHECK(rc->token == "first");
  CHECK(rc->namespace_name == "b-ns");
  opts.context = "ctx2";
  rc = raydog::kube::load_config(opts);
  REQUIRE(rc.ok());
  CHECK(rc->server == "https://127.0.0.1:3333");

  env.kubeconfig = dir.file("missing1") + ":" + dir.file("missing2");
  rc = raydog::kube::load_config(LoadOptions{"", "", env});
  REQUIRE_FALSE(rc.ok());
  CHECK(rc.error().message ==
        "no kubeconfig file exists (looked for: " + dir.file("missing1") + ", " + dir.file("missing2") + ")");
}

TEST_CASE("kubeconfig: an explicit --kubeconfig that does not exist is an error naming it") {
  auto rc = raydog::kube::load_config(LoadOptions{"/nonexistent/kc", "", ConfigEnv{}});
  REQUIRE_FALSE(rc.ok());
  CHECK(rc.error().message == "/nonexistent/kc: cannot read \"/nonexistent/kc\": No such file or directory");
}

TEST_CASE("config: discovery order is --kubeconfig, in-cluster, KUBECONFIG, ~/.kube/config") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / ".kube");
  std::filesystem::create_directories(dir.path() / "sa");
  write_file(dir.file("sa/token"), "sa-token\n");
  write_file(dir.file("sa/ca.crt"), kCertPem);
  write_file(dir.file("sa/namespace"), "raydog-system\n");
  auto kc = [](const std::string& port) {
    return "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:" + port +
           "'}\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n";
  };
  write_file(dir.file(".kube/config"), kc("1"));
  write_file(dir.file("env-kc"), kc("2"));
  write_file(dir.file("flag-kc"), kc("3"));

  ConfigEnv env;
  env.home = dir.path().string();
  env.service_host = "10.0.0.1";
  env.service_port = "443";
  env.service_account_dir = dir.file("sa");

  auto rc = raydog::kube::load_config(LoadOptions{dir.file("flag-kc"), "", env});
  REQUIRE(rc.ok());
  CHECK(rc->server == "https://127.0.0.1:3");

  rc = raydog::kube::load_config(LoadOptions{"", "", env});
  REQUIRE_MESSAGE(rc.ok(), (rc.ok() ? std::string() : rc.error().message));
  CHECK(rc->in_cluster);
  CHECK(rc->server == "https://10.0.0.1:443");
  CHECK(rc->token_file == dir.file("sa/token"));
  CHECK(rc->ca_pem == kCertPem);
  CHECK(rc->namespace_name == "raydog-system");

  env.kubeconfig = dir.file("env-kc");
  rc = raydog::kube::load_config(LoadOptions{"", "", env});
  REQUIRE(rc.ok());
  CHECK(rc->server == "https://127.0.0.1:2");

  env.kubeconfig.reset();
  env.service_host.reset();
  rc = raydog::kube::load_config(LoadOptions{"", "", env});
  REQUIRE(rc.ok());
  CHECK(rc->server == "https://127.0.0.1:1");

  std::filesystem::remove(dir.file(".kube/config"));
  rc = raydog::kube::load_config(LoadOptions{"", "", env});
  REQUIRE_FALSE(rc.ok());
  CHECK(rc.error().message.find(dir.file(".kube/config") + " does not exist") != std::string::npos);
}

TEST_CASE("in-cluster: env, IPv6 hosts, POD_NAMESPACE and missing files") {
  TempDir dir;
  ConfigEnv env;
  env.service_account_dir = dir.path().string();
  auto rc = raydog::kube::load_in_cluster(env);
  REQUIRE_FALSE(rc.ok());
  CHECK(rc.error().message ==
        "not in cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set");

  env.service_host = "fd00::1";
  env.service_port = "6443";
  rc = raydog::kube::load_in_cluster(env);
  REQUIRE_FALSE(rc.ok());
  CHECK(rc.error().message == "in-cluster: service-account token: cannot read \"" + dir.file("token") +
                                  "\": No such file or directory");
  write_file(dir.file("token"), "t");
  write_file(dir.file("ca.crt"), "not pem");
  rc = raydog::kube::load_in_cluster(env);
  REQUIRE_FALSE(rc.ok());
  CHECK(rc.error().message == "in-cluster: " + dir.file("ca.crt") + ": not a PEM certificate bundle");
  write_file(dir.file("ca.crt"), kCertPem);
  env.pod_namespace = "from-env";
  write_file(dir.file("namespace"), "from-file");
  rc = raydog::kube::load_in_cluster(env);
  REQUIRE_MESSAGE(rc.ok(), (rc.ok() ? std::string() : rc.error().message));
  CHECK(rc->server == "https://[fd00::1]:6443");
  CHECK(rc->namespace_name == "from-env");
  env.pod_namespace.reset();
  rc = raydog::kube::load_in_cluster(env);
  REQUIRE(rc.ok());
  CHECK(rc->namespace_name == "from-file");
}

// Found by fuzz_kubeconfig: a name holding invalid UTF-8 made the error message's quoting throw.
TEST_CASE("kubeconfig: invalid UTF-8 is an error naming the file and position, not an exception") {
  const std::string yaml = "clusters:\n- name: \"c\xff\"\n  cluster: {server: 'https://127.0.0.1:1'}\n";
  auto rc = raydog::kube::parse_kubeconfig(yaml, "/tmp/kc");
  REQUIRE_FALSE(rc.ok());
  CHECK(rc.error().message.find("/tmp/kc") != std::string::npos);
  CHECK(rc.error().message.find("invalid UTF-8") != std::string::npos);
}
