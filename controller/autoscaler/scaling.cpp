#include "controller/autoscaler/scaling.hpp"

#include <algorithm>
#include <cstdio>

#include "api/defaults.hpp"
#include "api/quantity.hpp"
#include "controller/reconcile/desired.hpp"

namespace raydog::autoscaler {

namespace yd = yellowdog;
using ray::NodeStatus;

bool ray_version_supported(const std::string& version) {
  int major = 0, minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) return true;
  return major > kMinRayMajor || (major == kMinRayMajor && minor >= kMinRayMinor);
}

const api::WorkerPoolStatus* previous_pool(const std::optional<api::RayDogClusterStatus>& previous,
                                           const std::string& name) {
  if (!previous) return nullptr;
  for (const auto& p : previous->worker_pools)
    if (p.name == name) return &p;
  return nullptr;
}

Resources shape_of(const std::map<std::string, std::string>& ray_resources) {
  Resources r;
  for (const auto& [name, text] : ray_resources)
    if (auto v = api::parse_quantity(text)) r[name] = *v;
  return r;
}

namespace {

std::chrono::milliseconds millis_or(const std::optional<api::Duration>& d, std::string_view fallback) {
  if (d && d->parsed() && d->parsed()->count() > 0) return std::chrono::duration_cast<std::chrono::milliseconds>(*d->parsed());
  return std::chrono::duration_cast<std::chrono::milliseconds>(*api::Duration(fallback).parsed());
}

UpscalingMode mode_of(const api::AutoscalingSpec& a) {
  switch (a.upscaling_mode.value_or(api::kDefaultUpscalingMode)) {
    case api::UpscalingMode::kAggressive: return UpscalingMode::kAggressive;
    case api::UpscalingMode::kConservative: return UpscalingMode::kConservative;
    case api::UpscalingMode::kDefault: break;
  }
  return UpscalingMode::kDefault;
}

GangStrategy strategy_of(const std::string& s) {
  if (s == "STRICT_SPREAD") return GangStrategy::kStrictSpread;
  if (s == "PACK") return GangStrategy::kPack;
  if (s == "SPREAD") return GangStrategy::kSpread;
  return GangStrategy::kStrictPack;
}

NodeState state_of(NodeStatus s) {
  return s == NodeStatus::kIdle ? NodeState::kIdle : s == NodeStatus::kDraining ? NodeState::kDraining : NodeState::kRunning;
}

std::optional<Hold> hold_of(const ray::RayReading* r) {
  if (!r) return Hold{"HeadPending", "the head task is not running yet: pools keep their size"};
  if (!r->state) {
    const std::string why = r->error ? r->error->message : "no answer";
    return Hold{"HeadUnreachable", "the head's GCS did not answer (" + why + "): sizes held, nothing scaled down"};
  }
  if (r->session_changed)
    return Hold{"HeadRestarted", "the head's GCS restarted (session " + r->state->session_name +
                                     "): sizes held for one poll while the nodes re-register"};
  if (!ray_version_supported(r->version))
    return Hold{"UnsupportedRayVersion", "the head runs Ray " + r->version + "; autoscaling needs Ray " +
                                             std::to_string(kMinRayMajor) + "." + std::to_string(kMinRayMinor) +
                                             " or newer: sizes held"};
  return std::nullopt;
}

const reconcile::RoleView* role_of(const reconcile::View& view, const std::string& pool) {
  for (const auto& w : view.workers)
    if (w.names.pool == pool) return &w;
  return nullptr;
}

std::int64_t clamp(std::int64_t n, const PoolScaling& p) {
  return std::clamp<std::int64_t>(n, p.min_nodes, p.max_nodes);
}

}  // namespace

Scaling scale(const api::RayDogClusterSpec& spec, const std::optional<api::RayDogClusterStatus>& previous,
              const reconcile::View& view, const ray::RayReading* reading,
              const std::map<std::string, std::int64_t>& decided) {
  Scaling out;
  const api::AutoscalingSpec autoscaling = spec.autoscaling.value_or(api::AutoscalingSpec{});
  out.hold = hold_of(reading);
  const ray::RayView* ray = out.hold ? nullptr : reading->ray;

  PlannerInput in;
  in.mode = mode_of(autoscaling);
  const auto cluster_idle = millis_or(autoscaling.idle_timeout, api::kDefaultIdleTimeout);
  std::vector<std::size_t> planned;  // index in out.pools of each in.pools entry
  if (spec.worker_pools)
    for (const auto& spec_pool : *spec.worker_pools) {
      PoolScaling p;
      p.pool = spec_pool.name;
      p.min_nodes = spec_pool.min_nodes.value_or(0);
      p.max_nodes = std::max(p.min_nodes, spec_pool.max_nodes.value_or(spec_pool.nodes.value_or(0)));
      const reconcile::RoleView* w = role_of(view, spec_pool.name);
      std::int64_t live = 0;
      PoolState state;
      state.name = spec_pool.name;
      for (const yd::Task* t : w ? w->tasks : std::vector<const yd::Task*>{}) {
        if (!t->id || !reconcile::is_live(*t)) continue;
        ++live;
        if (!ray) continue;
        const ray::TaskNode* tn = ray->find(*t->id);
        const ray::RayNode* node = tn ? tn->node : nullptr;
        if (!node) {
          ++p.pending;
        } else if (node->status == NodeStatus::kDraining || node->status == NodeStatus::kDead) {
          p.leaving.push_back({*t->id, t->name.value_or(*t->id), node->hex_id(), node->status == NodeStatus::kDead});
        } else {
          ++p.joined;
          out.task_names[*t->id] = t->name.value_or(*t->id);
          in.nodes.push_back({spec_pool.name, *t->id, state_of(node->status), node->idle_ms, node->total, node->available});
        }
      }
      const api::WorkerPoolStatus* before = previous_pool(previous, spec_pool.name);
      std::optional<std::int64_t> previous_target =
          before && before->desired_nodes ? std::optional<std::int64_t>(*before->desired_nodes) : std::nullopt;
      if (const auto d = decided.find(spec_pool.name); d != decided.end()) previous_target = d->second;
      p.starting = !previous_target && live == 0;
      if (p.starting) {
        p.target = clamp(spec_pool.nodes.value_or(0), p);
      } else if (!ray) {
        const std::int64_t kept = live - static_cast<std::int64_t>(p.leaving.size());
        p.target = clamp(std::max(previous_target.value_or(kept), kept), p);
      } else {
        state.shape = shape_of(spec_pool.ray_resources.value_or(std::map<std::string, std::string>{}));
        state.min_nodes = p.min_nodes;
        state.max_nodes = p.max_nodes;
        state.idle_timeout = spec_pool.idle_timeout ? millis_or(spec_pool.idle_timeout, api::kDefaultIdleTimeout) : cluster_idle;
        // Launches the previous target committed to that have no task yet (worker tasks wait for the
        // head's address) or whose task failed count as pending too; victims leaving are outside it.
        const std::int64_t committed = previous_target.value_or(0) - p.joined - static_cast<std::int64_t>(p.leaving.size());
        p.pending = static_cast<int>(std::max<std::int64_t>(p.pending, committed));
        state.pending = p.pending;
        state.drain_in_flight = std::any_of(p.leaving.begin(), p.leaving.end(), [](const Leaving& l) { return !l.dead; });
        in.pools.push_back(std::move(state));
        planned.push_back(out.pools.size());
      }
      out.pools.push_back(std::move(p));
    }
  if (!ray) return out;

  const ray::ClusterState& cs = *reading->state;
  for (const auto& d : cs.pending) {
    in.pending.push_back({d.shape, static_cast<int>(d.count)});
    out.pending_requests += static_cast<int>(d.count);
  }
  for (const auto& g : cs.gangs) {
    in.gangs.push_back({strategy_of(g.strategy), g.bundles});
    out.pending_requests += static_cast<int>(g.bundles.size());
  }
  for (const auto& c : cs.constraints) in.constraints.push_back({c.shape, static_cast<int>(c.count)});
  // Nodes of pools not planned this cycle (starting ones) are not the planner's to count or pick.
  std::erase_if(in.nodes, [&](const WorkerNode& n) {
    return std::none_of(in.pools.begin(), in.pools.end(), [&](const PoolState& s) { return s.name == n.pool; });
  });
  Plan plan = autoscaler::plan(in);
  out.infeasible = plan.infeasible;
  for (std::size_t i = 0; i < plan.pools.size() && i < planned.size(); ++i) {
    PoolScaling& p = out.pools[planned[i]];
    p.target = std::max<std::int64_t>(0, plan.pools[i].desired);
    for (const auto& id : plan.pools[i].drain) out.victims.insert(id);
    for (const auto& id : plan.pools[i].preempt) out.victims.insert(id);
    p.plan = std::move(plan.pools[i]);
  }
  return out;
}

}  // namespace raydog::autoscaler
