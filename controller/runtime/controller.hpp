#pragma once
// A controller in controller-runtime's sense: N coroutine workers take keys from a WorkQueue and run the
// reconciler; the outcome decides what happens to the key (forget, rate-limited retry, requeue after a
// delay, or nothing for a terminal error), and the controller_runtime_* metrics are kept. Every log line
// of a reconcile carries controller, object and a fresh reconcileID.
// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "controller/runtime/clock.hpp"
#include "controller/runtime/log.hpp"
#include "controller/runtime/metrics.hpp"
#include "controller/runtime/work_queue.hpp"

namespace raydog::runtime {

struct ReconcileOutcome {
  std::optional<std::string> error;  // set: the reconcile failed (message is logged; keep secrets out)
  bool terminal = false;             // with error: do not retry until the object changes
  bool requeue = false;              // retry with backoff even though nothing failed
  Clock::duration requeue_after{};   // > 0: come back after this long (wins over requeue)
};

using Reconciler =
    std::function<net::awaitable<ReconcileOutcome>(const std::string& key, const log::Logger& log)>;

struct ControllerOptions {
  std::string name = "raydogcluster";
  int max_concurrent_reconciles = 1;
  // Log "Reconciler error" for failed reconciles. Off when the reconciler logs its own failures (with its
  // own reconcileID), so one reconcile never shows up under two ids.
  bool log_errors = true;
};

class Controller {
 public:
  // `metrics` may be null (tests).
  Controller(ControllerOptions options, WorkQueue& queue, Reconciler reconciler, ControllerMetrics* metrics);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Spawns the workers on `ex`.
  void start(net::any_io_executor ex);
  // Stops taking work (queue shutdown) and waits up to `grace` (by `clock`) for in-flight reconciles.
  // Returns true when all finished.
  net::awaitable<bool> stop(Clock::duration grace);
  int active_workers() const;
  int running_workers() const;  // worker coroutines not yet ended

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// A random reconcileID (UUID v4 text), as controller-runtime logs.
std::string new_reconcile_id();

}  // namespace raydog::runtime
