#pragma once
// A head read started before the reconcile knows where the head is (ExtensionPass::start_reads): at the
// address and for the head task the previous reconcile of the cluster used. It runs while YellowDog is
// read; observe() takes it when YellowDog still shows that head at that address, and otherwise lets it
// finish unread and reads afresh. A steady reconcile so waits for the slower of its two reads, not
// their sum (the no-op reconcile goal, README "Performance").
//
// The read owns its state (the spawned coroutine holds it too), so a reconcile that ends before it
// (an observe error, the process stopping) leaves nothing dangling.
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "controller/ray/head_client.hpp"

namespace raydog::ray {

class EarlyRead {
 public:
  // GetClusterResourceState on `ex` (with the handshake first when options.cluster_id is empty).
  static std::shared_ptr<EarlyRead> start(boost::asio::any_io_executor ex, std::string head_task,
                                          std::string address, HeadClientOptions options);
  ~EarlyRead();

  const std::string& head_task() const { return head_task_; }
  const std::string& address() const { return address_; }
  // Its answer, once there (at most the client's per-call deadline after start()). Once.
  boost::asio::awaitable<Result<ClusterState, HeadError>> result();
  // The head's cluster id as the read left it (learnt by its handshake, or the one it was given; empty
  // after an auth refusal), for the next client. Read after result().
  const std::string& cluster_id() const { return cluster_id_; }

 private:
  struct State;
  EarlyRead(std::string head_task, std::string address);
  static boost::asio::awaitable<void> run(std::shared_ptr<EarlyRead> read, HeadClientOptions options);

  std::string head_task_;
  std::string address_;
  std::string cluster_id_;
  // Only while the call is in flight: the channel goes as soon as the answer is in (a kept channel costs
  // ~38 KB; a prefetched answer may wait up to `fresh` for its reconcile, and at 10,000 clusters ~100 do).
  std::unique_ptr<HeadClient> client_;
  std::shared_ptr<State> state_;
};

}  // namespace raydog::ray
