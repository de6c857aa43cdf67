#include "controller/reconcile/actions.hpp"

namespace raydog::reconcile {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : " ") + i;
  return s;
}

struct Describe {
  std::string operator()(const AddFinalizer&) const { return "AddFinalizer"; }
  std::string operator()(const RemoveFinalizer&) const { return "RemoveFinalizer"; }
  std::string operator()(const RecordIncarnation& a) const {
    return "RecordIncarnation " + std::to_string(a.incarnation) + " " + a.work_requirement_name;
  }
  std::string operator()(const ProvisionPool& a) const {
    return "ProvisionPool " + a.request.requirement_template_usage.requirement_name;
  }
  std::string operator()(const ResizePool& a) const {
    return "ResizePool " + a.pool_name + " to " + std::to_string(a.size);
  }
  std::string operator()(const ShutdownPool& a) const { return "ShutdownPool " + a.pool_name; }
  std::string operator()(const TerminateComputeRequirement& a) const {
    return "TerminateComputeRequirement " + a.name;
  }
  std::string operator()(const CreateWorkRequirement& a) const {
    return "CreateWorkRequirement " + a.work_requirement.name;
  }
  std::string operator()(const AddTaskGroups& a) const {
    std::string s = "AddTaskGroups";
    for (const auto& g : a.groups) s += " " + g.name;
    return s;
  }
  std::string operator()(const AddTasks& a) const {
    std::vector<std::string> names;
    for (const auto& t : a.tasks) names.push_back(t.name.value_or("?"));
    return "AddTasks " + std::to_string(a.tasks.size()) + " to " + a.task_group_name + ": " + joined(names);
  }
  std::string operator()(const CancelTasks& a) const {
    return "CancelTasks " + std::to_string(a.task_ids.size()) + (a.abort ? " (abort)" : "") + ": " +
           joined(a.task_ids);
  }
  std::string operator()(const ReleaseNodes& a) const {
    return "ReleaseNodes " + std::to_string(a.node_ids.size()) + " of " + a.pool_name + ": " + joined(a.node_ids);
  }
  std::string operator()(const CancelWorkRequirement& a) const {
    return "CancelWorkRequirement " + a.work_requirement_id + (a.abort ? " (abort)" : "");
  }
  std::string operator()(const EmitEvent& a) const { return "EmitEvent " + a.type + " " + a.reason; }
  std::string operator()(const RequeueAfter& a) const {
    return "RequeueAfter " + std::to_string(a.after.count()) + "ms" + (a.until_tasks_start ? " until tasks start" : "");
  }
};

}  // namespace

std::string describe(const Action& action) {
  return std::visit(Describe{}, action);
}

}  // namespace raydog::reconcile
