#include "controller/ray/grpc_library.hpp"

#include <grpc/grpc.h>

namespace raydog::ray {

void keep_grpc_initialised() {
  // A function-local static: thread-safe, once. The reference is deliberately never released (see header).
  static const bool initialised = [] {
    grpc_init();
    return true;
  }();
  (void)initialised;
}

}  // namespace raydog::ray
