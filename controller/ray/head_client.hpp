#pragma once
// The Ray head client: what the operator asks a cluster's GCS (ray-gcs.md §2.4.1), as awaitables on the
// operator's io_context. Cluster-id handshake first, the id as "ray_cluster_id" metadata on every call
// after it; GetClusterResourceState; DrainNode; a deadline on every call.
//
// The version rule (GCS aborts when last_seen_cluster_resource_state_version exceeds what this incarnation
// returned): the client always sends 0. It is never newer than any incarnation's counter, and the version
// has no other effect on the GCS side (the reply is a full snapshot either way). Echoing the last version
// back would be unsafe: a GCS restarted on the same address behind a transparently reconnected channel
// cannot be told apart before the call, and its counter starts again from 0.
//
// Bridge: one process-wide completion queue drained by one thread (grpc_pump.hpp, which says why not the
// callback API); each completion is posted to the caller's executor, where the coroutine resumes. No
// thread of ours blocks on a call.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/http/proxy.hpp"
#include "controller/util/result.hpp"

namespace grpc {
class Status;
}

namespace raydog::ray {

enum class NodeStatus { kUnspecified, kRunning, kDead, kIdle, kDraining };
const char* to_string(NodeStatus s);

struct RayNode {
  std::string node_id;      // binary, as GCS sends it (hex() for display)
  std::string instance_id;  // RAY_CLOUD_INSTANCE_ID: the YellowDog task id
  std::string node_type;    // RAY_NODE_TYPE_NAME: the worker pool
  NodeStatus status = NodeStatus::kUnspecified;
  std::int64_t idle_ms = 0;
  std::string ip;
  std::map<std::string, double> total;
  std::map<std::string, double> available;
  bool is_head() const { return total.count("node:__internal_head__") > 0; }
  std::string hex_id() const;
};

struct ResourceDemand {
  std::map<std::string, double> shape;
  std::int64_t count = 0;
};

// A placement group waiting for its unplaced bundles (pending_gang_resource_requests).
struct GangDemand {
  std::string pg_id;     // hex, from `details` ("<pg_id>:<strategy>|<state>")
  std::string strategy;  // STRICT_PACK | STRICT_SPREAD | PACK | SPREAD
  std::vector<std::map<std::string, double>> bundles;
};

// One GetClusterResourceState answer.
struct ClusterState {
  std::int64_t version = 0;
  std::string session_name;
  bool session_changed = false;  // another session than the previous answer's: the head restarted
  std::vector<RayNode> nodes;
  std::vector<ResourceDemand> pending;
  std::vector<GangDemand> gangs;
  std::vector<ResourceDemand> constraints;  // request_resources(), every entry's bundles together
};

enum class DrainReason { kIdleTermination, kPreemption };

struct DrainOutcome {
  bool accepted = false;
  std::string rejection;  // why not, as Ray says it
};

struct HeadError {
  enum class Kind {
    kUnreachable,  // connection refused, no route, DNS: gRPC UNAVAILABLE
    kTimeout,      // the deadline passed
    kAuth,         // the cluster id was refused (the head restarted as another cluster?)
    kProtocol,     // an answer we cannot use
    kOther,
  } kind = Kind::kOther;
  std::string message;  // "GetClusterResourceState 10.0.0.5:6379: UNAVAILABLE: failed to connect"
};

struct HeadClientOptions {
  std::chrono::milliseconds deadline{std::chrono::seconds(5)};  // per call, the handshake included
  http::EgressProxies egress;  // gRPC's own proxy environment lookup is off; this decides (README)
  // The head's cluster id (hex) from an earlier client: clients are made per poll (a kept channel costs
  // ~38 KB), so the caller keeps the id and a steady poll is one call. Empty: handshake first.
  std::string cluster_id;
};

class HeadClient {
 public:
  // `address`: "ip:port" of the GCS (the head's --port, 6379 by default).
  HeadClient(boost::asio::any_io_executor ex, std::string address, HeadClientOptions options = {});
  ~HeadClient();
  HeadClient(const HeadClient&) = delete;
  HeadClient& operator=(const HeadClient&) = delete;

  boost::asio::awaitable<Result<ClusterState, HeadError>> cluster_state();
  // `deadline`: PREEMPTION's wall-clock deadline (none: 0 on the wire).
  boost::asio::awaitable<Result<DrainOutcome, HeadError>> drain(
      std::string node_id, DrainReason reason, std::string message,
      std::optional<std::chrono::system_clock::time_point> deadline = std::nullopt);

  const std::string& address() const { return address_; }
  // The cluster id in use (hex): what the handshake returned or the options gave; empty after a refusal.
  const std::string& cluster_id_hex() const { return cluster_id_hex_; }

 private:
  struct Impl;
  boost::asio::awaitable<Result<std::string, HeadError>> cluster_id();
  // The error of a failed call after the handshake; a refused cluster id is forgotten.
  HeadError failed(const grpc::Status& status, const std::string& what);

  std::string address_;
  HeadClientOptions options_;
  std::shared_ptr<Impl> impl_;
  std::string cluster_id_hex_;  // empty until the handshake, and again after the id was refused
  std::string session_name_;    // of the last answer
};

}  // namespace raydog::ray
