// kube-api-wire.md §15: the real kubectl, row by row, against kube-emulator (plain HTTP). Each TEST_CASE
// starts its own emulator on port 0 with its own kubectl cache directory.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "test/e2e/kubectl/checks.hpp"
#include "test/e2e/kubectl/harness.hpp"

using namespace raydog::e2e;
using raydog::test::read_file;

namespace {

const std::string kRdcX = R"(apiVersion: raydog.io/v1alpha1
kind: RayDogCluster
metadata:
  name: x
  labels: {app: raydog}
spec:
  replicas: 2
  yellowdog: {namespace: ray}
  workerPools:
  - {name: cpu, nodes: 2}
)";

std::string with_replicas(int n) {
  return std::regex_replace(kRdcX, std::regex("replicas: 2"), "replicas: " + std::to_string(n));
}

void install_crd(const Emulator& emu) {
  REQUIRE_OK(emu.kubectl({"apply", "-f", test_crd_path()}));
  REQUIRE_OK(
      emu.kubectl({"wait", "--for=condition=Established", "crd/raydogclusters.raydog.io", "--timeout=30s"}));
}

// How many watches of RayDogClusters clients have opened so far (the emulator's request counters).
long rdc_watches(const Emulator& emu) {
  auto r = emu.kubectl({"get", "--raw", "/_emulator/stats"});
  if (r.exit_code != 0) return -1;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.contains("requests") || !j["requests"].is_object()) return -1;
  const auto& requests = j["requests"];
  const auto it = requests.find("GET(watch) raydogclusters.raydog.io");
  return it != requests.end() && it->is_number_integer() ? it->get<long>() : 0;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string ready_status_patch(const std::string& generation) {
  return R"({"status":{"phase":"Running","observedGeneration":)" + generation +
         R"(,"readyWorkers":2,"desiredWorkers":2,"head":{"privateIP":"10.0.0.5","publicIP":"34.1.2.3"},)"
         R"("workRequirement":{"name":"wr-x"},"conditions":[{"type":"Ready","status":"True","reason":"Running",)"
         R"("message":"all nodes ready","lastTransitionTime":"2025-05-01T12:00:00Z","observedGeneration":)" +
         generation + "}]}}";
}

}  // namespace

TEST_CASE(
    "kubectl: CRD apply - Established - discovery - explain - version - delete (rows 1 2 28 29 30 31 32)") {
  Emulator emu;
  auto created = emu.kubectl({"apply", "-f", test_crd_path()});
  REQUIRE_OK(created);
  CHECK_OUT(created, "customresourcedefinition.apiextensions.k8s.io/raydogclusters.raydog.io created");
  auto est =
      emu.kubectl({"wait", "--for=condition=Established", "crd/raydogclusters.raydog.io", "--timeout=30s"});
  REQUIRE_OK(est);
  CHECK_OUT(est, "condition met");
  std::string changed =
      std::regex_replace(read_file(test_crd_path()), std::regex("name: raydogclusters.raydog.io"),
                         "name: raydogclusters.raydog.io\n  labels: {changed: \"yes\"}");
  auto configured = emu.kubectl({"apply", "-f", "-"}, changed);
  REQUIRE_OK(configured);
  CHECK_OUT(configured, "customresourcedefinition.apiextensions.k8s.io/raydogclusters.raydog.io configured");
  CHECK_OUT(
      emu.kubectl({"get", "crd", "raydogclusters.raydog.io", "-o", "jsonpath={.metadata.labels.changed}"}),
      "yes");
  auto res = emu.kubectl({"api-resources"});
  REQUIRE_OK(res);
  CHECK(std::regex_search(res.out,
                          std::regex(R"(raydogclusters\s+rdc\s+raydog.io/v1alpha1\s+true\s+RayDogCluster)")));
  CHECK(std::regex_search(res.out, std::regex(R"(leases\s+coordination.k8s.io/v1\s+true\s+Lease)")));
  auto names = emu.kubectl({"api-resources", "--api-group=raydog.io", "--verbs=list", "-o", "name"});
  REQUIRE_OK(names);
  CHECK(names.out == "raydogclusters.raydog.io\n");
  CHECK_OUT(emu.kubectl({"api-versions"}), "raydog.io/v1alpha1");
  auto explain = emu.kubectl({"explain", "rdc.spec"});
  REQUIRE_OK(explain);
  CHECK_OUT(explain, "yellowdog");
  CHECK_OUT(explain, "workerPools");
  CHECK_OUT(explain, "Desired state of the Ray cluster.");
  auto explain_field = emu.kubectl({"explain", "raydogcluster.spec.yellowdog.namespace"});
  REQUIRE_OK(explain_field);
  CHECK_OUT(explain_field, "YellowDog namespace.");
  auto crds = emu.kubectl({"get", "crd"});
  REQUIRE_OK(crds);
  CHECK_OUT(crds, "raydogclusters.raydog.io");
  auto version = emu.kubectl({"version"});
  REQUIRE_OK(version);
  // kubectl 1.28 made the short form the default; older clients print the whole version.Info.
  CHECK_OUT(version, kubectl_version().minor >= 28
                         ? "Server Version: v1.32.0"
                         : R"(Server Version: version.Info{Major:"1", Minor:"32", GitVersion:"v1.32.0")");
  auto raw = emu.kubectl({"get", "--raw", "/version"});
  REQUIRE_OK(raw);
  CHECK_OUT(raw, "\"minor\":\"32\"");
  auto deleted = emu.kubectl({"delete", "crd", "raydogclusters.raydog.io"});
  REQUIRE_OK(deleted);
  CHECK_OUT(deleted, "customresourcedefinition.apiextensions.k8s.io \"raydogclusters.raydog.io\" deleted");
  // kubectl's discovery cache still knows rdc: the list itself gets the 404.
  CHECK_ERR(emu.kubectl({"get", "rdc"}), "the server could not find the requested resource");
  auto after = emu.kubectl({"api-resources", "-o", "name"});  // refreshes the discovery cache
  REQUIRE_OK(after);
  CHECK_FALSE(contains(after.out, "raydogclusters"));
  CHECK_ERR(emu.kubectl({"get", "raydogclusters.raydog.io"}),
            "the server doesn't have a resource type \"raydogclusters\"");
}

TEST_CASE(
    "kubectl: apply - get - describe - patch - scale - label - delete a RayDogCluster (rows 3 4 6 7 8 11 "
    "14-22 24)") {
  Emulator emu;
  install_crd(emu);
  auto created = emu.kubectl({"apply", "-f", "-"}, kRdcX);
  REQUIRE_OK(created);
  CHECK_OUT(created, "raydogcluster.raydog.io/x created");
  CHECK_OUT(emu.kubectl({"apply", "-f", "-"}, kRdcX), "raydogcluster.raydog.io/x unchanged");
  auto diff = emu.kubectl({"diff", "-f", "-"}, with_replicas(3));
  CHECK(diff.exit_code == 1);
  CHECK_OUT(diff, "+  replicas: 3");
  CHECK_OUT(emu.kubectl({"apply", "-f", "-"}, with_replicas(3)), "raydogcluster.raydog.io/x configured");
  // Defaults from the schema are visible.
  auto yaml = emu.kubectl({"get", "rdc", "x", "-o", "yaml"});
  REQUIRE_OK(yaml);
  CHECK_OUT(yaml, "apiURL: https://api.yellowdog.ai");
  CHECK_OUT(yaml, "deletionPolicy: Delete");
  CHECK_OUT(yaml, "generation: 2");
  CHECK_OUT(yaml, "kubectl.kubernetes.io/last-applied-configuration");
  auto uid = emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.metadata.uid}"});
  REQUIRE_OK(uid);
  // Status through the subresource (row 19), then Tables (rows 6, 7).
  auto gen = emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.metadata.generation}"});
  auto status = emu.patch_status({"rdc", "x"}, ready_status_patch(gen.out));
  REQUIRE_OK(status);
  if (kubectl_has(24, "kubectl patch --subresource=status (row 19): the status was sent with curl"))
    CHECK_OUT(status, "raydogcluster.raydog.io/x patched");
  auto table = emu.kubectl({"get", "raydogclusters"});
  REQUIRE_OK(table);
  CHECK(std::regex_search(
      table.out, std::regex(R"(NAME\s+PHASE\s+HEAD IP\s+READY WORKERS\s+DESIRED WORKERS\s+READY\s+AGE)")));
  CHECK(std::regex_search(table.out, std::regex(R"(x\s+Running\s+10\.0\.0\.5\s+2\s+2\s+True\s+\d+s)")));
  auto wide = emu.kubectl({"get", "rdc", "-o", "wide"});
  REQUIRE_OK(wide);
  CHECK_OUT(wide, "PUBLIC IP");
  CHECK_OUT(wide, "34.1.2.3");
  CHECK_OUT(wide, "wr-x");
  REQUIRE_OK(emu.kubectl({"apply", "-f", "-"},
                         std::regex_replace(with_replicas(1), std::regex("name: x"), "name: second")));
  auto all_ns = emu.kubectl({"get", "rdc", "-A"});
  REQUIRE_OK(all_ns);
  CHECK(std::regex_search(all_ns.out, std::regex(R"(NAMESPACE\s+NAME)")));
  CHECK(std::regex_search(all_ns.out, std::regex(R"(default\s+second)")));
  REQUIRE_OK(emu.kubectl({"label", "rdc", "second", "app=other", "--overwrite"}));
  auto by_label = emu.kubectl({"get", "rdc", "-l", "app=raydog", "-o", "name"});
  REQUIRE_OK(by_label);
  CHECK(by_label.out == "raydogcluster.raydog.io/x\n");
  auto sorted = emu.kubectl({"get", "rdc", "--sort-by=.spec.replicas", "-o",
                             "custom-columns=NAME:.metadata.name,R:.spec.replicas", "--no-headers"});
  REQUIRE_OK(sorted);
  CHECK(std::regex_search(sorted.out, std::regex(R"(second\s+1\s+x\s+3)")));
  auto sort_table = emu.kubectl({"get", "rdc", "--sort-by=.spec.replicas"});
  REQUIRE_OK(sort_table);
  CHECK(sort_table.out.find("second ") < sort_table.out.find("x "));
  auto json_list = emu.kubectl({"get", "rdc", "-o", "json"});
  REQUIRE_OK(json_list);
  CHECK_OUT(json_list, "\"kind\": \"List\"");
  CHECK_OUT(json_list, "\"kind\": \"RayDogCluster\"");
  // Events and describe (rows 11, 24).
  std::string event =
      R"({"apiVersion":"v1","kind":"Event","metadata":{"name":"x.17f0a1","namespace":"default"},
    "involvedObject":{"apiVersion":"raydog.io/v1alpha1","kind":"RayDogCluster","namespace":"default","name":"x","uid":")" +
      uid.out + R"("},
    "reason":"HeadReady","message":"head node is executing","type":"Normal","source":{"component":"raydog-operator"},
    "firstTimestamp":"2025-05-01T12:00:00Z","lastTimestamp":"2025-05-01T12:00:00Z","count":1})";
  auto ev = emu.kubectl({"create", "-f", "-"}, event);
  REQUIRE_OK(ev);
  CHECK_OUT(ev, "event/x.17f0a1 created");
  auto desc = emu.kubectl({"describe", "raydogcluster", "x"});
  REQUIRE_OK(desc);
  CHECK_OUT(desc, "Name:         x");
  CHECK_OUT(desc, "Events:");
  CHECK(std::regex_search(desc.out,
                          std::regex(R"(Normal\s+HeadReady\s+.*raydog-operator\s+head node is executing)")));
  // Patches (rows 16, 17, 18) and scale (row 20), label/annotate (row 21).
  CHECK_OUT(emu.kubectl({"patch", "rdc", "x", "--type=merge", "-p", R"({"spec":{"suspend":true}})"}),
            "raydogcluster.raydog.io/x patched");
  auto smp = emu.kubectl({"patch", "rdc", "x", "-p", R"({"spec":{"suspend":false}})"});
  CHECK_ERR(smp,
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
  REQUIRE_OK(emu.kubectl({"patch", "rdc", "x", "--type=json", "-p",
                          R"([{"op":"replace","path":"/spec/workerPools/0/nodes","value":4}])"}));
  CHECK_OUT(emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.spec.workerPools[0].nodes} {.spec.suspend}"}),
            "4 true");
  auto badjson = emu.kubectl(
      {"patch", "rdc", "x", "--type=json", "-p", R"([{"op":"test","path":"/spec/replicas","value":99}])"});
  CHECK(badjson.exit_code != 0);
  auto invalid = emu.kubectl(
      {"patch", "rdc", "x", "--type=merge", "-p", R"({"spec":{"workerPools":[{"name":"cpu","nodes":-1}]}})"});
  CHECK_ERR(invalid,
            "The RayDogCluster \"x\" is invalid: spec.workerPools[0].nodes: Invalid value: -1: "
            "spec.workerPools[0].nodes in body should be greater than or equal to 0");
  auto scaled = emu.kubectl({"scale", "raydogcluster", "x", "--replicas=5"});
  REQUIRE_OK(scaled);
  CHECK_OUT(scaled, "raydogcluster.raydog.io/x scaled");
  CHECK_OUT(emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.spec.replicas}"}), "5");
  CHECK_OUT(emu.kubectl({"annotate", "rdc", "x", "note=hello"}), "raydogcluster.raydog.io/x annotated");
  CHECK_OUT(emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.metadata.annotations.note}"}), "hello");
  // Deletes (rows 14, 15).
  auto del = emu.kubectl({"delete", "raydogcluster", "x"});
  REQUIRE_OK(del);
  CHECK_OUT(del, "raydogcluster.raydog.io \"x\" deleted");
  CHECK_ERR(emu.kubectl({"get", "rdc", "x"}),
            "Error from server (NotFound): raydogclusters.raydog.io \"x\" not found");
  REQUIRE_OK(emu.kubectl({"apply", "-f", "-"}, kRdcX));
  auto del_all = emu.kubectl({"delete", "rdc", "--all"});
  REQUIRE_OK(del_all);
  CHECK_OUT(del_all, "raydogcluster.raydog.io \"x\" deleted");
  CHECK_OUT(del_all, "raydogcluster.raydog.io \"second\" deleted");
  auto none = emu.kubectl({"get", "rdc"});
  REQUIRE_OK(none);
  CHECK(contains(none.err, "No resources found in default namespace."));
}

TEST_CASE("kubectl: get -w and wait for condition - jsonpath - delete (rows 9 10 12 13)") {
  Emulator emu;
  install_crd(emu);
  REQUIRE_OK(emu.kubectl({"apply", "-f", "-"}, kRdcX));
  std::string watch_all = emu.dir() + "/watch-all.txt";
  std::string watch_one = emu.dir() + "/watch-one.txt";
  std::string wait_ready = emu.dir() + "/wait-ready.txt";
  std::string wait_path = emu.dir() + "/wait-path.txt";
  auto w_all = emu.kubectl_background({"get", "rdc", "-w"}, watch_all);
  auto w_one = emu.kubectl_background(
      {"get", "rdc", "x", "-w", "-o", "custom-columns=NAME:.metadata.name,PHASE:.status.phase"}, watch_one);
  auto wait = emu.kubectl_background({"wait", "--for=condition=Ready", "raydogcluster/x", "--timeout=120s"},
                                     wait_ready);
  std::unique_ptr<raydog::test::ChildProcess> wait_jp;
  if (kubectl_has(23, "kubectl wait --for=jsonpath (row 12)"))
    wait_jp = emu.kubectl_background(
        {"wait", "--for=jsonpath={.status.phase}=Running", "rdc/x", "--timeout=120s"}, wait_path);
  CHECK(eventually([&] { return contains(file_text(watch_all), "x "); }));
  CHECK(eventually([&] { return contains(file_text(watch_one), "x "); }));
  // A Ready condition for an older generation does not satisfy wait (observedGeneration rule, kubectl 1.21+:
  // kubernetes#97408).
  if (kubectl_has(21, "kubectl wait ignores a condition of an older generation (row 10)")) {
    REQUIRE_OK(emu.patch_status({"rdc", "x"}, ready_status_patch("0")));
    REQUIRE_MESSAGE(wait->running(), file_text(wait_ready) << file_text(wait_ready + ".err"));
  }
  auto gen = emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.metadata.generation}"});
  REQUIRE_OK(emu.patch_status({"rdc", "x"}, ready_status_patch(gen.out)));
  auto code = wait->wait(std::chrono::seconds(60));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK_MESSAGE(contains(file_text(wait_ready), "raydogcluster.raydog.io/x condition met"),
                file_text(wait_ready));
  if (wait_jp) {
    auto code_jp = wait_jp->wait(std::chrono::seconds(60));
    REQUIRE(code_jp.has_value());
    CHECK(*code_jp == 0);
  }
  CHECK(eventually(
      [&] { return std::regex_search(file_text(watch_all), std::regex(R"(x\s+Running\s+10\.0\.0\.5)")); }));
  CHECK(eventually([&] { return std::regex_search(file_text(watch_one), std::regex(R"(x\s+Running)")); }));
  CHECK(w_all->running());
  // wait --for=delete returns once the object is gone.
  std::string wait_del = emu.dir() + "/wait-del.txt";
  const long watches_before = rdc_watches(emu);
  auto wd = emu.kubectl_background({"wait", "--for=delete", "rdc/x", "--timeout=120s"}, wait_del);
  // Delete only once the wait watches: kubectl 1.20 reports an object gone before its first look as "no
  // matching resources found" (exit 1), a race the fresh-machine check lost once.
  REQUIRE(eventually([&] { return rdc_watches(emu) > watches_before; }));
  REQUIRE_OK(emu.kubectl({"delete", "rdc", "x", "--wait=false"}));
  auto code_del = wd->wait(std::chrono::seconds(60));
  REQUIRE(code_del.has_value());
  CHECK(*code_del == 0);
  // Already gone: success since kubectl 1.21 (kubernetes#96702); older clients report "no matching
  // resources found" (kubernetes#96676), whatever the server.
  auto gone = emu.kubectl({"wait", "--for=delete", "rdc/x", "--timeout=10s"});
  if (kubectl_version().minor >= 21) {
    CHECK(gone.exit_code == 0);
  } else {
    CHECK_ERR(gone, "error: no matching resources found");
  }
}

TEST_CASE("kubectl: a finalizer blocks deletion until it is removed (row 14)") {
  Emulator emu;
  install_crd(emu);
  std::string body = std::regex_replace(kRdcX, std::regex("  labels: \\{app: raydog\\}"),
                                        "  labels: {app: raydog}\n  finalizers: [raydog.io/cleanup]");
  REQUIRE_OK(emu.kubectl({"apply", "-f", "-"}, body));
  std::string del_out = emu.dir() + "/delete.txt";
  auto del = emu.kubectl_background({"delete", "rdc", "x", "--timeout=120s"}, del_out);
  CHECK(eventually([&] {
    auto r = emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.metadata.deletionTimestamp}"});
    return r.exit_code == 0 && !r.out.empty();
  }));
  REQUIRE(del->running());  // kubectl delete waits for the object to go
  auto still =
      emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.metadata.finalizers[0]} {.metadata.generation}"});
  REQUIRE_OK(still);
  CHECK(still.out == "raydog.io/cleanup 2");
  auto added = emu.kubectl({"patch", "rdc", "x", "--type=merge", "-p",
                            R"({"metadata":{"finalizers":["raydog.io/cleanup","other.io/x"]}})"});
  CHECK_ERR(added, "no new finalizers can be added if the object is being deleted");
  REQUIRE_OK(emu.kubectl(
      {"patch", "rdc", "x", "--type=json", "-p",
       R"([{"op":"test","path":"/metadata/finalizers/0","value":"raydog.io/cleanup"},{"op":"remove","path":"/metadata/finalizers/0"}])"}));
  auto code = del->wait(std::chrono::seconds(60));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK_MESSAGE(contains(file_text(del_out), "raydogcluster.raydog.io \"x\" deleted"), file_text(del_out));
  CHECK_ERR(emu.kubectl({"get", "rdc", "x"}), "not found");
}

TEST_CASE("kubectl: server-side apply (rows 5 22)") {
  Emulator emu;
  install_crd(emu);
  auto first = emu.kubectl({"apply", "--server-side", "-f", "-"}, kRdcX);
  REQUIRE_OK(first);
  CHECK_OUT(first, "raydogcluster.raydog.io/x serverside-applied");
  auto diff = emu.kubectl({"diff", "--server-side", "-f", "-"}, with_replicas(7));
  CHECK(diff.exit_code == 1);
  CHECK_OUT(diff, "+  replicas: 7");
  CHECK_OUT(emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.spec.replicas}"}), "2");
  REQUIRE_OK(emu.kubectl({"apply", "--server-side", "-f", "-"}, with_replicas(7)));
  CHECK_OUT(emu.kubectl({"get", "rdc", "x", "-o", "jsonpath={.spec.replicas} {.metadata.labels.app}"}),
            "7 raydog");
  // A client-side-applied object can be taken over by server-side apply.
  REQUIRE_OK(emu.kubectl({"apply", "-f", "-"}, std::regex_replace(kRdcX, std::regex("name: x"), "name: z")));
  REQUIRE_OK(emu.kubectl({"apply", "--server-side", "-f", "-"},
                         std::regex_replace(with_replicas(4), std::regex("name: x"), "name: z")));
  CHECK_OUT(emu.kubectl({"get", "rdc", "z", "-o", "jsonpath={.spec.replicas}"}), "4");
}

TEST_CASE("kubectl: events - leases - secrets - configmaps - namespaces - get all (rows 23 25 26 27 28)") {
  Emulator emu;
  install_crd(emu);
  REQUIRE_OK(emu.kubectl({"apply", "-f", "-"}, kRdcX));
  CHECK_OUT(
      emu.kubectl({"apply", "-f", "-"}, "apiVersion: v1\nkind: Namespace\nmetadata: {name: raydog-system}\n"),
      "namespace/raydog-system created");
  auto ns = emu.kubectl({"get", "ns"});
  REQUIRE_OK(ns);
  CHECK(std::regex_search(ns.out, std::regex(R"(raydog-system\s+Active)")));
  CHECK(std::regex_search(ns.out, std::regex(R"(kube-system\s+Active)")));
  // Current kubectl's `create namespace` sends protobuf (decoded, as a real server does); kubectl 1.20 JSON.
  CHECK_OUT(emu.kubectl({"create", "namespace", "proto"}), "namespace/proto created");
  auto via_yaml =
      emu.kubectl({"create", "configmap", "c1", "--from-literal=a=1", "--dry-run=client", "-o", "yaml"});
  REQUIRE_OK(via_yaml);
  CHECK_OUT(emu.kubectl({"apply", "-f", "-"}, via_yaml.out), "configmap/c1 created");
  auto changed = emu.kubectl({"create", "configmap", "c1", "--from-literal=a=2", "--from-literal=b=3",
                              "--dry-run=client", "-o", "yaml"});
  CHECK_OUT(emu.kubectl({"apply", "-f", "-"}, changed.out), "configmap/c1 configured");
  CHECK_OUT(emu.kubectl({"get", "cm", "c1", "-o", "jsonpath={.data.a}{.data.b}"}), "23");
  auto secret = emu.kubectl({"create", "secret", "generic", "yellowdog-credentials",
                             "--from-literal=keyId=abc", "--from-literal=keySecret=s3cr3t", "-n",
                             "raydog-system", "--dry-run=client", "-o", "yaml"});
  REQUIRE_OK(secret);
  CHECK_OUT(emu.kubectl({"apply", "-f", "-"}, secret.out), "secret/yellowdog-credentials created");
  CHECK_OUT(emu.kubectl({"get", "secret", "-n", "raydog-system", "yellowdog-credentials", "-o",
                         "jsonpath={.data.keyId}"}),
            "YWJj");
  auto secrets = emu.kubectl({"get", "secrets", "-n", "raydog-system"});
  REQUIRE_OK(secrets);
  CHECK(std::regex_search(secrets.out, std::regex(R"(yellowdog-credentials\s+Opaque\s+2)")));
  std::string lease = R"(apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: raydog-operator-leader, namespace: raydog-system}
spec: {holderIdentity: raydog-operator-7f9c_4b1e, leaseDurationSeconds: 15, acquireTime: "2025-05-01T12:00:00.000000Z", renewTime: "2025-05-01T12:00:10.250000Z", leaseTransitions: 0}
)";
  CHECK_OUT(emu.kubectl({"apply", "-f", "-"}, lease),
            "lease.coordination.k8s.io/raydog-operator-leader created");
  auto leases = emu.kubectl({"get", "lease", "-A"});
  REQUIRE_OK(leases);
  CHECK(std::regex_search(
      leases.out, std::regex(R"(raydog-system\s+raydog-operator-leader\s+raydog-operator-7f9c_4b1e)")));
  // Events: core and events.k8s.io, kubectl get events and kubectl events.
  std::string ev = R"({"apiVersion":"v1","kind":"Event","metadata":{"name":"x.1","namespace":"default"},
    "involvedObject":{"apiVersion":"raydog.io/v1alpha1","kind":"RayDogCluster","namespace":"default","name":"x"},
    "reason":"Provisioning","message":"creating worker pools","type":"Warning","source":{"component":"raydog-operator"},
    "firstTimestamp":"2025-05-01T12:00:00Z","lastTimestamp":"2025-05-01T12:00:00Z","count":1})";
  REQUIRE_OK(emu.kubectl({"create", "-f", "-"}, ev));
  std::string ev2 =
      R"({"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"x.2","namespace":"default"},
    "regarding":{"apiVersion":"raydog.io/v1alpha1","kind":"RayDogCluster","namespace":"default","name":"x"},
    "reason":"Scaled","note":"scaled workers to 3","type":"Normal","eventTime":"2025-05-01T12:00:00.000000Z",
    "reportingController":"raydog.io/operator","reportingInstance":"raydog-operator-0","action":"Scale"})";
  REQUIRE_OK(emu.kubectl({"create", "-f", "-"}, ev2));
  auto events = emu.kubectl({"get", "events"});
  REQUIRE_OK(events);
  CHECK(std::regex_search(events.out,
                          std::regex(R"(Warning\s+Provisioning\s+raydogcluster/x\s+creating worker pools)")));
  auto events2 = emu.kubectl({"get", "events.events.k8s.io"});
  REQUIRE_OK(events2);
  CHECK_OUT(events2, "scaled workers to 3");
  if (kubectl_has(26, "kubectl events (row 23)")) {
    auto kevents = emu.kubectl({"events"});
    REQUIRE_OK(kevents);
    CHECK_OUT(kevents, "creating worker pools");
  }
  auto all = emu.kubectl({"get", "all"});
  REQUIRE_OK(all);
  CHECK_OUT(all, "raydogcluster.raydog.io/x");
  // Namespace deletion removes its contents.
  REQUIRE_OK(emu.kubectl({"delete", "ns", "raydog-system"}));
  CHECK_ERR(emu.kubectl({"get", "lease", "-n", "raydog-system", "raydog-operator-leader"}), "not found");
}

TEST_CASE("kubectl: services and endpointslices - get - describe - yaml - watch - loopback refused (issue 22)") {
  Emulator emu;
  const std::string svc = R"(apiVersion: v1
kind: Service
metadata: {name: research-head, labels: {raydog.io/cluster: research}}
spec:
  ports:
  - {name: client, port: 10001}
  - {name: dashboard, port: 8265}
)";
  const std::string slice = R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: research-head
  labels: {kubernetes.io/service-name: research-head, endpointslice.kubernetes.io/managed-by: raydog.io}
addressType: IPv4
endpoints:
- addresses: ["ADDRESS"]
  conditions: {ready: true}
ports:
- {name: client, port: 10001}
- {name: dashboard, port: 8265}
)";
  auto with = [&](const std::string& address) { return std::regex_replace(slice, std::regex("ADDRESS"), address); };
  std::string watch_file = emu.dir() + "/watch-slices.txt";
  auto w = emu.kubectl_background({"get", "endpointslices", "-w"}, watch_file);
  CHECK_OUT(emu.kubectl({"apply", "-f", "-"}, svc), "service/research-head created");
  // A real API server refuses loopback endpoint addresses, and so does the emulator by default.
  CHECK_ERR(emu.kubectl({"apply", "-f", "-"}, with("127.0.0.1")),
            "may not be in the loopback range (127.0.0.0/8, ::1/128)");
  CHECK_OUT(emu.kubectl({"apply", "-f", "-"}, with("10.0.0.5")),
            "endpointslice.discovery.k8s.io/research-head created");
  auto table = emu.kubectl({"get", "svc", "research-head"});
  REQUIRE_OK(table);
  CHECK(std::regex_search(table.out,
                          std::regex(R"(research-head\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+10001/TCP,8265/TCP)")));
  auto slices = emu.kubectl({"get", "endpointslices"});
  REQUIRE_OK(slices);
  CHECK(std::regex_search(slices.out, std::regex(R"(research-head\s+IPv4\s+10001,8265\s+10\.0\.0\.5)")));
  auto yaml = emu.kubectl({"get", "svc", "research-head", "-o", "yaml"});
  REQUIRE_OK(yaml);
  CHECK_OUT(yaml, "sessionAffinity: None");
  CHECK_OUT(yaml, "targetPort: 10001");
  auto describe = emu.kubectl({"describe", "svc", "research-head"});
  REQUIRE_OK(describe);
  CHECK(std::regex_search(describe.out, std::regex(R"(Type:\s+ClusterIP)")));
  CHECK(std::regex_search(describe.out, std::regex(R"(Port:\s+client\s+10001/TCP)")));
  // kubectl 1.20 describes EndpointSlices through discovery.k8s.io/v1beta1, which a 1.32 server no longer
  // serves (removed in 1.25): it fails against a real server too.
  if (kubectl_has(21, "kubectl describe endpointslice through discovery.k8s.io/v1")) {
    auto describe_slice = emu.kubectl({"describe", "endpointslice", "research-head"});
    REQUIRE_OK(describe_slice);
    CHECK(std::regex_search(describe_slice.out, std::regex(R"(AddressType:\s+IPv4)")));
    CHECK_OUT(describe_slice, "10.0.0.5");
  }
  // The head moves: the watch sees the new address.
  CHECK_OUT(emu.kubectl({"apply", "-f", "-"}, with("10.0.0.9")),
            "endpointslice.discovery.k8s.io/research-head configured");
  CHECK(eventually([&] { return contains(file_text(watch_file), "10.0.0.9"); }));
  CHECK(w->running());
  REQUIRE_OK(emu.kubectl({"delete", "svc,endpointslice", "research-head"}));
  CHECK_ERR(emu.kubectl({"get", "svc", "research-head"}), "not found");
}

TEST_CASE("kubectl: kube-emulator --allow-loopback-endpoints admits loopback endpoints (a test-only deviation)") {
  Emulator emu({"--allow-loopback-endpoints"});
  const std::string slice = R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sim-head, labels: {kubernetes.io/service-name: sim-head}}
addressType: IPv4
endpoints:
- addresses: ["127.7.0.1"]
ports:
- {name: client, port: 10001}
)";
  CHECK_OUT(emu.kubectl({"apply", "-f", "-"}, slice), "endpointslice.discovery.k8s.io/sim-head created");
  auto ll = std::regex_replace(slice, std::regex("127\\.7\\.0\\.1"), "169.254.0.9");
  CHECK_ERR(emu.kubectl({"apply", "-f", "-"}, ll), "link-local");
}

TEST_CASE("kubectl: imperative create of namespaces, secrets, configmaps, services, serviceaccounts (protobuf bodies)") {
  Emulator emu;
  CHECK_OUT(emu.kubectl({"create", "namespace", "team-a"}), "namespace/team-a created");
  CHECK_OUT(emu.kubectl({"-n", "team-a", "create", "secret", "generic", "yellowdog-credentials",
                         "--from-literal=keyId=abc", "--from-literal=keySecret=s3cr3t"}),
            "secret/yellowdog-credentials created");
  CHECK_OUT(emu.kubectl({"-n", "team-a", "get", "secret", "yellowdog-credentials", "-o",
                         "jsonpath={.type} {.data.keyId} {.data.keySecret}"}),
            "Opaque YWJj czNjcjN0");
  CHECK_OUT(emu.kubectl({"-n", "team-a", "create", "configmap", "ray-node-setup", "--from-literal=a=1",
                         "--from-literal=b="}),
            "configmap/ray-node-setup created");
  CHECK_OUT(emu.kubectl({"-n", "team-a", "get", "cm", "ray-node-setup", "-o", "jsonpath={.data}"}),
            R"("a":"1")");
  CHECK_OUT(emu.kubectl({"-n", "team-a", "create", "service", "clusterip", "web", "--tcp=5678:8080"}),
            "service/web created");
  auto svc = emu.kubectl({"-n", "team-a", "get", "svc", "web", "-o",
                          "jsonpath={.spec.ports[0].port} {.spec.ports[0].targetPort} {.spec.type} {.spec.selector}"});
  REQUIRE_OK(svc);
  CHECK_OUT(svc, "5678 8080 ClusterIP");
  CHECK_OUT(emu.kubectl({"-n", "team-a", "create", "serviceaccount", "runner"}), "serviceaccount/runner created");
  CHECK_OUT(emu.kubectl({"-n", "team-a", "get", "sa"}), "runner");
  // An invalid one is refused by the same validation as JSON: duplicate.
  CHECK_ERR(emu.kubectl({"create", "namespace", "team-a"}), "already exists");
}
