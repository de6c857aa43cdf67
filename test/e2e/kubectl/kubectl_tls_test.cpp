// TLS with a fresh CA: kubectl with the bearer token works, a wrong or missing token gets 401, and the
// client certificate written with --client-cert is accepted too.
#include <doctest/doctest.h>

#include <regex>

#include "test/e2e/kubectl/checks.hpp"
#include "test/e2e/kubectl/harness.hpp"

using namespace raydog::e2e;
using raydog::test::read_file;
using raydog::test::write_file;

TEST_CASE("kubectl over TLS: token auth works and the checklist basics pass") {
  Emulator emu({"--tls", "--token", "s3cret-token"});
  CHECK(emu.url().rfind("https://127.0.0.1:", 0) == 0);
  std::string kc = read_file(emu.kubeconfig());
  CHECK(contains(kc, "certificate-authority-data:"));
  CHECK(contains(kc, "token: s3cret-token"));
  CHECK_FALSE(contains(emu.log(), "s3cret-token"));
  REQUIRE_OK(emu.kubectl({"apply", "-f", test_crd_path()}));
  REQUIRE_OK(
      emu.kubectl({"wait", "--for=condition=Established", "crd/raydogclusters.raydog.io", "--timeout=30s"}));
  auto created = emu.kubectl({"apply", "-f", "-"},
                             "apiVersion: raydog.io/v1alpha1\nkind: RayDogCluster\nmetadata: {name: "
                             "t}\nspec:\n  yellowdog: {namespace: ray}\n");
  REQUIRE_OK(created);
  CHECK_OUT(created, "raydogcluster.raydog.io/t created");
  auto table = emu.kubectl({"get", "rdc"});
  REQUIRE_OK(table);
  CHECK(std::regex_search(table.out, std::regex(R"(NAME\s+PHASE)")));
  auto version = emu.kubectl({"version"});
  REQUIRE_OK(version);
  // kubectl 1.28 made the short form the default; older clients print the whole version.Info.
  CHECK_OUT(version, kubectl_version().minor >= 28
                         ? "Server Version: v1.32.0"
                         : R"(Server Version: version.Info{Major:"1", Minor:"32", GitVersion:"v1.32.0")");
}

TEST_CASE("kubectl over TLS: a wrong token gets 401 Unauthorized") {
  Emulator emu({"--tls", "--token", "right-token"});
  std::string kc = read_file(emu.kubeconfig());
  write_file(emu.kubeconfig(),
             std::regex_replace(kc, std::regex("token: right-token"), "token: wrong-token"));
  // Discovery gets the 401 first: kubectl's wording for it. Clients with aggregated discovery (1.26+) word it
  // generically; older ones show the Status message (checked with 1.20 and 1.32).
  auto r = emu.kubectl({"get", "ns"});
  CHECK_ERR(r, kubectl_version().minor >= 26
                   ? "error: You must be logged in to the server (the server has asked for the client to "
                     "provide credentials)"
                   : "error: You must be logged in to the server (Unauthorized)");
  CHECK_FALSE(contains(r.err, "right-token"));
  // A raw request shows the Status message itself.
  auto raw = emu.kubectl({"get", "--raw", "/api/v1/namespaces"});
  CHECK_ERR(raw, "error: You must be logged in to the server (Unauthorized)");
  // No credentials at all: also refused (kubectl then asks for a username on stdin, which is empty).
  write_file(emu.kubeconfig(), std::regex_replace(kc, std::regex("    token: right-token\n"), "    {}\n"));
  CHECK(emu.kubectl({"get", "ns"}).exit_code != 0);
}

TEST_CASE("kubectl over TLS: the generated client certificate authenticates") {
  Emulator emu({"--tls", "--client-cert"});
  std::string kc = read_file(emu.kubeconfig());
  CHECK(contains(kc, "client-certificate-data:"));
  CHECK_FALSE(contains(kc, "token:"));
  auto ns = emu.kubectl({"get", "ns", "default", "-o", "jsonpath={.status.phase}"});
  REQUIRE_OK(ns);
  CHECK(ns.out == "Active");
}
