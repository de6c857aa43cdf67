#pragma once
// The head Service (pure): what Kubernetes should hold so pods reach a cluster's head by name. A Service
// without a selector, `<name>-head`, and the one EndpointSlice that gives it the head's address (no Pods to
// select: the head is a YellowDog VM), both owned by the RayDogCluster. The extension (extension.hpp)
// applies these bodies with server-side apply and deletes them; nothing here does I/O.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.hpp"

namespace raydog::access {

using nlohmann::json;

inline constexpr std::string_view kFieldManager = "raydog-operator";
inline constexpr std::string_view kManagedBy = "raydog.io";  // endpointslice.kubernetes.io/managed-by
inline constexpr std::string_view kClusterLabel = "raydog.io/cluster";

// `<name>-head` when that is a DNS-1035 label (a Service name: at most 63 characters, starting with a
// letter); otherwise a shortened, still unique form: "rdc-" + the name's start + "-" + hash8(name) + "-head".
std::string service_name(std::string_view cluster_name);

// spec.headService.enabled (default true) on a cluster that runs: not suspended, not being deleted.
bool wanted(const api::RayDogCluster& cluster);

// The head address the Service points at: its public IP with headAccess Public, its private IP otherwise.
std::optional<std::string> head_address(const api::RayDogClusterSpec& spec, const std::optional<std::string>& private_ip,
                                        const std::optional<std::string>& public_ip);

struct NamedPort {
  std::string name;
  int port = 0;
};
// client 10001, dashboard 8265, gcs 6379, metrics 8080, and dim (spec.daliuge.ports.dim) with DALiuGE.
std::vector<NamedPort> ports(const api::RayDogClusterSpec& spec);

// Server-side apply bodies. The slice lists the head when its address is known and nothing otherwise (a
// head being replaced has no endpoint, rather than a stale one).
json service(const api::RayDogCluster& cluster);
json endpoint_slice(const api::RayDogCluster& cluster, const std::optional<std::string>& address);

// status.endpoints.inCluster: the Service's DNS name in the cluster's namespace.
api::InClusterEndpoints in_cluster(const api::RayDogCluster& cluster);

}  // namespace raydog::access
