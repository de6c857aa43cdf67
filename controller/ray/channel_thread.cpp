#include "controller/ray/channel_thread.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace raydog::ray {

namespace net = boost::asio;

boost::asio::any_io_executor channel_thread() {
  // Never destroyed: a reachable function-local static, created once, thread-safely.
  static net::thread_pool* const pool = new net::thread_pool(1);
  return pool->get_executor();
}

void dispose_on_channel_thread(std::unique_ptr<HeadClient> client) {
  if (client) net::post(channel_thread(), [c = std::move(client)]() mutable { c.reset(); });
}

}  // namespace raydog::ray
