#include "test/yellowdog-sim/model.hpp"

#include <array>

namespace raydog::ydsim {
namespace {

template <std::size_t N>
std::string_view pick(const std::array<std::string_view, N>& names, auto value) {
  return names[static_cast<std::size_t>(value)];
}
template <class E, std::size_t N>
std::optional<E> find(const std::array<std::string_view, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

constexpr std::array<std::string_view, 7> kWr{"RUNNING", "HELD",       "FINISHING", "COMPLETED",
                                              "FAILED",  "CANCELLING", "CANCELLED"};
constexpr std::array<std::string_view, 9> kTg{"PENDING", "RUNNING", "HELD",       "FINISHING", "COMPLETED",
                                              "FAILING", "FAILED",  "CANCELLING", "CANCELLED"};
constexpr std::array<std::string_view, 12> kTask{"PENDING",   "READY",     "ALLOCATED", "DOWNLOADING",
                                                 "EXECUTING", "UPLOADING", "COMPLETED", "FAILED",
                                                 "ABORTED",   "CANCELLED", "DISCARDED", "RESUBMITTED"};
constexpr std::array<std::string_view, 7> kPool{"PENDING", "CONFIGURING", "EMPTY",     "IDLE",
                                                "RUNNING", "SHUTDOWN",    "TERMINATED"};
constexpr std::array<std::string_view, 8> kCr{"NEW",      "PROVISIONING", "STARTING",    "RUNNING",
                                              "STOPPING", "STOPPED",      "TERMINATING", "TERMINATED"};
constexpr std::array<std::string_view, 5> kNode{"RUNNING", "LATE", "LOST", "DEREGISTERED", "TERMINATED"};
constexpr std::array<std::string_view, 8> kInstance{"PENDING",     "RUNNING",    "STOPPING",    "STOPPED",
                                                    "TERMINATING", "TERMINATED", "UNAVAILABLE", "UNKNOWN"};
constexpr std::array<std::string_view, 6> kWorker{"STARTING", "RUNNING", "STOPPED",
                                                  "LATE",     "LOST",    "SHUTDOWN"};

}  // namespace

std::string_view to_string(WrStatus s) {
  return pick(kWr, s);
}
std::string_view to_string(TgStatus s) {
  return pick(kTg, s);
}
std::string_view to_string(TaskStatus s) {
  return pick(kTask, s);
}
std::string_view to_string(PoolStatus s) {
  return pick(kPool, s);
}
std::string_view to_string(CrStatus s) {
  return pick(kCr, s);
}
std::string_view to_string(NodeStatus s) {
  return pick(kNode, s);
}
std::string_view to_string(InstanceStatus s) {
  return pick(kInstance, s);
}
std::string_view to_string(WorkerStatus s) {
  return pick(kWorker, s);
}
std::optional<WrStatus> parse_wr_status(std::string_view s) {
  return find<WrStatus>(kWr, s);
}
std::optional<TaskStatus> parse_task_status(std::string_view s) {
  return find<TaskStatus>(kTask, s);
}

bool finished(WrStatus s) {
  return s == WrStatus::kCompleted || s == WrStatus::kFailed || s == WrStatus::kCancelled;
}
bool terminal(TgStatus s) {
  return s == TgStatus::kCompleted || s == TgStatus::kFailed || s == TgStatus::kCancelled;
}
bool waiting(TaskStatus s) {
  return s == TaskStatus::kPending || s == TaskStatus::kReady;
}
bool in_progress(TaskStatus s) {
  return s == TaskStatus::kAllocated || s == TaskStatus::kDownloading || s == TaskStatus::kExecuting ||
         s == TaskStatus::kUploading;
}
bool finished(TaskStatus s) {
  return !waiting(s) && !in_progress(s);
}
bool finished(PoolStatus s) {
  return s == PoolStatus::kShutdown || s == PoolStatus::kTerminated;
}
bool gone(NodeStatus s) {
  return s == NodeStatus::kLost || s == NodeStatus::kDeregistered || s == NodeStatus::kTerminated;
}

std::string Task::task_type() const {
  if (spec.contains("taskType") && spec["taskType"].is_string()) return spec["taskType"].get<std::string>();
  if (group) {
    const auto& tmpl = group->spec.value("taskTemplate", json::object());
    if (tmpl.is_object() && tmpl.contains("taskType") && tmpl["taskType"].is_string())
      return tmpl["taskType"].get<std::string>();
  }
  return "";
}

const json& TaskGroup::run_spec() const {
  static const json empty = json::object();
  auto it = spec.find("runSpecification");
  return it != spec.end() && it->is_object() ? *it : empty;
}

bool Node::busy() const {
  for (const auto& w : workers)
    if (w->claimed_by || w->task) return true;
  return false;
}

}  // namespace raydog::ydsim
