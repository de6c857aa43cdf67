#include "controller/daliuge/cluster.hpp"

#include <set>

#include "api/defaults.hpp"
#include "controller/reconcile/desired.hpp"
#include "controller/reconcile/scripts.hpp"

namespace raydog::daliuge {

bool enabled(const api::RayDogCluster& cluster) {
  return cluster.spec.daliuge && cluster.spec.daliuge->enabled.value_or(false);
}

api::DaliugeSpec effective(const api::DaliugeSpec& spec) {
  api::DaliugeSpec d = spec;
  d.enabled = d.enabled.value_or(false);
  api::DaliugePorts p = d.ports.value_or(api::DaliugePorts{});
  p.dim = p.dim.value_or(api::kDefaultDimPort);
  p.nm = p.nm.value_or(api::kDefaultNmPort);
  p.events = p.events.value_or(api::kDefaultEventsPort);
  p.rpc = p.rpc.value_or(api::kDefaultRpcPort);
  d.ports = p;
  d.root = d.root.value_or(std::string(api::kDefaultDlgRoot));
  d.nm_on_head = d.nm_on_head.value_or(false);
  d.dim_address = d.dim_address.value_or(api::kDefaultDimAddress);
  d.membership_policy = d.membership_policy.value_or(api::kDefaultMembershipPolicy);
  return d;
}

std::map<std::string, std::string> task_env(const api::DaliugeSpec& spec, bool head) {
  const api::DaliugeSpec d = effective(spec);
  std::map<std::string, std::string> env{{"DLG_ENABLED", "true"},
                                         {"DLG_ROOT", *d.root},
                                         {"DLG_DIM_PORT", std::to_string(*d.ports->dim)},
                                         {"DLG_NM_PORT", std::to_string(*d.ports->nm)},
                                         {"DLG_EVENTS_PORT", std::to_string(*d.ports->events)},
                                         {"DLG_RPC_PORT", std::to_string(*d.ports->rpc)}};
  if (head) env["DLG_NM_ON_HEAD"] = *d.nm_on_head ? "true" : "false";
  return env;
}

std::string with_daliuge(std::string_view builtin_user_data, const api::DaliugeSpec& spec) {
  // The version passed validation (digits, letters, dots only): safe inside single quotes.
  return reconcile::scripts::with_settings(builtin_user_data, {{"DLG_VERSION", spec.version.value_or("")}});
}

void decorate(reconcile::Actions& actions, const api::RayDogCluster& cluster) {
  if (!enabled(cluster)) return;
  const api::DaliugeSpec& spec = *cluster.spec.daliuge;
  for (auto& action : actions) {
    if (auto* add = std::get_if<reconcile::AddTasks>(&action)) {
      for (auto& t : add->tasks) {
        const std::string name = t.name.value_or("");
        const bool head = name.rfind("head-", 0) == 0;
        if (!head && name.rfind("worker-", 0) != 0) continue;  // observability: no DALiuGE
        for (auto& [k, v] : task_env(spec, head)) t.environment[k] = v;
      }
    } else if (auto* prov = std::get_if<reconcile::ProvisionPool>(&action)) {
      const bool ray_node = prov->key == "head" || prov->key.rfind("worker-", 0) == 0;
      auto& usage = prov->request.requirement_template_usage;
      // A pool's own userData (inline or from a ConfigMap) wins; the built-in one also installs DALiuGE.
      if (ray_node && prov->builtin_user_data && usage.user_data)
        usage.user_data = with_daliuge(*usage.user_data, spec);
    }
  }
}

Collected collect(const reconcile::Observed& o, const reconcile::Actions& actions) {
  Collected c;
  const auto& cluster = o.cluster;
  c.spec = effective(cluster.spec.daliuge.value_or(api::DaliugeSpec{}));
  c.spec.dim_address = api::dim_address_of(cluster.spec);  // follows spec.headAccess when absent
  if (o.head) {
    c.head_private_ip = o.head->private_ip;
    c.head_public_ip = o.head->public_ip;
  }
  std::set<std::string> cancelled;
  for (const auto& a : actions)
    if (const auto* x = std::get_if<reconcile::CancelTasks>(&a))
      cancelled.insert(x->task_ids.begin(), x->task_ids.end());
  std::set<std::string> in_spec;
  if (cluster.spec.worker_pools)
    for (const auto& p : *cluster.spec.worker_pools)
      if (reconcile::desired_nodes(o, p) > 0) in_spec.insert(p.name);
  const bool live = !cluster.spec.suspend.value_or(false) && !cluster.metadata.deletion_timestamp;

  if (*c.spec.nm_on_head && o.head && o.head->private_ip) {
    NodeManagerRef head;
    head.pool = "head";
    head.task_id = o.head->task_id;
    head.ip = o.head->private_ip;
    head.wanted = live && !cancelled.count(o.head->task_id);
    c.nodes.push_back(std::move(head));
  }
  if (!o.work_requirement) return c;
  const std::string worker_prefix = "worker-";
  for (const auto& g : o.work_requirement->task_groups) {
    if (!g.tag || g.tag->rfind(worker_prefix, 0) != 0) continue;
    const std::string pool = g.tag->substr(worker_prefix.size());
    auto it = o.tasks.find(g.name);
    if (it == o.tasks.end()) continue;
    for (const auto& t : it->second) {
      if (!reconcile::is_executing(t) || !t.id) continue;
      NodeManagerRef n;
      n.pool = pool;
      n.task_id = *t.id;
      n.worker_id = t.worker_id;
      n.wanted = live && in_spec.count(pool) && !cancelled.count(*t.id);
      c.nodes.push_back(std::move(n));
    }
  }
  return c;
}

}  // namespace raydog::daliuge
