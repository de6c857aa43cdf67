#pragma once
// Leader election on a coordination.k8s.io/v1 Lease, exactly as kube-api-wire.md §14.4 (client-go's
// algorithm): every retry period GET the lease; create it when missing; wait while another holder's record
// is younger than its leaseDurationSeconds *by our own clock* (time since we first saw that exact record,
// immune to clock skew); otherwise PUT it back with us as holder, carrying the RV we read (409: someone
// else won). As leader, renew every retry period; when no renewal succeeded within the renew deadline,
// stop leading at once (a watchdog checks this even while a request hangs). On stop(), a leader releases
// the lease (holderIdentity "", leaseDurationSeconds 1) so a successor takes over without waiting.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "controller/kube/rest.hpp"
#include "controller/runtime/log.hpp"

namespace raydog::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name = "raydog-operator-leader";
  std::string identity;  // empty: make_identity()
  std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_period{std::chrono::seconds(2)};
  // Called on the io thread. on_stopped_leading must stop all reconciling immediately.
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string& holder)> on_new_leader;  // optional: observed holder changed
};

// "<hostname>_<random uuid>".
std::string make_identity();

class LeaderElector {
 public:
  LeaderElector(net::any_io_executor ex, Api& api, LeaderElectionConfig config);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Spawns run(); the elector must outlive it (stop(), then let the io_context drain).
  void start();
  // Campaigns and renews until stop(); releases the lease on the way out if leading.
  net::awaitable<void> run();
  // Ends run(): a leader releases the lease, then on_stopped_leading fires. Idempotent.
  void stop();

  bool is_leader() const { return leader_; }
  bool running() const { return running_; }
  const std::string& identity() const { return config_.identity; }
  const std::string& observed_holder() const { return observed_holder_; }

 private:
  net::awaitable<bool> try_acquire_or_renew();
  net::awaitable<void> release();
  net::awaitable<void> watchdog();
  net::awaitable<void> sleep(std::chrono::milliseconds d);
  void become_leader();
  void lose_leadership(const char* why);
  // After our own write succeeded: the record we wrote is the one seen last, now, held by us.
  void observe_own_write(json& written);
  json lease_spec(const json& old_spec, bool renewing) const;

  struct Shared;
  net::any_io_executor ex_;
  Api& api_;
  LeaderElectionConfig config_;
  log::Logger log_;
  bool leader_ = false;
  bool stopped_ = false;
  bool running_ = false;
  std::chrono::steady_clock::time_point last_renew_{};
  json observed_spec_;
  std::chrono::steady_clock::time_point observed_time_{};
  std::string observed_holder_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace raydog::kube
