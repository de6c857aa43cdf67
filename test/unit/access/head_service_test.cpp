// The head Service and its EndpointSlice as the operator applies them: names, ports, the address by
// headAccess, labels the endpoint machinery relies on, owner references, and when they should exist.
#include <doctest/doctest.h>

#include "controller/access/head_service.hpp"

namespace ac = raydog::access;
namespace api = raydog::api;
using nlohmann::json;

namespace {

api::RayDogCluster cluster(const std::string& name = "research") {
  api::RayDogCluster c;
  c.metadata.name = name;
  c.metadata.namespace_name = "team-a";
  c.metadata.uid = "uid-1";
  return c;
}

}  // namespace

TEST_CASE("head service: <name>-head when that is a valid Service name, a unique short form otherwise") {
  CHECK(ac::service_name("research") == "research-head");
  const std::string long_name(70, 'a');
  const std::string s = ac::service_name(long_name);
  CHECK(s.size() <= 63);
  CHECK(s.rfind("rdc-", 0) == 0);
  CHECK(s.ends_with("-head"));
  CHECK(s != ac::service_name(long_name + "b"));
  CHECK(ac::service_name("1st.cluster").rfind("rdc-1st-cluster-", 0) == 0);  // not DNS-1035: a letter first, no dots
}

TEST_CASE("head service: a selectorless Service with the named ports, owned by the cluster") {
  auto c = cluster();
  json svc = ac::service(c);
  CHECK(svc["apiVersion"] == "v1");
  CHECK(svc["kind"] == "Service");
  CHECK(svc["metadata"]["name"] == "research-head");
  CHECK(svc["metadata"]["namespace"] == "team-a");
  CHECK(svc["metadata"]["ownerReferences"][0] == json{{"apiVersion", "raydog.io/v1alpha1"},
                                                      {"kind", "RayDogCluster"},
                                                      {"name", "research"},
                                                      {"uid", "uid-1"},
                                                      {"controller", true},
                                                      {"blockOwnerDeletion", true}});
  CHECK(svc["spec"]["type"] == "ClusterIP");
  CHECK_FALSE(svc["spec"].contains("selector"));  // the head is a VM: the EndpointSlice names it
  std::map<std::string, int> ports;
  for (const auto& p : svc["spec"]["ports"]) ports[p["name"]] = p["port"];
  CHECK(ports == std::map<std::string, int>{{"client", 10001}, {"dashboard", 8265}, {"gcs", 6379}, {"metrics", 8080}});
  CHECK_FALSE(svc["metadata"].contains("annotations"));

  c.spec.head_service = api::HeadServiceSpec{true, api::HeadServiceType::kLoadBalancer,
                                             std::map<std::string, std::string>{{"lb.example/internal", "true"}}};
  c.spec.daliuge = api::DaliugeSpec{};
  c.spec.daliuge->enabled = true;
  svc = ac::service(c);
  CHECK(svc["spec"]["type"] == "LoadBalancer");
  CHECK(svc["metadata"]["annotations"]["lb.example/internal"] == "true");
  CHECK(svc["spec"]["ports"].back() == json{{"name", "dim"}, {"port", 8001}, {"targetPort", 8001}, {"protocol", "TCP"}});
}

TEST_CASE("head service: the EndpointSlice names the head's address by headAccess, none while unknown") {
  auto c = cluster();
  CHECK(ac::head_address(c.spec, "10.0.0.5", "34.1.2.3") == "10.0.0.5");
  c.spec.head_access = api::HeadAccess::kPublic;
  CHECK(ac::head_address(c.spec, "10.0.0.5", "34.1.2.3") == "34.1.2.3");
  c.spec.head_access = api::HeadAccess::kNone;
  CHECK(ac::head_address(c.spec, "10.0.0.5", "34.1.2.3") == "10.0.0.5");

  json slice = ac::endpoint_slice(c, std::string("10.0.0.5"));
  CHECK(slice["apiVersion"] == "discovery.k8s.io/v1");
  CHECK(slice["metadata"]["name"] == "research-head");
  CHECK(slice["metadata"]["labels"]["kubernetes.io/service-name"] == "research-head");
  CHECK(slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "raydog.io");
  CHECK(slice["addressType"] == "IPv4");
  CHECK(slice["endpoints"][0]["addresses"] == json::array({"10.0.0.5"}));
  CHECK(slice["endpoints"][0]["conditions"]["ready"] == true);
  CHECK(slice["ports"].size() == 4);
  CHECK(ac::endpoint_slice(c, std::string("2001:db8::5"))["addressType"] == "IPv6");
  CHECK(ac::endpoint_slice(c, std::nullopt)["endpoints"] == json::array());  // a head being replaced: none
}

TEST_CASE("head service: wanted unless disabled, suspended or deleting, and the in-cluster addresses") {
  auto c = cluster();
  CHECK(ac::wanted(c));
  c.spec.head_service = api::HeadServiceSpec{false, std::nullopt, std::nullopt};
  CHECK_FALSE(ac::wanted(c));
  c.spec.head_service.reset();
  c.spec.suspend = true;
  CHECK_FALSE(ac::wanted(c));
  c.spec.suspend = false;
  c.metadata.deletion_timestamp = "2026-12-06T00:00:00Z";
  CHECK_FALSE(ac::wanted(c));
  const auto in = ac::in_cluster(cluster());
  CHECK(in.client == "ray://research-head.team-a.svc:10001");
  CHECK(in.dashboard == "http://research-head.team-a.svc:8265");
  CHECK(in.gcs == "research-head.team-a.svc:6379");
}
