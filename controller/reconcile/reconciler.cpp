#include "controller/reconcile/reconciler.hpp"

#include <algorithm>

#include <cstdio>

#include "api/defaults.hpp"
#include "api/json.hpp"
#include "api/validation.hpp"
#include "controller/reconcile/desired.hpp"
#include "controller/reconcile/plan.hpp"
#include "controller/reconcile/spec_errors.hpp"
#include "controller/reconcile/status.hpp"

namespace raydog::reconcile {

using nlohmann::json;

Reconciler::Reconciler(kube::Api& kube, Lookup lookup, ClientCache& clients, EventSink* events,
                       ReconcilerOptions options, Extensions extensions)
    : kube_(kube),
      lookup_(std::move(lookup)),
      clients_(clients),
      events_(events),
      options_(std::move(options)),
      credentials_(options_.credentials_cache_ttl),
      extensions_(std::move(extensions)) {}

Millis jittered(Millis d, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(1.0, 1.1);
  return Millis(static_cast<std::int64_t>(static_cast<double>(d.count()) * u(rng)));
}

namespace {

std::string serial_id(std::uint64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(n));
  return buf;
}

CredentialsObservation observation_of(const CredentialsError& e) {
  using K = CredentialsError::Kind;
  switch (e.kind) {
    case K::kNoSecretRef:
    case K::kSecretNotFound:
      return {CredentialsState::kSecretNotFound, e.message};
    case K::kKeyMissing:
    case K::kKeyInvalid:
      return {CredentialsState::kKeyNotFound, e.message};
    default:
      return {CredentialsState::kUnknown, e.message};
  }
}

bool only_requeue(const Actions& actions) {
  for (const auto& a : actions)
    if (!std::holds_alternative<RequeueAfter>(a)) return false;
  return true;
}

}  // namespace

// One reconcile in progress: what the steps hand each other. Extensions see it through `scope`.
struct Reconciler::Cycle {
  Cycle(const std::string& k, log::Logger l)
      : key(k), log(std::move(l)), scope{key, observed.cluster, false, {}, log, nullptr, report} {}
  Cycle(const Cycle&) = delete;
  Cycle& operator=(const Cycle&) = delete;

  // An extension taking part in this reconcile (begin() gave a pass).
  struct Pass {
    Extension* extension;
    std::unique_ptr<ExtensionPass> pass;
    std::optional<Millis> side_work_due;  // asked once: the answer may consume the extension's pacing
  };

  const std::string& key;  // reconcile()'s parameter: lives as long as the cycle
  log::Logger log;
  // observed.cluster is THE cluster of this reconcile: decoded, defaulted, its status the previous status.
  Observed observed;
  ExtensionReport report;
  ReconcileScope scope;
  bool deleting = false;
  bool orphan = false;  // deletionPolicy Orphan
  std::string credentials_version;  // resourceVersion of the Secret whose keys this reconcile uses
  std::string account;              // API URL + key id: the ChangeFeed's account
  TimePoint read_at{};              // when what observe returned was read (a vouched snapshot's time)
  bool vouched = false;             // observe read nothing: a ChangeFeed vouched for the snapshot
  std::optional<Snapshot> snapshot;  // the remembered one, unpacked for this observe
  bool rotated = false;             // YellowDog refused them and the Secret has changed since: retry at once
  std::shared_ptr<yellowdog::YellowDogApi> yd;
  std::vector<Pass> passes;  // stays empty (no allocation) when no extension takes part
  Actions actions;
  ActResult acted;
  ReconcileResult result;

  const api::RayDogCluster& cluster() const { return observed.cluster; }
  // YellowDog was read in this reconcile: the extensions' observe and adjust_actions hooks may run.
  bool observed_yellowdog() const { return yd && !observed.observe_error; }
  ExtensionPass* pass_of(const Extension* e) const {
    for (const auto& p : passes)
      if (p.extension == e) return p.pass.get();
    return nullptr;
  }
};

// The reconcile list (KubeRay's shape): each step reads what the earlier ones left in the Cycle. A step
// that decides the outcome on its own (side work, a failed status write) ends the list early.
net::awaitable<ReconcileResult> Reconciler::reconcile(std::string key) {
  auto object = lookup_(key);
  if (!object) {
    // Deleted: nothing to do (the finalizer made sure YellowDog was cleaned first).
    forget(key);
    co_return ReconcileResult{};
  }
  Cycle c(key, log::root().with({{"controller", "raydogcluster"},
                                 {"object", key},
                                 {"reconcileID", serial_id(++reconcile_serial_)}}));
  decode(c, *object);
  validate(c);
  begin_extensions(c);
  if (co_await side_work(c)) co_return std::move(c.result);
  co_await read_credentials(c);
  co_await observe(c);
  plan_actions(c);
  co_await adjust_actions(c);
  co_await act_on(c);
  apply_learned(c);
  remember_snapshot(c);
  if (!co_await write_status_step(c)) co_return std::move(c.result);
  decide_requeue(c);
  co_return std::move(c.result);
}

void Reconciler::forget(const std::string& key) {
  if (options_.changes) options_.changes->unfollow(key);
  snapshots_.erase(key);
  addresses_.erase(key);
  resynced_.erase(key);
  validated_.erase(key);
  for (Extension* e : extensions_) e->forget(key);
}

void Reconciler::decode(Cycle& c, const json& object) {
  Observed& o = c.observed;
  o.cluster = api::decode_cluster(object, o.decode_errors);
  api::apply_defaults(o.cluster);
  o.options = options_.plan;
  o.incarnation = incarnation_from_status(o.cluster);
  c.scope.now = now();
  c.deleting = o.cluster.metadata.deletion_timestamp.has_value();
  c.orphan =
      o.cluster.spec.deletion_policy.value_or(api::DeletionPolicy::kDelete) == api::DeletionPolicy::kOrphan;
  if (!o.decode_errors.empty())
    c.log.warn("resource does not decode", {{"errors", api::to_string(o.decode_errors)}});
}

// The spec is validated here, once per reconcile. An invalid spec never reaches YellowDog (design §5):
// plan reports it, we make no call. Decode errors count as spec errors (status reports them with their
// paths): spec_errors() says which. Recorded in Observed, so plan and status read the same answer.
void Reconciler::validate(Cycle& c) {
  Observed& o = c.observed;
  const auto& meta = o.cluster.metadata;
  if (!meta.uid || !meta.generation) {  // not from an API server (tests): nothing to key a memo by
    c.scope.valid = record_spec_errors(o).empty();
    return;
  }
  auto it = validated_.find(c.key);
  if (it == validated_.end() || it->second.uid != *meta.uid || it->second.generation != *meta.generation) {
    ValidatedSpec v{*meta.uid, *meta.generation, compute_spec_errors(o)};
    it = validated_.insert_or_assign(c.key, std::move(v)).first;
  }
  o.spec_errors = it->second.errors;
  c.scope.valid = o.spec_errors->empty();
}

void Reconciler::begin_extensions(Cycle& c) {
  for (Extension* e : extensions_)
    if (auto pass = e->begin(c.scope)) c.passes.push_back({e, std::move(pass), std::nullopt});
}

// Paced side work (extension.hpp, e): when an extension asks for it, this reconcile is that work only (no
// credentials, no YellowDog call, no plan); the status is written when it changed. True: done.
net::awaitable<bool> Reconciler::side_work(Cycle& c) {
  std::optional<Millis> next;
  for (auto& p : c.passes) {
    p.side_work_due = p.pass->side_work_due(c.scope);
    if (p.side_work_due) next = next ? std::min(*next, *p.side_work_due) : *p.side_work_due;
  }
  if (!next) co_return false;
  c.result.next = ReconcileResult::Next::kRequeueAfter;
  c.result.after = *next;
  api::RayDogClusterStatus status = c.cluster().status.value_or(api::RayDogClusterStatus{});
  for (auto& p : c.passes)
    if (p.side_work_due) co_await p.pass->side_work(c.scope, status);
  report_extensions(c);
  if (!status_changed(c.cluster().status, status)) co_return true;
  if (auto err = co_await write_status(c.cluster(), c.cluster().status, status)) {
    if (err->kind == ErrorKind::kConflict) {
      c.result.after = options_.conflict_requeue;
    } else if (err->kind != ErrorKind::kNotFound) {
      c.result.error = err;
      c.result.next = ReconcileResult::Next::kRateLimited;
    }
  } else {
    c.result.status_written = true;
    c.result.acted = true;
  }
  co_return true;
}

// The YellowDog client for the Secret the spec names (not for an invalid spec, nor an Orphan deletion:
// neither makes a YellowDog call).
net::awaitable<void> Reconciler::read_credentials(Cycle& c) {
  if (!c.scope.valid || (c.deleting && c.orphan)) co_return;
  Observed& o = c.observed;
  const auto& yd_spec = o.cluster.spec.yellowdog;
  const std::string api_url =
      yd_spec && yd_spec->api_url ? *yd_spec->api_url : std::string(api::kDefaultApiUrl);
  if (auto why = options_.allowed_api_urls.refusal(api_url)) {
    o.api_url_refusal = std::move(*why);  // before the Secret: its values must not even be loaded
    co_return;
  }
  auto ref = secret_ref_of(o.cluster);
  if (!ref) {
    o.credentials = {CredentialsState::kSecretNotFound, "spec.yellowdog.credentialsSecretRef is not set"};
    co_return;
  }
  auto creds = co_await credentials_.read(kube_, *ref, c.scope.now);
  if (creds) {
    o.credentials.state = CredentialsState::kOk;
    c.credentials_version = creds->resource_version;
    c.account = api_url + " " + creds->key_id;
    c.yd = clients_.get(api_url, *creds);
    c.scope.yd = c.yd.get();
  } else if (creds.error().kind == CredentialsError::Kind::kTransient ||
             creds.error().kind == CredentialsError::Kind::kForbidden) {
    o.observe_error = Error{creds.error().kind == CredentialsError::Kind::kTransient ? ErrorKind::kTransient
                                                                                     : ErrorKind::kUnknown,
                            creds.error().message};
  } else {
    o.credentials = observation_of(creds.error());
  }
}

// ConfigMap sources, then YellowDog by deterministic names (reusing what cannot have changed unseen),
// then what the extensions observe; reads an extension can start without YellowDog's answer run meanwhile.
net::awaitable<void> Reconciler::observe(Cycle& c) {
  Observed& o = c.observed;
  if (!c.yd || o.observe_error) co_return;
  for (auto& p : c.passes) co_await p.pass->start_reads(c.scope);
  co_await observe_sources(kube_, o);
  if (o.observe_error) co_return;
  // Resync: the first observe of a key in this process, then at least every snapshot_max_age, reads
  // everything again; in between observe reuses what cannot have changed unseen.
  const TimePoint now = c.scope.now;
  auto last_resync = resynced_.find(c.key);
  const bool resync =
      last_resync == resynced_.end() || now - last_resync->second >= options_.snapshot_max_age;
  ObserveHints hints;
  if (resync) {
    snapshots_.erase(c.key);
    addresses_.erase(c.key);
  } else {
    if (auto it = snapshots_.find(c.key); it != snapshots_.end()) {
      if (options_.steady_snapshots && !c.deleting) c.snapshot = it->second.unpack();
      if (c.snapshot) {
        hints.snapshot = &*c.snapshot;
        // Only a steady snapshot: the feed reports tasks that end and work requirements that change
        // status, not tasks that start, which a converging cluster waits for.
        hints.vouched = options_.changes && c.snapshot->work_requirement &&
                        options_.changes->unchanged_since(c.key, c.snapshot->read_at);
      } else {
        snapshots_.erase(it);
      }
    }
    if (auto it = addresses_.find(c.key); it != addresses_.end()) hints.addresses = &it->second;
    hints.reuse_settled_pools = options_.steady_snapshots;
  }
  auto stats = co_await observe_yellowdog(*c.yd, o, hints);
  c.result.yellowdog_calls += stats.yellowdog_calls;
  c.vouched = stats.vouched;
  c.read_at = stats.vouched ? hints.snapshot->read_at : now;
  if (!o.observe_error) {
    addresses_[c.key] = KnownAddresses{o.head, o.observability};
    if (resync) resynced_[c.key] = now;  // a failed resync is tried again on the next reconcile
    if (!stats.vouched) follow_changes(c);
  }
  // Rejected keys may have been rotated since we cached them: read the Secret again now, and when it has
  // changed, reconcile again at once with the new keys instead of after credentialsRetry.
  if (o.credentials.state == CredentialsState::kNotAuthorised)
    if (auto ref = secret_ref_of(o.cluster)) {
      credentials_.forget(*ref);
      auto fresh = co_await credentials_.read(kube_, *ref, now);
      c.rotated = fresh && fresh->resource_version != c.credentials_version;
      if (c.rotated) c.log.info("YellowDog refused the cached keys and the Secret has changed: retrying now");
    }
  if (!c.observed_yellowdog()) co_return;
  for (auto& p : c.passes) co_await p.pass->observe(c.scope, o);
}

// The ChangeFeed follows the objects this observe found (a cluster without a work requirement has nothing
// to follow).
void Reconciler::follow_changes(Cycle& c) {
  if (!options_.changes) return;
  const auto& wr = c.observed.work_requirement;
  if (!wr || !wr->id) {
    options_.changes->unfollow(c.key);
    return;
  }
  FollowedCluster f;
  f.account = c.account;
  f.client = c.yd;
  f.yellowdog_namespace = wr->namespace_;
  f.work_requirement_id = *wr->id;
  f.task_group_ids.reserve(wr->task_groups.size());
  for (const auto& g : wr->task_groups)
    if (g.id) f.task_group_ids.push_back(*g.id);
  options_.changes->follow(c.key, std::move(f));
}

void Reconciler::plan_actions(Cycle& c) {
  for (auto& p : c.passes) p.pass->adjust_desired(c.scope, c.observed);
  c.actions = plan(c.observed, c.scope.now);
}

// After plan, before act: extensions contribute or rewrite actions (DALiuGE: task env and userdata, and
// the DIM's membership, so NMs of removed pools and cancelled workers are deregistered before their tasks
// go). Their Events are emitted before act's.
net::awaitable<void> Reconciler::adjust_actions(Cycle& c) {
  if (c.observed_yellowdog())
    for (auto& p : c.passes) co_await p.pass->adjust_actions(c.scope, c.observed, c.actions);
  report_extensions(c);
}

net::awaitable<void> Reconciler::act_on(Cycle& c) {
  if (std::any_of(c.actions.begin(), c.actions.end(),
                  [](const Action& a) { return std::holds_alternative<RemoveFinalizer>(a); })) {
    for (auto& p : c.passes) co_await p.pass->finalize(c.scope);
    report_extensions(c);
  }
  ActContext ctx{kube_, c.yd.get(), events_, c.log, &c.observed.cluster, &c.observed};
  c.acted = co_await act(ctx, c.actions);
  c.result.yellowdog_calls += c.acted.yellowdog_calls;
  c.result.acted = !only_requeue(c.actions);
}

// What act learned, applied to what the next observe reuses: a pool act provisioned is read by id from
// now on (its CR target is the one asked for), a pool it resized (or tried to) has a stale CR target.
void Reconciler::apply_learned(Cycle& c) {
  for (const auto& p : c.acted.provisioned) remember_pool(c.observed, p.pool, p.target_instance_count);
  for (const auto& id : c.acted.resized_pools) forget_compute_requirement(c.observed, id);
}

// Remember a steady full observation (plan only waits): the next poll can be one GET.
void Reconciler::remember_snapshot(Cycle& c) {
  if (c.observed.observe_error || c.acted.outcome.error || !only_requeue(c.actions) || !c.yd ||
      c.acted.object_gone) {
    snapshots_.erase(c.key);
    return;
  }
  // The work requirement is kept (for a ChangeFeed to vouch for) only when nothing is expected to change
  // that the feed does not report: plan's requeue is the steady one, or the cluster only waits for tasks
  // to start (reported once report_starts is on; decide_requeue turns it on).
  const bool steady = options_.changes != nullptr && c.acted.requeue_after &&
                      (*c.acted.requeue_after >= options_.plan.requeue_steady || c.acted.until_tasks_start);
  if (c.vouched) {
    // Nothing was read: the snapshot stays as it was (its read time, its fingerprint of the full work
    // requirement), unless the cluster is no longer steady, when the next observe must read YellowDog.
    if (!steady)
      if (auto it = snapshots_.find(c.key); it != snapshots_.end()) it->second.drop_work_requirement();
    return;
  }
  snapshots_.insert_or_assign(c.key, PackedSnapshot(snapshot_of(c.observed, c.read_at, steady)));
}

api::RayDogClusterStatus Reconciler::status_of(Cycle& c) {
  auto status = compute_status(c.observed, c.acted.outcome, c.cluster().status, c.scope.now);
  std::vector<std::string_view> gates;
  for (Extension* e : extensions_) {
    if (ExtensionPass* pass = c.pass_of(e)) {
      pass->contribute_status(c.scope, c.observed, status);
      for (std::string_view g : pass->readiness_gates()) gates.push_back(g);
    } else {
      e->withdraw_status(status);
    }
  }
  if (!gates.empty()) apply_readiness_gates(status, gates, c.cluster().status, c.scope.now);
  return status;
}

// PATCH /status when it changed. False: the reconcile ends here (a conflict or a failed write decided
// the requeue).
net::awaitable<bool> Reconciler::write_status_step(Cycle& c) {
  if (c.acted.object_gone) co_return true;
  const api::RayDogClusterStatus status = status_of(c);
  if (!status_changed(c.cluster().status, status)) co_return true;
  auto err = co_await write_status(c.cluster(), c.cluster().status, status);
  if (!err) {
    c.result.status_written = true;
    c.result.acted = true;
    co_return true;
  }
  if (err->kind == ErrorKind::kConflict) {
    c.result.next = ReconcileResult::Next::kRequeueAfter;
    c.result.after = options_.conflict_requeue;
    co_return false;
  }
  if (err->kind == ErrorKind::kNotFound) co_return true;
  c.log.warn("status write failed", {{"error", err->message}});
  c.result.error = err;
  c.result.next = ReconcileResult::Next::kRateLimited;
  co_return false;
}

// What the work queue does next: an error's pacing, or plan's RequeueAfter (steady ones jittered, then
// shortened to what the extensions need).
void Reconciler::decide_requeue(Cycle& c) {
  ReconcileResult& r = c.result;
  const std::optional<Error>& err = c.acted.outcome.error ? c.acted.outcome.error : c.observed.observe_error;
  if (err) {
    r.error = err;
    switch (err->kind) {
      case ErrorKind::kConflict:
        r.next = ReconcileResult::Next::kRequeueAfter;
        r.after = options_.conflict_requeue;
        break;
      case ErrorKind::kNotFound:
        r.next = ReconcileResult::Next::kRequeueAfter;
        r.after = options_.plan.requeue_converging;
        break;
      case ErrorKind::kNotAuthorised:
      case ErrorKind::kInvalid:
        c.log.warn("reconcile failed", {{"error", err->message}});
        r.next = ReconcileResult::Next::kRequeueAfter;
        r.after = c.rotated ? options_.plan.requeue_converging : options_.plan.credentials_retry;
        break;
      default:
        c.log.info("reconcile failed, backing off", {{"error", err->message}});
        r.next = ReconcileResult::Next::kRateLimited;
        break;
    }
    return;
  }
  // A cluster waiting only for its tasks to start is woken by the ChangeFeed when one does (it searches
  // for starts while some cluster waits); it polls at the steady interval as the safety net. Without a
  // feed, or while its searches fail, it polls at plan's (converging) pace.
  const bool awaiting = c.acted.requeue_after && c.acted.until_tasks_start;
  const bool woken_on_start = options_.changes && options_.changes->report_starts(c.key, awaiting) && awaiting;
  if (c.acted.requeue_after) {
    r.next = ReconcileResult::Next::kRequeueAfter;
    const Millis planned = woken_on_start ? options_.plan.requeue_steady : *c.acted.requeue_after;
    const Millis after = planned >= options_.plan.requeue_steady ? jittered(planned, rng_) : planned;
    r.after = after;
    for (auto& p : c.passes) r.after = std::min(r.after, p.pass->pace(c.scope, after));
  }
  c.log.debug("reconciled", {{"actions", c.actions.size()}, {"yellowdogCalls", r.yellowdog_calls}});
}

void Reconciler::report_extensions(Cycle& c) {
  c.result.yellowdog_calls += c.report.yellowdog_calls;
  c.report.yellowdog_calls = 0;
  if (events_)
    for (const auto& e : c.report.events) events_->emit(c.cluster(), e.type, e.reason, e.message);
  c.report.events.clear();
}

net::awaitable<std::optional<Error>> Reconciler::write_status(
    const api::RayDogCluster& cluster, const std::optional<api::RayDogClusterStatus>& previous,
    const api::RayDogClusterStatus& status) {
  json before = previous ? json(*previous) : json::object();
  json after = status;
  const json patch = {{"status", merge_patch_between(before, after)}};
  const std::string subresource = "status";
  auto r = co_await patch_cluster(kube_, cluster, patch, subresource);
  if (!r) co_return classify(r.error());
  co_return std::nullopt;
}

}  // namespace raydog::reconcile
