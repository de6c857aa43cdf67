#pragma once
// gRPC's completion queue bridged to Asio: one process-wide grpc::CompletionQueue, drained by one thread
// of ours, which hands each completion to the object that asked for it (the head client posts it to the
// awaiting coroutine's executor). Started on first use, never shut down.
//
// Why not gRPC's callback API: with Debian's gRPC 1.51 (the epoll poller is not a "background" iomgr)
// every channel's callback calls run on a shared, reference-counted "alternative" completion queue with its
// own threads, torn down when the last channel using it goes and rebuilt by the next. Head clients are made
// per poll (a kept channel costs ~38 KB), so that queue came and went every poll, and its teardown raced
// its own threads: ASan caught a double free in grpc_cq_internal_unref when two test processes ran at once.
// One queue that lives as long as the process has no teardown to race, and costs one thread.
//
// The queue holds gRPC's library reference for the process, so gRPC is also not started and stopped per
// poll. keep_grpc_initialised() gives processes without a client (the fake GCS servers) the same. Both also
// switch abseil's mutex deadlock detection off (Debian's abseil leaves it on: ~2% of the CPU, in gRPC).
#include <grpcpp/completion_queue.h>

namespace raydog::ray {

// What a completion delivers to: the pump calls complete(ok) once, on its thread, then deletes it.
class QueuedCompletion {
 public:
  virtual ~QueuedCompletion() = default;
  virtual void complete(bool ok) = 0;
};

// The queue to start calls on; their tags must be `new` QueuedCompletion objects.
grpc::CompletionQueue& completion_queue();

void keep_grpc_initialised();

}  // namespace raydog::ray
