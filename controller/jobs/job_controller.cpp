#include "controller/jobs/job_controller.hpp"

#include <algorithm>

#include "api/job_defaults.hpp"
#include "api/job_json.hpp"
#include "api/job_validation.hpp"
#include "controller/runtime/log.hpp"
#include "controller/util/merge_patch.hpp"

namespace raydog::jobs {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string ns_of(const api::RayDogJob& job) { return job.metadata.namespace_name.value_or("default"); }

// The finalizer list with ours added or removed, guarded by the resourceVersion it was computed from.
json finalizer_patch(const api::RayDogJob& job, bool add) {
  std::vector<std::string> f = job.metadata.finalizers.value_or(std::vector<std::string>{});
  std::erase(f, std::string(kJobFinalizer));
  if (add) f.emplace_back(kJobFinalizer);
  return json{{"metadata", {{"finalizers", f}, {"resourceVersion", job.metadata.resource_version.value_or("")}}}};
}

}  // namespace

JobController::JobController(kube::Api& kube, Lookup lookup, JobsApi& head, kube::EventRecorder& events,
                             JobPlanOptions options, Now now)
    : kube_(kube),
      lookup_(std::move(lookup)),
      head_(head),
      events_(events),
      options_(options),
      now_(std::move(now)) {}

asio::awaitable<runtime::ReconcileOutcome> JobController::reconcile(std::string key) {
  runtime::ReconcileOutcome outcome;
  const auto object = lookup_(key);
  if (!object) co_return outcome;  // deleted: our finalizer made sure nothing was left behind

  JobObserved o;
  o.now = now_();
  if (auto err = co_await observe(*object, o)) {
    outcome.error = *err;
    co_return outcome;
  }
  JobPlan plan = plan_job(o, options_);
  if (plan.status_first && plan.status) {
    if (auto err = co_await write_status(*object, *plan.status)) {
      outcome.error = *err;
      co_return outcome;
    }
    // Only events may follow a new attempt's status write: what creates or submits reads the ids back
    // from the stored status next time.
    std::erase_if(plan.actions, [](const JobAction& a) { return !std::holds_alternative<Event>(a); });
  }
  if (auto err = co_await act(*object, o, plan)) {
    outcome.error = *err;
    co_return outcome;
  }
  if (plan.status && !plan.status_first) {
    if (auto err = co_await write_status(*object, *plan.status)) {
      outcome.error = *err;
      co_return outcome;
    }
  }
  if (plan.requeue_after) outcome.requeue_after = *plan.requeue_after;
  co_return outcome;
}

asio::awaitable<std::optional<std::string>> JobController::observe(const json& object, JobObserved& o) {
  auto parsed = api::parse_job(object);
  if (parsed) {
    o.job = std::move(*parsed);
  } else {
    // Invalid: still the metadata and status, to report on it.
    api::FieldErrors ignored;
    o.job = api::decode_job(object, ignored);
    o.spec_errors = parsed.error();
  }
  if (const auto spec = object.find("spec"); spec != object.end() && spec->is_object())
    if (const auto cs = spec->find("clusterSpec"); cs != spec->end() && cs->is_object()) o.cluster_spec = *cs;

  const api::RayDogJob& job = o.job;
  const std::string uid = job.metadata.uid.value_or("");
  // Read even when the spec became invalid: a job deleted in that state still deletes its cluster.
  if (wants_clusters(job)) {
    if (job.spec.cluster_spec) {
      if (job.status && job.status->cluster_name) {
        auto c = co_await kube_.get(kube::resources::kRayDogClusters, ns_of(job), *job.status->cluster_name, "");
        if (c)
          o.clusters.push_back(cluster_view(*c, uid));
        else if (c.error().kind != kube::ApiError::Kind::kNotFound)
          co_return "reading RayDogCluster " + *job.status->cluster_name + ": " + c.error().describe();
      }
    } else if (job.spec.cluster_selector) {
      kube::ListOptions lo;
      lo.label_selector = selector_text(*job.spec.cluster_selector);
      auto list = co_await kube::list_all(kube_, kube::resources::kRayDogClusters, ns_of(job), lo);
      if (!list) co_return "listing RayDogClusters: " + list.error().describe();
      for (const auto& item : list->items) {
        ClusterView v = cluster_view(item, uid);
        if (!v.deleting) o.clusters.push_back(std::move(v));  // a cluster on its way out is no candidate
      }
    }
    o.clusters_read = true;
  }

  const auto url = head_to_read(job, o.clusters);
  if (!url) co_return std::nullopt;
  const std::string id = job.status->job_id.value_or("");
  auto info = co_await head_.get(*url, id);
  if (!info) {
    o.head.kind = HeadRead::Kind::kFailed;
    o.head.error = info.error().message;
  } else if (!*info) {
    o.head.kind = HeadRead::Kind::kNotFound;
  } else {
    o.head.kind = HeadRead::Kind::kFound;
    o.head.info = **info;
    // The log once, when the failure is first seen: its tail goes into status.message.
    if (o.head.info->status == api::RayJobStatus::kFailed && job.status->job_status != api::RayJobStatus::kFailed) {
      auto logs = co_await head_.logs(*url, id);
      if (logs) o.head.logs = std::move(*logs);
    }
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<std::string>> JobController::act(const json& object, JobObserved& o, JobPlan& plan) {
  const api::RayDogJob& job = o.job;
  const std::string ns = ns_of(job);
  const kube::WriteOptions write;
  for (const auto& action : plan.actions) {
    if (const auto* e = std::get_if<Event>(&action)) {
      event(object, *e);
    } else if (std::holds_alternative<AddFinalizer>(action) || std::holds_alternative<RemoveFinalizer>(action)) {
      const bool add = std::holds_alternative<AddFinalizer>(action);
      auto r = co_await kube_.patch(kube::resources::kRayDogJobs, ns, job.metadata.name, kube::PatchType::kMerge,
                                    finalizer_patch(job, add), "", write);
      if (!r && !(r.error().kind == kube::ApiError::Kind::kNotFound && !add))
        co_return std::string(add ? "adding" : "removing") + " the finalizer: " + r.error().describe();
    } else if (const auto* c = std::get_if<CreateCluster>(&action)) {
      auto r = co_await kube_.create(kube::resources::kRayDogClusters, ns, c->object, write);
      // AlreadyExists: a create whose answer we lost; the next reconcile adopts it (or says whose it is).
      if (!r && r.error().kind != kube::ApiError::Kind::kAlreadyExists)
        co_return "creating RayDogCluster " + c->object["metadata"].value("name", "") + ": " + r.error().describe();
    } else if (const auto* d = std::get_if<DeleteCluster>(&action)) {
      kube::DeleteOptions del;
      del.precondition_uid = d->uid;
      del.propagation_policy = "Background";
      auto r = co_await kube_.remove(kube::resources::kRayDogClusters, ns, d->name, del);
      if (!r && r.error().kind != kube::ApiError::Kind::kNotFound)
        co_return "deleting RayDogCluster " + d->name + ": " + r.error().describe();
    } else if (const auto* s = std::get_if<Submit>(&action)) {
      auto r = co_await head_.submit(s->dashboard_url, s->submission);
      if (!r) {
        // The status says what happened; nothing after the submit runs (it assumed a submitted job).
        plan.status = after_submit_failed(o, r.error());
        event(object, Event{"Warning", "SubmitFailed", r.error().message});
        co_return std::nullopt;
      }
    } else if (const auto* stop = std::get_if<StopJob>(&action)) {
      auto r = co_await head_.stop(stop->dashboard_url, stop->id);
      if (!r && !stop->best_effort) co_return "stopping job " + stop->id + ": " + r.error().message;
      if (!r) log::root().info("stopping a job failed (best effort)", {{"job", stop->id}, {"error", r.error().message}});
    } else if (const auto* dj = std::get_if<DeleteJob>(&action)) {
      kube::DeleteOptions del;
      del.precondition_uid = dj->uid;
      auto r = co_await kube_.remove(kube::resources::kRayDogJobs, ns, job.metadata.name, del);
      if (!r && r.error().kind != kube::ApiError::Kind::kNotFound)
        co_return "deleting the RayDogJob after its TTL: " + r.error().describe();
      plan.status.reset();  // it is going: nothing more to report
    }
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<std::string>> JobController::write_status(const json& object,
                                                                        const api::RayDogJobStatus& status) {
  const json before = object.contains("status") ? object["status"] : json::object();
  const json after = status;
  const json diff = merge_patch_between(before, after);
  if (diff.empty()) co_return std::nullopt;
  const json meta = object.value("metadata", json::object());
  // The resourceVersion the plan was made from: a newer object (another reconcile's write not yet in our
  // cache) makes this a 409 and the next reconcile plans again from the newer one.
  const json patch = {{"metadata", {{"resourceVersion", meta.value("resourceVersion", "")}}}, {"status", diff}};
  const kube::WriteOptions write;
  auto r = co_await kube_.patch(kube::resources::kRayDogJobs, meta.value("namespace", "default"),
                                meta.value("name", ""), kube::PatchType::kMerge, patch, "status", write);
  if (!r) co_return "writing status: " + r.error().describe();
  co_return std::nullopt;
}

void JobController::event(const json& object, const Event& e) {
  json involved = object;
  involved["apiVersion"] = std::string(api::kApiVersion);
  involved["kind"] = std::string(api::kJobKind);
  events_.record(involved, e.type == "Warning" ? kube::EventType::kWarning : kube::EventType::kNormal, e.reason,
                 e.message);
}

}  // namespace raydog::jobs
