// Plan steps for the worker pools of the current revision: every node kind's pool is provisioned early
// (head, observability and worker VMs boot in parallel), and worker pools follow their desired node count.
#include "controller/reconcile/planner.hpp"
#include "controller/reconcile/scripts.hpp"

namespace raydog::reconcile {

namespace {

// A role that wants nodes and has no live pool: attempt n+1 of its revision (n = the latest seen, shut
// down from outside or by us), so a re-provision never collides with a finished pool's name.
void provision(Planner& p, const RoleView& r) {
  if (r.desired <= 0 || r.pool) return;
  const api::NodeSpec node = r.node ? *r.node : api::NodeSpec{};
  auto ud = user_data(node, p.o.sources);
  std::optional<std::string> userdata = ud ? *ud : std::nullopt;
  const bool builtin = ud && !userdata;  // none given: the built-in one ("" given: none at all)
  if (builtin)
    userdata = scripts::builtin_user_data(ray_version(p.c().spec), node_setup(p.c().spec, r.names.kind));
  if (userdata && userdata->empty()) userdata.reset();
  int attempt = r.max_pool_attempt + 1;
  std::string name = pool_attempt_name(r.names.revision, attempt);
  p.out.push_back(
      ProvisionPool{r.names.key, provision_request(p.c(), r.names, name, node, r.desired, userdata), builtin});
  p.event("Normal", attempt > 1 ? "PoolReprovisioned" : "PoolProvisioned",
          "Provisioned worker pool " + name + " (" + r.names.key + ", " + std::to_string(r.desired) +
              " nodes)" + (attempt > 1 ? ": the previous pool was shut down" : ""));
  p.converging = true;
}

}  // namespace

Flow provision_pools(Planner& p) {
  provision(p, *p.v.head);
  if (p.v.observability) provision(p, *p.v.observability);
  for (const auto& w : p.v.workers) provision(p, w);
  return Flow::kContinue;
}

Flow resize_pools(Planner& p) {
  // Head/observability are always 1; only worker pools resize.
  for (const auto& w : p.v.workers) {
    if (!w.pool || w.desired <= 0) continue;
    std::optional<std::int64_t> current;
    if (w.pool->compute_requirement && w.pool->compute_requirement->target_instance_count)
      current = *w.pool->compute_requirement->target_instance_count;
    else if (w.pool->pool.properties && w.pool->pool.properties->max_nodes &&
             *w.pool->pool.properties->max_nodes < w.desired)
      current = *w.pool->pool.properties->max_nodes;  // without the CR only growth is detectable
    if (current && *current != w.desired) {
      p.out.push_back(ResizePool{w.pool->pool.id, w.pool->pool.name.value_or(w.pool->pool.id), w.desired});
      p.event("Normal", "PoolResized",
              "Resized worker pool " + w.pool->pool.name.value_or(w.pool->pool.id) + " from " +
                  std::to_string(*current) + " to " + std::to_string(w.desired) + " nodes");
      p.converging = true;
    }
  }
  return Flow::kContinue;
}

}  // namespace raydog::reconcile
