#include "controller/reconcile/reconciler.hpp"

#include <cstdio>

#include "api/defaults.hpp"
#include "api/json.hpp"
#include "api/validation.hpp"
#include "controller/daliuge/cluster.hpp"
#include "controller/reconcile/desired.hpp"
#include "controller/reconcile/plan.hpp"
#include "controller/reconcile/status.hpp"

namespace raydog::reconcile {

using nlohmann::json;

json merge_patch_between(const json& from, const json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  json patch = json::object();
  for (auto it = from.begin(); it != from.end(); ++it)
    if (!to.contains(it.key())) patch[it.key()] = nullptr;
  for (auto it = to.begin(); it != to.end(); ++it) {
    auto old = from.find(it.key());
    if (old == from.end()) {
      patch[it.key()] = it.value();
    } else if (*old != it.value()) {
      patch[it.key()] =
          old->is_object() && it->is_object() ? merge_patch_between(*old, it.value()) : it.value();
    }
  }
  return patch;
}

Reconciler::Reconciler(kube::Api& kube, Lookup lookup, ClientCache& clients, EventSink* events,
                       ReconcilerOptions options)
    : kube_(kube),
      lookup_(std::move(lookup)),
      clients_(clients),
      events_(events),
      options_(std::move(options)),
      credentials_(options_.credentials_cache_ttl) {}

Millis jittered(Millis d, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(1.0, 1.1);
  return Millis(static_cast<std::int64_t>(static_cast<double>(d.count()) * u(rng)));
}

net::awaitable<std::optional<Error>> Reconciler::write_status(
    const api::RayDogCluster& cluster, const std::optional<api::RayDogClusterStatus>& previous,
    const api::RayDogClusterStatus& status) {
  json before = previous ? json(*previous) : json::object();
  json after = status;
  json patch = {{"status", merge_patch_between(before, after)}};
  // Named arguments: GCC 12 double-destroys class prvalues passed into a coroutine call.
  const kube::WriteOptions options;
  const std::string subresource = "status";
  auto r = co_await kube_.patch(kube::resources::kRayDogClusters,
                                cluster.metadata.namespace_name.value_or("default"), cluster.metadata.name,
                                kube::PatchType::kMerge, patch, subresource, options);
  if (!r) co_return classify(r.error());
  co_return std::nullopt;
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
      return {CredentialsState::SecretNotFound, e.message};
    case K::kKeyMissing:
    case K::kKeyInvalid:
      return {CredentialsState::KeyNotFound, e.message};
    default:
      return {CredentialsState::Unknown, e.message};
  }
}

bool only_requeue(const Actions& actions) {
  for (const auto& a : actions)
    if (!std::holds_alternative<RequeueAfter>(a)) return false;
  return true;
}

}  // namespace

net::awaitable<ReconcileResult> Reconciler::reconcile(std::string key) {
  ReconcileResult result;
  auto object = lookup_(key);
  if (!object) {
    snapshots_.erase(key);
    addresses_.erase(key);
    resynced_.erase(key);
    daliuge_.forget(key);
    co_return result;  // deleted: nothing to do (the finalizer made sure YellowDog was cleaned first)
  }
  const auto log = log::root().with(
      {{"controller", "raydogcluster"}, {"object", key}, {"reconcileID", serial_id(++reconcile_serial_)}});

  api::FieldErrors decode_errors;
  api::RayDogCluster cluster = api::decode_cluster(*object, decode_errors);
  api::apply_defaults(cluster);
  const TimePoint now = this->now();

  Observed observed;
  observed.cluster = cluster;
  observed.decode_errors = decode_errors;
  observed.options = options_.plan;
  observed.incarnation = incarnation_from_status(cluster);

  const bool deleting = cluster.metadata.deletion_timestamp.has_value();
  const bool orphan =
      cluster.spec.deletion_policy.value_or(api::DeletionPolicy::Delete) == api::DeletionPolicy::Orphan;
  // An invalid spec never reaches YellowDog (design §5): plan reports it, we make no call.
  // Decode errors count as spec errors (status reports them with their paths): spec_errors() says which.
  const bool valid = record_spec_errors(observed).empty();
  if (!decode_errors.empty())
    log.warn("resource does not decode", {{"errors", api::to_string(decode_errors)}});

  // DALiuGE: the DIM may restart at any time, so a steady cluster's membership is re-checked every 30 s
  // between full reconciles, without a YellowDog call (controller/daliuge/README.md).
  const bool dlg_on = valid && !deleting && daliuge::enabled(cluster);
  if (!dlg_on) daliuge_.forget(key);
  if (dlg_on) {
    if (auto next = daliuge_.due_dim_check(key, cluster.metadata.generation.value_or(0), now)) {
      const std::string k = key;
      co_return co_await dim_check(k, cluster, *next, now);
    }
  }

  std::shared_ptr<yellowdog::YellowDogApi> yd;
  if (valid && !(deleting && orphan)) {
    if (auto ref = secret_ref_of(cluster)) {
      auto creds = co_await credentials_.read(kube_, *ref, now);
      if (creds) {
        observed.credentials.state = CredentialsState::Ok;
        yd = clients_.get(cluster.spec.yellowdog->api_url.value_or(std::string(api::kDefaultApiUrl)), *creds);
      } else if (creds.error().kind == CredentialsError::Kind::kTransient ||
                 creds.error().kind == CredentialsError::Kind::kForbidden) {
        observed.observe_error =
            Error{creds.error().kind == CredentialsError::Kind::kTransient ? ErrorKind::Transient
                                                                           : ErrorKind::Unknown,
                  creds.error().message};
      } else {
        observed.credentials = observation_of(creds.error());
      }
    } else {
      observed.credentials = {CredentialsState::SecretNotFound,
                              "spec.yellowdog.credentialsSecretRef is not set"};
    }
  }

  if (yd && !observed.observe_error) {
    co_await observe_sources(kube_, observed);
    if (!observed.observe_error) {
      // Resync: the first observe of a key in this process, then at least every snapshot_max_age, reads
      // everything again; in between observe reuses what cannot have changed unseen.
      auto last_resync = resynced_.find(key);
      const bool resync =
          last_resync == resynced_.end() || now - last_resync->second >= options_.snapshot_max_age;
      ObserveHints hints;
      if (resync) {
        snapshots_.erase(key);
        addresses_.erase(key);
      } else {
        if (auto it = snapshots_.find(key); it != snapshots_.end()) {
          if (options_.steady_snapshots && !deleting)
            hints.snapshot = &it->second;
          else
            snapshots_.erase(it);
        }
        if (auto it = addresses_.find(key); it != addresses_.end()) hints.addresses = &it->second;
        hints.reuse_settled_pools = options_.steady_snapshots;
      }
      auto stats = co_await observe_yellowdog(*yd, observed, hints);
      result.yellowdog_calls += stats.yellowdog_calls;
      if (!observed.observe_error) {
        addresses_[key] = KnownAddresses{observed.head, observed.observability};
        if (resync) resynced_[key] = now;  // a failed resync is tried again on the next reconcile
      }
      // Rejected keys may have been rotated since we cached them: read the Secret again next time.
      if (observed.credentials.state == CredentialsState::NotAuthorised)
        if (auto ref = secret_ref_of(cluster)) credentials_.forget(*ref);
    }
  }

  Actions actions = plan(observed, now);
  // DALiuGE: task env and userdata, then the DIM's membership BEFORE act, so NMs of removed pools and
  // cancelled workers are deregistered before their tasks go.
  std::optional<daliuge::SyncResult> dlg;
  if (dlg_on && yd && !observed.observe_error) {
    daliuge::decorate(actions, cluster);
    daliuge::Collected collected = daliuge::collect(observed, actions);
    const std::string k = key;
    dlg = co_await daliuge_.sync(k, std::move(collected), yd.get(), now);
    result.yellowdog_calls += dlg->yellowdog_calls;
    if (events_)
      for (const auto& e : dlg->events) events_->emit(cluster, e.type, e.reason, e.message);
  }
  ActContext ctx{kube_, yd.get(), events_, log, &cluster, &observed};
  ActResult acted = co_await act(ctx, actions);
  for (const auto& a : actions)
    if (const auto* resize = std::get_if<ResizePool>(&a))
      forget_compute_requirement(observed, resize->pool_id);
  result.yellowdog_calls += acted.yellowdog_calls;
  result.acted = !only_requeue(actions);

  // Remember a steady full observation (plan only waits): the next poll can be one GET.
  if (!observed.observe_error && !acted.outcome.error && only_requeue(actions) && yd)
    snapshots_[key] = snapshot_of(observed);
  else
    snapshots_.erase(key);

  if (!acted.object_gone) {
    auto status = compute_status(observed, acted.outcome, cluster.status, now);
    daliuge::merge_status(status, cluster.status, dlg, dlg_on, now);
    if (status_changed(cluster.status, status)) {
      if (auto err = co_await write_status(cluster, cluster.status, status)) {
        if (err->kind == ErrorKind::Conflict) {
          result.next = ReconcileResult::Next::kRequeueAfter;
          result.after = options_.conflict_requeue;
          co_return result;
        }
        if (err->kind != ErrorKind::NotFound) {
          log.warn("status write failed", {{"error", err->message}});
          result.error = err;
          result.next = ReconcileResult::Next::kRateLimited;
          co_return result;
        }
      } else {
        result.status_written = true;
        result.acted = true;
      }
    }
  } else {
    snapshots_.erase(key);
  }

  const std::optional<Error>& err = acted.outcome.error ? acted.outcome.error : observed.observe_error;
  if (err) {
    result.error = err;
    switch (err->kind) {
      case ErrorKind::Conflict:
        result.next = ReconcileResult::Next::kRequeueAfter;
        result.after = options_.conflict_requeue;
        break;
      case ErrorKind::NotFound:
        result.next = ReconcileResult::Next::kRequeueAfter;
        result.after = options_.plan.requeue_converging;
        break;
      case ErrorKind::NotAuthorised:
      case ErrorKind::Invalid:
        log.warn("reconcile failed", {{"error", err->message}});
        result.next = ReconcileResult::Next::kRequeueAfter;
        result.after = options_.plan.credentials_retry;
        break;
      default:
        log.info("reconcile failed, backing off", {{"error", err->message}});
        result.next = ReconcileResult::Next::kRateLimited;
        break;
    }
    co_return result;
  }
  if (acted.requeue_after) {
    result.next = ReconcileResult::Next::kRequeueAfter;
    result.after = *acted.requeue_after >= options_.plan.requeue_steady ? jittered(*acted.requeue_after, rng_)
                                                                        : *acted.requeue_after;
    if (dlg_on)
      result.after =
          daliuge_.remember_steady(key, cluster.metadata.generation.value_or(0), result.after, now);
  }
  log.debug("reconciled", {{"actions", actions.size()}, {"yellowdogCalls", result.yellowdog_calls}});
  co_return result;
}

net::awaitable<ReconcileResult> Reconciler::dim_check(std::string key, const api::RayDogCluster& cluster,
                                                      Millis next, TimePoint now) {
  ReconcileResult result;
  result.next = ReconcileResult::Next::kRequeueAfter;
  result.after = next;
  auto input = daliuge_.last_input(key);
  if (!input) co_return result;
  auto dlg = co_await daliuge_.sync(key, std::move(*input), nullptr, now);
  if (events_)
    for (const auto& e : dlg.events) events_->emit(cluster, e.type, e.reason, e.message);
  api::RayDogClusterStatus status = cluster.status.value_or(api::RayDogClusterStatus{});
  const std::optional<daliuge::SyncResult> got = std::move(dlg);
  daliuge::merge_status(status, cluster.status, got, true, now);
  if (status_changed(cluster.status, status)) {
    if (auto err = co_await write_status(cluster, cluster.status, status)) {
      if (err->kind == ErrorKind::Conflict) {
        result.after = options_.conflict_requeue;
      } else if (err->kind != ErrorKind::NotFound) {
        result.error = err;
        result.next = ReconcileResult::Next::kRateLimited;
      }
    } else {
      result.status_written = true;
      result.acted = true;
    }
  }
  co_return result;
}

}  // namespace raydog::reconcile
