#include "controller/ray/early_read.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>

#include "controller/ray/channel_thread.hpp"

namespace raydog::ray {

namespace net = boost::asio;

// Shared by the read in flight and its EarlyRead: the answer, and the timer a waiting observe() sleeps on
// until the read cancels it (all on one executor, so "answered?" and the wait cannot race).
struct EarlyRead::State {
  explicit State(net::any_io_executor ex) : wake(std::move(ex)) {}
  std::optional<Result<ClusterState, HeadError>> answer;
  net::steady_timer wake;
};

EarlyRead::EarlyRead(std::string head_task, std::string address)
    : head_task_(std::move(head_task)), address_(std::move(address)) {}

EarlyRead::~EarlyRead() {
  dispose_on_channel_thread(std::move(client_));
}

namespace {

// Runs on the channel thread; the client's calls complete on `io`.
net::awaitable<std::unique_ptr<HeadClient>> open(net::any_io_executor io, std::string address,
                                                 HeadClientOptions options) {
  co_return std::make_unique<HeadClient>(std::move(io), std::move(address), std::move(options));
}

}  // namespace

// The coroutine holds the read (client and state) until gRPC answered or the deadline passed. The channel
// is built on the channel thread (channel_thread.hpp), the call made and awaited on the io thread, and the
// client dropped (on the channel thread) as soon as the answer is in.
net::awaitable<void> EarlyRead::run(std::shared_ptr<EarlyRead> read, HeadClientOptions options) {
  const auto io = co_await net::this_coro::executor;
  read->client_ = co_await net::co_spawn(channel_thread(), open(io, read->address_, std::move(options)),
                                         net::use_awaitable);
  auto answer = co_await read->client_->cluster_state();
  read->cluster_id_ = read->client_->cluster_id_hex();
  dispose_on_channel_thread(std::move(read->client_));
  read->state_->answer = std::move(answer);
}

std::shared_ptr<EarlyRead> EarlyRead::start(net::any_io_executor ex, std::string head_task, std::string address,
                                            HeadClientOptions options) {
  std::shared_ptr<EarlyRead> read(new EarlyRead(std::move(head_task), std::move(address)));
  read->state_ = std::make_shared<State>(ex);
  read->state_->wake.expires_at(net::steady_timer::time_point::max());
  net::co_spawn(ex, run(read, std::move(options)), [state = read->state_, address = read->address_](std::exception_ptr e) {
    if (!state->answer)
      state->answer = unexpected(HeadError{HeadError::Kind::kOther,
                                           "GetClusterResourceState " + address + ": the read ended without an answer" +
                                               (e ? " (an exception)" : "")});
    state->wake.cancel();
  });
  return read;
}

net::awaitable<Result<ClusterState, HeadError>> EarlyRead::result() {
  if (!state_->answer) {
    boost::system::error_code ec;
    co_await state_->wake.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  co_return std::move(*state_->answer);
}

}  // namespace raydog::ray
