#include "controller/reconcile/desired.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "api/defaults.hpp"
#include "api/duration.hpp"
#include "api/json.hpp"
#include "api/quantity.hpp"
#include "controller/reconcile/scripts.hpp"

namespace raydog::reconcile {

namespace names = api::names;
namespace yd = yellowdog;

namespace {

std::string yd_namespace(const api::RayDogCluster& c) {
  return c.spec.yellowdog ? c.spec.yellowdog->namespace_name.value_or("") : "";
}
std::optional<std::string> yd_tag(const api::RayDogCluster& c) {
  return c.spec.yellowdog ? c.spec.yellowdog->tag : std::nullopt;
}

RoleNames role(const api::RayDogClusterSpec& spec, const std::map<std::string, std::string>* sources, TaskKind kind,
               std::string_view pool, std::string_view pool_base, const api::NodeSpec& node,
               const std::map<std::string, std::string>* ray_resources = nullptr) {
  RoleNames r;
  r.kind = kind;
  r.pool = std::string(pool);
  r.key = role_key(kind, pool);
  const bool builtin = !node.user_data && !node.user_data_from;
  r.rev = rev_hash(node, ray_resources, builtin ? spec.ray_version : std::nullopt, sources,
                   builtin ? node_setup(spec, kind) : std::vector<std::pair<std::string, std::string>>{});
  r.revision = names::fit(std::string(pool_base) + "-" + r.rev);
  r.task_group = names::fit(names::task_group(kind, pool) + "-" + r.rev);
  return r;
}

}  // namespace

std::string role_key(TaskKind kind, std::string_view pool) {
  switch (kind) {
    case TaskKind::kHead:
      return "head";
    case TaskKind::kObservability:
      return "observability";
    case TaskKind::kWorker:
      return "worker-" + std::string(pool);
  }
  return {};
}

const RoleNames* ClusterNames::find_worker(std::string_view pool) const {
  for (const auto& w : workers)
    if (w.pool == pool) return &w;
  return nullptr;
}

std::int64_t desired_nodes(const Observed& o, const api::WorkerPoolSpec& pool) {
  auto it = o.desired_nodes_override.find(pool.name);
  const std::int64_t wanted = it != o.desired_nodes_override.end() ? it->second : pool.nodes.value_or(0);
  return std::max<std::int64_t>(0, wanted);
}

bool may_autoscale(const api::RayDogClusterSpec& spec, const api::WorkerPoolSpec& pool) {
  return spec.autoscaling && spec.autoscaling->enabled.value_or(false) && pool.max_nodes.value_or(0) > 0;
}

std::string incarnation_base(std::string_view base, int incarnation) {
  if (incarnation <= 1) return std::string(base);
  return std::string(base) + "-" + std::to_string(incarnation);
}

ClusterNames names_for(const api::RayDogCluster& cluster, int incarnation,
                       const std::map<std::string, std::string>* sources) {
  ClusterNames n;
  n.base = names::base(cluster.metadata.namespace_name.value_or("default"), cluster.metadata.name,
                       cluster.metadata.uid.value_or(""));
  n.incarnation = std::max(1, incarnation);
  const std::string ib = incarnation_base(n.base, n.incarnation);
  n.work_requirement = names::work_requirement(ib);
  const api::NodeSpec head = cluster.spec.head.value_or(api::NodeSpec{});
  const auto& spec = cluster.spec;
  n.head = role(spec, sources, TaskKind::kHead, {}, names::head_pool(ib), head);
  if (spec.observability && spec.observability->enabled.value_or(false))
    n.observability =
        role(spec, sources, TaskKind::kObservability, {}, names::observability_pool(ib), spec.observability->node);
  if (spec.worker_pools)
    for (const auto& p : *spec.worker_pools)
      n.workers.push_back(role(spec, sources, TaskKind::kWorker, p.name, names::worker_pool(ib, p.name), p.node,
                               p.ray_resources ? &*p.ray_resources : nullptr));
  return n;
}

int incarnation_from_status(const api::RayDogCluster& cluster) {
  if (!cluster.status || !cluster.status->work_requirement || !cluster.status->work_requirement->name)
    return 1;
  const std::string& recorded = *cluster.status->work_requirement->name;
  const std::string base = names::base(cluster.metadata.namespace_name.value_or("default"),
                                       cluster.metadata.name, cluster.metadata.uid.value_or(""));
  if (recorded == base || !recorded.starts_with(base + "-")) return 1;
  std::string_view digits = std::string_view(recorded).substr(base.size() + 1);
  int k = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), k);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || k < 2) return 1;
  return k;
}

std::string ray_version(const api::RayDogClusterSpec& spec) {
  return spec.ray_version.value_or(std::string(api::kDefaultRayVersion));
}

std::vector<std::pair<std::string, std::string>> node_setup(const api::RayDogClusterSpec& spec, TaskKind kind) {
  if (!spec.observability || !spec.observability->enabled.value_or(false)) return {};
  switch (kind) {
    case TaskKind::kHead:
      return {{"PROMETHEUS_VERSION", std::string(scripts::kPrometheusVersion)}};
    case TaskKind::kObservability:
      return {{"PROMETHEUS_VERSION", std::string(scripts::kPrometheusVersion)}, {"GRAFANA", "true"}};
    case TaskKind::kWorker:
      return {};  // the head's relay scrapes workers: they need nothing beyond Ray
  }
  return {};
}

std::string rev_hash(const api::NodeSpec& node, const std::map<std::string, std::string>* ray_resources,
                     const std::optional<std::string>& builtin_ray_version,
                     const std::map<std::string, std::string>* sources,
                     const std::vector<std::pair<std::string, std::string>>& builtin_setup) {
  // Only the fields that cannot change on a running pool: a change of any of them needs new VMs.
  nlohmann::json j = nlohmann::json::object();
  if (node.compute_requirement_template) j["template"] = *node.compute_requirement_template;
  if (node.images_id) j["imagesId"] = *node.images_id;
  if (node.user_data) j["userData"] = *node.user_data;
  if (node.user_data_from) j["userDataFrom"] = *node.user_data_from;
  if (node.start_script) j["startScript"] = *node.start_script;
  if (node.start_script_from) j["startScriptFrom"] = *node.start_script_from;
  if (node.instance_tags && !node.instance_tags->empty()) j["instanceTags"] = *node.instance_tags;
  if (node.metrics_enabled.value_or(false)) j["metricsEnabled"] = true;
  if (ray_resources && !ray_resources->empty()) j["rayResources"] = *ray_resources;
  if (builtin_ray_version) j["rayVersion"] = *builtin_ray_version;
  for (const auto& [key, value] : builtin_setup) j["nodeSetup"][key] = value;
  // What a referenced ConfigMap key holds: an edit needs new nodes, like an inline change.
  if (sources)
    for (const auto& [field, from] : {std::pair{"userDataFromContent", &node.user_data_from},
                                      std::pair{"startScriptFromContent", &node.start_script_from}})
      if (*from && (*from)->config_map_key_ref)
        if (auto it = sources->find(source_key(*(*from)->config_map_key_ref)); it != sources->end())
          j[field] = names::hash8(it->second);
  return names::hash8(j.dump()).substr(0, 6);
}

std::map<std::string, std::string> ray_resources_env(const std::map<std::string, std::string>& ray_resources) {
  std::map<std::string, std::string> env;
  nlohmann::json custom = nlohmann::json::object();
  auto whole = [](double v) { return std::to_string(static_cast<long long>(std::llround(v))); };
  for (const auto& [name, text] : ray_resources) {
    const auto q = api::parse_quantity(text);
    if (!q) continue;  // validation refused the spec before anything is planned
    if (name == "CPU")
      env[std::string(kNumCpusEnv)] = whole(*q);
    else if (name == "GPU")
      env[std::string(kNumGpusEnv)] = whole(*q);
    else if (name == "memory")
      env[std::string(kMemoryEnv)] = whole(*q);
    else if (name == "object_store_memory")
      env[std::string(kObjectStoreMemoryEnv)] = whole(*q);
    else
      custom[name] = *q;
  }
  if (!custom.empty()) env[std::string(kCustomResourcesEnv)] = custom.dump();
  return env;
}

std::string attempt_name(std::string_view base, std::string_view marker, int attempt) {
  if (attempt <= 1) return std::string(base);
  return names::fit(std::string(base) + std::string(marker) + std::to_string(attempt));
}

std::optional<int> attempt_of(std::string_view base, std::string_view marker, std::string_view name) {
  if (name == base) return 1;
  // Every attempt name starts with the part of `base` fit() keeps: anything else (another role's pool or
  // group, asked about on every reconcile) is rejected without building a single candidate name.
  const std::string kept = names::fit_prefix(base);
  if (!name.starts_with(kept)) return std::nullopt;
  // Short enough not to be hashed: "<base><marker><n>", parsed.
  if (name.size() > base.size() + marker.size() && name.starts_with(base) &&
      name.substr(base.size(), marker.size()) == marker) {
    std::string_view digits = name.substr(base.size() + marker.size());
    int n = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec == std::errc{} && ptr == digits.data() + digits.size() && n >= 2 &&
        attempt_name(base, marker, n) == name)
      return n;
  }
  // fit() hashed it: the attempt number cannot be parsed back, try the numbers an object realistically
  // reaches.
  for (int n = 2; n <= 1000; ++n)
    if (attempt_name(base, marker, n) == name) return n;
  return std::nullopt;
}

std::string pool_attempt_name(std::string_view revision, int attempt) {
  return attempt_name(revision, "-r", attempt);
}

std::optional<int> pool_attempt(std::string_view revision, std::string_view pool_name) {
  return attempt_of(revision, "-r", pool_name);
}

std::string source_key(const api::ConfigMapKeySelector& selector) {
  return selector.name + "/" + selector.key;
}

namespace {
Result<std::optional<std::string>, std::string> from_source(const std::optional<api::ValueSource>& source,
                                                            const std::map<std::string, std::string>& sources,
                                                            std::string_view field) {
  if (!source || !source->config_map_key_ref) return std::optional<std::string>{};
  const auto& ref = *source->config_map_key_ref;
  auto it = sources.find(source_key(ref));
  if (it == sources.end())
    return unexpected("ConfigMap \"" + ref.name + "\" key \"" + ref.key + "\" (" + std::string(field) +
                      ") not found");
  return std::optional<std::string>(it->second);
}
}  // namespace

Result<std::string, std::string> task_script(TaskKind kind, const api::NodeSpec& node,
                                             const std::map<std::string, std::string>& sources) {
  if (node.start_script) return *node.start_script;
  auto from = from_source(node.start_script_from, sources, "startScriptFrom");
  if (!from) return unexpected(from.error());
  if (*from) return **from;
  return std::string(scripts::default_script(kind));
}

Result<std::optional<std::string>, std::string> user_data(const api::NodeSpec& node,
                                                          const std::map<std::string, std::string>& sources) {
  if (node.user_data) return std::optional<std::string>(*node.user_data);
  return from_source(node.user_data_from, sources, "userDataFrom");
}

yd::ProvisionRequest provision_request(const api::RayDogCluster& cluster, const RoleNames& role,
                                       std::string_view pool_name, const api::NodeSpec& node,
                                       std::int64_t nodes, const std::optional<std::string>& userdata) {
  yd::ProvisionRequest r;
  auto& u = r.requirement_template_usage;
  u.template_id = node.compute_requirement_template.value_or("");
  u.requirement_name = std::string(pool_name);
  u.requirement_namespace = yd_namespace(cluster);
  u.requirement_tag = yd_tag(cluster);
  u.target_instance_count = nodes;
  u.images_id = node.images_id;
  u.user_data = userdata;
  if (node.instance_tags) u.instance_tags = *node.instance_tags;
  u.maintain_instance_count = false;
  auto& p = r.provisioned_properties;
  p.create_node_workers = yd::NodeWorkersTarget{"PER_NODE", 1, std::nullopt};
  p.min_nodes = 0;
  p.max_nodes = nodes;
  // RayDog's 3-minute idle shutdowns: VMs whose Ray node went away are reclaimed, not left billing.
  p.idle_node_shutdown = yd::AutoShutdown{true, "PT3M"};
  p.idle_pool_shutdown = yd::AutoShutdown{true, "PT3M"};
  p.worker_tag = names::worker_tag(role.revision);
  p.metrics_enabled = node.metrics_enabled.value_or(false);
  return r;
}

yd::TaskGroup task_group(const api::RayDogCluster& cluster, const RoleNames& role) {
  yd::TaskGroup g;
  g.name = role.task_group;
  g.tag = role.key;
  g.run_specification.task_types = {"bash"};
  g.run_specification.worker_tags = yd::Strings{names::worker_tag(role.revision)};
  g.run_specification.namespaces = yd::Strings{yd_namespace(cluster)};
  if (cluster.spec.lifetime) {
    if (auto d = cluster.spec.lifetime->parsed(); d && d->count() > 0)
      g.run_specification.task_timeout = api::format_iso8601_duration(*d);
  }
  // Groups must outlive their tasks: the operator heals by adding replacement tasks to the same group
  // (RayDog creates fresh groups instead, which would grow the WR without bound in a long-lived cluster).
  g.finish_if_all_tasks_finished = false;
  g.finish_if_any_task_failed = false;
  return g;
}

yd::WorkRequirement work_requirement(const api::RayDogCluster& cluster, const ClusterNames& names) {
  yd::WorkRequirement wr;
  wr.namespace_ = yd_namespace(cluster);
  wr.name = names.work_requirement;
  wr.tag = yd_tag(cluster);
  wr.task_groups.push_back(task_group(cluster, names.head));
  if (names.observability) wr.task_groups.push_back(task_group(cluster, *names.observability));
  for (const auto& w : names.workers) wr.task_groups.push_back(task_group(cluster, w));
  return wr;
}

yd::Task task(TaskKind kind, int ordinal, const std::string& script,
              const std::map<std::string, std::string>& env) {
  yd::Task t;
  t.name = names::task(kind, ordinal);
  t.task_type = "bash";
  t.arguments = {"taskdata.txt"};
  t.task_data = script;
  t.environment = env;
  return t;
}

bool is_live(const yd::Task& t) {
  // A task without a status was just submitted: it is waiting.
  return !t.status || yd::is_waiting(*t.status) || yd::is_in_progress(*t.status);
}
std::string ray_instance_id(std::string_view task_group, std::string_view task_name) {
  std::string id(task_group);
  id += '/';
  id += task_name;
  return id;
}

const std::string* env_of(const yd::Task& t, std::string_view key) {
  auto it = t.environment.find(std::string(key));
  return it == t.environment.end() ? nullptr : &it->second;
}

bool is_executing(const yd::Task& t) {
  return t.status && *t.status == "EXECUTING";
}

const yd::Task* current_task(const std::vector<yd::Task>& tasks, TaskKind kind) {
  const yd::Task* best = nullptr;
  int best_ordinal = -1;
  bool best_exec = false;
  for (const auto& t : tasks) {
    if (!is_live(t)) continue;
    int ordinal = t.name ? names::task_ordinal(kind, *t.name).value_or(0) : 0;
    bool exec = is_executing(t);
    if (!best || (exec && !best_exec) || (exec == best_exec && ordinal > best_ordinal)) {
      best = &t;
      best_ordinal = ordinal;
      best_exec = exec;
    }
  }
  return best;
}

int next_ordinal(const std::vector<yd::Task>& tasks, TaskKind kind) {
  int max = 0;
  for (const auto& t : tasks)
    if (t.name) max = std::max(max, names::task_ordinal(kind, *t.name).value_or(0));
  return max + 1;
}

}  // namespace raydog::reconcile
