#include "controller/runtime/controller.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <exception>
#include <random>

namespace raydog::runtime {

std::string new_reconcile_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t hi = rng(), lo = rng();
  unsigned char b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

struct Controller::Impl : std::enable_shared_from_this<Impl> {
  ControllerOptions options;
  WorkQueue& queue;
  Reconciler reconciler;
  ControllerMetrics* metrics;
  int active = 0;
  int running = 0;
  log::Logger log;

  Impl(ControllerOptions o, WorkQueue& q, Reconciler r, ControllerMetrics* m)
      : options(std::move(o)),
        queue(q),
        reconciler(std::move(r)),
        metrics(m),
        log(log::Fields{{"controller", options.name}}) {}

  net::awaitable<void> worker() {
    auto self = shared_from_this();
    ++running;
    for (;;) {
      auto key = co_await queue.get();
      if (!key) break;
      co_await handle(*key);
    }
    --running;
  }

  net::awaitable<void> handle(const std::string& key) {
    ++active;
    if (metrics) metrics->add_active_workers(1);
    const auto reconcile_log = log.with({{"object", key}, {"reconcileID", new_reconcile_id()}});
    const auto start = std::chrono::steady_clock::now();
    ReconcileOutcome outcome;
    bool panicked = false;
    try {
      outcome = co_await reconciler(key, reconcile_log);
    } catch (const std::exception& e) {
      panicked = true;
      outcome.error = std::string("reconciler threw: ") + e.what();
    } catch (...) {
      panicked = true;
      outcome.error = "reconciler threw";
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ReconcileResult result;
    if (outcome.error) {
      result = ReconcileResult::kError;
      if (panicked && metrics) metrics->panic();
      if (outcome.terminal) {
        // Retrying cannot help; the next change of the object brings it back.
        if (metrics) metrics->terminal_error();
        queue.forget(key);
      } else {
        queue.add_rate_limited(key);
      }
      if (options.log_errors)
        reconcile_log.error("Reconciler error", {{"error", *outcome.error}, {"terminal", outcome.terminal}});
    } else if (outcome.requeue_after > Clock::duration::zero()) {
      result = ReconcileResult::kRequeueAfter;
      queue.forget(key);
      queue.add_after(key, outcome.requeue_after);
    } else if (outcome.requeue) {
      result = ReconcileResult::kRequeue;
      queue.add_rate_limited(key);
    } else {
      result = ReconcileResult::kSuccess;
      queue.forget(key);
    }
    if (metrics) {
      metrics->reconciled(result, seconds);
      metrics->add_active_workers(-1);
    }
    --active;
    queue.done(key);
  }
};

Controller::Controller(ControllerOptions options, WorkQueue& queue, Reconciler reconciler,
                       ControllerMetrics* metrics)
    : impl_(std::make_shared<Impl>(std::move(options), queue, std::move(reconciler), metrics)) {
  if (impl_->options.max_concurrent_reconciles < 1) impl_->options.max_concurrent_reconciles = 1;
}

Controller::~Controller() = default;

void Controller::start(net::any_io_executor ex) {
  if (impl_->metrics) impl_->metrics->set_max_concurrent_reconciles(impl_->options.max_concurrent_reconciles);
  impl_->log.info("Starting workers", {{"worker count", impl_->options.max_concurrent_reconciles}});
  for (int i = 0; i < impl_->options.max_concurrent_reconciles; ++i) {
    net::co_spawn(ex, impl_->worker(), net::detached);
  }
}

net::awaitable<bool> Controller::stop(Clock::duration grace) {
  auto self = impl_;
  self->log.info("Shutdown signal received, waiting for all workers to finish");
  const bool drained = co_await self->queue.shutdown_with_drain(grace);
  if (drained) {
    self->log.info("All workers finished");
  } else {
    self->log.warn("Grace period elapsed with reconciles still running", {{"active", self->active}});
  }
  co_return drained;
}

int Controller::active_workers() const {
  return impl_->active;
}
int Controller::running_workers() const {
  return impl_->running;
}

}  // namespace raydog::runtime
