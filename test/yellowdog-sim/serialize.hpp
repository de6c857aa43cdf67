#pragma once
// The wire form of the model (§5): camelCase, enums as their names, ISO-8601 timestamps, absent optionals
// omitted, submitted unknown fields echoed.
#include "test/yellowdog-sim/model.hpp"

namespace raydog::ydsim {

json to_json(const WorkRequirement& wr);
json summary_json(const WorkRequirement& wr);  // WorkRequirementSummary (search results)
json to_json(const TaskGroup& g);
json to_json(const Task& t);
json to_json(const WorkerPool& p);       // ProvisionedWorkerPool
json summary_json(const WorkerPool& p);  // WorkerPoolSummary
json to_json(const Node& n);
json to_json(const Instance& i);
json to_json(const ComputeRequirement& cr);
// An error body (§8.1).
json error_json(std::string_view error_type, std::string_view message);

}  // namespace raydog::ydsim
