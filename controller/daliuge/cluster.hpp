#pragma once
// How a RayDogCluster's spec.daliuge reaches YellowDog objects and the membership input (pure, no I/O):
// - decorate(): the DALiuGE environment on every head/worker task the plan adds (the contract with the
//   node scripts: DLG_ENABLED, DLG_ROOT, DLG_DIM_PORT, DLG_NM_PORT, DLG_EVENTS_PORT, DLG_RPC_PORT, and on
//   the head DLG_NM_ON_HEAD), and DLG_VERSION='<version>' in the built-in node userdata of every head/worker
//   pool the plan provisions with it (no userData of its own). Observability nodes are left alone.
// - collect(): the NMs the registrar should look at: every EXECUTING worker task (any revision) and the
//   head when nmOnHead, each marked wanted or not (its task is being cancelled by this plan, or its pool
//   left the spec).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/types.hpp"
#include "controller/reconcile/actions.hpp"
#include "controller/reconcile/observed.hpp"

namespace raydog::daliuge {

bool enabled(const api::RayDogCluster& cluster);
// The spec's DALiuGE block with every default filled in (also for a spec that was not defaulted).
api::DaliugeSpec effective(const api::DaliugeSpec& spec);

// Environment of a head (head=true) or worker task.
std::map<std::string, std::string> task_env(const api::DaliugeSpec& spec, bool head);
// The built-in userdata (reconcile::scripts::builtin_user_data) with DLG_VERSION added after the shebang.
std::string with_daliuge(std::string_view builtin_user_data, const api::DaliugeSpec& spec);
void decorate(reconcile::Actions& actions, const api::RayDogCluster& cluster);

struct NodeManagerRef {
  std::string pool;  // spec pool name, or "head"
  std::string task_id;
  std::optional<std::string> worker_id;  // to resolve the node's private IP
  std::optional<std::string> ip;         // known already (the head)
  bool wanted = true;
};
struct Collected {
  api::DaliugeSpec spec;  // effective()
  std::optional<std::string> head_private_ip;
  std::optional<std::string> head_public_ip;
  std::vector<NodeManagerRef> nodes;
};
Collected collect(const reconcile::Observed& observed, const reconcile::Actions& actions);

}  // namespace raydog::daliuge
