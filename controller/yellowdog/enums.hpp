#pragma once
// YellowDog enumerations (yellowdog-api.md §6) as strings with known values. The platform adds values
// over time, so an unknown value must survive parsing and re-serialisation instead of failing the whole
// object: a StringEnum holds whatever the server sent and can say whether it is one we know.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>

namespace raydog::yellowdog {

template <class Traits>
class StringEnum {
 public:
  StringEnum() = default;
  StringEnum(std::string value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StringEnum(std::string_view value) : value_(value) {}        // NOLINT
  StringEnum(const char* value) : value_(value) {}             // NOLINT

  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  // True when the value is one of the constants listed in the specification.
  bool known() const {
    return std::find(Traits::kValues.begin(), Traits::kValues.end(), value_) != Traits::kValues.end();
  }
  bool operator==(const StringEnum& other) const { return value_ == other.value_; }
  bool operator==(std::string_view other) const { return value_ == other; }
  bool operator==(const char* other) const { return value_ == other; }

 private:
  std::string value_;
};

#define RAYDOG_YD_ENUM(Name, N, ...)                                       \
  struct Name##Traits {                                                    \
    static constexpr std::array<std::string_view, N> kValues{__VA_ARGS__}; \
  };                                                                       \
  using Name = StringEnum<Name##Traits>;

RAYDOG_YD_ENUM(WorkRequirementStatus, 7, "RUNNING", "HELD", "FINISHING", "COMPLETED", "FAILED", "CANCELLING",
               "CANCELLED")
RAYDOG_YD_ENUM(TaskGroupStatus, 9, "PENDING", "RUNNING", "HELD", "FINISHING", "COMPLETED", "FAILING",
               "FAILED", "CANCELLING", "CANCELLED")
RAYDOG_YD_ENUM(TaskStatus, 12, "PENDING", "READY", "ALLOCATED", "DOWNLOADING", "EXECUTING", "UPLOADING",
               "COMPLETED", "FAILED", "ABORTED", "CANCELLED", "DISCARDED", "RESUBMITTED")
RAYDOG_YD_ENUM(WorkerPoolStatus, 7, "PENDING", "CONFIGURING", "EMPTY", "IDLE", "RUNNING", "SHUTDOWN",
               "TERMINATED")
RAYDOG_YD_ENUM(ComputeRequirementStatus, 8, "NEW", "PROVISIONING", "STARTING", "RUNNING", "STOPPING",
               "STOPPED", "TERMINATING", "TERMINATED")
RAYDOG_YD_ENUM(NodeStatus, 5, "RUNNING", "LATE", "LOST", "DEREGISTERED", "TERMINATED")
RAYDOG_YD_ENUM(InstanceStatus, 8, "PENDING", "RUNNING", "STOPPING", "STOPPED", "TERMINATING", "TERMINATED",
               "UNAVAILABLE", "UNKNOWN")
RAYDOG_YD_ENUM(WorkerStatus, 9, "STARTING", "RUNNING", "STOPPED", "LATE", "LOST", "SHUTDOWN", "DOING_TASK",
               "SLEEPING", "BATCH_ALLOCATION")
RAYDOG_YD_ENUM(NodeWorkerTargetType, 3, "PER_NODE", "PER_VCPU", "CUSTOM")
RAYDOG_YD_ENUM(TaskErrorType, 11, "ALLOCATION_LOST", "RESOURCE_REQUEST_FAILED", "TIMED_OUT",
               "UNABLE_START_PROCESS", "PROCESS_NON_ZERO_EXIT", "DATA_CLIENT_DISABLED", "UNKNOWN_ERROR",
               "OUTPUT_NOT_FOUND", "INPUT_NOT_FOUND", "TRANSITION_REFUSED", "UNABLE_WRITE_TASK_DATA")

#undef RAYDOG_YD_ENUM

// Lifecycle predicates from §6/§7. Unknown values are never "finished": a caller keeps polling rather
// than tearing down on a status it does not understand.
inline bool is_finished(const WorkRequirementStatus& s) {
  return s == "COMPLETED" || s == "FAILED" || s == "CANCELLED";
}
inline bool is_finished(const TaskGroupStatus& s) {
  return s == "COMPLETED" || s == "FAILED" || s == "CANCELLED";
}
inline bool is_waiting(const TaskStatus& s) {
  return s == "PENDING" || s == "READY";
}
inline bool is_in_progress(const TaskStatus& s) {
  return s == "ALLOCATED" || s == "DOWNLOADING" || s == "EXECUTING" || s == "UPLOADING";
}
inline bool is_finished(const TaskStatus& s) {
  return s == "COMPLETED" || s == "FAILED" || s == "ABORTED" || s == "CANCELLED" || s == "DISCARDED" ||
         s == "RESUBMITTED";
}
// RayDog's fatal states while waiting for a task to reach EXECUTING (§9).
inline bool is_fatal_while_waiting(const TaskStatus& s) {
  return s == "FAILED" || s == "CANCELLED" || s == "ABORTED" || s == "DISCARDED";
}
inline bool is_finished(const WorkerPoolStatus& s) {
  return s == "SHUTDOWN" || s == "TERMINATED";
}
inline bool is_gone(const NodeStatus& s) {
  return s == "LOST" || s == "DEREGISTERED" || s == "TERMINATED";
}
inline bool is_finished(const ComputeRequirementStatus& s) {
  return s == "TERMINATED";
}

}  // namespace raydog::yellowdog
