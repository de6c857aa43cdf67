#pragma once
// A fake Ray GCS over real gRPC (ray-gcs.md §4.5): NodeInfoGcsService/GetClusterId and
// AutoscalerStateService/{GetClusterResourceState, DrainNode} from our subset proto. It serves the cluster
// state its owner sets (nodes, pending demand, gangs, constraints), records every call, and records as
// violations what a real GCS would punish: a missing or wrong ray_cluster_id (a real GCS answers an auth
// error, so does this one) and a last_seen version newer than this incarnation returned (a real GCS aborts).
// restart() plays a new incarnation: a new session name and the version counter back at 0.
//
// Threads: built on gRPC's callback server API, so any number of FakeGcs share gRPC's callback threads (no
// thread pool per server). Handlers lock this object's mutex briefly and never wait for anything else; the
// owner's hooks (fault, on_call, on_violation, clock_ms) are called from those threads and must not block.
//
// gRPC 1.51's callback queue: with Debian's build (epoll poller, not a "background" iomgr) every callback
// server uses a shared, reference-counted "alternative" completion queue whose threads are started by its
// first user and joined when its last user goes. Servers that come and go (a head per cluster, restarts)
// would start and join those threads each time, and that teardown raced its own threads in 1.51 (an ASan
// double free in grpc_cq_internal_unref, controller/ray/grpc_pump.hpp). The first FakeGcs therefore
// starts one callback server with no listening port that is never destroyed: it holds a reference to the
// queue for the life of the process (seen in /proc/self/task: without it every server's start and end
// started and joined threads; with it the count stays put). README.md says more.
//
// Used by ray_test (test/unit/ray) and by yellowdog-sim --ray (one per head and GCS incarnation).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "test/ray-fake/cluster_state.hpp"

namespace raydog::test {

struct FakeGcsOptions {
  // "ip:port" addresses to serve on (port 0: a free one); all or nothing: the constructor throws when one
  // cannot be bound. SO_REUSEPORT is off, so an address another process serves is refused, not shared.
  std::vector<std::string> listen{"127.0.0.1:0"};
  std::string session_name = "session_fake_1";
  std::string cluster_id;  // binary; empty: a fixed fake id
  // Now in ms since the epoch (any thread): IDLE nodes' idle_ms grows from set_state() on, as GCS adds
  // the time since the raylet's report; drains are stamped with it. Empty: idle_ms is served as set.
  std::function<std::int64_t()> clock_ms;
  // Asked before each call is handled (any thread): a gRPC status code 1..16 fails the call with it
  // (recorded with `fault`, nothing applied); 0 serves it.
  std::function<int(const std::string& method)> fault;
  // Told about each call and violation (any thread), besides calls() and violations().
  std::function<void(const FakeGcsCall&)> on_call;
  std::function<void(const std::string&)> on_violation;
  // Told (any thread, outside the lock) after a DrainNode was accepted, so after its drain was queued for
  // take_drains(): an owner of many GCS asks only those that were told.
  std::function<void()> on_drain;
  bool keep_records = true;  // false: calls() and violations() stay empty (an owner with hooks keeps them)
};

class FakeGcs {
 public:
  FakeGcs();  // on 127.0.0.1:<free port>, default options
  explicit FakeGcs(FakeGcsOptions options);
  ~FakeGcs();  // stops serving: the addresses refuse connections once it returns
  FakeGcs(const FakeGcs&) = delete;
  FakeGcs& operator=(const FakeGcs&) = delete;

  std::string address() const;                 // the first address, with its bound port
  std::vector<std::string> addresses() const;  // every address, with bound ports
  void set_nodes(std::vector<FakeRayNode> nodes);
  // The whole state. Drains accepted since the last take_drains() stay applied (their nodes stay
  // DRAINING), so an owner that takes drains and then sets the state never loses one.
  void set_state(FakeClusterState state);
  std::vector<FakeRayNode> nodes() const;
  std::vector<FakeDrain> take_drains();
  void restart(std::string session_name);  // a new incarnation: version 0, the new session name
  std::vector<FakeGcsCall> calls() const;
  std::vector<std::string> violations() const;
  std::string cluster_id() const;  // binary
  std::string session_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace raydog::test
