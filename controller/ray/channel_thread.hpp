#pragma once
// Building a gRPC channel (its filter stack and channel arguments) and tearing it down were about a third
// of a steady reconcile's CPU on the operator's one io thread, where every other reconcile waited for them
// (clients are made per poll: head_client.hpp). Head reads made ahead of YellowDog's answer (early_read.hpp)
// build and drop their clients on this one process-wide thread instead. Started on first use, never
// stopped (like the completion queue, grpc_pump.hpp).
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "controller/ray/head_client.hpp"

namespace raydog::ray {

boost::asio::any_io_executor channel_thread();

// Destroys `client` on the channel thread (its calls in flight keep what they need; head_client.cpp).
void dispose_on_channel_thread(std::unique_ptr<HeadClient> client);

}  // namespace raydog::ray
