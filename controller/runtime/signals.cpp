#include "controller/runtime/signals.hpp"

#include <boost/asio/signal_set.hpp>
#include <csignal>

namespace raydog::runtime {

struct ShutdownSignals::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(boost::asio::any_io_executor ex) : set(ex, SIGTERM, SIGINT) {}
  boost::asio::signal_set set;
  std::function<void(int)> on_first, on_second;
  int count = 0;
  bool cancelled = false;

  void arm() {
    set.async_wait([self = shared_from_this()](boost::system::error_code ec, int signo) {
      if (ec || self->cancelled) return;
      if (self->count++ == 0) {
        if (self->on_first) self->on_first(signo);
      } else if (self->on_second) {
        self->on_second(signo);
      }
      self->arm();
    });
  }
};

ShutdownSignals::ShutdownSignals(boost::asio::any_io_executor ex, std::function<void(int)> on_first,
                                 std::function<void(int)> on_second)
    : impl_(std::make_shared<Impl>(std::move(ex))) {
  impl_->on_first = std::move(on_first);
  impl_->on_second = std::move(on_second);
  impl_->arm();
}

ShutdownSignals::~ShutdownSignals() {
  cancel();
}

bool ShutdownSignals::received() const {
  return impl_->count > 0;
}

void ShutdownSignals::cancel() {
  impl_->cancelled = true;
  boost::system::error_code ec;
  impl_->set.cancel(ec);
}

}  // namespace raydog::runtime
