#include "controller/ray/grpc_pump.hpp"

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

}  // namespace

grpc::CompletionQueue& completion_queue() {
  // Deliberately never destroyed (see the header): a function-local static pointer is created once,
  // thread-safely, and stays reachable, so leak checkers do not count it.
  static grpc::CompletionQueue* const queue = [] {
    auto* q = new grpc::CompletionQueue();
    std::thread(drain, q).detach();
    return q;
  }();
  return *queue;
}

void keep_grpc_initialised() {
  static const bool initialised = [] {
    grpc_init();
    return true;
  }();
  (void)initialised;
}

}  // namespace raydog::ray
