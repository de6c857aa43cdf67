#pragma once
// What a fake Ray GCS serves and records, as plain data (no gRPC, no Asio): shared by FakeGcs and by
// yellowdog-sim's Ray model (test/yellowdog-sim/ray_model.hpp), which builds these snapshots on the
// simulator's thread and hands them to the fake heads.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace raydog::test {

using RayResources = std::map<std::string, double>;

struct FakeRayNode {
  std::string node_id;      // binary id
  std::string instance_id;  // the YellowDog task id
  std::string node_type;    // the pool
  std::string status = "IDLE";  // RUNNING | IDLE | DRAINING | DEAD
  std::int64_t idle_ms = 0;     // IDLE: as of set_state() (FakeGcsOptions::clock_ms ages it like GCS does)
  RayResources total;
  bool reject_drain = false;  // answer IDLE_TERMINATION drains with is_accepted=false
  std::string ip;             // node_ip_address
  // Free resources; unset: all of total, none while RUNNING.
  std::optional<RayResources> available;
  // A DRAINING node that still has work: an IDLE_TERMINATION drain of it is rejected (a DRAINING node
  // without work accepts it again, as a raylet does: DrainNode is idempotent).
  bool busy = false;
};

struct FakeDemand {
  RayResources shape;
  std::int64_t count = 0;
};

// A placement group waiting for room (pending_gang_resource_requests).
struct FakeGang {
  std::string pg_id;     // hex
  std::string strategy;  // STRICT_SPREAD | STRICT_PACK
  std::vector<RayResources> bundles;
};

struct FakeClusterState {
  std::vector<FakeRayNode> nodes;
  std::vector<FakeDemand> pending;      // pending_resource_requests
  std::vector<FakeGang> gangs;          // pending_gang_resource_requests
  std::vector<FakeDemand> constraints;  // one cluster_resource_constraints entry (request_resources)
};

struct FakeGcsCall {
  std::string method;   // GetClusterId, GetClusterResourceState, DrainNode
  std::string node_id;  // DrainNode
  std::string reason;   // DrainNode: IDLE_TERMINATION | PREEMPTION
  std::optional<bool> accepted;
  std::int64_t last_seen = 0;  // GetClusterResourceState
  std::string fault;           // the injected failure ("UNAVAILABLE"), empty when the call was served
};

// An accepted drain of a node this GCS knows alive, for the owner of the model to act on (take_drains()).
struct FakeDrain {
  std::string node_id;
  std::string reason;            // IDLE_TERMINATION | PREEMPTION
  std::int64_t deadline_ms = 0;  // PREEMPTION's deadline_timestamp_ms (0: none)
  std::int64_t at_ms = 0;        // when it was accepted (FakeGcsOptions::clock_ms; 0 without a clock)
};

// gRPC status codes by their canonical names (the numbers are gRPC's wire contract), for fault settings.
inline constexpr const char* kGrpcCodeNames[] = {
    "OK",        "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL",        "UNAVAILABLE",       "DATA_LOSS",        "UNAUTHENTICATED"};
// 1..16 for a failure's name, nullopt for OK or an unknown name.
inline std::optional<int> grpc_code_of(const std::string& name) {
  for (int i = 1; i < 17; ++i)
    if (name == kGrpcCodeNames[i]) return i;
  return std::nullopt;
}
inline std::string grpc_code_name(int code) {
  return code >= 0 && code < 17 ? kGrpcCodeNames[code] : std::to_string(code);
}

}  // namespace raydog::test
