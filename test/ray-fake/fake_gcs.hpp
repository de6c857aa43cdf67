#pragma once
// A fake Ray GCS over real gRPC (ray-gcs.md §4.5): NodeInfoGcsService/GetClusterId and
// AutoscalerStateService/{GetClusterResourceState, DrainNode} from our subset proto, on 127.0.0.1:<free port>,
// served by gRPC's own threads. It serves the nodes a test scripts, records every call, and records as
// violations what a real GCS would punish: a missing or wrong ray_cluster_id (a real GCS answers an auth
// error, so does this one) and a last_seen version newer than this incarnation returned (a real GCS aborts).
// restart() plays a new incarnation: a new session name and the version counter back at 0.
// yellowdog-sim --ray (issue 19) builds its per-head GCS on this.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace raydog::test {

struct FakeRayNode {
  std::string node_id;      // binary id
  std::string instance_id;  // the YellowDog task id
  std::string node_type;    // the pool
  std::string status = "IDLE";  // RUNNING | IDLE | DRAINING | DEAD
  std::int64_t idle_ms = 0;
  std::map<std::string, double> total;
  bool reject_drain = false;  // answer IDLE_TERMINATION drains with is_accepted=false
};

struct FakeGcsCall {
  std::string method;     // GetClusterId, GetClusterResourceState, DrainNode
  std::string node_id;    // DrainNode
  std::string reason;     // DrainNode: IDLE_TERMINATION | PREEMPTION
  std::optional<bool> accepted;
  std::int64_t last_seen = 0;  // GetClusterResourceState
};

class FakeGcs {
 public:
  FakeGcs();
  ~FakeGcs();
  FakeGcs(const FakeGcs&) = delete;
  FakeGcs& operator=(const FakeGcs&) = delete;

  std::string address() const;  // "127.0.0.1:<port>"
  void set_nodes(std::vector<FakeRayNode> nodes);
  std::vector<FakeRayNode> nodes() const;
  void restart(std::string session_name);  // a new incarnation: version 0, the new session name
  std::vector<FakeGcsCall> calls() const;
  std::vector<std::string> violations() const;
  std::string cluster_id() const;  // binary

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace raydog::test
