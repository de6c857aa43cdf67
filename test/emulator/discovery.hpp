#pragma once
// Discovery (§4: aggregated and legacy) and OpenAPI (§6: v3 root + one document per group/version with
// the CRD schemas under components so `kubectl explain` works) from the Registry. OpenAPI v2: openapi_v2.*.
#include <nlohmann/json.hpp>
#include <string>

#include "test/emulator/resources.hpp"

namespace raydog::emulator {

// "io.raydog.v1alpha1.RayDogCluster", "io.k8s.api.core.v1.ConfigMap": the OpenAPI definition name.
std::string openapi_schema_name(const ResourceInfo& r);
json openapi_gvk(const ResourceInfo& r);  // {"group", "version", "kind"}

json version_info();
json aggregated_discovery(const Registry& reg, bool core);         // /api (core) or /apis
json legacy_api_versions(const std::string& server_address);       // /api
json legacy_group_list(const Registry& reg);                       // /apis
json legacy_group(const Registry& reg, const std::string& group);  // /apis/G (null if unknown)
json legacy_resource_list(const Registry& reg, const std::string& group, const std::string& version);

json openapi_v3_root(const Registry& reg);
// "api/v1" or "apis/G/V"; null when unknown.
json openapi_v3_document(const Registry& reg, const std::string& gv_path);

}  // namespace raydog::emulator
