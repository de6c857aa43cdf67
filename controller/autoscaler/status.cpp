#include "controller/autoscaler/status.hpp"

#include <algorithm>

#include "api/conditions.hpp"
#include "controller/util/time.hpp"

namespace raydog::autoscaler {

namespace cond = api::condition;

namespace {

std::string nodes(int n) {
  return std::to_string(n) + (n == 1 ? " node" : " nodes");
}

std::string requests(int n) {
  return std::to_string(n) + (n == 1 ? " request" : " requests");
}

// "2 x {CPU: 4}"
std::string demand_text(const Resources& shape, int count) {
  return std::to_string(count) + " x " + to_string(shape);
}

std::string listed(const std::vector<std::string>& items, std::size_t max = 5) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max) out += " and " + std::to_string(items.size() - max) + " more";
  return out;
}

int removed(const PoolPlan& p) {
  return static_cast<int>(p.drain.size() + p.preempt.size()) + p.cancel_pending;
}

// The pool's plan wanted more nodes than maxNodes allows (not merely more than the upscaling speed).
bool at_max(const PoolScaling& p) {
  return p.plan && p.plan->capped > 0 && p.plan->desired >= p.max_nodes;
}

std::string up_reason(const PoolScaling& p) {
  return "+" + nodes(p.plan->launch) + " (" + (p.plan->reason.empty() ? "demand" : p.plan->reason) + ")";
}

std::string down_reason(const PoolScaling& p) {
  return "-" + nodes(removed(*p.plan)) + " (" + (p.plan->reason.empty() ? "scale-down" : p.plan->reason) + ")";
}

void set_condition(api::RayDogClusterStatus& st, const std::optional<api::RayDogClusterStatus>& previous, bool ok,
                   std::string reason, std::string message, reconcile::TimePoint now) {
  api::put_condition(st, previous, cond::kAutoscalingReady, ok, std::move(reason), std::move(message),
                     format_rfc3339(now));
}

}  // namespace

std::vector<reconcile::ExtensionEvent> scale_events(const Scaling& s) {
  std::vector<reconcile::ExtensionEvent> out;
  for (const auto& p : s.pools) {
    if (!p.plan) continue;
    if (p.plan->launch > 0)
      out.push_back({"Normal", "ScaledUp",
                     "pool " + p.pool + ": " + up_reason(p) + ", target " + std::to_string(p.target) +
                         (p.plan->capped > 0 ? "; " + requests(p.plan->capped) + " wait for " +
                                                   (at_max(p) ? "room (maxNodes " + std::to_string(p.max_nodes) + ")"
                                                              : "the next poll (upscalingMode)")
                                             : "")});
    if (removed(*p.plan) > 0) {
      std::vector<std::string> tasks;
      for (const auto* ids : {&p.plan->drain, &p.plan->preempt})
        for (const auto& id : *ids) {
          auto name = s.task_names.find(id);
          tasks.push_back(name == s.task_names.end() ? id : name->second);
        }
      std::string what = tasks.empty() ? std::string() : ": draining " + listed(tasks);
      if (p.plan->cancel_pending > 0)
        what += (what.empty() ? ": " : "; ") + std::string("cancelling ") + nodes(p.plan->cancel_pending) +
                " not joined yet";
      out.push_back({"Normal", "ScaledDown",
                     "pool " + p.pool + ": " + down_reason(p) + ", target " + std::to_string(p.target) + what});
    }
  }
  return out;
}

void autoscaler_status(api::RayDogClusterStatus& st, const std::optional<api::RayDogClusterStatus>& previous,
                       const Scaling& s, const std::map<std::string, reconcile::TimePoint>* draining_since,
                       reconcile::TimePoint now) {
  std::vector<std::string> capped;
  for (const auto& p : s.pools) {
    auto it = std::find_if(st.worker_pools.begin(), st.worker_pools.end(),
                           [&](const api::WorkerPoolStatus& w) { return w.name == p.pool; });
    if (it == st.worker_pools.end()) continue;
    api::PoolAutoscalerStatus a;
    if (const api::WorkerPoolStatus* was = previous_pool(previous, p.pool); was && was->autoscaler) {
      a.last_scale_time = was->autoscaler->last_scale_time;
      a.last_scale_reason = was->autoscaler->last_scale_reason;
    }
    if (p.plan && (p.plan->launch > 0 || removed(*p.plan) > 0)) {
      a.last_scale_time = format_rfc3339(now);
      std::string why;
      if (p.plan->launch > 0) why = up_reason(p);
      if (removed(*p.plan) > 0) why += (why.empty() ? "" : ", ") + down_reason(p);
      a.last_scale_reason = why;
    }
    for (const auto& l : p.leaving) {
      if (l.dead) continue;
      api::DrainingNodeStatus d;
      d.task_id = l.task_id;
      d.task_name = l.task_name;
      d.ray_node_id = l.node_hex;
      if (draining_since)
        if (auto since = draining_since->find(l.task_id); since != draining_since->end())
          d.since = format_rfc3339(since->second);
      a.draining.push_back(std::move(d));
    }
    if (at_max(p)) {
      a.infeasible.push_back(requests(p.plan->capped) + " this pool could hold: maxNodes " +
                             std::to_string(p.max_nodes) + " reached");
      capped.push_back("pool " + p.pool + " is at maxNodes " + std::to_string(p.max_nodes) + " with " +
                       requests(p.plan->capped) + " left");
    }
    it->autoscaler = std::move(a);
  }
  if (s.hold) {
    set_condition(st, previous, false, s.hold->reason, s.hold->message, now);
    return;
  }
  std::vector<std::string> problems;
  for (const auto& i : s.infeasible) problems.push_back(demand_text(i.shape, i.count) + " fits no pool's rayResources");
  problems.insert(problems.end(), capped.begin(), capped.end());
  if (!problems.empty()) {
    set_condition(st, previous, false, "InfeasibleDemand", "demand Ray cannot place: " + listed(problems), now);
    return;
  }
  set_condition(st, previous, true, "FollowingDemand",
                std::to_string(s.pending_requests) + " pending resource requests; every pool within [minNodes, maxNodes]",
                now);
}

void keep_autoscaler_status(api::RayDogClusterStatus& st, const std::optional<api::RayDogClusterStatus>& previous) {
  withdraw_autoscaler_status(st);
  if (!previous) return;
  if (const api::Condition* c = api::find_condition(previous->conditions, cond::kAutoscalingReady))
    st.conditions.push_back(*c);
  for (auto& pool : st.worker_pools)
    if (const api::WorkerPoolStatus* was = previous_pool(previous, pool.name)) pool.autoscaler = was->autoscaler;
}

void withdraw_autoscaler_status(api::RayDogClusterStatus& st) {
  for (auto& p : st.worker_pools) p.autoscaler.reset();
  std::erase_if(st.conditions, [](const api::Condition& c) { return c.type == cond::kAutoscalingReady; });
}

}  // namespace raydog::autoscaler
