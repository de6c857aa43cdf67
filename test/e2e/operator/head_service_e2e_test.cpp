// The head Service end to end (issue 22): raydog-operator against kube-emulator (--allow-loopback-endpoints:
// simulated nodes live on loopback) and yellowdog-sim. The Service <name>-head and its EndpointSlice exist
// with the head's address once the cluster is Ready, follow a head replacement, answer `kubectl get` and
// `describe`, leave on suspend and come back on resume, and are gone before the resource is (deletion,
// Orphan included); status carries the Service's name and the in-cluster addresses.
#include <doctest/doctest.h>

#include <regex>
#include <thread>

#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

// The EndpointSlice's addresses (empty when there is none or it has no endpoint); nullopt when absent.
std::optional<std::vector<std::string>> slice_addresses(Env& env, const std::string& ns, const std::string& name) {
  auto r = env.kubectl({"get", "endpointslice.discovery.k8s.io", name, "-n", ns, "-o", "json"});
  if (r.exit_code != 0) return std::nullopt;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& e : j.value("endpoints", json::array()))
    for (const auto& a : e.value("addresses", json::array())) out.push_back(a.get<std::string>());
  return out;
}

bool service_exists(Env& env, const std::string& ns, const std::string& name) {
  return env.kubectl({"get", "service", name, "-n", ns, "-o", "name"}).exit_code == 0;
}

std::string head_ip(Env& env, const std::string& ns, const std::string& name) {
  auto c = env.get_cluster(ns, name);
  return c ? (*c)["status"].value("head", json::object()).value("privateIP", "") : "";
}

}  // namespace

TEST_CASE("head service e2e: a Service and EndpointSlice follow the head, leave on suspend and before deletion") {
  Env env;
  const std::string ns = "svc", name = "alpha", svc = "alpha-head";
  env.apply_prerequisites(ns);
  env.start_operator();
  env.apply(small_cluster(env, name, ns, 1));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready(ns, name); }, 90s), env.operator_log());
  const std::string ip = head_ip(env, ns, name);
  REQUIRE(!ip.empty());

  // The Service: selectorless, named ports, owned by the cluster; the slice points at the head.
  CHECK_MESSAGE(env.eventually([&] { return slice_addresses(env, ns, svc) == std::vector<std::string>{ip}; }, 30s),
                env.operator_log());
  auto s = env.kubectl({"get", "service", svc, "-n", ns, "-o", "json"});
  REQUIRE_MESSAGE(s.exit_code == 0, s.err);
  json service = json::parse(s.out);
  CHECK(service["spec"]["type"] == "ClusterIP");
  CHECK_FALSE(service["spec"].contains("selector"));
  std::map<std::string, int> ports;
  for (const auto& p : service["spec"]["ports"]) ports[p["name"]] = p["port"];
  CHECK(ports == std::map<std::string, int>{{"client", 10001}, {"dashboard", 8265}, {"gcs", 6379}, {"metrics", 8080}});
  auto c = env.get_cluster(ns, name);
  REQUIRE(c);
  CHECK(service["metadata"]["ownerReferences"][0]["uid"] == (*c)["metadata"]["uid"]);
  CHECK((*c)["status"]["head"]["serviceName"] == svc);
  CHECK((*c)["status"]["endpoints"]["inCluster"]["client"] == "ray://alpha-head.svc.svc:10001");
  auto slice = env.kubectl({"get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=" + svc, "-o", "name"});
  CHECK(slice.out == "endpointslice.discovery.k8s.io/" + svc + "\n");  // found the way kube-proxy finds it

  // What kubectl shows.
  auto table = env.kubectl({"get", "svc", "-n", ns});
  CHECK_MESSAGE(table.out.find("10001/TCP,8265/TCP,6379/TCP,8080/TCP") != std::string::npos, table.out);
  auto describe = env.kubectl({"describe", "service", svc, "-n", ns});
  CHECK_MESSAGE(describe.exit_code == 0, describe.err);
  CHECK_MESSAGE(std::regex_search(describe.out, std::regex(R"(Port:\s+client\s+10001/TCP)")), describe.out);
  // A steady cluster writes nothing more.
  env.emulator_reset_counters();
  std::this_thread::sleep_for(3s);
  const json requests = env.emulator_stats().value("requests", json::object());
  for (const auto& [k, v] : requests.items()) {
    const bool head_service_write =
        (k.find("services") != std::string::npos || k.find("endpointslices") != std::string::npos) &&
        k.rfind("GET", 0) != 0;
    CHECK_MESSAGE(!head_service_write, k << " x" << v);
  }

  // The head's node is lost: the slice follows the new head within a reconcile of its resolution.
  std::string head_node;
  for (const auto& t : view(env, ns, name).tasks)
    if (t.value("status", "") == "EXECUTING" && t.value("name", "").rfind("head", 0) == 0) head_node = t.value("nodeId", "");
  REQUIRE(!head_node.empty());
  env.sim_post("nodes/" + head_node + "/lose");
  std::string new_ip;
  CHECK_MESSAGE(env.eventually(
                    [&] {
                      new_ip = head_ip(env, ns, name);
                      return !new_ip.empty() && new_ip != ip &&
                             slice_addresses(env, ns, svc) == std::vector<std::string>{new_ip};
                    },
                    90s),
                env.operator_log());

  // Suspended: both removed (and the status no longer names them); resumed: back.
  env.apply(small_cluster(env, name, ns, 1, "  suspend: true\n"));
  CHECK_MESSAGE(env.eventually([&] { return !service_exists(env, ns, svc) && !slice_addresses(env, ns, svc); }, 60s),
                env.operator_log());
  env.apply(small_cluster(env, name, ns, 1));
  CHECK_MESSAGE(env.eventually([&] { return env.is_ready(ns, name) && service_exists(env, ns, svc); }, 90s),
                env.operator_log());

  // Deleted: gone before the resource is (the emulator has no garbage collector: only the operator's own
  // deletes can remove them).
  delete_clean(env, ns, name);
  CHECK_FALSE(service_exists(env, ns, svc));
  CHECK_FALSE(slice_addresses(env, ns, svc).has_value());
}

TEST_CASE("head service e2e: headService disabled removes it - headAccess Public points at the public IP - Orphan deletion removes it") {
  Env env;
  const std::string ns = "svc2", name = "beta", svc = "beta-head";
  env.apply_prerequisites(ns);
  env.start_operator();
  env.apply(small_cluster(env, name, ns, 1,
                          "  headAccess: Public\n  deletionPolicy: Orphan\n  headService:\n    type: LoadBalancer\n"
                          "    annotations:\n      example.com/lb: internal\n"));
  REQUIRE_MESSAGE(env.eventually([&] { return env.is_ready(ns, name); }, 90s), env.operator_log());
  auto c = env.get_cluster(ns, name);
  REQUIRE(c);
  const std::string public_ip = (*c)["status"]["head"].value("publicIP", "");
  REQUIRE(!public_ip.empty());
  CHECK_MESSAGE(env.eventually([&] { return slice_addresses(env, ns, svc) == std::vector<std::string>{public_ip}; }, 30s),
                env.operator_log());
  auto s = json::parse(env.kubectl({"get", "service", svc, "-n", ns, "-o", "json"}).out);
  CHECK(s["spec"]["type"] == "LoadBalancer");
  CHECK(s["metadata"]["annotations"]["example.com/lb"] == "internal");

  env.apply(small_cluster(env, name, ns, 1,
                          "  headAccess: Public\n  deletionPolicy: Orphan\n  headService:\n    enabled: false\n"));
  CHECK_MESSAGE(env.eventually([&] { return !service_exists(env, ns, svc); }, 60s), env.operator_log());
  CHECK(env.eventually(
      [&] {
        auto c = env.get_cluster(ns, name);
        return c && !(*c)["status"].value("head", json::object()).contains("serviceName");
      },
      30s));
  env.apply(small_cluster(env, name, ns, 1, "  headAccess: Public\n  deletionPolicy: Orphan\n"));
  CHECK_MESSAGE(env.eventually([&] { return service_exists(env, ns, svc); }, 60s), env.operator_log());
  auto del = env.kubectl({"delete", "rdc", name, "-n", ns, "--timeout=60s"});
  CHECK_MESSAGE(del.exit_code == 0, del.err);
  CHECK_FALSE(service_exists(env, ns, svc));  // Orphan keeps YellowDog running, not the Service
}
