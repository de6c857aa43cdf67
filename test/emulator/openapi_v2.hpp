#pragma once
// OpenAPI v2 (Swagger 2.0) from the Registry: what kubectl before 1.27 reads for `kubectl explain`,
// client-side validation, the dry-run support check (`kubectl diff`, `--dry-run=server`) and apply's patch
// computation. Served as JSON or, as kubectl asks for it, as the protobuf of gnostic's openapi_v2.Document.
#include <nlohmann/json.hpp>
#include <string>

#include "test/emulator/resources.hpp"

namespace raydog::emulator {

// The Swagger 2.0 document: one definition per registered kind (CRD schemas converted the way the real
// server publishes them to v2) and per-resource paths whose operations carry x-kubernetes-group-version-kind.
json openapi_v2_document(const Registry& reg);
// A Swagger 2.0 JSON document encoded as gnostic's openapi.v2.Document protobuf message.
std::string openapi_v2_protobuf(const json& swagger);
// A v3 (structural) schema as v2 can carry it: no nullable/oneOf/anyOf/allOf/not, no value validations,
// no properties or items under x-kubernetes-preserve-unknown-fields (older kubectl would reject objects).
json openapi_v2_schema(const json& v3_schema);

}  // namespace raydog::emulator
