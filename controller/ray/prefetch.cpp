#include "controller/ray/prefetch.hpp"

namespace raydog::ray {

namespace net = boost::asio;

HeadPrefetch::HeadPrefetch(PrefetchOptions options, std::function<void(int)> started,
                           std::function<void(bool)> ended)
    : options_(options), started_(std::move(started)), ended_(std::move(ended)) {}

HeadPrefetch::~HeadPrefetch() {
  *alive_ = false;
}

void HeadPrefetch::schedule(net::any_io_executor ex, const std::string& key, std::string head_task,
                            std::string address, HeadClientOptions options, std::chrono::milliseconds after) {
  if (after < options_.min_requeue) {
    forget(key);
    return;
  }
  Entry& e = entries_[key];
  if (e.read) ended(false);  // an earlier prefetch nobody took
  e.read.reset();
  e.head_task = std::move(head_task);
  e.address = std::move(address);
  e.options = std::move(options);
  e.generation = ++next_generation_;
  if (!e.timer) e.timer = std::make_unique<net::steady_timer>(ex);
  e.timer->expires_after(after - std::min(after, options_.lead));
  e.timer->async_wait([this, alive = alive_, key, generation = e.generation, ex](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.generation != generation) return;
    Entry& due = it->second;
    if (started_) started_(due.options.cluster_id.empty() ? 2 : 1);
    due.read = EarlyRead::start(ex, due.head_task, due.address, due.options);
    due.read_started = std::chrono::steady_clock::now();
  });
}

std::shared_ptr<EarlyRead> HeadPrefetch::take(const std::string& key, const std::string& head_task,
                                              const std::string& address) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  Entry e = std::move(it->second);
  entries_.erase(it);
  if (e.timer) e.timer->cancel();
  if (!e.read) return nullptr;  // woken before the read was due
  const bool usable = e.head_task == head_task && e.address == address &&
                      std::chrono::steady_clock::now() - e.read_started <= options_.fresh;
  ended(usable);
  return usable ? std::move(e.read) : nullptr;
}

void HeadPrefetch::forget(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.timer) it->second.timer->cancel();
  if (it->second.read) ended(false);
  entries_.erase(it);
}

}  // namespace raydog::ray
