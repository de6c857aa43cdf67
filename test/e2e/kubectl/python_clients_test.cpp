// Clients other than kubectl: Debian's python3-kubernetes, raw HTTP bad input, and 10,000 objects.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

#include "test/e2e/kubectl/checks.hpp"
#include "test/e2e/kubectl/harness.hpp"

using namespace raydog::e2e;

namespace {
// The tests below name the resource by its plural, not the short name `rdc`: kubectl 1.20 expands short names
// from its discovery cache before it refreshes that cache, so right after a new CRD (cached discovery from
// the apply) `rdc` is unknown to it even though the server lists it.
void install_crd(const Emulator& emu) {
  REQUIRE_OK(emu.kubectl({"apply", "-f", test_crd_path()}));
  REQUIRE_OK(
      emu.kubectl({"wait", "--for=condition=Established", "crd/raydogclusters.raydog.io", "--timeout=30s"}));
}
std::string script(const std::string& name) {
  return raydog::test::source_path("test/e2e/kubectl/" + name);
}
}  // namespace

TEST_CASE("python3-kubernetes: list - watch - patch status - 409 on a stale update") {
  Emulator emu;
  install_crd(emu);
  auto r = raydog::test::run_command({"/usr/bin/python3", script("py_client_check.py"), emu.kubeconfig()},
                                     emu.client_env(), std::chrono::seconds(120));
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "OK\n");
}

TEST_CASE("python3-kubernetes over TLS with the token") {
  Emulator emu({"--tls"});
  install_crd(emu);
  auto r = raydog::test::run_command({"/usr/bin/python3", script("py_client_check.py"), emu.kubeconfig()},
                                     emu.client_env(), std::chrono::seconds(120));
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "OK\n");
}

TEST_CASE(
    "bad input: malformed bodies - unknown kinds - oversize bodies - invalid names get Status and serving "
    "goes on") {
  Emulator emu;
  install_crd(emu);
  auto r = raydog::test::run_command({"/usr/bin/python3", script("http_check.py"), emu.url(), "bad-input"},
                                     {}, std::chrono::seconds(120));
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "OK\n");
  REQUIRE_OK(emu.kubectl({"get", "raydogclusters", "still-serving"}));
}

TEST_CASE("scale: 10000 custom resources - create - list - watch from resourceVersion 0") {
  Emulator emu;
  install_crd(emu);
  long rss_before = rss_kb(emu.pid());
  auto r =
      raydog::test::run_command({"/usr/bin/python3", script("http_check.py"), emu.url(), "scale", "10000"},
                                {}, std::chrono::seconds(540));
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  long rss_after = rss_kb(emu.pid());
  MESSAGE("kube-emulator with 10000 RayDogClusters: " << r.out << "RSS before " << rss_before << " kB, after "
                                                      << rss_after << " kB (this build: "
                                                      <<
#if defined(__SANITIZE_ADDRESS__)
          "ASan+UBSan"
#else
          "unsanitized"
#endif
                                                      << ")");
  CHECK(contains(r.out, "\"objects\": 10000"));
  auto count = emu.kubectl({"get", "raydogclusters", "--no-headers"}, "", std::chrono::seconds(120));
  REQUIRE_OK(count);
  CHECK(std::count(count.out.begin(), count.out.end(), '\n') == 10000);
}
