#include "controller/kube/leader_election.hpp"

#include <algorithm>

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <random>

#include "controller/kube/time.hpp"
#include "controller/util/json_read.hpp"

namespace raydog::kube {

struct LeaderElector::Shared {
  explicit Shared(net::any_io_executor ex) : timer(ex), watchdog_timer(ex) {}
  net::steady_timer timer;
  net::steady_timer watchdog_timer;
};

std::string make_identity() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == 0) std::snprintf(host, sizeof host, "unknown");
  std::random_device rd;
  std::uniform_int_distribution<unsigned> byte(0, 255);
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(byte(rd));
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  char uuid[37];
  std::snprintf(uuid, sizeof uuid, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string(host) + "_" + uuid;
}

LeaderElector::LeaderElector(net::any_io_executor ex, Api& api, LeaderElectionConfig config)
    : ex_(ex), api_(api), config_(std::move(config)), shared_(std::make_shared<Shared>(ex)) {
  if (config_.identity.empty()) config_.identity = make_identity();
  log_ = log::root().with({{"component", "leader-election"},
                           {"lease", config_.lease_namespace + "/" + config_.lease_name},
                           {"identity", config_.identity}});
}

LeaderElector::~LeaderElector() {
  stopped_ = true;
  shared_->timer.cancel();
  shared_->watchdog_timer.cancel();
}

void LeaderElector::start() {
  net::co_spawn(ex_, run(), net::detached);
}

void LeaderElector::stop() {
  if (stopped_) return;
  stopped_ = true;
  shared_->timer.cancel();
  shared_->watchdog_timer.cancel();
}

net::awaitable<void> LeaderElector::sleep(std::chrono::milliseconds d) {
  if (stopped_) co_return;
  shared_->timer.expires_after(d);
  boost::system::error_code ec;
  co_await shared_->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
}

void LeaderElector::become_leader() {
  if (leader_) return;
  leader_ = true;
  log_.info("started leading");
  if (config_.on_started_leading) config_.on_started_leading();
}

void LeaderElector::lose_leadership(const char* why) {
  if (!leader_) return;
  leader_ = false;
  log_.warn("stopped leading", {{"reason", why}});
  if (config_.on_stopped_leading) config_.on_stopped_leading();
}

json LeaderElector::lease_spec(const json& old_spec, bool renewing) const {
  const std::string now = format_micro_time(std::chrono::system_clock::now());
  json spec = old_spec.is_object() ? old_spec : json::object();
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] =
      std::max<long>(1, std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count());
  spec["renewTime"] = now;
  if (!renewing) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = old_spec.is_object() ? json_int_or(old_spec, "leaseTransitions", 0) + 1 : 0;
  }
  return spec;
}

net::awaitable<bool> LeaderElector::try_acquire_or_renew() {
  const ResourceRef& ref = resources::kLeases;
  auto got = co_await api_.get(ref, config_.lease_namespace, config_.lease_name, "");
  if (stopped_) co_return false;
  if (!got) {
    if (!got.error().is(ApiError::Kind::kNotFound)) {
      log_.warn("cannot read lease", {{"error", got.error().describe()}});
      co_return false;
    }
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
                  {"spec", lease_spec(json(), false)}};
    auto created = co_await api_.create(ref, config_.lease_namespace, lease, WriteOptions());
    if (!created) {
      if (!created.error().is(ApiError::Kind::kAlreadyExists))
        log_.warn("cannot create lease", {{"error", created.error().describe()}});
      co_return false;
    }
    observe_own_write(*created);
    co_return true;
  }
  json lease = std::move(*got);
  // Anyone with write access to the Lease can put anything in it: read it without trusting its types.
  json spec = json_object_or_empty(lease, "spec");
  const auto now = std::chrono::steady_clock::now();
  if (spec != observed_spec_) {
    observed_spec_ = spec;
    observed_time_ = now;
  }
  std::string holder = json_string_or(spec, "holderIdentity");
  if (holder != observed_holder_) {
    observed_holder_ = holder;
    if (config_.on_new_leader && !holder.empty()) config_.on_new_leader(holder);
  }
  const bool ours = holder == config_.identity;
  if (!holder.empty() && !ours) {
    auto duration = std::chrono::seconds(std::clamp<std::int64_t>(json_int_or(spec, "leaseDurationSeconds", 15), 1, 3600));
    if (now < observed_time_ + duration) {
      if (leader_) lose_leadership("lease held by another identity");
      co_return false;  // someone else holds a live lease
    }
  }
  lease["spec"] = lease_spec(spec, ours);
  auto put = co_await api_.update(ref, lease, "", WriteOptions());
  if (!put) {
    if (put.error().is(ApiError::Kind::kConflict))
      log_.debug("lost the race for the lease");
    else
      log_.warn("cannot update lease", {{"error", put.error().describe()}});
    co_return false;
  }
  observe_own_write(*put);
  co_return true;
}

void LeaderElector::observe_own_write(json& written) {
  observed_spec_ = written["spec"];
  observed_time_ = std::chrono::steady_clock::now();
  observed_holder_ = config_.identity;
}

net::awaitable<void> LeaderElector::watchdog() {
  // Leadership ends when renewals stop succeeding, even if a renewal request itself hangs.
  auto shared = shared_;
  while (!stopped_) {
    shared->watchdog_timer.expires_after(std::min(config_.retry_period, config_.renew_deadline));
    boost::system::error_code ec;
    co_await shared->watchdog_timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (stopped_) break;
    if (leader_ && std::chrono::steady_clock::now() - last_renew_ > config_.renew_deadline)
      lose_leadership("renew deadline exceeded");
  }
}

net::awaitable<void> LeaderElector::release() {
  auto got = co_await api_.get(resources::kLeases, config_.lease_namespace, config_.lease_name, "");
  if (!got) co_return;
  json lease = std::move(*got);
  if (json_string_or(json_object_or_empty(lease, "spec"), "holderIdentity") != config_.identity) co_return;
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = format_micro_time(std::chrono::system_clock::now());
  auto put = co_await api_.update(resources::kLeases, lease, "", WriteOptions());
  if (put)
    log_.info("released lease");
  else
    log_.warn("cannot release lease", {{"error", put.error().describe()}});
}

net::awaitable<void> LeaderElector::run() {
  running_ = true;
  auto shared = shared_;
  net::co_spawn(ex_, watchdog(), net::detached);
  log_.info("campaigning for leadership");
  std::mt19937 rng(std::random_device{}());
  while (!stopped_) {
    bool ok = co_await try_acquire_or_renew();
    if (stopped_) break;
    if (ok) {
      last_renew_ = std::chrono::steady_clock::now();
      become_leader();
    } else if (leader_ && std::chrono::steady_clock::now() - last_renew_ > config_.renew_deadline) {
      lose_leadership("renew deadline exceeded");
    }
    // Candidates jitter their retries (client-go JitterFactor 1.2); a leader renews on the period.
    auto wait = config_.retry_period;
    if (!leader_)
      wait +=
          std::chrono::milliseconds(static_cast<long>(std::uniform_real_distribution<double>(0, 0.2)(rng) *
                                                      static_cast<double>(config_.retry_period.count())));
    co_await sleep(wait);
  }
  if (leader_) {
    // Stop acting first, then hand the lease over.
    lose_leadership("shutting down");
    co_await release();
  }
  running_ = false;
}

}  // namespace raydog::kube
