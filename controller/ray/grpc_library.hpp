#pragma once
// gRPC initialised once for the whole process, never shut down.
//
// Every gRPC object (channel, server, call) holds a library reference; when the last one goes, gRPC shuts
// its core down (executor threads, the callback completion queues), and the next object starts it again.
// Head clients are made per poll (README: a kept channel costs ~38 KB), so without a process-wide
// reference every poll of an otherwise idle process would start and stop gRPC, and the stop races the
// callback completion queue's last unref still running on a gRPC thread (seen once under ASan as a double
// free in grpc_cq_internal_unref when a test's client and fake server went away together).
namespace raydog::ray {

void keep_grpc_initialised();

}  // namespace raydog::ray
