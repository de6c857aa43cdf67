#pragma once
// Admission of the built-in kinds whose defaults and validation clients see (§10): Service (core/v1),
// EndpointSlice (discovery.k8s.io/v1) and Endpoints (core/v1), as the real API server's registry strategies
// do it: defaults kubectl shows (`type: ClusterIP`, ports' TCP and targetPort, an allocated clusterIP kept
// across updates, `ipFamilies`, `sessionAffinity`, ...), and the validation errors operators meet (ports,
// address types, endpoint addresses). A real server refuses loopback, link-local and unspecified endpoint
// addresses; `allow_loopback_endpoints` (kube-emulator --allow-loopback-endpoints, test-only) admits loopback
// ones, since simulated nodes live on 127.0.0.0/8.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "test/emulator/resources.hpp"
#include "test/emulator/status.hpp"

namespace raydog::emulator {

struct BuiltinAdmissionOptions {
  bool allow_loopback_endpoints = false;
};

class BuiltinAdmission {
 public:
  explicit BuiltinAdmission(BuiltinAdmissionOptions options = {}) : options_(options) {}

  // Defaults `obj` in place and returns its field errors (empty: admitted). `stored` is the object an update
  // replaces (null on create): allocated values (clusterIP, nodePorts) carry over from it.
  std::vector<FieldError> admit(const ResourceInfo& info, nlohmann::json& obj, const nlohmann::json* stored);

 private:
  std::vector<FieldError> service(nlohmann::json& obj, const nlohmann::json* stored);
  std::vector<FieldError> endpoint_slice(nlohmann::json& obj);
  std::vector<FieldError> endpoints(nlohmann::json& obj);
  std::string allocate_cluster_ip();
  int allocate_node_port();

  BuiltinAdmissionOptions options_;
  std::uint32_t next_ip_ = 1;      // 10.96.0.0/12, as kubeadm's default service range: data, never dialled
  int next_node_port_ = 30000;     // 30000-32767
};

// Why `address` may not be an endpoint ("may not be in the loopback range (127.0.0.0/8, ::1/128)"), or empty
// when it may; `ipv6` says which family it must be.
std::string endpoint_address_problem(const std::string& address, bool ipv6, bool allow_loopback);

}  // namespace raydog::emulator
