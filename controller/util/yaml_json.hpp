#pragma once
// YAML <-> JSON for manifests, kubeconfigs and request bodies. Scalars follow the YAML 1.2 core schema
// the Kubernetes tooling uses: plain `true`/`false`/`null`/numbers get their JSON types, quoted scalars stay
// strings. Errors carry yaml-cpp's line/column so a user can find the mistake.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "controller/util/result.hpp"

namespace raydog {

struct ParseError {
  std::string message;  // "line 3, column 7: ..." where known
};

// One document. An empty document yields null.
Result<nlohmann::json, ParseError> yaml_to_json(std::string_view yaml);
// A `---`-separated stream; empty documents are skipped.
Result<std::vector<nlohmann::json>, ParseError> yaml_documents_to_json(std::string_view yaml);
// Block-style YAML with stable (insertion = nlohmann's sorted) key order; strings that would read back
// as another type are quoted.
std::string json_to_yaml(const nlohmann::json& j);

}  // namespace raydog
