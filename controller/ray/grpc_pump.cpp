#include "controller/ray/grpc_pump.hpp"

#include <absl/synchronization/mutex.h>
#include <grpc/grpc.h>

#include <memory>
#include <thread>

namespace raydog::ray {
namespace {

void drain(grpc::CompletionQueue* queue) {
  void* tag = nullptr;
  bool ok = false;
  while (queue->Next(&tag, &ok)) {
    std::unique_ptr<QueuedCompletion> completion(static_cast<QueuedCompletion*>(tag));
    completion->complete(ok);
  }
}

// Debian's abseil keeps absl::Mutex deadlock detection on (a graph of every lock ordering, updated on each
// acquire): ~2% of the operator's CPU at 10,000 clusters, all of it in gRPC's mutexes. Off for the process,
// as in a release build of abseil; set before gRPC starts its threads.
void without_mutex_deadlock_detection() {
  static const bool set = [] {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    return true;
  }();
  (void)set;
}

}  // namespace

grpc::CompletionQueue& completion_queue() {
  // Deliberately never destroyed (see the header): a function-local static pointer is created once,
  // thread-safely, and stays reachable, so leak checkers do not count it.
  static grpc::CompletionQueue* const queue = [] {
    without_mutex_deadlock_detection();
    auto* q = new grpc::CompletionQueue();
    std::thread(drain, q).detach();
    return q;
  }();
  return *queue;
}

void keep_grpc_initialised() {
  static const bool initialised = [] {
    without_mutex_deadlock_detection();
    grpc_init();
    return true;
  }();
  (void)initialised;
}

}  // namespace raydog::ray
