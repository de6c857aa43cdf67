// Plan step for the work requirement: created with one empty group per node kind, or given the groups it
// lacks (a new pool, a new revision, a group attempt after one finished).
#include "controller/reconcile/planner.hpp"

namespace raydog::reconcile {

namespace yd = yellowdog;

Flow work_requirement_and_groups(Planner& p) {
  const auto& v = p.v;
  if (!v.wr || v.bump) {
    // Group names follow the attempt naming of the roles (all attempt 1 for a new WR).
    auto wr = work_requirement(p.c(), v.names);
    p.out.push_back(CreateWorkRequirement{std::move(wr)});
    p.event("Normal", "WorkRequirementCreated", "Created work requirement " + v.names.work_requirement);
    p.converging = true;
    return Flow::kContinue;
  }
  std::vector<yd::TaskGroup> missing;
  auto want = [&](const RoleView& r) {
    if (!r.group_missing) return;
    auto g = task_group(p.c(), r.names);
    g.name = r.group_name;
    missing.push_back(std::move(g));
  };
  want(*v.head);
  if (v.observability) want(*v.observability);
  for (const auto& w : v.workers) want(w);
  if (!missing.empty() && v.wr->id) {
    std::string list;
    for (const auto& g : missing) list += (list.empty() ? "" : ", ") + g.name;
    p.out.push_back(AddTaskGroups{*v.wr->id, std::move(missing)});
    p.event("Normal", "TaskGroupsAdded", "Added task groups " + list + " to " + v.names.work_requirement);
    p.converging = true;
  }
  return Flow::kContinue;
}

}  // namespace raydog::reconcile
