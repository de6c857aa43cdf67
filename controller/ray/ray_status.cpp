#include "controller/ray/ray_status.hpp"

#include <cmath>
#include <cstdio>

#include "api/conditions.hpp"
#include "api/duration.hpp"
#include "controller/reconcile/desired.hpp"
#include "controller/util/time.hpp"

namespace raydog::ray {

namespace cond = api::condition;

namespace {

std::string duration_text(Millis d) {
  return api::format_go_duration(std::chrono::duration_cast<api::Nanos>(std::chrono::duration_cast<std::chrono::seconds>(d)));
}

// Ray's quantities are doubles; integral ones (CPU counts, memory bytes) print without a fraction.
std::string quantity(double v) {
  if (std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 1e18) return std::to_string(static_cast<long long>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// "a, b, c and 2 more"
std::string listed(const std::vector<std::string>& items, std::size_t max = 5) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max) out += " and " + std::to_string(items.size() - max) + " more";
  return out;
}

void set_condition(api::RayDogClusterStatus& st, const std::optional<api::RayDogClusterStatus>& previous,
                   bool ok, std::string reason, std::string message, TimePoint now) {
  api::put_condition(st, previous, cond::kRayReady, ok, std::move(reason), std::move(message), format_rfc3339(now));
}

void keep_previous(api::RayDogClusterStatus& st, const std::optional<api::RayDogClusterStatus>& previous) {
  withdraw_ray_status(st);
  if (!previous) return;
  st.ray = previous->ray;
  if (const api::Condition* c = api::find_condition(previous->conditions, cond::kRayReady)) st.conditions.push_back(*c);
  for (auto& pool : st.worker_pools)
    for (const auto& was : previous->worker_pools)
      if (was.name == pool.name) pool.ray_nodes = was.ray_nodes;
}

std::string unreachable_text(const HeadRead& read, const HeadHealth& h, const RayPolicy& policy,
                             api::HeadAccess access) {
  const std::string via = std::string(api::to_string(access));
  std::string m = "the operator cannot read the head's GCS at " + read.address + " (spec.headAccess " + via +
                  "): " + (read.error ? read.error->message : std::string("no answer"));
  if (!h.answered_before)
    return m + ". It never answered: check that the operator's network reaches the head's " +
           (access == api::HeadAccess::kPublic ? "public" : "private") +
           " IP on port 6379 (headAccess Public for a head outside the operator's network, None to skip the "
           "Ray view); a head never reached is not replaced";
  if (h.suspended) return m + ". No head is replaced now: " + *h.suspended;
  if (h.replacing) return m + ". It stopped answering for headUnresponsiveTimeout " + duration_text(policy.unresponsive_timeout) + ": the head is being replaced";
  return m + ". It answered before; it is replaced if it does not answer within headUnresponsiveTimeout " +
         duration_text(policy.unresponsive_timeout) + "; nothing is scaled down meanwhile";
}

}  // namespace

void withdraw_ray_status(api::RayDogClusterStatus& st) {
  st.ray.reset();
  for (auto& p : st.worker_pools) p.ray_nodes.reset();
  std::erase_if(st.conditions, [](const api::Condition& c) { return c.type == cond::kRayReady; });
}

void ray_status(api::RayDogClusterStatus& st, const std::optional<api::RayDogClusterStatus>& previous,
                const reconcile::View& view, bool yellowdog_read, const HeadRead& read, const RayView* ray,
                const HeadHealth& health, const RayPolicy& policy, api::HeadAccess access, TimePoint now) {
  if (!yellowdog_read) return keep_previous(st, previous);
  withdraw_ray_status(st);
  if (!read.attempted) {
    set_condition(st, previous, false, "HeadPending", "waiting for the head task to be EXECUTING", now);
    return;
  }
  api::RayStatus rs;
  rs.reachable = read.state.has_value();
  rs.version = read.version;
  if (health.unreachable_since) rs.unreachable_since = format_rfc3339(*health.unreachable_since);
  if (!read.state) {
    // The last known session stays visible: it says which incarnation stopped answering.
    if (previous && previous->ray) rs.session_name = previous->ray->session_name;
    if (!rs.version && previous && previous->ray) rs.version = previous->ray->version;
    rs.message = read.error ? read.error->message : std::string("no answer");
    st.ray = rs;
    set_condition(st, previous, false, "HeadUnreachable", unreachable_text(read, health, policy, access), now);
    return;
  }
  rs.session_name = read.state->session_name;
  api::RayNodeCounts counts{0, 0, 0, 0};
  std::map<std::string, double> total;
  for (const auto& n : read.state->nodes) {
    if (alive(n)) {
      ++*counts.alive;
      for (const auto& [k, v] : n.total) total[k] += v;
    }
    if (n.status == NodeStatus::kIdle) ++*counts.idle;
    if (n.status == NodeStatus::kDraining) ++*counts.draining;
    if (n.status == NodeStatus::kDead) ++*counts.dead;
  }
  rs.nodes = counts;
  std::map<std::string, std::string> resources;
  for (const auto& [k, v] : total)
    if (!k.starts_with("node:")) resources[k] = quantity(v);  // node:<ip> markers are not capacity
  rs.total_resources = std::move(resources);
  st.ray = std::move(rs);

  // Per pool, and the tasks that hold RayReady back.
  std::vector<std::string> not_joined, lost;
  std::size_t executing = 0, joined = 0;
  for (const auto& w : view.workers) {
    std::int32_t alive_nodes = 0;
    for (const yellowdog::Task* t : w.tasks) {
      if (!t->id) continue;
      const TaskNode* tn = ray ? ray->find(*t->id) : nullptr;
      if (tn && tn->node && alive(*tn->node)) ++alive_nodes;
      if (!reconcile::is_executing(*t)) continue;
      ++executing;
      const std::string who = t->name.value_or(*t->id) + " (pool " + w.names.pool;
      if (tn && tn->node && alive(*tn->node)) {
        ++joined;
      } else if (tn && tn->node) {
        lost.push_back(who + ")");
      } else {
        std::string waited;
        if (t->started_time)
          if (auto s = parse_rfc3339(*t->started_time); s && now > *s)
            waited = ", " + duration_text(std::chrono::duration_cast<Millis>(now - *s)) + " of rayJoinTimeout " +
                     duration_text(policy.join_timeout);
        not_joined.push_back(who + waited + ")");
      }
    }
    for (auto& p : st.worker_pools)
      if (p.name == w.names.pool) p.ray_nodes = alive_nodes;
  }
  const std::string version = st.ray->version ? ", Ray " + *st.ray->version : "";
  const std::string answered = "the GCS at " + read.address + " answered (session " + read.state->session_name + version + ")";
  if (!lost.empty()) {
    set_condition(st, previous, false, "RayNodesLost",
                  std::to_string(lost.size()) + " worker task(s) run with a DEAD Ray node: " + listed(lost) +
                      "; they are replaced",
                  now);
  } else if (!not_joined.empty()) {
    set_condition(st, previous, false, "WorkersNotJoined",
                  std::to_string(not_joined.size()) + " EXECUTING worker task(s) have no Ray node yet: " +
                      listed(not_joined),
                  now);
  } else {
    set_condition(st, previous, true, "RayReady",
                  answered + "; " + std::to_string(joined) + "/" + std::to_string(executing) +
                      " EXECUTING worker tasks have a live Ray node",
                  now);
  }
}

}  // namespace raydog::ray
