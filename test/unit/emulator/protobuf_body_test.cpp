// Kubernetes' protobuf request bodies (protobuf_body.hpp): the envelope, each kind kubectl's imperative
// commands send, Go's always-written zero values left out, IntOrString and bytes as Kubernetes' JSON has
// them, and clear refusals.
#include <doctest/doctest.h>

#include "k8s_subset.pb.h"
#include "test/emulator/api.hpp"
#include "test/emulator/protobuf_body.hpp"

using namespace raydog::emulator;
namespace k8s = raydog::emulator::k8s;

namespace {

std::string envelope(const std::string& api_version, const std::string& kind, const google::protobuf::Message& m) {
  k8s::Unknown u;
  u.mutable_typemeta()->set_apiversion(api_version);
  u.mutable_typemeta()->set_kind(kind);
  u.set_raw(m.SerializeAsString());
  u.set_contenttype("");
  return std::string("k8s\0", 4) + u.SerializeAsString();
}

// What Go's generated code writes for an object with only a name: every string field, even empty.
void go_like_metadata(k8s::ObjectMeta* md, const std::string& name) {
  md->set_name(name);
  md->set_generatename("");
  md->set_namespace_("");
  md->set_selflink("");
  md->set_uid("");
  md->set_resourceversion("");
  md->set_generation(0);
  md->mutable_creationtimestamp();  // the zero Time: an empty message
}

}  // namespace

TEST_CASE("protobuf body: Secret, ConfigMap, Namespace, Service and ServiceAccount decode to their JSON") {
  k8s::Secret secret;
  go_like_metadata(secret.mutable_metadata(), "yellowdog-credentials");
  (*secret.mutable_data())["keyId"] = "abc";
  (*secret.mutable_data())["keySecret"] = std::string("s3\0cr3t", 7);  // bytes: any octets
  secret.set_type("Opaque");
  auto s = decode_protobuf_body(envelope("v1", "Secret", secret));
  REQUIRE(s.ok());
  CHECK(*s == json{{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata", {{"name", "yellowdog-credentials"}}},
                   {"data", {{"keyId", "YWJj"}, {"keySecret", "czMAY3IzdA=="}}},
                   {"type", "Opaque"}});

  k8s::ConfigMap cm;
  go_like_metadata(cm.mutable_metadata(), "c1");
  (*cm.mutable_data())["a"] = "1";
  (*cm.mutable_data())["empty"] = "";  // a map value is kept even when empty
  (*cm.mutable_metadata()->mutable_labels())["team"] = "a";
  auto c = decode_protobuf_body(envelope("v1", "ConfigMap", cm));
  REQUIRE(c.ok());
  CHECK((*c)["data"] == json{{"a", "1"}, {"empty", ""}});
  CHECK((*c)["metadata"] == json{{"name", "c1"}, {"labels", {{"team", "a"}}}});

  k8s::Namespace ns;
  go_like_metadata(ns.mutable_metadata(), "proto");
  ns.mutable_spec();
  ns.mutable_status();
  auto n = decode_protobuf_body(envelope("v1", "Namespace", ns));
  REQUIRE(n.ok());
  CHECK(*n == json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "proto"}}}});

  k8s::Service svc;
  go_like_metadata(svc.mutable_metadata(), "web");
  auto* port = svc.mutable_spec()->add_ports();
  port->set_name("5678-8080");
  port->set_protocol("TCP");
  port->set_port(5678);
  port->mutable_targetport()->set_type(0);
  port->mutable_targetport()->set_intval(8080);
  port->set_nodeport(0);
  auto* named = svc.mutable_spec()->add_ports();
  named->set_port(80);
  named->mutable_targetport()->set_type(1);
  named->mutable_targetport()->set_strval("http");
  svc.mutable_spec()->set_type("ClusterIP");
  (*svc.mutable_spec()->mutable_selector())["app"] = "web";
  svc.mutable_spec()->set_publishnotreadyaddresses(false);
  auto v = decode_protobuf_body(envelope("v1", "Service", svc));
  REQUIRE(v.ok());
  CHECK((*v)["spec"]["ports"][0] ==
        json{{"name", "5678-8080"}, {"protocol", "TCP"}, {"port", 5678}, {"targetPort", 8080}});
  CHECK((*v)["spec"]["ports"][1]["targetPort"] == "http");
  CHECK((*v)["spec"]["selector"] == json{{"app", "web"}});
  CHECK_FALSE((*v)["spec"].contains("publishNotReadyAddresses"));

  k8s::ServiceAccount sa;
  go_like_metadata(sa.mutable_metadata(), "runner");
  auto a = decode_protobuf_body(envelope("v1", "ServiceAccount", sa));
  REQUIRE(a.ok());
  CHECK((*a)["metadata"]["name"] == "runner");
}

TEST_CASE("protobuf body: refusals name what is wrong, and the API answers 415 with them") {
  k8s::Namespace ns;
  ns.mutable_metadata()->set_name("x");
  CHECK(decode_protobuf_body("not protobuf").error().message.find("magic") != std::string::npos);
  CHECK(decode_protobuf_body(std::string("k8s\0\xff\xff", 6)).error().message.find("does not parse") !=
        std::string::npos);
  auto deploy = decode_protobuf_body(envelope("apps/v1", "Deployment", ns));
  CHECK(deploy.error().message.find("not apps/v1 Deployment") != std::string::npos);

  Api api;
  ApiRequest ok{"POST", "/api/v1/namespaces", "application/json", "application/vnd.kubernetes.protobuf",
                envelope("v1", "Namespace", ns), "127.0.0.1:1"};
  auto created = api.handle(ok);
  CHECK(created.response.code == 201);
  CHECK(json::parse(created.response.body)["metadata"]["name"] == "x");
  ApiRequest bad = ok;
  bad.target = "/apis/apps/v1/namespaces/default/deployments";
  bad.body = envelope("apps/v1", "Deployment", ns);
  auto refused = api.handle(bad);
  CHECK(refused.response.code == 415);
  CHECK(json::parse(refused.response.body)["message"].get<std::string>().find("send it as JSON or YAML") !=
        std::string::npos);
}

TEST_CASE("protobuf body: a client that accepts only protobuf gets the object back in the same envelope") {
  Api api;
  k8s::ConfigMap cm;
  cm.mutable_metadata()->set_name("c1");
  (*cm.mutable_data())["a"] = "1";
  ApiRequest create{"POST", "/api/v1/namespaces/default/configmaps", "application/vnd.kubernetes.protobuf",
                    "application/vnd.kubernetes.protobuf", envelope("v1", "ConfigMap", cm), "127.0.0.1:1"};
  auto created = api.handle(create);
  REQUIRE(created.response.code == 201);
  CHECK(created.response.content_type == "application/vnd.kubernetes.protobuf");
  auto back = decode_protobuf_body(created.response.body);
  REQUIRE(back.ok());
  CHECK((*back)["metadata"]["name"] == "c1");
  CHECK((*back)["data"] == json{{"a", "1"}});
  CHECK((*back)["metadata"]["creationTimestamp"].is_string());  // the server's Time, round-tripped
  CHECK_FALSE((*back)["metadata"].value("resourceVersion", "").empty());
  // kubectl's own Accept lists JSON too: JSON.
  ApiRequest get{"GET", "/api/v1/namespaces/default/configmaps/c1",
                 "application/vnd.kubernetes.protobuf,application/json", "", "", "127.0.0.1:1"};
  auto got = api.handle(get);
  CHECK(got.response.code == 200);
  CHECK(json::parse(got.response.body)["data"]["a"] == "1");
  CHECK(accepts_only_protobuf("application/vnd.kubernetes.protobuf"));
  CHECK_FALSE(accepts_only_protobuf("application/vnd.kubernetes.protobuf, */*"));
  // A kind outside the subset is answered in JSON whatever the client asks.
  CHECK_FALSE(encode_protobuf_object(json{{"apiVersion", "apps/v1"}, {"kind", "Deployment"}}).has_value());
}
