#include "controller/ray/ray_view.hpp"

#include "controller/reconcile/desired.hpp"

namespace raydog::ray {

const TaskNode* RayView::find(const std::string& task_id) const {
  const auto it = tasks.find(task_id);
  return it == tasks.end() ? nullptr : &it->second;
}

bool alive(const RayNode& node) {
  return node.status == NodeStatus::kRunning || node.status == NodeStatus::kIdle ||
         node.status == NodeStatus::kDraining;
}

RayView match(const ClusterState& state, const std::map<std::string, std::vector<yellowdog::Task>>& tasks) {
  RayView v;
  std::map<std::string, std::string> by_instance;  // instance id (group/name, or the task id) -> task id
  for (const auto& [group, list] : tasks) {
    for (const auto& t : list) {
      if (!t.id || !reconcile::is_live(t)) continue;
      v.tasks[*t.id] = TaskNode{&t, group, nullptr};
      by_instance[*t.id] = *t.id;
      if (t.name) by_instance[reconcile::ray_instance_id(group, *t.name)] = *t.id;
    }
  }
  for (const auto& n : state.nodes) {
    if (n.is_head()) {
      // A restarted head leaves its old incarnation DEAD in the list: the alive one is the head.
      if (!v.head || (!alive(*v.head) && alive(n))) v.head = &n;
      continue;
    }
    const auto it = by_instance.find(n.instance_id);
    if (it == by_instance.end()) {
      v.foreign.push_back(&n);
      continue;
    }
    TaskNode& entry = v.tasks[it->second];
    // Ray keeps a DEAD node of a task whose raylet restarted next to the new one: the alive one counts.
    if (!entry.node || (!alive(*entry.node) && alive(n))) entry.node = &n;
  }
  return v;
}

}  // namespace raydog::ray
