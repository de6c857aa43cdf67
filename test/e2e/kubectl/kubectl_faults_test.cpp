// Fault flags and the project's manifests: --drop-watches-every and a tiny --history force kubectl to
// re-watch and relist (410 Expired) and it still gets its answer; `kubectl apply -k manifests` installs.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "test/e2e/kubectl/checks.hpp"
#include "test/e2e/kubectl/harness.hpp"

using namespace raydog::e2e;

namespace {

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int count_of(const std::string& hay, const std::regex& re) {
  return static_cast<int>(
      std::distance(std::sregex_iterator(hay.begin(), hay.end(), re), std::sregex_iterator()));
}

const std::string kRdc =
    "apiVersion: raydog.io/v1alpha1\nkind: RayDogCluster\nmetadata: {name: NAME}\nspec:\n  yellowdog: "
    "{namespace: ray}\n";
std::string rdc(const std::string& name) {
  return std::regex_replace(kRdc, std::regex("NAME"), name);
}

}  // namespace

TEST_CASE(
    "faults: dropped watches and 410 Expired make kubectl wait re-watch and relist - it still succeeds") {
  Emulator emu({"--drop-watches-every", "1s", "--history", "3", "--verbose"});
  REQUIRE_OK(emu.kubectl({"apply", "-f", test_crd_path()}));
  REQUIRE_OK(
      emu.kubectl({"wait", "--for=condition=Established", "crd/raydogclusters.raydog.io", "--timeout=30s"}));
  REQUIRE_OK(emu.kubectl({"apply", "-f", "-"}, rdc("x")));
  std::string out = emu.dir() + "/wait.txt";
  auto wait = emu.kubectl_background({"wait", "--for=condition=Ready", "rdc/x", "--timeout=120s"}, out);
  const std::regex watch_req(
      R"(GET /apis/raydog\.io/v1alpha1/namespaces/default/raydogclusters\?[^\n]*watch=true[^\n]*-> watch)");
  // The watch is dropped every second: kubectl comes back with a new one.
  CHECK(eventually([&] { return count_of(emu.log(), watch_req) >= 2; }, std::chrono::seconds(60)));
  // Push the history past kubectl's resourceVersion so its next re-watch gets ERROR 410 and it relists.
  for (int i = 0; i < 6; ++i)
    REQUIRE_OK(emu.kubectl({"apply", "-f", "-"}, rdc("filler-" + std::to_string(i))));
  const std::regex relist(
      R"(GET /apis/raydog\.io/v1alpha1/namespaces/default/raydogclusters\?fieldSelector=metadata\.name%3Dx[^\n]*-> 200)");
  int lists_before = count_of(emu.log(), relist);
  CHECK(eventually([&] { return count_of(emu.log(), relist) > lists_before; }, std::chrono::seconds(60)));
  REQUIRE(wait->running());
  auto gen = emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.metadata.generation}"});
  REQUIRE_OK(gen);
  REQUIRE_OK(emu.patch_status(
      {"rdc", "x"},
      R"({"status":{"conditions":[{"type":"Ready","status":"True","reason":"Up","message":"","lastTransitionTime":"2025-05-01T12:00:00Z","observedGeneration":)" +
          gen.out + "}]}}"));
  auto code = wait->wait(std::chrono::seconds(90));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(contains(file_text(out), "condition met"));
}

TEST_CASE("faults: kubectl get -w exits when the server ends the watch (as with a real server)") {
  Emulator emu({"--drop-watches-every", "1s"});
  std::string out = emu.dir() + "/watch.txt";
  auto w = emu.kubectl_background({"get", "ns", "-w"}, out);
  auto code = w->wait(std::chrono::seconds(60));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(contains(file_text(out), "default"));
}

TEST_CASE("manifests: kubectl apply -k manifests installs the operator's objects") {
  std::string kustomization = raydog::test::source_path("manifests/kustomization.yaml");
  if (!std::filesystem::exists(kustomization)) {
    MESSAGE("manifests/kustomization.yaml does not exist yet: nothing to check");
    return;
  }
  Emulator emu;
  auto first = emu.kubectl({"apply", "-k", raydog::test::source_path("manifests")});
  REQUIRE_OK(first);
  CHECK_OUT(first, "customresourcedefinition.apiextensions.k8s.io/raydogclusters.raydog.io created");
  CHECK_OUT(first, "deployment.apps/raydog-operator created");
  auto again = emu.kubectl({"apply", "-k", raydog::test::source_path("manifests")});
  REQUIRE_OK(again);
  CHECK_FALSE(contains(again.out, "created"));
  CHECK_OUT(again, "deployment.apps/raydog-operator unchanged");
  CHECK_OUT(emu.kubectl({"get", "deploy", "-n", "raydog-system", "-o", "name"}),
            "deployment.apps/raydog-operator");
}
