// The request layer end to end without sockets: discovery, CRD registration, admission, verbs, subresources,
// watches, and the Status objects of bad input.
#include <doctest/doctest.h>

#include "controller/util/yaml_json.hpp"
#include "test/emulator/api.hpp"
#include "test/emulator/openapi_v2.hpp"
#include "test/emulator/protobuf.hpp"
#include "test/support/process.hpp"

using namespace raydog::emulator;

namespace {

const std::string kRdc = "/apis/raydog.io/v1alpha1/namespaces/default/raydogclusters";
const std::string kCrds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

struct Reply {
  int code;
  std::string content_type;
  json body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply call(Api& api, const std::string& method, const std::string& target, const std::string& body = "",
           const std::string& content_type = "application/json",
           const std::string& accept = "application/json") {
  ApiRequest req{method, target, accept, content_type, body, "127.0.0.1:1234"};
  auto out = api.handle(req);
  REQUIRE(out.watch == nullptr);
  json parsed = json::parse(out.response.body, nullptr, false);
  return {out.response.code, out.response.content_type, parsed, out.response.headers};
}

std::unique_ptr<WatchSession> watch(Api& api, const std::string& target,
                                    const std::string& accept = "application/json") {
  ApiRequest req{"GET", target, accept, "", "", "127.0.0.1:1234"};
  auto out = api.handle(req);
  REQUIRE(out.watch != nullptr);
  return std::move(out.watch);
}

json crd() {
  auto docs = raydog::yaml_documents_to_json(
      raydog::test::read_file(raydog::test::source_path("test/e2e/kubectl/testdata/raydog-crd.yaml")));
  REQUIRE(docs.ok());
  return docs->at(0);
}

json rdc(const std::string& name, json spec = {{"yellowdog", {{"namespace", "ray"}}}}) {
  return {{"apiVersion", "raydog.io/v1alpha1"},
          {"kind", "RayDogCluster"},
          {"metadata", {{"name", name}}},
          {"spec", spec}};
}

void install_crd(Api& api) {
  auto r = call(api, "POST", kCrds, crd().dump());
  REQUIRE(r.code == 201);
}

std::vector<json> drain(WatchSession& w) {
  std::vector<json> out;
  while (!w.pending.empty()) {
    out.push_back(json::parse(w.pending.front()));
    w.pending.pop_front();
  }
  return out;
}

}  // namespace

TEST_CASE("api: version health aggregated and legacy discovery") {
  Api api;
  auto v = call(api, "GET", "/version?timeout=5s");
  CHECK(v.code == 200);
  CHECK(v.body["minor"] == "32");
  auto agg = call(api, "GET", "/apis?timeout=32s", "", "",
                  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json");
  CHECK(agg.content_type == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  CHECK(agg.body["kind"] == "APIGroupDiscoveryList");
  auto core = call(api, "GET", "/api", "", "",
                   "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  REQUIRE(core.body["items"].size() == 1);
  CHECK(core.body["items"][0]["metadata"] == json::object());
  auto legacy = call(api, "GET", "/api");
  CHECK(legacy.body["kind"] == "APIVersions");
  CHECK(legacy.body["serverAddressByClientCIDRs"][0]["serverAddress"] == "127.0.0.1:1234");
  auto groups = call(api, "GET", "/apis");
  CHECK(groups.body["kind"] == "APIGroupList");
  auto leases = call(api, "GET", "/apis/coordination.k8s.io/v1");
  CHECK(leases.body["resources"][0]["name"] == "leases");
  CHECK(call(api, "GET", "/healthz").code == 200);
  auto v2 = call(api, "GET", "/openapi/v2");  // JSON unless protobuf is asked for
  CHECK(v2.body["swagger"] == "2.0");
  // Built-ins: no schema, so the definition does not claim the kind (kubectl 1.20 uses its own types); the
  // paths do, for its dry-run check.
  CHECK(v2.body["definitions"].contains("io.k8s.api.core.v1.ConfigMap"));
  CHECK_FALSE(
      v2.body["definitions"]["io.k8s.api.core.v1.ConfigMap"].contains("x-kubernetes-group-version-kind"));
  CHECK(v2.body["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
               ["x-kubernetes-group-version-kind"]["kind"] == "ConfigMap");
  ApiRequest pb{"GET", "/openapi/v2",   "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", "",
                "",    "127.0.0.1:1234"};
  auto v2pb = api.handle(pb);
  CHECK(v2pb.response.content_type == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
  CHECK(v2pb.response.body.substr(0, 5) == std::string("\x0a\x03"
                                                       "2.0",
                                                       5));  // Document.swagger = 1
  auto nf = call(api, "GET", "/apis/nope.io/v1/things");
  CHECK(nf.code == 404);
  CHECK(nf.body["message"] == "the server could not find the requested resource");
  CHECK(nf.body["kind"] == "Status");
}

TEST_CASE("api: a CRD registers its resource becomes Established and OpenAPI v3 describes it") {
  Api api;
  CHECK(call(api, "GET", kRdc).code == 404);
  auto r = call(api, "POST", kCrds + "?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
                crd().dump());
  REQUIRE(r.code == 201);
  bool established = false;
  for (const auto& c : r.body["status"]["conditions"])
    if (c["type"] == "Established" && c["status"] == "True") established = true;
  CHECK(established);
  CHECK(r.body["status"]["acceptedNames"]["kind"] == "RayDogCluster");
  auto list = call(api, "GET", kRdc);
  CHECK(list.code == 200);
  CHECK(list.body["kind"] == "RayDogClusterList");
  auto res = call(api, "GET", "/apis/raydog.io/v1alpha1");
  REQUIRE(res.body["resources"].size() == 3);
  CHECK(res.body["resources"][1]["name"] == "raydogclusters/status");
  auto root = call(api, "GET", "/openapi/v3");
  std::string url = root.body["paths"]["apis/raydog.io/v1alpha1"]["serverRelativeURL"];
  CHECK(url.find("/openapi/v3/apis/raydog.io/v1alpha1?hash=") == 0);
  auto doc = call(api, "GET", url);
  REQUIRE(doc.code == 200);
  CHECK(doc.body["components"]["schemas"]["io.raydog.v1alpha1.RayDogCluster"]["properties"]["spec"]
                ["required"] == json{"yellowdog"});
  const json& patch =
      doc.body["paths"]["/apis/raydog.io/v1alpha1/namespaces/{namespace}/raydogclusters/{name}"]["patch"];
  CHECK(patch["x-kubernetes-group-version-kind"]["kind"] == "RayDogCluster");
  bool has_fv = false;
  for (const auto& p : patch["parameters"]) has_fv = has_fv || p["name"] == "fieldValidation";
  CHECK(has_fv);
  // Deleting the CRD (no instances with finalizers) unregisters the resource.
  REQUIRE(call(api, "POST", kRdc, rdc("a").dump()).code == 201);
  CHECK(call(api, "DELETE", kCrds + "/raydogclusters.raydog.io").code == 200);
  CHECK(call(api, "GET", kRdc).code == 404);
  CHECK(call(api, "GET", kCrds + "/raydogclusters.raydog.io").code == 404);
}

TEST_CASE("api: create defaults prunes validates - strict decoding - warnings") {
  Api api;
  install_crd(api);
  json body =
      rdc("a", {{"yellowdog", {{"namespace", "ray"}}}, {"workerPools", {{{"name", "cpu"}}}}, {"foo", 1}});
  auto strict = call(api, "POST", kRdc + "?fieldValidation=Strict", body.dump());
  CHECK(strict.code == 400);
  CHECK(strict.body["message"] == "strict decoding error: unknown field \"spec.foo\"");
  auto warn = call(api, "POST", kRdc, body.dump());
  REQUIRE(warn.code == 201);
  REQUIRE(warn.headers.size() == 1);
  CHECK(warn.headers[0].second == "299 - \"unknown field \\\"spec.foo\\\"\"");
  CHECK_FALSE(warn.body["spec"].contains("foo"));
  CHECK(warn.body["spec"]["workerPools"][0]["nodes"] == 1);
  CHECK(warn.body["spec"]["yellowdog"]["apiURL"] == "https://api.yellowdog.ai");
  CHECK(warn.body["metadata"]["generation"] == 1);
  auto bad = call(
      api, "POST", kRdc,
      rdc("b", {{"yellowdog", {{"namespace", "ray"}}}, {"workerPools", {{{"name", "cpu"}, {"nodes", -1}}}}})
          .dump());
  CHECK(bad.code == 422);
  CHECK(bad.body["reason"] == "Invalid");
  CHECK(bad.body["message"] ==
        "RayDogCluster.raydog.io \"b\" is invalid: spec.workerPools[0].nodes: Invalid value: -1: "
        "spec.workerPools[0].nodes in body should be greater than or equal to 0");
  CHECK(bad.body["details"]["causes"][0]["field"] == "spec.workerPools[0].nodes");
  auto yaml = call(api, "POST", kRdc,
                   "apiVersion: raydog.io/v1alpha1\nkind: RayDogCluster\nmetadata: {name: y}\nspec:\n  "
                   "yellowdog: {namespace: ray}\n",
                   "application/yaml");
  CHECK(yaml.code == 201);
}

TEST_CASE("api: bad input gets the real server's Status and the API keeps serving") {
  Api api;
  install_crd(api);
  auto malformed = call(api, "POST", kRdc, "{\"apiVersion\": ");
  CHECK(malformed.code == 400);
  CHECK(malformed.body["reason"] == "BadRequest");
  CHECK(malformed.body["message"].get<std::string>().find("couldn't get version/kind; json parse error") ==
        0);
  auto bad_yaml = call(api, "POST", kRdc, "a: [unclosed", "application/yaml");
  CHECK(bad_yaml.code == 400);
  auto wrong_kind = call(api, "POST", kRdc,
                         R"({"apiVersion":"raydog.io/v1alpha1","kind":"Other","metadata":{"name":"z"}})");
  CHECK(wrong_kind.code == 400);
  auto bad_name = call(api, "POST", kRdc, rdc("Not_Valid").dump());
  CHECK(bad_name.code == 422);
  auto ns_mismatch = call(api, "POST", kRdc,
                          json{{"metadata", {{"name", "q"}, {"namespace", "other"}}},
                               {"spec", {{"yellowdog", {{"namespace", "r"}}}}}}
                              .dump());
  CHECK(ns_mismatch.code == 400);
  CHECK(ns_mismatch.body["message"] ==
        "the namespace of the provided object does not match the namespace sent on the request");
  auto unknown = call(api, "POST", "/apis/raydog.io/v1alpha1/namespaces/default/nothings", "{}");
  CHECK(unknown.code == 404);
  auto huge =
      call(api, "POST", "/api/v1/namespaces/default/configmaps", std::string(4 * 1024 * 1024, ' ') + "{}");
  CHECK(huge.code == 413);
  CHECK(huge.body["reason"] == "RequestEntityTooLarge");
  auto proto = call(api, "POST", "/api/v1/namespaces", "\x6b\x38\x73", "application/vnd.kubernetes.protobuf");
  CHECK(proto.code == 415);
  auto no_ns = call(api, "POST", "/api/v1/namespaces/missing/configmaps", R"({"metadata":{"name":"c"}})");
  CHECK(no_ns.code == 404);
  CHECK(no_ns.body["message"] == "namespaces \"missing\" not found");
  auto sel = call(api, "GET", kRdc + "?fieldSelector=spec.x%3D1");
  CHECK(sel.code == 400);
  CHECK(call(api, "POST", kRdc, rdc("fine").dump()).code == 201);
}

TEST_CASE("api: update patches status and scale subresources") {
  Api api;
  install_crd(api);
  auto c = call(api, "POST", kRdc, rdc("a").dump());
  REQUIRE(c.code == 201);
  auto merge = call(api, "PATCH", kRdc + "/a?fieldManager=kubectl-patch",
                    R"({"spec":{"replicas":2},"status":{"phase":"X"}})", "application/merge-patch+json");
  REQUIRE(merge.code == 200);
  CHECK(merge.body["spec"]["replicas"] == 2);
  CHECK(merge.body["metadata"]["generation"] == 2);
  CHECK_FALSE(merge.body.contains("status"));
  auto smp =
      call(api, "PATCH", kRdc + "/a", R"({"spec":{"replicas":3}})", "application/strategic-merge-patch+json");
  CHECK(smp.code == 415);
  CHECK(smp.body["reason"] == "UnsupportedMediaType");
  auto jp = call(api, "PATCH", kRdc + "/a", R"([{"op":"replace","path":"/spec/replicas","value":4}])",
                 "application/json-patch+json");
  REQUIRE(jp.code == 200);
  CHECK(jp.body["spec"]["replicas"] == 4);
  auto st =
      call(api, "PATCH", kRdc + "/a/status",
           R"({"status":{"phase":"Running","readyWorkers":2,"selector":"app=x"},"spec":{"replicas":9}})",
           "application/merge-patch+json");
  REQUIRE(st.code == 200);
  CHECK(st.body["status"]["phase"] == "Running");
  CHECK(st.body["spec"]["replicas"] == 4);
  CHECK(st.body["metadata"]["generation"] == 3);
  auto scale = call(api, "GET", kRdc + "/a/scale");
  CHECK(scale.body["kind"] == "Scale");
  CHECK(scale.body["spec"]["replicas"] == 4);
  CHECK(scale.body["status"]["replicas"] == 2);
  CHECK(scale.body["status"]["selector"] == "app=x");
  auto scaled =
      call(api, "PATCH", kRdc + "/a/scale", R"({"spec":{"replicas":5}})", "application/merge-patch+json");
  REQUIRE(scaled.code == 200);
  CHECK(scaled.body["kind"] == "Scale");
  CHECK(call(api, "GET", kRdc + "/a").body["spec"]["replicas"] == 5);
  // PUT with a stale RV is a conflict; without RV is 422 for custom resources.
  json stale = c.body;
  stale["spec"]["replicas"] = 1;
  auto conflict = call(api, "PUT", kRdc + "/a", stale.dump());
  CHECK(conflict.code == 409);
  stale["metadata"].erase("resourceVersion");
  CHECK(call(api, "PUT", kRdc + "/a", stale.dump()).code == 422);
  // Apply: needs a fieldManager; creates when missing; merges when present.
  auto no_mgr = call(api, "PATCH", kRdc + "/b", rdc("b").dump(), "application/apply-patch+yaml");
  CHECK(no_mgr.code == 422);
  auto ssa = call(api, "PATCH", kRdc + "/b?fieldManager=kubectl&force=false", rdc("b").dump(),
                  "application/apply-patch+yaml");
  CHECK(ssa.code == 201);
  auto ssa2 = call(api, "PATCH", kRdc + "/b?fieldManager=kubectl",
                   "metadata:\n  name: b\n  labels: {app: raydog}\nspec:\n  replicas: 7\n",
                   "application/apply-patch+yaml");
  REQUIRE(ssa2.code == 200);
  CHECK(ssa2.body["spec"]["replicas"] == 7);
  CHECK(ssa2.body["spec"]["yellowdog"]["namespace"] == "ray");
  // Dry run does not persist.
  auto dry = call(api, "PATCH", kRdc + "/b?dryRun=All", R"({"spec":{"replicas":8}})",
                  "application/merge-patch+json");
  CHECK(dry.body["spec"]["replicas"] == 8);
  CHECK(call(api, "GET", kRdc + "/b").body["spec"]["replicas"] == 7);
}

TEST_CASE("api: lists with selectors pagination and Tables") {
  Api api;
  install_crd(api);
  for (int i = 0; i < 5; ++i) {
    json b = rdc("c" + std::to_string(i));
    b["metadata"]["labels"] = {{"app", i % 2 ? "odd" : "even"}};
    REQUIRE(call(api, "POST", kRdc, b.dump()).code == 201);
  }
  auto sel = call(api, "GET", kRdc + "?labelSelector=app%3Deven");
  CHECK(sel.body["items"].size() == 3);
  auto page1 = call(api, "GET", kRdc + "?limit=2");
  REQUIRE(page1.body["items"].size() == 2);
  CHECK(page1.body["metadata"]["remainingItemCount"] == 3);
  std::string cont = page1.body["metadata"]["continue"];
  auto page2 = call(api, "GET", kRdc + "?limit=2&continue=" + cont);
  CHECK(page2.body["items"][0]["metadata"]["name"] == "c2");
  auto all_ns = call(api, "GET", "/apis/raydog.io/v1alpha1/raydogclusters");
  CHECK(all_ns.body["items"].size() == 5);
  auto table = call(api, "GET", kRdc + "?limit=500", "", "",
                    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
  CHECK(table.content_type == "application/json;as=Table;v=v1;g=meta.k8s.io");
  CHECK(table.body["columnDefinitions"][1]["name"] == "Phase");
  CHECK(table.body["rows"].size() == 5);
  auto bad_inc =
      call(api, "GET", kRdc + "?includeObject=Bogus", "", "", "application/json;as=Table;v=v1;g=meta.k8s.io");
  CHECK(bad_inc.code == 400);
}

TEST_CASE("api: watch from 0 sends synthetic ADDED - from RV replays - filtered by field selector") {
  Api api;
  install_crd(api);
  REQUIRE(call(api, "POST", kRdc, rdc("a").dump()).code == 201);
  auto list = call(api, "GET", kRdc);
  std::string rv = list.body["metadata"]["resourceVersion"];
  auto w0 = watch(api, kRdc + "?watch=true&resourceVersion=0&fieldSelector=metadata.name%3Da");
  auto wrv =
      watch(api, kRdc + "?watch=1&resourceVersion=" + rv + "&allowWatchBookmarks=true&timeoutSeconds=300");
  auto wtable =
      watch(api, kRdc + "?watch=True&resourceVersion=" + rv, "application/json;as=Table;v=v1;g=meta.k8s.io");
  int ready = 0;
  wrv->on_ready = [&] { ++ready; };
  CHECK(wrv->timeout == std::chrono::seconds(300));
  CHECK(wrv->bookmarks);
  auto first = drain(*w0);
  REQUIRE(first.size() == 1);
  CHECK(first[0]["type"] == "ADDED");
  CHECK(drain(*wrv).empty());
  REQUIRE(call(api, "POST", kRdc, rdc("b").dump()).code == 201);
  REQUIRE(
      call(api, "PATCH", kRdc + "/a", R"({"spec":{"replicas":1}})", "application/merge-patch+json").code ==
      200);
  REQUIRE(call(api, "DELETE", kRdc + "/a", R"({"propagationPolicy":"Background"})").code == 200);
  CHECK(ready == 3);
  auto a_only = drain(*w0);
  REQUIRE(a_only.size() == 2);
  CHECK(a_only[0]["type"] == "MODIFIED");
  CHECK(a_only[1]["type"] == "DELETED");
  auto all = drain(*wrv);
  REQUIRE(all.size() == 3);
  CHECK(all[0]["type"] == "ADDED");
  CHECK(all[0]["object"]["metadata"]["name"] == "b");
  auto tab = drain(*wtable);
  REQUIRE(tab.size() == 3);
  CHECK(tab[0]["object"]["kind"] == "Table");
  CHECK(tab[0]["object"].contains("columnDefinitions"));
  CHECK_FALSE(tab[1]["object"].contains("columnDefinitions"));
  CHECK(json::parse(wrv->bookmark_line())["type"] == "BOOKMARK");
  // Resuming from the RV before the changes replays them.
  auto replay = watch(api, kRdc + "?watch=true&resourceVersion=" + rv);
  CHECK(drain(*replay).size() == 3);
}

TEST_CASE("api: a watch from a compacted resourceVersion gets an ERROR 410 event") {
  Api api(ApiOptions{3});
  install_crd(api);
  for (int i = 0; i < 6; ++i)
    REQUIRE(call(api, "POST", kRdc, rdc("c" + std::to_string(i)).dump()).code == 201);
  auto w = watch(api, kRdc + "?watch=true&resourceVersion=2");
  CHECK(w->finished);
  auto ev = drain(*w);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0]["type"] == "ERROR");
  CHECK(ev[0]["object"]["code"] == 410);
  CHECK(ev[0]["object"]["reason"] == "Expired");
}

TEST_CASE("api: events field selectors for describe - CRD delete waits for finalizers") {
  Api api;
  install_crd(api);
  auto c = call(api, "POST", kRdc,
                json{{"metadata", {{"name", "x"}, {"finalizers", {"raydog.io/cleanup"}}}},
                     {"spec", {{"yellowdog", {{"namespace", "r"}}}}}}
                    .dump());
  REQUIRE(c.code == 201);
  std::string uid = c.body["metadata"]["uid"];
  json ev = {
      {"metadata", {{"name", "x.1"}}},
      {"involvedObject", {{"kind", "RayDogCluster"}, {"name", "x"}, {"namespace", "default"}, {"uid", uid}}},
      {"reason", "Created"},
      {"message", "hello"},
      {"type", "Normal"}};
  REQUIRE(call(api, "POST", "/api/v1/namespaces/default/events", ev.dump()).code == 201);
  auto found = call(api, "GET",
                    "/api/v1/namespaces/default/"
                    "events?fieldSelector=involvedObject.kind%3DRayDogCluster%2CinvolvedObject.uid%3D" +
                        uid + "%2CinvolvedObject.name%3Dx%2CinvolvedObject.namespace%3Ddefault&limit=500");
  CHECK(found.body["items"].size() == 1);
  auto del = call(api, "DELETE", kCrds + "/raydogclusters.raydog.io");
  CHECK(del.code == 200);
  CHECK(call(api, "POST", kRdc, rdc("new").dump()).code == 405);
  auto pending = call(api, "GET", kRdc + "/x");
  REQUIRE(pending.code == 200);
  CHECK(pending.body["metadata"].contains("deletionTimestamp"));
  auto freed =
      call(api, "PATCH", kRdc + "/x", R"({"metadata":{"finalizers":null}})", "application/merge-patch+json");
  CHECK(freed.code == 200);
  CHECK(call(api, "GET", kCrds + "/raydogclusters.raydog.io").code == 404);
  CHECK(call(api, "GET", kRdc).code == 404);
}

TEST_CASE("api: strategic merge patches on built-ins") {
  Api api;
  REQUIRE(call(api, "POST", "/api/v1/namespaces/default/configmaps",
               R"({"metadata":{"name":"c","labels":{"a":"1"}},"data":{"k":"v"}})")
              .code == 201);
  auto p = call(api, "PATCH", "/api/v1/namespaces/default/configmaps/c",
                R"({"data":{"k2":"v2"},"metadata":{"labels":{"a":null}}})",
                "application/strategic-merge-patch+json");
  REQUIRE(p.code == 200);
  CHECK(p.body["data"] == json{{"k", "v"}, {"k2", "v2"}});
  CHECK_FALSE(p.body["metadata"]["labels"].contains("a"));
  auto ns = call(api, "GET", "/api/v1/namespaces/default");
  CHECK(ns.body["status"]["phase"] == "Active");
}

TEST_CASE("protobuf writer: varints, doubles, strings and nested messages on the proto3 wire") {
  ProtoWriter inner;
  inner.string(1, "ab").boolean(2, false).oneof_boolean(3, false);  // false: left off unless in a oneof
  ProtoWriter w;
  w.varint(1, 300).int64(2, 0).dbl(3, 1.0).message(4, inner).repeated_string(5, "");
  // 300 = varint ac 02; 1.0 = 00..f0 3f little-endian; inner = 0a 02 'a' 'b' 18 00 (5 bytes + 2).
  const std::string want(
      "\x08\xac\x02"
      "\x19\x00\x00\x00\x00\x00\x00\xf0\x3f"
      "\x22\x06\x0a\x02"
      "ab"
      "\x18\x00"
      "\x2a\x00",
      22);
  CHECK(w.bytes() == want);
}

TEST_CASE("openapi v2: CRD schemas as v2 carries them (kubectl 1.20 rules)") {
  json v3 = {{"type", "object"},
             {"required", {"a", "n"}},
             {"properties",
              {{"a", {{"type", "string"}, {"pattern", "^x"}, {"enum", {"x"}}, {"description", "A."}}},
               {"n", {{"type", "string"}, {"nullable", true}}},
               {"free",
                {{"type", "object"},
                 {"x-kubernetes-preserve-unknown-fields", true},
                 {"properties", {{"k", {{"type", "string"}}}}}}},
               {"any", {{"x-kubernetes-int-or-string", true}, {"anyOf", {{{"type", "integer"}}}}}},
               {"list", {{"type", "array"}, {"items", {{"type", "integer"}, {"minimum", 0}}}}}}}};
  json v2 = openapi_v2_schema(v3);
  CHECK(v2["required"] == json{"a"});  // a nullable property is not required in v2
  CHECK(v2["properties"]["a"] == json{{"type", "string"}, {"description", "A."}});  // no value validations
  CHECK_FALSE(v2["properties"]["n"].contains("type"));
  CHECK_FALSE(v2["properties"]["free"].contains("properties"));
  CHECK(v2["properties"]["free"]["x-kubernetes-preserve-unknown-fields"] == true);
  CHECK(v2["properties"]["any"] == json{{"x-kubernetes-int-or-string", true}});
  CHECK(v2["properties"]["list"]["items"] == json{{"type", "integer"}});
}

// What a sharded operator relies on (issue 23): a watch with a labelSelector sees an object that starts
// matching as ADDED and one that stops matching as DELETED, as the real API server does (the DELETED object
// is the one the watcher last saw, at the event's resourceVersion); a replay from an older resourceVersion
// tells the same story.
TEST_CASE(
    "api: a labelSelector watch gets ADDED when a relabel makes an object match and DELETED when it stops") {
  Api api;
  install_crd(api);
  json c = rdc("c");
  c["metadata"]["labels"] = {{"raydog.io/shard", "a"}};
  REQUIRE(call(api, "POST", kRdc, c.dump()).code == 201);
  std::string rv = call(api, "GET", kRdc).body["metadata"]["resourceVersion"];
  const std::string query = kRdc + "?watch=true&resourceVersion=" + rv + "&labelSelector=";
  auto a = watch(api, query + "raydog.io%2Fshard%3Da");
  auto b = watch(api, query + "raydog.io%2Fshard%3Db");
  auto unlabelled = watch(api, query + "%21raydog.io%2Fshard");
  std::vector<std::string> rvs;
  auto patch = [&](const std::string& body) {
    auto r = call(api, "PATCH", kRdc + "/c", body, "application/merge-patch+json");
    REQUIRE(r.code == 200);
    rvs.push_back(r.body["metadata"]["resourceVersion"]);
  };
  patch(R"({"metadata":{"labels":{"raydog.io/shard":"b"}}})");
  patch(R"({"spec":{"replicas":1}})");
  patch(R"({"metadata":{"labels":{"raydog.io/shard":null}}})");
  auto seen = [](WatchSession& w) {
    std::vector<std::string> out;
    for (const auto& ev : drain(w)) {
      const json& md = ev["object"]["metadata"];
      out.push_back(ev["type"].get<std::string>() + " " +
                    md.value("labels", json::object()).value("raydog.io/shard", "-") + " " +
                    md.value("resourceVersion", ""));
    }
    return out;
  };
  CHECK(seen(*a) == std::vector<std::string>{"DELETED a " + rvs[0]});
  const std::vector<std::string> in_b = {"ADDED b " + rvs[0], "MODIFIED b " + rvs[1], "DELETED b " + rvs[2]};
  CHECK(seen(*b) == in_b);
  CHECK(seen(*unlabelled) == std::vector<std::string>{"ADDED - " + rvs[2]});
  auto replay = watch(api, query + "raydog.io%2Fshard%3Db");
  CHECK(seen(*replay) == in_b);
}
