// `kubectl kustomize manifests` with whichever kubectl is first on PATH (1.20's kustomize v2.0.3 or a
// current one): the install renders, holds exactly the objects of the install, and carries the common
// labels on every object's metadata and on no selector or pod template (a selector change would orphan
// the pods of an existing Deployment on upgrade).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "controller/util/yaml_json.hpp"
#include "test/support/process.hpp"

namespace {

using nlohmann::json;

const std::set<std::string> kInstall = {
    "Namespace/raydog-system",
    "CustomResourceDefinition/raydogclusters.raydog.io",
    "CustomResourceDefinition/raydogjobs.raydog.io",
    "ServiceAccount/raydog-operator",
    "ClusterRole/raydog-operator",
    "ClusterRoleBinding/raydog-operator",
    "Role/raydog-operator-leader-election",
    "RoleBinding/raydog-operator-leader-election",
    "Deployment/raydog-operator",
    "Service/raydog-operator-metrics",
};

bool has_common_labels(const json& labels) {
  return labels.is_object() && labels.value("app.kubernetes.io/name", "") == "raydog-operator" &&
         labels.value("app.kubernetes.io/part-of", "") == "raydog-operator";
}

bool mentions_common_labels(const json& labels) {
  return labels.is_object() &&
         (labels.contains("app.kubernetes.io/name") || labels.contains("app.kubernetes.io/part-of"));
}

}  // namespace

TEST_CASE("install_render: kubectl kustomize manifests renders the install with the common labels on metadata only") {
  auto rendered = raydog::test::run_command({"kubectl", "kustomize", raydog::test::source_path("manifests")});
  REQUIRE_MESSAGE(rendered.exit_code == 0, rendered.err);
  auto docs = raydog::yaml_documents_to_json(rendered.out);
  const std::string parse_error = docs ? std::string() : docs.error().message;
  REQUIRE_MESSAGE(docs.ok(), parse_error);

  std::set<std::string> seen;
  for (const json& doc : *docs) {
    const std::string id = doc.value("kind", "") + "/" + doc["metadata"].value("name", "");
    INFO(id);
    seen.insert(id);
    CHECK(has_common_labels(doc["metadata"].value("labels", json::object())));
    const bool cluster_scoped = doc["kind"] == "Namespace" || doc["kind"] == "CustomResourceDefinition" ||
                                doc["kind"] == "ClusterRole" || doc["kind"] == "ClusterRoleBinding";
    if (!cluster_scoped) CHECK(doc["metadata"].value("namespace", "") == "raydog-system");
    if (doc["kind"] == "Deployment") {
      CHECK(doc["spec"]["selector"]["matchLabels"] == json{{"control-plane", "raydog-operator"}});
      CHECK_FALSE(mentions_common_labels(doc["spec"]["template"]["metadata"]["labels"]));
    }
    if (doc["kind"] == "Service") CHECK(doc["spec"]["selector"] == json{{"control-plane", "raydog-operator"}});
  }
  CHECK(seen == kInstall);
}
