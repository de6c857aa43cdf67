#include "controller/reconcile/act.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "controller/reconcile/observe.hpp"

namespace raydog::reconcile {

namespace yd = raydog::yellowdog;
using nlohmann::json;

namespace {

struct Actor {
  ActContext& ctx;
  ActResult result;
  std::string resource_version;                   // latest known RV of the cluster object
  std::optional<yd::WorkRequirement> current_wr;  // the WR as last seen/written (group ids by name)
  std::vector<std::string> finalizers;

  const api::RayDogCluster& cluster() const { return *ctx.cluster; }

  std::optional<Error> yd_missing() {
    if (ctx.yd) return std::nullopt;
    return Error{ErrorKind::kUnknown, "no YellowDog client (credentials not usable)"};
  }

  template <class T>
  std::optional<Error> yd_error(const yd::YdResult<T>& r) {
    ++result.yellowdog_calls;
    if (r) return std::nullopt;
    return classify(r.error());
  }

  net::awaitable<std::optional<Error>> patch_finalizers(std::vector<std::string> list) {
    const json patch = {{"metadata", {{"finalizers", list}, {"resourceVersion", resource_version}}}};
    const std::string subresource;
    auto r = co_await patch_cluster(ctx.kube, cluster(), patch, subresource);
    if (!r) co_return classify(r.error());
    resource_version = kube::resource_version_of(*r);
    finalizers = std::move(list);
    co_return std::nullopt;
  }

  net::awaitable<std::optional<Error>> run(const AddFinalizer&) {
    if (std::find(finalizers.begin(), finalizers.end(), kFinalizer) != finalizers.end())
      co_return std::nullopt;
    auto list = finalizers;
    list.emplace_back(kFinalizer);
    co_return co_await patch_finalizers(std::move(list));
  }

  net::awaitable<std::optional<Error>> run(const RemoveFinalizer&) {
    auto list = finalizers;
    list.erase(std::remove(list.begin(), list.end(), std::string(kFinalizer)), list.end());
    if (list.size() == finalizers.size()) {
      result.object_gone = true;
      co_return std::nullopt;
    }
    auto err = co_await patch_finalizers(std::move(list));
    if (err && err->kind == ErrorKind::kNotFound) err.reset();  // already gone
    if (!err) result.object_gone = true;
    co_return err;
  }

  net::awaitable<std::optional<Error>> run(const RecordIncarnation& x) {
    // Intent first: the name this incarnation's WR will have, before it is created.
    const json patch = {
        {"status",
         {{"workRequirement", {{"name", x.work_requirement_name}, {"id", nullptr}, {"status", nullptr}}}}}};
    const std::string subresource = "status";
    auto r = co_await patch_cluster(ctx.kube, cluster(), patch, subresource);
    if (!r) co_return classify(r.error());
    resource_version = kube::resource_version_of(*r);
    result.outcome.recorded_incarnation = x.incarnation;
    co_return std::nullopt;
  }

  net::awaitable<std::optional<Error>> run(const ProvisionPool& x) {
    if (auto e = yd_missing()) co_return e;
    auto r = co_await ctx.yd->provision_worker_pool(x.request);
    if (!r && r.error().kind == yd::YdErrorKind::kAlreadyExists) {
      ++result.yellowdog_calls;
      co_return std::nullopt;  // an earlier attempt got through: adopted by name on the next observe
    }
    if (auto e = yd_error(r)) co_return e;
    result.provisioned.push_back({std::move(*r), x.request.requirement_template_usage.target_instance_count});
    co_return std::nullopt;  // plan's PoolProvisioned event follows (one Event per create, not two)
  }

  net::awaitable<std::optional<Error>> run(const ResizePool& x) {
    if (auto e = yd_missing()) co_return e;
    result.resized_pools.push_back(x.pool_id);  // before the call: a lost answer may have resized it
    auto r = co_await ctx.yd->resize_worker_pool(x.pool_id, x.size);
    if (auto e = yd_error(r)) co_return e;
    co_return std::nullopt;  // plan's PoolResized event follows
  }

  // Shutting down or terminating something already gone is what we wanted.
  static bool already_done(const yd::YdError& e) {
    return e.kind == yd::YdErrorKind::kNotFound || e.kind == yd::YdErrorKind::kInvalidStatusTransition;
  }

  net::awaitable<std::optional<Error>> run(const ShutdownPool& x) {
    if (auto e = yd_missing()) co_return e;
    auto r = co_await ctx.yd->shut_down_worker_pool(x.pool_id);
    ++result.yellowdog_calls;
    if (!r && !already_done(r.error())) co_return classify(r.error());
    co_return std::nullopt;  // plan's PoolRemoved event follows
  }

  net::awaitable<std::optional<Error>> run(const TerminateComputeRequirement& x) {
    if (auto e = yd_missing()) co_return e;
    auto r = co_await ctx.yd->terminate_compute_requirement(x.compute_requirement_id);
    ++result.yellowdog_calls;
    if (!r && !already_done(r.error())) co_return classify(r.error());
    if (r)
      co_await event("Normal", "ComputeRequirementTerminated",
                     "terminated compute requirement " + x.name + " (" + x.compute_requirement_id + ")");
    co_return std::nullopt;
  }

  net::awaitable<std::optional<Error>> run(const CreateWorkRequirement& x) {
    if (auto e = yd_missing()) co_return e;
    auto r = co_await ctx.yd->create_work_requirement(x.work_requirement);
    if (!r && r.error().kind == yd::YdErrorKind::kAlreadyExists) {
      ++result.yellowdog_calls;
      auto got = co_await ctx.yd->get_work_requirement_by_name(x.work_requirement.namespace_,
                                                               x.work_requirement.name);
      if (auto e = yd_error(got)) co_return e;
      current_wr = std::move(*got);
      co_return std::nullopt;
    }
    if (auto e = yd_error(r)) co_return e;
    current_wr = std::move(*r);  // plan's WorkRequirementCreated event follows
    co_return std::nullopt;
  }

  net::awaitable<std::optional<Error>> run(const AddTaskGroups& x) {
    if (auto e = yd_missing()) co_return e;
    auto got = co_await ctx.yd->get_work_requirement(x.work_requirement_id);
    if (auto e = yd_error(got)) co_return e;
    yd::WorkRequirement wr = std::move(*got);
    bool added = false;
    for (const auto& g : x.groups) {
      if (wr.find_group(g.name)) continue;
      wr.task_groups.push_back(g);
      added = true;
    }
    if (!added) {
      current_wr = std::move(wr);
      co_return std::nullopt;
    }
    auto put = co_await ctx.yd->update_work_requirement(std::move(wr));
    if (auto e = yd_error(put)) co_return e;
    current_wr = std::move(*put);
    co_return std::nullopt;
  }

  net::awaitable<std::optional<Error>> run(const AddTasks& x) {
    if (auto e = yd_missing()) co_return e;
    std::optional<std::string> group_id = x.task_group_id;
    if (!group_id) {
      const yd::WorkRequirement* wr =
          current_wr
              ? &*current_wr
              : (ctx.observed && ctx.observed->work_requirement ? &*ctx.observed->work_requirement : nullptr);
      if (wr)
        if (const auto* g = wr->find_group(x.task_group_name)) group_id = g->id;
    }
    if (!group_id)
      co_return Error{ErrorKind::kNotFound,
                      "task group " + x.task_group_name + " not found in the work requirement"};
    auto r = co_await ctx.yd->add_tasks(*group_id, x.tasks);
    if (auto e = yd_error(r)) co_return e;
    co_return std::nullopt;  // plan's HeadStarted/ObservabilityStarted/WorkersAdded event follows
  }

  net::awaitable<std::optional<Error>> run(const CancelTasks& x) {
    if (auto e = yd_missing()) co_return e;
    for (const auto& id : x.task_ids) {
      auto r = co_await ctx.yd->cancel_task(id, x.abort);
      ++result.yellowdog_calls;
      if (!r && !already_done(r.error())) co_return classify(r.error());
    }
    std::string ids;
    for (const auto& id : x.task_ids) ids += (ids.empty() ? "" : ", ") + id;
    if (!x.task_ids.empty())
      co_await event("Normal", "TasksCancelled",
                     std::string(x.abort ? "aborted " : "cancelled ") + std::to_string(x.task_ids.size()) +
                         " task(s): " + ids);
    co_return std::nullopt;
  }

  net::awaitable<std::optional<Error>> run(const ReleaseNodes& x) {
    if (auto e = yd_missing()) co_return e;
    for (const auto& id : x.node_ids) {
      auto r = co_await ctx.yd->shut_down_node(id);
      ++result.yellowdog_calls;
      if (!r && !already_done(r.error())) co_return classify(r.error());
    }
    std::string ids;
    for (const auto& id : x.node_ids) ids += (ids.empty() ? "" : ", ") + id;
    if (!x.node_ids.empty())
      co_await event("Normal", "NodesReleased",
                     "released " + std::to_string(x.node_ids.size()) + " node(s) of pool " + x.pool_name + ": " +
                         ids);
    co_return std::nullopt;
  }

  net::awaitable<std::optional<Error>> run(const CancelWorkRequirement& x) {
    if (auto e = yd_missing()) co_return e;
    auto r = co_await ctx.yd->cancel_work_requirement(x.work_requirement_id, x.abort);
    ++result.yellowdog_calls;
    if (!r && !already_done(r.error())) co_return classify(r.error());
    if (r)
      co_await event("Normal", "WorkRequirementCancelled",
                     "cancelled work requirement " + x.work_requirement_id);
    co_return std::nullopt;
  }

  net::awaitable<std::optional<Error>> run(const EmitEvent& x) {
    co_await event(x.type, x.reason, x.message);
    co_return std::nullopt;
  }

  net::awaitable<std::optional<Error>> run(const RequeueAfter& x) {
    result.requeue_after = x.after;
    result.until_tasks_start = x.until_tasks_start;
    co_return std::nullopt;
  }

  net::awaitable<void> event(std::string type, std::string reason, std::string message) {
    if (ctx.events) ctx.events->emit(cluster(), type, reason, message);
    co_return;
  }
};

}  // namespace

net::awaitable<ActResult> act(ActContext ctx, Actions actions) {
  Actor a{ctx,
          {},
          ctx.cluster->metadata.resource_version.value_or(""),
          std::nullopt,
          ctx.cluster->metadata.finalizers.value_or(std::vector<std::string>{})};
  if (ctx.observed && ctx.observed->work_requirement) a.current_wr = ctx.observed->work_requirement;
  for (const auto& action : actions) {
    auto err = co_await std::visit([&](const auto& x) { return a.run(x); }, action);
    if (err) {
      a.result.outcome.error = std::move(*err);
      a.result.outcome.failed_action = describe(action);
      ctx.log.info("action failed",
                   {{"action", describe(action)}, {"error", a.result.outcome.error->message}});
      // Every failed external call is an Event too (the recorder aggregates repeats); a Kubernetes 409 or
      // an object that vanished is routine and only requeues.
      const ErrorKind kind = a.result.outcome.error->kind;
      if (kind != ErrorKind::kConflict && kind != ErrorKind::kNotFound)
        co_await a.event("Warning", "ActionFailed",
                         describe(action) + ": " + a.result.outcome.error->message);
      break;
    }
    ++a.result.outcome.executed;
    if (!std::holds_alternative<RequeueAfter>(action) && !std::holds_alternative<EmitEvent>(action))
      ctx.log.debug("action done", {{"action", describe(action)}});
  }
  co_return std::move(a.result);
}

net::awaitable<Result<json, kube::ApiError>> patch_cluster(kube::Api& kube, const api::RayDogCluster& cluster,
                                                           const json& patch,
                                                           const std::string& subresource) {
  const kube::WriteOptions options;
  const std::string ns = cluster.metadata.namespace_name.value_or("default");
  co_return co_await kube.patch(kube::resources::kRayDogClusters, ns, cluster.metadata.name,
                                kube::PatchType::kMerge, patch, subresource, options);
}

void RecorderEventSink::emit(const api::RayDogCluster& cluster, const std::string& type,
                             const std::string& reason, const std::string& message) {
  json object = {{"apiVersion", std::string(api::kApiVersion)},
                 {"kind", std::string(api::kKind)},
                 {"metadata",
                  {{"name", cluster.metadata.name},
                   {"namespace", cluster.metadata.namespace_name.value_or("default")},
                   {"uid", cluster.metadata.uid.value_or("")},
                   {"resourceVersion", cluster.metadata.resource_version.value_or("")}}}};
  recorder_.record(object, type == "Warning" ? kube::EventType::kWarning : kube::EventType::kNormal, reason,
                   message);
}

}  // namespace raydog::reconcile
