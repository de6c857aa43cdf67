#include "controller/reconcile/planner.hpp"

namespace raydog::reconcile {

namespace yd = yellowdog;

void Planner::event(std::string type, std::string reason, std::string message) {
  out.push_back(EmitEvent{std::move(type), std::move(reason), std::move(message)});
}

bool Planner::in_backoff(const RoleView& r) {
  if (!r.backoff_until || now >= *r.backoff_until) return false;
  Millis left = std::chrono::duration_cast<Millis>(*r.backoff_until - now);
  if (!wake || left < *wake) wake = left;
  return true;
}

void Planner::add_tasks(const RoleView& r, std::vector<yd::Task> tasks) {
  AddTasks a;
  a.task_group_name = r.group_name;
  if (r.group && r.group->id) a.task_group_id = *r.group->id;
  a.tasks = std::move(tasks);
  out.push_back(std::move(a));
  converging = true;
}

std::string Planner::script(const RoleView& r) const {
  auto s = task_script(r.names.kind, r.node ? *r.node : api::NodeSpec{}, o.sources);
  return s ? *s : std::string{};
}

bool needs_event(const api::RayDogCluster& c, std::string_view reason) {
  if (!c.status) return true;
  for (const auto& cond : c.status->conditions)
    if (cond.type == api::condition::kSynced)
      return !(cond.reason == reason && cond.observed_generation == c.metadata.generation);
  return true;
}

Actions teardown(const Observed& o, const yd::WorkRequirement* wr, std::vector<std::string>* ids) {
  Actions out;
  if (wr && wr->id && wr_alive(*wr)) out.push_back(CancelWorkRequirement{*wr->id, true});
  if (ids && wr && wr->id && !(wr->status && yd::is_finished(*wr->status))) ids->push_back(*wr->id);
  for (const auto& p : o.pools) {
    const std::string name = p.pool.name.value_or(p.pool.id);
    if (pool_live(p)) {
      out.push_back(ShutdownPool{p.pool.id, name});
      if (ids) ids->push_back(p.pool.id);
    }
    if (!cr_done(p) && p.pool.compute_requirement_id) {
      out.push_back(TerminateComputeRequirement{*p.pool.compute_requirement_id, name});
      if (ids) ids->push_back(*p.pool.compute_requirement_id);
    }
  }
  return out;
}

}  // namespace raydog::reconcile
