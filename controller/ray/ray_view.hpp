#pragma once
// The Ray view of one cluster (pure): the head GCS's node list matched to the YellowDog tasks of the
// work requirement. A worker task carries RAY_CLOUD_INSTANCE_ID = "<task group>/<task name>" (desired.hpp);
// a node whose instance id is a task's id is matched too (a future script may report the id). The head is
// the node with `node:__internal_head__`. Nodes that match no live task (a task that already ended, someone
// else's `ray start`) are foreign: counted, never acted on.
#include <map>
#include <string>
#include <vector>

#include "controller/ray/head_client.hpp"
#include "controller/reconcile/observed.hpp"

namespace raydog::ray {

// A live task of the work requirement and its Ray node.
struct TaskNode {
  const yellowdog::Task* task = nullptr;
  std::string group;              // its task group's name
  const RayNode* node = nullptr;  // null: no Ray node reports this task (not joined, or forgotten)
};

struct RayView {
  const RayNode* head = nullptr;
  std::map<std::string, TaskNode> tasks;  // every live task with an id, by task id
  std::vector<const RayNode*> foreign;

  // The task's entry, or null for a task that is not live or has no id.
  const TaskNode* find(const std::string& task_id) const;
};

// `state` must outlive the view (it points into it), and so must `tasks`.
RayView match(const ClusterState& state, const std::map<std::string, std::vector<yellowdog::Task>>& tasks);

// Alive in Ray: RUNNING, IDLE or DRAINING (not DEAD, not unknown).
bool alive(const RayNode& node);

}  // namespace raydog::ray
