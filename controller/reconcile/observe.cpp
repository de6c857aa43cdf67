#include "controller/reconcile/observe.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_map>

#include "controller/reconcile/desired.hpp"
#include "controller/reconcile/packed_snapshot.hpp"
#include "controller/util/base64.hpp"

namespace raydog::reconcile {

namespace yd = raydog::yellowdog;

namespace {

// Every node spec of the cluster that is in use (head, observability when enabled, worker pools).
std::vector<const api::NodeSpec*> node_specs(const api::RayDogCluster& c) {
  std::vector<const api::NodeSpec*> out;
  if (c.spec.head) out.push_back(&*c.spec.head);
  if (c.spec.observability && c.spec.observability->enabled.value_or(false))
    out.push_back(&c.spec.observability->node);
  if (c.spec.worker_pools)
    for (const auto& p : *c.spec.worker_pools) out.push_back(&p.node);
  return out;
}

}  // namespace

net::awaitable<void> observe_sources(kube::Api& kube, Observed& observed) {
  std::set<std::string> wanted_maps;
  std::vector<api::ConfigMapKeySelector> selectors;
  for (const auto* node : node_specs(observed.cluster)) {
    for (const auto* src : {&node->user_data_from, &node->start_script_from}) {
      if (*src && (*src)->config_map_key_ref) selectors.push_back(*(*src)->config_map_key_ref);
    }
  }
  if (selectors.empty()) co_return;
  const std::string ns = observed.cluster.metadata.namespace_name.value_or("default");
  std::map<std::string, std::optional<nlohmann::json>> maps;  // name -> object (nullopt: 404)
  for (const auto& sel : selectors) {
    if (!maps.count(sel.name)) {
      const std::string no_subresource;  // named: GCC 12 mishandles class prvalues passed into coroutines
      auto got = co_await kube.get(kube::resources::kConfigMaps, ns, sel.name, no_subresource);
      if (!got) {
        if (!got.error().is(kube::ApiError::Kind::kNotFound)) {
          observed.observe_error = classify(got.error());
          co_return;
        }
        maps[sel.name] = std::nullopt;
      } else {
        maps[sel.name] = std::move(*got);
      }
    }
    const auto& cm = maps[sel.name];
    if (!cm) continue;
    if (auto d = cm->find("data");
        d != cm->end() && d->is_object() && d->contains(sel.key) && (*d)[sel.key].is_string()) {
      observed.sources[source_key(sel)] = (*d)[sel.key].get<std::string>();
    } else if (auto b = cm->find("binaryData");
               b != cm->end() && b->is_object() && b->contains(sel.key) && (*b)[sel.key].is_string()) {
      if (auto bytes = base64_decode((*b)[sel.key].get<std::string>()))
        observed.sources[source_key(sel)] = *bytes;
    }
  }
}

namespace {

// What this process knows of each cluster's pools (key: "<yd namespace>/<names base>"), so observe lists
// a YellowDog namespace once per cluster and process instead of on every reconcile. A pool plan creates
// is found by name on the next observe; TERMINATED ones are final and kept as they were last seen. Shared
// by every reconciler of the process (there is one); the mutex only guards against tests on threads.
struct KnownPool {
  std::string id;
  // The pool (and its CR) as last read, compact; reused without a call when `terminated` (final: never
  // fetched again) or `settled`. Settled: RUNNING with every node its CR asks for, at `settled_generation`
  // with the WR's finished-task signature `settled_signature`; reused while both are unchanged and the
  // cluster is neither deleting nor suspended (and the reconciler is not resyncing): a pool shut down or
  // losing nodes from outside ends tasks (the signature moves); a node count drifting without any task
  // ending is seen at the next resync.
  std::optional<PoolRecord> last;
  bool terminated = false;
  bool settled = false;
  std::int64_t settled_generation = -1;
  std::size_t settled_signature = 0;  // hash of finished_signature()
  // The pool's CR as last read (or provisioned) and the cluster generation then. For a live pool plan
  // reads only its targetInstanceCount (resize), which moves only when the spec does or when we resize
  // (act's ResizePool forgets it): reused while the generation is unchanged.
  std::optional<PoolRecord::Cr> cr;
  std::int64_t cr_generation = -1;

  static KnownPool of(std::string id) {
    KnownPool kp;
    kp.id = std::move(id);
    return kp;
  }
};
using KnownPools = std::map<std::string, KnownPool>;  // by pool name

// A cluster's known pools as the index keeps them: packed (util/bytes.hpp) and gzipped, ~0.5 KB instead
// of ~2 KB of map nodes, records and id strings per cluster (heaptrack at N=1000: the largest per-cluster
// cost after the snapshots were packed). Each observe that lists or reads pools unpacks and repacks them.
struct PackedPools {
  Gzipped packed;

  static PackedPools of(const KnownPools& pools) {
    ByteWriter w;
    w.u64(pools.size());
    for (const auto& [name, kp] : pools) {
      w.str(name);
      w.str(kp.id);
      w.flag(kp.last.has_value());
      if (kp.last) write_pool(w, *kp.last);
      w.flag(kp.terminated);
      w.flag(kp.settled);
      w.i64(kp.settled_generation);
      w.u64(kp.settled_signature);
      write_cr(w, kp.cr);
      w.i64(kp.cr_generation);
    }
    return PackedPools{Gzipped::of(w.take())};
  }

  // nullopt when the bytes do not read back (never expected): the cluster's pools are listed afresh.
  std::optional<KnownPools> unpack() const {
    const auto bytes = packed.inflate();
    if (!bytes) return std::nullopt;
    ByteReader r(*bytes);
    KnownPools pools;
    for (std::size_t n = r.count(); n > 0 && r.ok(); --n) {
      const std::string name = r.str();
      KnownPool kp = KnownPool::of(r.str());
      if (r.flag()) kp.last = read_pool(r);
      kp.terminated = r.flag();
      kp.settled = r.flag();
      kp.settled_generation = r.i64();
      kp.settled_signature = static_cast<std::size_t>(r.u64());
      kp.cr = read_cr(r);
      kp.cr_generation = r.i64();
      pools.emplace(name, std::move(kp));
    }
    if (!r.at_end()) return std::nullopt;
    return pools;
  }
};

class PoolIndex {
 public:
  static PoolIndex& instance() {
    static PoolIndex index;
    return index;
  }
  std::optional<KnownPools> get(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    auto pools = it->second.unpack();
    if (!pools) map_.erase(it);
    return pools;
  }
  void forget_compute_requirement(const std::string& key, const std::string& pool_id) {
    update(key, [&](KnownPools& pools) {
      for (auto& [name, kp] : pools) {
        if (kp.id != pool_id) continue;
        kp.cr.reset();
        kp.settled = false;  // settled against the old target: read again
      }
    });
  }
  // Adds one pool to a cluster whose pools are already known (an unknown cluster is listed first).
  void add_if_known(const std::string& key, const std::string& name, KnownPool pool) {
    update(key, [&](KnownPools& pools) { pools.emplace(name, std::move(pool)); });
  }
  void put(const std::string& key, const KnownPools& pools) {
    PackedPools packed = PackedPools::of(pools);
    std::lock_guard lock(mu_);
    // Bounded: clusters deleted long ago are forgotten wholesale (the next observe lists again).
    if (map_.size() >= kMaxClusters && !map_.count(key)) map_.clear();
    map_[key] = std::move(packed);
  }

 private:
  template <class Edit>
  void update(const std::string& key, Edit edit) {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return;
    auto pools = it->second.unpack();
    if (!pools) {
      map_.erase(it);
      return;
    }
    edit(*pools);
    it->second = PackedPools::of(*pools);
  }

  static constexpr std::size_t kMaxClusters = 100000;
  std::mutex mu_;
  std::unordered_map<std::string, PackedPools> map_;
};

struct Observer {
  yd::YellowDogApi& yd;
  Observed& o;
  bool reuse_settled;
  std::size_t signature = 0;  // hash of finished_signature() of the WR this observe read
  ObserveStats stats;
  std::string yd_ns;

  template <class T>
  bool fail(const yd::YdResult<T>& r) {
    if (r) return false;
    auto err = classify(r.error());
    if (err.kind == ErrorKind::kNotAuthorised) {
      o.credentials.state = CredentialsState::kNotAuthorised;
      o.credentials.message = "YellowDog rejected the credentials: " + r.error().what();
    }
    o.observe_error = std::move(err);
    return true;
  }

  net::awaitable<bool> work_requirement(const std::string& name) {
    ++stats.yellowdog_calls;
    auto wr = co_await yd.get_work_requirement_by_name(yd_ns, name);
    if (!wr) {
      if (wr.error().kind == yd::YdErrorKind::kNotFound) co_return true;
      fail(wr);
      co_return false;
    }
    o.work_requirement = std::move(*wr);
    co_return true;
  }

  net::awaitable<bool> tasks() {
    if (!o.work_requirement || !o.work_requirement->id) co_return true;
    // One search for the whole WR (every group), split by taskGroupId: a search per group cost a call per
    // node kind on every full observe. No shortcut on taskSummary.taskCount == 0: a summary lagging behind
    // an add would plan the add again (a duplicate). The search is the truth.
    std::map<std::string, const std::string*> group_of;  // task group id -> name
    for (const auto& g : o.work_requirement->task_groups)
      if (g.id) {
        group_of[*g.id] = &g.name;
        o.tasks[g.name];  // a group with no task is known to be empty
      }
    if (group_of.empty()) co_return true;
    yd::TaskSearch s;
    s.work_requirement_id = o.work_requirement->id;
    ++stats.yellowdog_calls;
    auto found = co_await yd.search_tasks(s);
    if (fail(found)) co_return false;
    for (auto& t : *found) {
      if (!t.task_group_id) continue;
      auto g = group_of.find(*t.task_group_id);
      if (g != group_of.end()) o.tasks[*g->second].push_back(std::move(t));
    }
    co_return true;
  }

  // One pool: full object by id (or by name), its CR; appended to o.pools. False on an error (set).
  // `gone` when the pool no longer exists.
  net::awaitable<bool> fetch_pool(yd::YdResult<yd::WorkerPool> pool, bool& gone,
                                  const KnownPool* known = nullptr) {
    gone = false;
    if (!pool) {
      if (pool.error().kind == yd::YdErrorKind::kNotFound) {
        gone = true;
        co_return true;
      }
      fail(pool);
      co_return false;
    }
    ObservedPool op;
    op.pool = std::move(*pool);
    const bool reuse_cr = reuse_settled && known && known->cr && known->cr_generation == generation() &&
                          known->cr->id == op.pool.compute_requirement_id.value_or("") &&
                          !yd::is_finished(op.pool.status) && !o.cluster.metadata.deletion_timestamp;
    if (reuse_cr) {
      op.compute_requirement = known->cr->observed();
    } else if (op.pool.compute_requirement_id && op.pool.status != "TERMINATED") {
      ++stats.yellowdog_calls;
      auto cr = co_await yd.get_compute_requirement(*op.pool.compute_requirement_id);
      if (cr) {
        op.compute_requirement = std::move(*cr);
      } else if (cr.error().kind != yd::YdErrorKind::kNotFound) {
        fail(cr);
        co_return false;
      }
    }
    o.pools.push_back(std::move(op));
    co_return true;
  }

  std::int64_t generation() const { return o.cluster.metadata.generation.value_or(0); }

  // What to remember of a pool just observed.
  KnownPool known_of(const ObservedPool& op) const {
    KnownPool kp = KnownPool::of(op.pool.id);
    kp.last = PoolRecord::of(op);
    kp.terminated = op.pool.status == "TERMINATED";
    kp.cr = kp.last->cr;
    if (kp.cr) kp.cr_generation = generation();
    if (settled(op)) {
      kp.settled = true;
      kp.settled_generation = generation();
      kp.settled_signature = signature;
    }
    return kp;
  }

  // RUNNING with as many RUNNING nodes as its CR asks for (nothing left to watch it for).
  static bool settled(const ObservedPool& op) {
    if (op.pool.status != "RUNNING" || !op.pool.node_summary || !op.compute_requirement ||
        !op.compute_requirement->target_instance_count)
      return false;
    return op.pool.node_summary->count("RUNNING") >= *op.compute_requirement->target_instance_count;
  }

  bool can_reuse(const KnownPool& kp) const {
    return reuse_settled && kp.settled && kp.last && kp.cr && kp.settled_generation == generation() &&
           kp.settled_signature == signature && !o.cluster.metadata.deletion_timestamp &&
           !o.cluster.spec.suspend.value_or(false);
  }

  static ObservedPool from_summary(const yd::WorkerPoolSummary& summary) {
    ObservedPool op;
    op.pool.type = summary.type.value_or(std::string(yd::kProvisionedWorkerPoolType));
    op.pool.id = summary.id;
    op.pool.name = summary.name;
    op.pool.namespace_ = summary.namespace_;
    op.pool.status = summary.status;
    op.pool.created_time = summary.created_time;
    return op;
  }

  // Every pool of the cluster (name starts with `base-`), without listing the whole YellowDog namespace
  // each time (a shared namespace with N clusters made each observe O(N) slices, the fleet O(N^2)):
  // - no finalizer and no WR: nothing was ever created (the finalizer precedes the first create), no call;
  // - first observation in this process: one listing of the namespace, remembered in the PoolIndex;
  // - afterwards: the remembered pools by id, plus a lookup by name of every pool plan may have created
  //   since (attempt 1 of each desired revision, attempt n+1 of a revision whose latest attempt finished).
  net::awaitable<bool> pools(const ClusterNames& names) {
    const std::string prefix = names.base + "-";
    const std::string index_key = yd_ns + "/" + names.base;
    auto known = PoolIndex::instance().get(index_key);
    if (!known && !o.work_requirement && !has_our_finalizer()) {
      PoolIndex::instance().put(index_key, {});
      co_return true;
    }
    if (!known) {
      yd::WorkerPoolSearch s;
      s.namespace_ = yd_ns;
      ++stats.yellowdog_calls;
      auto found = co_await yd.search_worker_pools(s);
      if (fail(found)) co_return false;
      KnownPools fresh;
      for (const auto& summary : *found) {
        if (!summary.name || summary.name->rfind(prefix, 0) != 0) continue;
        if (summary.status == "TERMINATED") {
          // Finished for good (its CR is terminated): the summary is all plan and status need.
          auto op = from_summary(summary);
          fresh[*summary.name] = known_of(op);
          o.pools.push_back(std::move(op));
          continue;
        }
        ++stats.yellowdog_calls;
        auto pool = co_await yd.get_worker_pool(summary.id);
        bool gone = false;
        if (!co_await fetch_pool(std::move(pool), gone)) co_return false;
        if (!gone) fresh[*summary.name] = known_of(o.pools.back());
      }
      PoolIndex::instance().put(index_key, std::move(fresh));
      co_return true;
    }
    KnownPools next;
    for (const auto& [name, kp] : *known) {
      if (can_reuse(kp) || (kp.terminated && kp.last)) {
        o.pools.push_back(kp.last->observed());
        next[name] = kp;
        continue;
      }
      ++stats.yellowdog_calls;
      auto pool = co_await yd.get_worker_pool(kp.id);
      bool gone = false;
      if (!co_await fetch_pool(std::move(pool), gone, &kp)) co_return false;
      if (!gone) next[name] = known_of(o.pools.back());
    }
    for (const auto& candidate : candidates(names, next)) {
      ++stats.yellowdog_calls;
      auto pool = co_await yd.get_worker_pool_by_name(yd_ns, candidate);
      bool gone = false;
      if (!co_await fetch_pool(std::move(pool), gone)) co_return false;
      if (gone) continue;
      const auto& got = o.pools.back().pool;
      if (!got.name || got.name->rfind(prefix, 0) != 0) {  // not ours (a server ignoring the name)
        o.pools.pop_back();
        continue;
      }
      next[*got.name] = known_of(o.pools.back());
    }
    PoolIndex::instance().put(index_key, std::move(next));
    co_return true;
  }

  bool has_our_finalizer() const {
    const auto& f = o.cluster.metadata.finalizers;
    return f && std::find(f->begin(), f->end(), kFinalizer) != f->end();
  }

  // Pool names plan may have provisioned that `known` does not hold yet: per desired revision R (head,
  // observability when enabled, worker pools with nodes > 0), attempt 1 when no attempt of R is known,
  // attempt n+1 when the latest known attempt n is SHUTDOWN/TERMINATED.
  std::vector<std::string> candidates(const ClusterNames& names, const KnownPools& known) const {
    std::vector<const RoleNames*> roles{&names.head};
    if (names.observability) roles.push_back(&*names.observability);
    const auto& pools = o.cluster.spec.worker_pools;
    for (const auto& w : names.workers) {
      bool wanted = false;
      if (pools)
        for (const auto& p : *pools)
          if (p.name == w.pool) wanted = desired_nodes(o, p) > 0 || may_autoscale(o.cluster.spec, p);
      if (wanted) roles.push_back(&w);
    }
    std::vector<std::string> out;
    for (const auto* r : roles) {
      int latest = 0;
      bool latest_finished = false;
      for (const auto& [name, kp] : known) {
        auto n = pool_attempt(r->revision, name);
        if (!n || *n < latest) continue;
        latest = *n;
        latest_finished = kp.terminated || finished_now(kp.id);
      }
      if (latest == 0)
        out.push_back(pool_attempt_name(r->revision, 1));
      else if (latest_finished)
        out.push_back(pool_attempt_name(r->revision, latest + 1));
    }
    return out;
  }

  bool finished_now(const std::string& id) const {
    for (const auto& p : o.pools)
      if (p.pool.id == id) return yd::is_finished(p.pool.status);
    return false;
  }

  // The executing task of a role: in the group named `group_name` preferably, else any group tagged with
  // the role key (an older revision's group that still runs it).
  const yd::Task* executing_task(const std::string& group_name, const std::string& key, TaskKind kind) {
    auto in_group = [&](const std::string& name) -> const yd::Task* {
      auto it = o.tasks.find(name);
      if (it == o.tasks.end()) return nullptr;
      const yd::Task* t = current_task(it->second, kind);
      return t && is_executing(*t) ? t : nullptr;
    };
    if (const auto* t = in_group(group_name)) return t;
    if (!o.work_requirement) return nullptr;
    for (const auto& g : o.work_requirement->task_groups)
      if (g.tag && *g.tag == key && g.name != group_name)
        if (const auto* t = in_group(g.name)) return t;
    return nullptr;
  }

  net::awaitable<std::optional<NodeAddress>> address(const yd::Task& task) {
    NodeAddress a;
    a.task_id = task.id.value_or("");
    a.worker_id = task.worker_id;
    if (!task.worker_id) co_return a;
    ++stats.yellowdog_calls;
    auto node = co_await yd.get_node_of_worker(*task.worker_id);
    if (!node) {
      if (node.error().kind == yd::YdErrorKind::kNotFound) co_return a;
      fail(node);
      co_return std::nullopt;
    }
    a.node_id = node->id;
    a.worker_pool_id = node->worker_pool_id;
    a.private_ip = node->details.private_ip_address;
    a.node_status = node->status;
    // Public IP: pool -> CR -> instances, matching the node's instance id (§4.9).
    const ObservedPool* pool = nullptr;
    for (const auto& p : o.pools)
      if (node->worker_pool_id && p.pool.id == *node->worker_pool_id) pool = &p;
    if (pool && pool->pool.compute_requirement_id && node->details.instance_id) {
      yd::InstanceSearch s;
      s.compute_requirement_id = pool->pool.compute_requirement_id;
      ++stats.yellowdog_calls;
      auto instances = co_await yd.search_instances(s);
      if (fail(instances)) co_return std::nullopt;
      for (const auto& inst : *instances)
        if (inst.id.instance_id == *node->details.instance_id) a.public_ip = inst.public_ip_address;
    }
    co_return a;
  }
};

}  // namespace

namespace {

std::string pool_index_key(const Observed& observed) {
  const auto& c = observed.cluster;
  const std::string yd_ns = c.spec.yellowdog ? c.spec.yellowdog->namespace_name.value_or("") : std::string();
  return yd_ns + "/" + names_for(c, observed.incarnation).base;
}

}  // namespace

void forget_compute_requirement(const Observed& observed, const std::string& pool_id) {
  PoolIndex::instance().forget_compute_requirement(pool_index_key(observed), pool_id);
}

void remember_pool(const Observed& observed, const yd::WorkerPool& pool,
                   std::optional<std::int64_t> target_instance_count) {
  if (!pool.name || pool.id.empty()) return;
  KnownPool kp = KnownPool::of(pool.id);
  // Our own create says what the CR's target is: no read needed to compare it with the spec.
  if (pool.compute_requirement_id && target_instance_count) {
    kp.cr = PoolRecord::Cr{*pool.compute_requirement_id, std::string(), *target_instance_count};
    kp.cr_generation = observed.cluster.metadata.generation.value_or(0);
  }
  PoolIndex::instance().add_if_known(pool_index_key(observed), *pool.name, std::move(kp));
}

namespace {

// The remembered address of `task`'s node, when it is still the node `task` runs on.
std::optional<NodeAddress> reusable(const std::optional<NodeAddress>& known, const yd::Task& task) {
  if (!known || !known->private_ip || !task.id || known->task_id != *task.id || !task.worker_id ||
      known->worker_id != task.worker_id)
    return std::nullopt;
  return known;
}

}  // namespace

net::awaitable<ObserveStats> observe_yellowdog(yd::YellowDogApi& yd, Observed& observed,
                                               const ObserveHints& hints) {
  const Snapshot* snapshot = hints.snapshot;
  const KnownAddresses* addresses = hints.addresses;
  Observer ob{yd,
              observed,
              hints.reuse_settled_pools,
              {},
              {},
              observed.cluster.spec.yellowdog ? observed.cluster.spec.yellowdog->namespace_name.value_or("")
                                              : std::string()};
  const ClusterNames names = names_for(observed.cluster, observed.incarnation, &observed.sources);
  // The snapshot is this observation when it is of the same generation and incarnation (its node addresses
  // are the reconciler's KnownAddresses) and either a ChangeFeed vouched that nothing changed since it was
  // read (then nothing is read at all: the snapshot holds the work requirement) or the work requirement,
  // read now, still has its fingerprint.
  const bool same_cluster = snapshot && addresses && snapshot->incarnation == observed.incarnation &&
                            snapshot->generation == observed.cluster.metadata.generation.value_or(0);
  const bool vouched = same_cluster && hints.vouched && snapshot->work_requirement;
  if (vouched)
    observed.work_requirement = snapshot->work_requirement;
  else if (!co_await ob.work_requirement(names.work_requirement))
    co_return ob.stats;
  if (same_cluster && observed.work_requirement &&
      (vouched || snapshot->fingerprint == std::hash<std::string>{}(fingerprint(*observed.work_requirement)))) {
    restore(*snapshot, observed);
    observed.head = addresses->head;
    observed.observability = addresses->observability;
    ob.stats.from_snapshot = true;
    ob.stats.vouched = vouched;
    co_return ob.stats;
  }

  if (observed.work_requirement)
    ob.signature = std::hash<std::string>{}(finished_signature(*observed.work_requirement));
  if (!co_await ob.tasks()) co_return ob.stats;
  if (!co_await ob.pools(names)) co_return ob.stats;

  // A head/observability task still on the worker it was resolved on keeps its address: IPs are only
  // looked up when the task (or its worker) changed. The reconciler passes none on a resync, so a node's
  // status is still re-read every --resync-period.
  if (const auto* t = ob.executing_task(names.head.task_group, names.head.key, TaskKind::kHead)) {
    auto a = addresses ? reusable(addresses->head, *t) : std::nullopt;
    if (!a) a = co_await ob.address(*t);
    if (!a) co_return ob.stats;
    observed.head = std::move(a);
  }
  if (names.observability) {
    if (const auto* t = ob.executing_task(names.observability->task_group, names.observability->key,
                                          TaskKind::kObservability)) {
      auto a = addresses ? reusable(addresses->observability, *t) : std::nullopt;
      if (!a) a = co_await ob.address(*t);
      if (!a) co_return ob.stats;
      observed.observability = std::move(a);
    }
  }
  co_return ob.stats;
}

}  // namespace raydog::reconcile
