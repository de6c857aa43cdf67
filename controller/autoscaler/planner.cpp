#include "controller/autoscaler/planner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

namespace raydog::autoscaler {

namespace {

constexpr double kSlack = 1e-9;  // quantities are sums of decimals: compare with a little room

bool fits(const Resources& need, const Resources& free) {
  for (const auto& [name, amount] : need) {
    if (amount <= 0) continue;
    auto it = free.find(name);
    if (it == free.end() || it->second + kSlack < amount) return false;
  }
  return true;
}

void take(Resources& free, const Resources& need) {
  for (const auto& [name, amount] : need) free[name] -= amount;
}

Resources sum(const std::vector<Resources>& bundles) {
  Resources out;
  for (const auto& b : bundles)
    for (const auto& [name, amount] : b) out[name] += amount;
  return out;
}

bool asks_gpu(const Resources& r) {
  auto it = r.find("GPU");
  return it != r.end() && it->second > 0;
}

// The share of each of the shape's resources the bundle leaves unused, summed: 0 is a perfect fit; a
// resource the bundle does not ask for at all counts as wholly left over.
double left_over(const Resources& shape, const Resources& bundle) {
  double total = 0;
  for (const auto& [name, capacity] : shape) {
    if (capacity <= 0) continue;
    auto it = bundle.find(name);
    const double used = it == bundle.end() ? 0 : it->second;
    total += (capacity - used) / capacity;
  }
  return total;
}

// A node the demand can go to: a live one (what Ray says is available), a launch not yet joined or one
// launched in this plan (its pool's whole shape).
struct Bin {
  std::size_t pool = 0;
  const WorkerNode* node = nullptr;  // null: a launch (pending or new)
  Resources free;                    // for demand
  Resources spare;                   // for constraints: total minus the constraints placed on it
  bool got_work = false;             // demand was placed on it in this plan
  bool needed = false;               // a constraint uses it
};

enum class Placed { kYes, kCapped, kInfeasible };

class Planner {
 public:
  explicit Planner(const PlannerInput& in) : in_(in) {
    const std::size_t n = in.pools.size();
    live_.assign(n, 0);
    launched_.assign(n, 0);
    limit_.assign(n, 0);
    capped_.assign(n, 0);
    why_up_.assign(n, {});
    for (const WorkerNode& node : in.nodes) {
      auto p = pool_index(node.pool);
      if (!p || node.state == NodeState::kDraining) continue;
      ++live_[*p];
      bins_.push_back(Bin{*p, &node, node.available, node.total, false, false});
    }
    for (std::size_t p = 0; p < n; ++p)
      for (int i = 0; i < in.pools[p].pending; ++i)
        bins_.push_back(Bin{p, nullptr, in.pools[p].shape, in.pools[p].shape, false, false});
    for (std::size_t p = 0; p < n; ++p) {
      const PoolState& pool = in.pools[p];
      const int size = live_[p] + pool.pending;
      limit_[p] = std::max(0, std::min(launch_limit(in.mode, size), pool.max_nodes - size));
    }
  }

  Plan run() {
    Plan out;
    for (const PoolState& pool : in_.pools) {
      PoolPlan plan;
      plan.pool = pool.name;
      out.pools.push_back(std::move(plan));
    }
    if (in_.hold) {
      for (std::size_t p = 0; p < in_.pools.size(); ++p) out.pools[p].desired = live_[p] + in_.pools[p].pending;
      out.held = in_.hold;
      return out;
    }
    up_to_min();
    for (const auto& c : in_.constraints)
      for (int i = 0; i < c.count; ++i) place_constraint(c.shape);
    for (const auto& g : in_.gangs) place_gang(g);
    for (const auto& r : in_.pending)
      for (int i = 0; i < r.count; ++i)
        if (place(r.shape, nullptr, bins_, launched_, false) == Placed::kInfeasible) infeasible(r.shape);
    for (std::size_t p = 0; p < in_.pools.size(); ++p) scale_down(p, out.pools[p]);
    for (std::size_t p = 0; p < in_.pools.size(); ++p) {
      PoolPlan& plan = out.pools[p];
      plan.launch = launched_[p];
      plan.capped = capped_[p];
      plan.desired = live_[p] + in_.pools[p].pending + plan.launch - plan.cancel_pending -
                     static_cast<int>(plan.drain.size() + plan.preempt.size());
      if (plan.launch > 0) plan.reason = why_up_[p];
    }
    for (const auto& [shape, count] : infeasible_) out.infeasible.push_back(Infeasible{shape, count});
    return out;
  }

 private:
  std::optional<std::size_t> pool_index(const std::string& name) const {
    for (std::size_t p = 0; p < in_.pools.size(); ++p)
      if (in_.pools[p].name == name) return p;
    return std::nullopt;
  }

  void launch(std::size_t p, std::vector<Bin>& bins, std::vector<int>& launched) {
    ++launched[p];
    bins.push_back(Bin{p, nullptr, in_.pools[p].shape, in_.pools[p].shape, false, false});
  }

  void up_to_min() {
    for (std::size_t p = 0; p < in_.pools.size(); ++p) {
      const PoolState& pool = in_.pools[p];
      const int missing = std::min(pool.min_nodes, pool.max_nodes) - (live_[p] + pool.pending);
      for (int i = 0; i < missing; ++i) launch(p, bins_, launched_);
      if (missing > 0) why_up_[p] = "minNodes " + std::to_string(pool.min_nodes);
    }
  }

  // The pool a new node for `bundle` comes from. nullopt with `capped` set: some pool's shape holds it but
  // none may launch now (its best candidate in `capped_pool`); with `capped` unset: no shape holds it.
  std::optional<std::size_t> choose(const Resources& bundle, const std::vector<int>& launched, bool& capped,
                                    std::size_t& capped_pool) const {
    std::optional<std::size_t> best, best_any;
    auto better = [&](std::size_t a, std::optional<std::size_t> b) {
      if (!b) return true;
      const bool gpu_a = !asks_gpu(bundle) && asks_gpu(in_.pools[a].shape);
      const bool gpu_b = !asks_gpu(bundle) && asks_gpu(in_.pools[*b].shape);
      if (gpu_a != gpu_b) return !gpu_a;
      const double la = left_over(in_.pools[a].shape, bundle), lb = left_over(in_.pools[*b].shape, bundle);
      if (std::abs(la - lb) > kSlack) return la < lb;
      return a < *b;  // the pool listed first
    };
    for (std::size_t p = 0; p < in_.pools.size(); ++p) {
      if (!fits(bundle, in_.pools[p].shape)) continue;
      if (better(p, best_any)) best_any = p;
      if (launched[p] < limit_[p] && better(p, best)) best = p;
    }
    capped = !best && best_any;
    if (capped) capped_pool = *best_any;
    return best;
  }

  // One bundle: first fit on the bins not in `exclude`, else a new node. `tentative`: on copies of the
  // plan's bins and launches (a strict gang), whose caller accounts for a capped result.
  Placed place(const Resources& bundle, std::set<std::size_t>* exclude, std::vector<Bin>& bins,
               std::vector<int>& launched, bool tentative) {
    for (std::size_t i = 0; i < bins.size(); ++i) {
      if ((exclude && exclude->count(i)) || !fits(bundle, bins[i].free)) continue;
      take(bins[i].free, bundle);
      bins[i].got_work = true;
      if (exclude) exclude->insert(i);
      return Placed::kYes;
    }
    bool capped = false;
    std::size_t capped_pool = 0;
    auto p = choose(bundle, launched, capped, capped_pool);
    if (!p) {
      if (!capped) return Placed::kInfeasible;
      last_capped_ = capped_pool;
      if (!tentative) ++capped_[capped_pool];
      return Placed::kCapped;
    }
    launch(*p, bins, launched);
    if (!tentative && why_up_[*p].empty()) why_up_[*p] = "pending demand " + to_string(bundle);
    Bin& b = bins.back();
    take(b.free, bundle);
    b.got_work = true;
    if (exclude) exclude->insert(bins.size() - 1);
    return Placed::kYes;
  }

  // request_resources: the cluster must be able to hold the bundle as if it were empty.
  void place_constraint(const Resources& bundle) {
    for (Bin& b : bins_) {
      if (!fits(bundle, b.spare)) continue;
      take(b.spare, bundle);
      b.needed = true;
      return;
    }
    bool capped = false;
    std::size_t capped_pool = 0;
    auto p = choose(bundle, launched_, capped, capped_pool);
    if (!p) {
      if (capped)
        ++capped_[capped_pool];
      else
        infeasible(bundle);
      return;
    }
    launch(*p, bins_, launched_);
    if (why_up_[*p].empty()) why_up_[*p] = "request_resources " + to_string(bundle);
    take(bins_.back().spare, bundle);
    bins_.back().needed = true;
  }

  // A strict gang goes whole or not at all: it is placed on copies, kept only when every bundle fits.
  void place_gang(const GangRequest& gang) {
    if (gang.strategy == GangStrategy::kPack || gang.strategy == GangStrategy::kSpread) {
      // Best effort in Ray too: each bundle as a request of its own.
      for (const auto& b : gang.bundles)
        if (place(b, nullptr, bins_, launched_, false) == Placed::kInfeasible) infeasible(b);
      return;
    }
    std::vector<Bin> bins = bins_;
    std::vector<int> launched = launched_;
    Placed result = Placed::kYes;
    if (gang.strategy == GangStrategy::kStrictPack) {
      result = place(sum(gang.bundles), nullptr, bins, launched, true);
    } else {
      std::set<std::size_t> used;
      for (const auto& b : gang.bundles) {
        result = place(b, &used, bins, launched, true);
        if (result != Placed::kYes) break;
      }
    }
    if (result == Placed::kYes) {
      for (std::size_t p = 0; p < launched.size(); ++p)
        if (launched[p] > launched_[p] && why_up_[p].empty())
          why_up_[p] = std::string(gang.strategy == GangStrategy::kStrictPack ? "STRICT_PACK" : "STRICT_SPREAD") +
                       " gang of " + std::to_string(gang.bundles.size());
      bins_ = std::move(bins);
      launched_ = std::move(launched);
    } else if (result == Placed::kCapped) {
      ++capped_[last_capped_];
    } else {
      for (const auto& b : gang.bundles) infeasible(b);
    }
  }

  void infeasible(const Resources& shape) { ++infeasible_[shape]; }

  void scale_down(std::size_t p, PoolPlan& plan) {
    const PoolState& pool = in_.pools[p];
    std::vector<const Bin*> idle, busy;
    for (const Bin& b : bins_) {
      if (b.pool != p || !b.node) continue;
      (b.node->state == NodeState::kIdle && !b.got_work ? idle : busy).push_back(&b);
    }
    std::stable_sort(idle.begin(), idle.end(), [](const Bin* a, const Bin* b) { return a->node->idle_ms > b->node->idle_ms; });
    std::set<const Bin*> chosen;
    // maxNodes lowered below the pool's size: launches not yet joined, then idle nodes, then busy ones.
    int excess = live_[p] + pool.pending + launched_[p] - pool.max_nodes;
    if (excess > 0) {
      plan.cancel_pending = std::min(excess, pool.pending);
      excess -= plan.cancel_pending;
      for (const Bin* b : idle)
        if (excess > 0 && chosen.insert(b).second) {
          plan.drain.push_back(b->node->task_id);
          --excess;
        }
      for (auto it = busy.rbegin(); it != busy.rend() && excess > 0; ++it)
        if (chosen.insert(*it).second) {
          plan.preempt.push_back((*it)->node->task_id);
          --excess;
        }
      plan.reason = "maxNodes " + std::to_string(pool.max_nodes);
    }
    if (pool.drain_in_flight) return;  // one scale-down at a time per pool
    const auto timeout_ms = static_cast<std::int64_t>(pool.idle_timeout.count());
    int room = live_[p] - static_cast<int>(chosen.size()) - pool.min_nodes;
    bool idle_victims = false;
    for (const Bin* b : idle) {
      if (room <= 0) break;
      if (chosen.count(b) || b->needed || b->node->idle_ms <= timeout_ms) continue;
      chosen.insert(b);
      plan.drain.push_back(b->node->task_id);
      idle_victims = true;
      --room;
    }
    if (idle_victims && plan.reason.empty())
      plan.reason = "idle longer than " + std::to_string(timeout_ms / 1000) + "s";
  }

  const PlannerInput& in_;
  std::vector<Bin> bins_;
  std::vector<int> live_, launched_, limit_, capped_;
  std::vector<std::string> why_up_;
  std::map<Resources, int> infeasible_;
  std::size_t last_capped_ = 0;
};

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

std::string to_string(const Resources& r) {
  std::string out = "{";
  for (const auto& [name, amount] : r) {
    if (out.size() > 1) out += ", ";
    out += name + ": " + number(amount);
  }
  return out + "}";
}

int launch_limit(UpscalingMode mode, int size) {
  // KubeRay's upscalingMode: Conservative is Ray's upscaling_speed 1, at most max(1, ceil(1 * (pending +
  // live))) launches per cycle (Ray v2's _compute_to_launch); Default and Aggressive do not limit them.
  if (mode != UpscalingMode::kConservative) return std::numeric_limits<int>::max();
  return std::max(1, size);
}

Plan plan(const PlannerInput& input) {
  return Planner(input).run();
}

}  // namespace raydog::autoscaler
