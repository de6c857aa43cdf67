#pragma once
// Every YellowDog name the operator uses, in one place. Names are deterministic, so the operator finds
// what it created by name before creating anything (a crash between create and status write leads to
// adoption, not duplication).
//
// YellowDog's rule: [a-z0-9_-], starting with a letter, at most 60 characters.
//
// Derivation (see api/README.md):
//   base        = clip("rdc-" + clean(namespace) + "-" + clean(name), 31) + "-" + hash8(uid)    (<= 40)
//   WR          = base
//   head pool   = base + "-head"            observability pool = base + "-obs"
//   worker pool = fit(base + "-w-" + pool)  (the pool's compute requirement has the same name)
//   worker tag  = the pool's name (one tag per pool, so each Ray node lands on its own VM)
//   task groups = "head-node", "observability-node", fit("worker-nodes-" + pool)
//   tasks       = "head-00001", "observability-00001", "worker-00001": a per-group ordinal, 5 digits
// where clean() lower-cases and turns every character outside [a-z0-9_-] into '-', clip(s, n) keeps the
// first n characters without trailing '-'/'_', hash8(x) is the first 8 hex digits of SHA-256(x), and
// fit(s) = s when it has <= 60 characters, else clip(s, 51) + "-" + hash8(s) (exactly 60 when clip keeps
// 51). The uid hash makes names unique per resource incarnation: deleting and re-creating a cluster with
// the same name never adopts the old cluster's (possibly orphaned) objects.
#include <optional>
#include <string>
#include <string_view>

namespace raydog::api::names {

inline constexpr size_t kMaxNameLength = 60;
inline constexpr std::string_view kPrefix = "rdc-";
inline constexpr std::string_view kHeadTaskGroup = "head-node";
inline constexpr std::string_view kObservabilityTaskGroup = "observability-node";

enum class TaskKind { kHead, kObservability, kWorker };

// True when `s` follows YellowDog's name rule.
bool is_valid(std::string_view s);

// First 8 hex digits of SHA-256(s).
std::string hash8(std::string_view s);
// Lower-cases and replaces characters outside [a-z0-9_-] with '-'.
std::string clean(std::string_view s);
// The derived name `s` if it fits 60 characters, else a deterministic 60-character shortening.
std::string fit(std::string_view s);
// The part of `s` that fit() keeps of any longer name starting with `s` (every fit(s + suffix) starts
// with it).
std::string fit_prefix(std::string_view s);

std::string base(std::string_view k8s_namespace, std::string_view name, std::string_view uid);
std::string work_requirement(std::string_view base);
std::string head_pool(std::string_view base);
std::string observability_pool(std::string_view base);
std::string worker_pool(std::string_view base, std::string_view pool);
std::string worker_tag(std::string_view pool_name);  // pool_name: a name from the three above
std::string worker_task_group(std::string_view pool);
std::string task_group(TaskKind kind, std::string_view pool = {});
// ordinal >= 1; the ordinal of the next task is 1 + the largest ordinal seen in the group.
std::string task(TaskKind kind, int ordinal);
// The ordinal of a task name produced by task(kind, n), or nullopt for any other name.
std::optional<int> task_ordinal(TaskKind kind, std::string_view task_name);

}  // namespace raydog::api::names
