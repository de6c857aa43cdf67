// Service, EndpointSlice and Endpoints admission (builtin_admission.hpp) through the request layer: the
// defaults kubectl shows, an allocated clusterIP that updates keep, the real server's refusals (loopback
// endpoint addresses unless --allow-loopback-endpoints), and the tables `kubectl get` prints.
#include <doctest/doctest.h>

#include "test/emulator/api.hpp"
#include "test/emulator/builtin_admission.hpp"

using namespace raydog::emulator;

namespace {

const std::string kSvc = "/api/v1/namespaces/default/services";
const std::string kSlices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
const std::string kEndpoints = "/api/v1/namespaces/default/endpoints";

struct Reply {
  int code;
  json body;
};

Reply call(Api& api, const std::string& method, const std::string& target, const json& body = nullptr,
           const std::string& accept = "application/json") {
  ApiRequest req{method, target, accept, "application/json", body.is_null() ? "" : body.dump(), "127.0.0.1:1"};
  auto out = api.handle(req);
  REQUIRE(out.watch == nullptr);
  return {out.response.code, json::parse(out.response.body, nullptr, false)};
}

json service(const std::string& name, json ports) {
  return {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", name}}}, {"spec", {{"ports", ports}}}};
}

json slice(const std::string& name, const std::string& address) {
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/service-name", "head"}}}}},
          {"addressType", "IPv4"},
          {"endpoints", json::array({{{"addresses", json::array({address})}}})},
          {"ports", json::array({{{"name", "client"}, {"port", 10001}}})}};
}

}  // namespace

TEST_CASE("builtin admission: a Service gets the real server's defaults and keeps its clusterIP") {
  Api api;
  auto r = call(api, "POST", kSvc, service("head", json::array({{{"name", "client"}, {"port", 10001}},
                                                                 {{"name", "dashboard"}, {"port", 8265}}})));
  REQUIRE(r.code == 201);
  const json& spec = r.body["spec"];
  CHECK(spec["type"] == "ClusterIP");
  CHECK(spec["sessionAffinity"] == "None");
  CHECK(spec["ipFamilies"] == json::array({"IPv4"}));
  CHECK(spec["ipFamilyPolicy"] == "SingleStack");
  CHECK(spec["internalTrafficPolicy"] == "Cluster");
  const std::string ip = spec["clusterIP"];
  CHECK(ip.rfind("10.96.", 0) == 0);
  CHECK(spec["clusterIPs"] == json::array({ip}));
  CHECK(spec["ports"][0]["protocol"] == "TCP");
  CHECK(spec["ports"][0]["targetPort"] == 10001);
  CHECK(r.body["status"] == json{{"loadBalancer", json::object()}});
  // An update that leaves the clusterIP out keeps it (the client never saw it); changing it is refused.
  json next = service("head", json::array({{{"name", "client"}, {"port", 10001}}}));
  next["metadata"]["resourceVersion"] = r.body["metadata"]["resourceVersion"];
  auto u = call(api, "PUT", kSvc + "/head", next);
  REQUIRE(u.code == 200);
  CHECK(u.body["spec"]["clusterIP"] == ip);
  next["metadata"]["resourceVersion"] = u.body["metadata"]["resourceVersion"];
  next["spec"]["clusterIP"] = "10.96.200.200";
  CHECK(call(api, "PUT", kSvc + "/head", next).code == 422);
  // A second Service gets another address; a LoadBalancer gets node ports.
  json lb = service("lb", json::array({{{"port", 80}}}));
  lb["spec"]["type"] = "LoadBalancer";
  auto l = call(api, "POST", kSvc, lb);
  REQUIRE(l.code == 201);
  CHECK(l.body["spec"]["clusterIP"] != ip);
  CHECK(l.body["spec"]["ports"][0]["nodePort"].get<int>() >= 30000);
  CHECK(l.body["spec"]["externalTrafficPolicy"] == "Cluster");
}

TEST_CASE("builtin admission: a Service is refused the way the real server refuses it") {
  Api api;
  auto no_ports = call(api, "POST", kSvc, service("a", json::array()));
  CHECK(no_ports.code == 422);
  CHECK(no_ports.body["message"] == "Service \"a\" is invalid: spec.ports: Required value");
  auto unnamed = call(api, "POST", kSvc, service("b", json::array({{{"port", 1}}, {{"port", 2}}})));
  CHECK(unnamed.code == 422);
  CHECK(unnamed.body["details"]["causes"].size() == 2);  // every port needs a name when there are several
  CHECK(unnamed.body["details"]["causes"][1]["field"] == "spec.ports[1].name");
  auto bad_port = call(api, "POST", kSvc, service("c", json::array({{{"port", 70000}}})));
  CHECK(bad_port.code == 422);
  CHECK(bad_port.body["message"].get<std::string>().find("must be between 1 and 65535, inclusive") !=
        std::string::npos);
  json bad_type = service("d", json::array({{{"port", 1}}}));
  bad_type["spec"]["type"] = "Magic";
  CHECK(call(api, "POST", kSvc, bad_type).code == 422);
  json headless = service("e", json::array());
  headless["spec"]["clusterIP"] = "None";
  CHECK(call(api, "POST", kSvc, headless).code == 201);
}

TEST_CASE("builtin admission: endpoint addresses - loopback refused unless allowed, link-local never") {
  SUBCASE("a real server's rules") {
    Api api;
    auto r = call(api, "POST", kSlices, slice("head-a", "127.0.0.1"));
    CHECK(r.code == 422);
    CHECK(r.body["message"] ==
          "EndpointSlice.discovery.k8s.io \"head-a\" is invalid: endpoints[0].addresses[0]: Invalid value: "
          "\"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)");
    CHECK(call(api, "POST", kSlices, slice("head-b", "10.0.0.7")).code == 201);
    json ep = {{"apiVersion", "v1"},
               {"kind", "Endpoints"},
               {"metadata", {{"name", "x"}}},
               {"subsets", json::array({{{"addresses", json::array({{{"ip", "127.0.0.9"}}})}}})}};
    auto e = call(api, "POST", kEndpoints, ep);
    CHECK(e.code == 422);
    CHECK(e.body["details"]["causes"][0]["field"] == "subsets[0].addresses[0].ip");
  }
  SUBCASE("--allow-loopback-endpoints") {
    Api api(ApiOptions{200000, true});
    auto r = call(api, "POST", kSlices, slice("head", "127.5.0.1"));
    REQUIRE(r.code == 201);
    CHECK(r.body["ports"][0]["protocol"] == "TCP");
    CHECK(call(api, "POST", kSlices, slice("ll", "169.254.1.1")).code == 422);
  }
  SUBCASE("address types and families") {
    Api api;
    json no_type = slice("t", "10.0.0.1");
    no_type.erase("addressType");
    CHECK(call(api, "POST", kSlices, no_type).body["message"].get<std::string>().find("addressType: Required value") !=
          std::string::npos);
    CHECK(call(api, "POST", kSlices, slice("v4", "fe80::1")).code == 422);  // not an IPv4 address
  }
  CHECK(endpoint_address_problem("::1", true, false).find("loopback") != std::string::npos);
  CHECK(endpoint_address_problem("::1", true, true).empty());
  CHECK(endpoint_address_problem("0.0.0.0", false, true).find("unspecified") != std::string::npos);
  CHECK(endpoint_address_problem("224.0.0.5", false, false).find("multicast") != std::string::npos);
  CHECK(endpoint_address_problem("2001:db8::1", true, false).empty());
}

TEST_CASE("builtin admission: the tables kubectl get prints for Services and EndpointSlices") {
  Api api(ApiOptions{200000, true});
  REQUIRE(call(api, "POST", kSvc, service("head", json::array({{{"name", "client"}, {"port", 10001}},
                                                                {{"name", "gcs"}, {"port", 6379}}})))
              .code == 201);
  REQUIRE(call(api, "POST", kSlices, slice("head-1", "127.5.0.1")).code == 201);
  const std::string table = "application/json;as=Table;v=v1;g=meta.k8s.io";
  auto svc = call(api, "GET", kSvc, nullptr, table);
  REQUIRE(svc.code == 200);
  std::vector<std::string> names;
  for (const auto& c : svc.body["columnDefinitions"]) names.push_back(c["name"]);
  CHECK(names == std::vector<std::string>{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"});
  const json& row = svc.body["rows"][0]["cells"];
  CHECK(row[1] == "ClusterIP");
  CHECK(row[3] == "<none>");
  CHECK(row[4] == "10001/TCP,6379/TCP");
  CHECK(row[6] == "<none>");
  auto slices = call(api, "GET", kSlices, nullptr, table);
  REQUIRE(slices.code == 200);
  const json& srow = slices.body["rows"][0]["cells"];
  CHECK(srow[1] == "IPv4");
  CHECK(srow[2] == "10001");
  CHECK(srow[3] == "127.5.0.1");
}
