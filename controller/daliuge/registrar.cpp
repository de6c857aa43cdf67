#include "controller/daliuge/registrar.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <ctime>
#include <set>

#include "api/conditions.hpp"
#include "api/defaults.hpp"
#include "api/duration.hpp"
#include "controller/daliuge/client.hpp"
#include "controller/reconcile/status.hpp"
#include "controller/yellowdog/api.hpp"

namespace raydog::daliuge {

namespace net = boost::asio;

Registrar::Registrar(RegistrarOptions options) : options_(options) {}
Registrar::~Registrar() = default;

void Registrar::bind_metrics(prometheus::Registry& registry) {
  auto& regs = prometheus::BuildCounter()
                   .Name("raydog_daliuge_registrations_total")
                   .Help("DIM node list writes that succeeded, by action (add: POST, remove: DELETE)")
                   .Register(registry);
  added_metric_ = &regs.Add({{"action", "add"}});
  removed_metric_ = &regs.Add({{"action", "remove"}});
  errors_metric_ = &prometheus::BuildCounter()
                        .Name("raydog_daliuge_errors_total")
                        .Help("DIM reads and writes that failed or timed out")
                        .Register(registry)
                        .Add({});
  added_metric_->Increment(static_cast<double>(added_));
  removed_metric_->Increment(static_cast<double>(removed_));
  errors_metric_->Increment(static_cast<double>(errors_));
}

void Registrar::count(const Write& w) {
  if (w.kind == WriteKind::kAdd) {
    ++added_;
    if (added_metric_) added_metric_->Increment();
  } else {
    ++removed_;
    if (removed_metric_) removed_metric_->Increment();
  }
}

void Registrar::count_error() {
  ++errors_;
  if (errors_metric_) errors_metric_->Increment();
}

Millis Registrar::remember_steady(const std::string& key, std::int64_t generation, Millis requeue,
                                  TimePoint now) {
  auto& pc = clusters_[key];
  pc.generation = generation;
  if (requeue <= options_.dim_check_interval) {
    pc.full_due.reset();
    return requeue;
  }
  pc.full_due = now + requeue;
  return options_.dim_check_interval;
}

std::optional<Millis> Registrar::due_dim_check(const std::string& key, std::int64_t generation,
                                               TimePoint now) {
  auto it = clusters_.find(key);
  if (it == clusters_.end() || !it->second.full_due || !it->second.input) return std::nullopt;
  auto& pc = it->second;
  if (pc.generation != generation || now >= *pc.full_due) {
    pc.full_due.reset();
    return std::nullopt;
  }
  const auto left = std::chrono::duration_cast<Millis>(*pc.full_due - now);
  return std::min(left, options_.dim_check_interval);
}

std::optional<Collected> Registrar::last_input(const std::string& key) const {
  auto it = clusters_.find(key);
  if (it == clusters_.end()) return std::nullopt;
  return it->second.input;
}

void Registrar::forget(const std::string& key) {
  clusters_.erase(key);
}

namespace {

struct Nm {
  const NodeManagerRef* ref = nullptr;
  std::string ip;
  std::string key;
  bool answers = false;
};

std::string url_of(const std::string& ip, std::int32_t port) {
  return "http://" + ip + ":" + std::to_string(port);
}

}  // namespace

net::awaitable<SyncResult> Registrar::sync(std::string key, Collected input, yellowdog::YellowDogApi* yd,
                                           TimePoint now) {
  SyncResult r;
  auto ex = co_await net::this_coro::executor;
  auto& pc = clusters_[key];
  pc.input = input;
  const api::DaliugeSpec& spec = input.spec;
  const NodePorts ports{*spec.ports->nm, *spec.ports->events, *spec.ports->rpc};
  const std::int32_t dim_port = *spec.ports->dim;

  // 1. IPs. Forget cached workers that are no longer collected (the cache stays bounded).
  std::vector<Nm> nms;
  for (const auto& ref : input.nodes) {
    Nm nm;
    nm.ref = &ref;
    if (ref.ip) {
      nm.ip = *ref.ip;
    } else if (ref.worker_id) {
      if (auto it = ip_by_worker_.find(*ref.worker_id); it != ip_by_worker_.end()) {
        nm.ip = it->second;
      } else if (yd) {
        ++r.yellowdog_calls;
        const std::string worker_id = *ref.worker_id;
        auto node = co_await yd->get_node_of_worker(worker_id);
        if (node && node->details.private_ip_address) {
          nm.ip = *node->details.private_ip_address;
          ip_by_worker_[worker_id] = nm.ip;
        }
      }
    }
    if (nm.ip.empty()) continue;  // not resolvable yet: neither desired nor known
    nm.key = node_key(nm.ip, ports);
    nms.push_back(std::move(nm));
  }

  // 2. Which NMs answer.
  MembershipInput in;
  for (auto& nm : nms) {
    const std::string ip = nm.ip;
    nm.answers = co_await nm_answers(ex, ip, *spec.ports->nm, options_.nm_timeout, options_.egress);
    if (!nm.answers) continue;
    if (nm.ref->wanted)
      in.desired.push_back(nm.key);
    else
      in.alive_unwanted.insert(nm.key);
  }

  // 3. The DIM.
  const auto& dim_ip =
      *spec.dim_address == api::DimAddress::kPublic ? input.head_public_ip : input.head_private_ip;
  if (input.head_private_ip) r.status.dim_url = url_of(*input.head_private_ip, dim_port);
  if (input.head_public_ip) r.status.dim_public_url = url_of(*input.head_public_ip, dim_port);
  std::optional<std::vector<std::string>> actual;
  std::vector<Write> deferred;
  bool in_sync = false;
  std::string dim_error;
  if (!dim_ip) {
    r.reason = "DimNotReady";
    r.message = "the head node is not running yet";
  } else {
    DimClient dim(ex, url_of(*dim_ip, dim_port), options_.dim_timeout, options_.egress);
    std::optional<bool> allowed;  // the WhenIdle gate, asked at most once per pass
    for (int round = 0; round < kMaxRounds; ++round) {
      auto got = co_await dim.nodes();
      if (!got) {
        count_error();
        ++r.errors;
        dim_error = got.error().message;
        actual.reset();
        break;
      }
      actual = std::move(*got);
      in.actual = *actual;
      in.actual_fresh = true;
      in.planned_changes_allowed = true;
      MembershipPlan plan = plan_membership(in);
      bool planned = false;
      for (const auto& w : plan.writes)
        planned = planned || w.reason == Reason::kMissing || w.reason == Reason::kExtra;
      if (planned && *spec.membership_policy == api::MembershipPolicy::kWhenIdle) {
        if (!allowed) {
          auto busy = co_await dim.sessions_active();
          std::optional<bool> active;
          if (busy) active = *busy;
          if (!pc.pending_since) pc.pending_since = now;
          Millis max_deferral = std::chrono::minutes(10);  // api::kDefaultMaxDeferral
          if (auto d = spec.max_deferral.value_or(std::string(api::kDefaultMaxDeferral)).parsed())
            max_deferral = std::chrono::duration_cast<Millis>(*d);
          allowed = planned_changes_allowed(true, active, pc.pending_since, max_deferral, now);
        }
        in.planned_changes_allowed = *allowed;
        plan = plan_membership(in);
      }
      deferred = plan.deferred;
      in_sync = plan.in_sync;
      if (plan.writes.empty()) break;
      for (const auto& w : plan.writes) {
        const std::string node = w.key;
        // No co_await inside a conditional expression: GCC 12 destroys its temporary result too early.
        std::optional<DimError> failed;
        if (w.kind == WriteKind::kAdd) {
          auto done = co_await dim.add_node(node);
          if (!done) failed = done.error();
        } else {
          auto done = co_await dim.remove_node(node);
          if (!done) failed = done.error();
        }
        if (!failed) {
          count(w);
          r.performed.push_back(w);
          r.events.push_back({"Normal",
                              w.kind == WriteKind::kAdd ? "DaliugeNodeRegistered" : "DaliugeNodeDeregistered",
                              describe(w) + " on the DIM"});
          continue;
        }
        // Uncertain: stop writing; the next round reads the list again before planning anything.
        const bool maybe_gone =
            w.kind == WriteKind::kRemove && failed->kind == DimError::Kind::kStatus && failed->status == 500;
        if (!maybe_gone) {
          count_error();
          ++r.errors;
          r.events.push_back({"Warning", "DaliugeRegistrationFailed", describe(w) + ": " + failed->message});
        }
        break;
      }
      in_sync = false;  // confirmed (or not) by the next round's read
    }
    if (deferred.empty()) pc.pending_since.reset();
  }

  // 4. Status.
  std::map<std::string, int> listed;
  if (actual)
    for (const auto& a : *actual) ++listed[canonical_node(a)];
  std::set<std::string> deferred_keys;
  for (const auto& w : deferred) deferred_keys.insert(w.key);
  std::int32_t desired = 0, registered = 0;
  for (const auto& nm : nms) {
    api::DaliugeNodeStatus s;
    s.ip = nm.ip;
    s.pool = nm.ref->pool;
    s.url = url_of(nm.ip, *spec.ports->nm);
    const int n = listed.count(nm.key) ? listed[nm.key] : 0;
    if (!nm.ref->wanted) {
      if (n == 0) continue;
      s.state = deferred_keys.count(nm.key) ? "Deferred" : "Removing";
      s.message = "not wanted any more (scale-down or pool removal)";
    } else if (!nm.answers) {
      s.state = "Unreachable";
      s.message = "GET " + *s.url + "/api did not answer";
    } else {
      ++desired;
      if (n >= 1) ++registered;
      if (n == 1)
        s.state = "Registered";
      else if (!actual)
        s.state = "Pending", s.message = "the DIM did not answer";
      else if (n == 0)
        s.state = deferred_keys.count(nm.key) ? "Deferred" : "Pending";
      else
        s.state = "Pending", s.message = "listed " + std::to_string(n) + " times";
    }
    r.status.node_managers.push_back(std::move(s));
  }
  std::sort(r.status.node_managers.begin(), r.status.node_managers.end(),
            [](const auto& a, const auto& b) { return std::tie(*a.pool, a.ip) < std::tie(*b.pool, b.ip); });
  r.status.desired_node_managers = desired;
  r.status.registered_node_managers = registered;

  if (!dim_ip) {
    // reason/message set above
  } else if (!actual) {
    r.reason = "DimUnreachable";
    r.message = dim_error;
    r.events.push_back({"Warning", "DaliugeDimUnreachable", dim_error});
  } else if (in_sync) {
    r.ready = true;
    r.reason = "NodeManagersRegistered";
    r.message = std::to_string(registered) + " of " + std::to_string(desired) + " node managers registered";
  } else if (!deferred.empty() && r.errors == 0) {
    r.reason = "Deferred";
    r.message = std::to_string(deferred.size()) + " membership change(s) wait for the DIM to be idle";
  } else {
    r.reason = "Registering";
    r.message = std::to_string(registered) + " of " + std::to_string(desired) + " node managers registered";
  }
  co_return r;
}

void merge_status(api::RayDogClusterStatus& status, const std::optional<api::RayDogClusterStatus>& previous,
                  const std::optional<SyncResult>& result, bool enabled, TimePoint now) {
  auto& conds = status.conditions;
  conds.erase(std::remove_if(conds.begin(), conds.end(),
                             [](const api::Condition& c) { return c.type == api::condition::kDaliugeReady; }),
              conds.end());
  status.daliuge.reset();
  if (!enabled) return;
  const api::Condition* before =
      previous ? api::find_condition(previous->conditions, api::condition::kDaliugeReady) : nullptr;
  if (!result) {
    if (previous) status.daliuge = previous->daliuge;
    if (before) {
      api::Condition c = *before;
      c.observed_generation = status.observed_generation;
      conds.push_back(c);
    }
    return;
  }
  status.daliuge = result->status;
  api::Condition c;
  c.type = std::string(api::condition::kDaliugeReady);
  c.status = std::string(result->ready ? api::condition::kTrue : api::condition::kFalse);
  c.reason = result->reason;
  c.message = result->message;
  c.observed_generation = status.observed_generation;
  api::stamp_transition(c, before, format_rfc3339(now));
  conds.push_back(std::move(c));
}

}  // namespace raydog::daliuge
