#include "controller/access/head_service.hpp"

#include "api/defaults.hpp"
#include "api/names.hpp"

namespace raydog::access {

namespace {

bool dns1035_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || !(s.front() >= 'a' && s.front() <= 'z') || s.back() == '-') return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

std::string ns_of(const api::RayDogCluster& c) {
  return c.metadata.namespace_name.value_or("default");
}

json owner_reference(const api::RayDogCluster& c) {
  return {{"apiVersion", "raydog.io/v1alpha1"},
          {"kind", "RayDogCluster"},
          {"name", c.metadata.name},
          {"uid", c.metadata.uid.value_or("")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

json labels(const api::RayDogCluster& c) {
  return {{"app.kubernetes.io/name", "raydog"},
          {"app.kubernetes.io/component", "head"},
          {"app.kubernetes.io/managed-by", "raydog-operator"},
          {std::string(kClusterLabel), c.metadata.name}};
}

}  // namespace

std::string service_name(std::string_view cluster_name) {
  const std::string plain = std::string(cluster_name) + "-head";
  if (dns1035_label(plain)) return plain;
  std::string start;
  for (char c : cluster_name) {
    if (start.size() >= 40) break;
    const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    start += ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) ? l : '-';
  }
  while (!start.empty() && start.back() == '-') start.pop_back();
  return "rdc-" + (start.empty() ? std::string() : start + "-") + api::names::hash8(cluster_name) + "-head";
}

bool wanted(const api::RayDogCluster& cluster) {
  const auto& hs = cluster.spec.head_service;
  return (!hs || hs->enabled.value_or(true)) && !cluster.spec.suspend.value_or(false) &&
         !cluster.metadata.deletion_timestamp;
}

std::optional<std::string> head_address(const api::RayDogClusterSpec& spec, const std::optional<std::string>& private_ip,
                                        const std::optional<std::string>& public_ip) {
  if (spec.head_access.value_or(api::kDefaultHeadAccess) == api::HeadAccess::kPublic) return public_ip;
  return private_ip;
}

std::vector<NamedPort> ports(const api::RayDogClusterSpec& spec) {
  std::vector<NamedPort> out{{"client", 10001}, {"dashboard", 8265}, {"gcs", 6379}, {"metrics", 8080}};
  if (spec.daliuge && spec.daliuge->enabled.value_or(false)) {
    int dim = api::kDefaultDimPort;
    if (spec.daliuge->ports && spec.daliuge->ports->dim) dim = *spec.daliuge->ports->dim;
    out.push_back({"dim", dim});
  }
  return out;
}

json service(const api::RayDogCluster& cluster) {
  const auto& hs = cluster.spec.head_service;
  const api::HeadServiceType type = hs && hs->type ? *hs->type : api::kDefaultHeadServiceType;
  json metadata = {{"name", service_name(cluster.metadata.name)},
                   {"namespace", ns_of(cluster)},
                   {"labels", labels(cluster)},
                   {"ownerReferences", json::array({owner_reference(cluster)})}};
  if (hs && hs->annotations && !hs->annotations->empty()) metadata["annotations"] = *hs->annotations;
  json service_ports = json::array();
  for (const auto& p : ports(cluster.spec))
    service_ports.push_back({{"name", p.name}, {"port", p.port}, {"targetPort", p.port}, {"protocol", "TCP"}});
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", metadata},
          {"spec", {{"type", std::string(api::to_string(type))}, {"ports", service_ports}}}};
}

json endpoint_slice(const api::RayDogCluster& cluster, const std::optional<std::string>& address) {
  json l = labels(cluster);
  l["kubernetes.io/service-name"] = service_name(cluster.metadata.name);
  l["endpointslice.kubernetes.io/managed-by"] = kManagedBy;
  json endpoints = json::array();
  if (address)
    endpoints.push_back({{"addresses", json::array({*address})},
                         {"conditions", {{"ready", true}, {"serving", true}, {"terminating", false}}}});
  json slice_ports = json::array();
  for (const auto& p : ports(cluster.spec))
    slice_ports.push_back({{"name", p.name}, {"port", p.port}, {"protocol", "TCP"}});
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", service_name(cluster.metadata.name)},
            {"namespace", ns_of(cluster)},
            {"labels", l},
            {"ownerReferences", json::array({owner_reference(cluster)})}}},
          {"addressType", address && address->find(':') != std::string::npos ? "IPv6" : "IPv4"},
          {"endpoints", endpoints},
          {"ports", slice_ports}};
}

api::InClusterEndpoints in_cluster(const api::RayDogCluster& cluster) {
  const std::string host = service_name(cluster.metadata.name) + "." + ns_of(cluster) + ".svc";
  return {"ray://" + host + ":10001", "http://" + host + ":8265", host + ":6379"};
}

}  // namespace raydog::access
