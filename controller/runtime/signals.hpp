#pragma once
// SIGTERM/SIGINT handling on the io_context: the first signal starts a graceful shutdown (stop taking
// work, let in-flight reconciles finish within a grace period, release the lease), a second one asks for
// an immediate exit (controller-runtime's behaviour).
// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>

namespace raydog::runtime {

class ShutdownSignals {
 public:
  // on_first(signo) runs once on the io thread; on_second(signo) on any later signal (typically
  // std::_Exit(1)). Signals not yet listened for keep their default action.
  ShutdownSignals(boost::asio::any_io_executor ex, std::function<void(int)> on_first,
                  std::function<void(int)> on_second);
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;
  bool received() const;
  // Stops listening (restores nothing: Asio keeps its handler installed until the set is destroyed).
  void cancel();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace raydog::runtime
