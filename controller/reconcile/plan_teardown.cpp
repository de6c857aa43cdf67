// Plan steps that take a cluster down: the deletion (finalizer) and a suspended or failed cluster.
#include <algorithm>

#include "api/defaults.hpp"
#include "controller/reconcile/plan.hpp"
#include "controller/reconcile/planner.hpp"

namespace raydog::reconcile {

namespace yd = yellowdog;

namespace {

// The YellowDog ids the last written status names (WR, head pool, worker pools and their CRs): what a
// cleanup that cannot read YellowDog any more reports as possibly leaking.
std::vector<std::string> ids_from_status(const api::RayDogCluster& c) {
  std::vector<std::string> ids;
  if (!c.status) return ids;
  const auto& st = *c.status;
  auto add = [&](const std::optional<std::string>& id) {
    if (id && !id->empty() && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  };
  if (st.work_requirement) add(st.work_requirement->id);
  if (st.head) add(st.head->worker_pool_id);
  for (const auto& p : st.worker_pools) {
    add(p.worker_pool_id);
    add(p.compute_requirement_id);
  }
  return ids;
}

// Past cleanup_timeout: say what may leak, then let the resource go.
void give_up_cleanup(Planner& p) {
  const auto& o = p.o;
  std::vector<std::string> ids;
  const bool blind = o.observe_error || o.credentials.state != CredentialsState::kOk;
  if (blind)
    ids = ids_from_status(o.cluster);  // YellowDog unreadable: the last status knows the ids
  else
    teardown(o, o.work_requirement ? &*o.work_requirement : nullptr, &ids);
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
  p.event("Warning", "CleanupTimedOut",
          "Cleanup did not finish in time; these YellowDog objects may leak" +
              std::string(blind ? " (YellowDog could not be read; ids from the last status)" : "") + ": " +
              (list.empty() ? std::string("(unknown)") : list));
  p.out.push_back(RemoveFinalizer{});
}

}  // namespace

bool torn_down(const Observed& o) {
  if (o.work_requirement && !(o.work_requirement->status && yd::is_finished(*o.work_requirement->status)))
    return false;
  for (const auto& p : o.pools)
    if (pool_live(p) || !cr_done(p)) return false;
  return true;
}

Flow deletion(Planner& p) {
  if (p.v.lifecycle != Lifecycle::kDeleting) return Flow::kContinue;
  const auto& o = p.o;
  const auto& c = o.cluster;
  if (!p.v.has_finalizer) return Flow::kStop;
  if (c.spec.deletion_policy.value_or(api::kDefaultDeletionPolicy) == api::DeletionPolicy::kOrphan) {
    p.event("Normal", "Orphaned", "deletionPolicy is Orphan: YellowDog objects are left running");
    p.out.push_back(RemoveFinalizer{});
    return Flow::kStop;
  }
  auto deleted_at =
      c.metadata.deletion_timestamp ? yd::parse_timestamp(*c.metadata.deletion_timestamp) : std::nullopt;
  const bool timed_out = deleted_at && p.now - *deleted_at >= o.options.cleanup_timeout;
  const bool readable = !o.observe_error && o.credentials.state == CredentialsState::kOk;
  if (o.api_url_refusal && ids_from_status(c).empty()) {
    // apiURL left the allow-list (or the finalizer came from elsewhere) and the status names nothing we
    // created there: nothing to clean up, and nothing to wait for.
    p.event("Normal", "CleanedUp",
            "Nothing of this cluster is recorded on YellowDog; removing the finalizer");
    p.out.push_back(RemoveFinalizer{});
    return Flow::kStop;
  }
  if (readable && torn_down(o)) {
    p.event("Normal", "CleanedUp", "YellowDog objects finished; removing the finalizer");
    p.out.push_back(RemoveFinalizer{});
    return Flow::kStop;
  }
  if (timed_out) {
    give_up_cleanup(p);
    return Flow::kStop;
  }
  if (!readable) {
    p.requeue(o.options.credentials_retry);
    return Flow::kStop;
  }
  p.out = teardown(o, o.work_requirement ? &*o.work_requirement : nullptr);
  if (!p.out.empty())
    p.event("Normal", "CleaningUp",
            "Deleting: cancelling the work requirement, shutting pools down, terminating compute "
            "requirements; the finalizer goes once YellowDog shows them finished");
  p.requeue(o.options.requeue_converging);
  return Flow::kStop;
}

Flow suspend_or_failed(Planner& p) {
  const auto& v = p.v;
  if (v.lifecycle != Lifecycle::kSuspended && v.lifecycle != Lifecycle::kFailed) return Flow::kContinue;
  const auto& c = p.c();
  if (v.build_timeout)
    p.event("Warning", "BuildTimeout",
            "Head task not EXECUTING within buildTimeout " +
                c.spec.build_timeout.value_or(std::string(api::kDefaultBuildTimeout)) +
                "; tearing the cluster down (no retry until the spec changes)");
  if (v.lifetime_expired)
    p.event("Warning", "LifetimeExpired",
            "spec.lifetime " + c.spec.lifetime.value_or("") +
                " is over; tearing the cluster down, nothing is replaced (no rebuild until the spec "
                "changes)");
  Actions down = teardown(p.o, v.wr);
  const bool busy = !down.empty() || !torn_down(p.o);
  if (!down.empty() && v.lifecycle == Lifecycle::kSuspended)
    p.event("Normal", "Suspending",
            "spec.suspend is true: cancelling the work requirement, shutting pools down");
  for (auto& a : down) p.out.push_back(std::move(a));
  if (busy) p.requeue(p.o.options.requeue_converging);
  return Flow::kStop;
}

}  // namespace raydog::reconcile
