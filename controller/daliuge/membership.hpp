#pragma once
// The DIM's node list as a PURE plan (daliuge-integration.md §4): what to POST and DELETE, one entry at a
// time, so that GET /api/nodes equals the desired set of Node Managers with each one exactly once.
//
// No I/O here: the registrar (registrar.hpp) reads the DIM, calls plan_membership(), performs the writes in
// order and stops at the first one that does not answer as expected. Such a write is UNCERTAIN (it may have
// been applied): the next plan is only allowed after a fresh GET (`actual_fresh`), never a blind write.
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace raydog::daliuge {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

// DALiuGE's own defaults for a node string's missing or invalid parts (§3).
inline constexpr std::int32_t kDlgDefaultNmPort = 8000;
inline constexpr std::int32_t kDlgDefaultEventsPort = 5555;
inline constexpr std::int32_t kDlgDefaultRpcPort = 6666;

struct NodePorts {
  std::int32_t nm = kDlgDefaultNmPort;
  std::int32_t events = kDlgDefaultEventsPort;
  std::int32_t rpc = kDlgDefaultRpcPort;
};

// The canonical key the operator registers: "ip:nm:events:rpc" (always all four parts, never a hostname).
std::string node_key(std::string_view ip, const NodePorts& ports);
// A node string as the DIM stores it: host[:rest[:events[:rpc]]] with a missing or invalid port (not an
// integer in 1-65535) replaced by DALiuGE's default, so "10.1.2.3" == "10.1.2.3:8000:5555:6666".
std::string canonical_node(std::string_view node);
// The host part of a node string.
std::string host_of(std::string_view node);

enum class WriteKind { kAdd, kRemove };
enum class Reason {
  kMissing,    // desired, not in the DIM's list (new worker, or a restarted DIM): POST
  kDuplicate,  // desired, listed more than once: DELETE the extra copies (POST is not idempotent)
  kDead,       // listed, its worker is gone or its NM does not answer: DELETE at once, whatever the policy
  kExtra,      // listed, its NM is alive but not wanted (scale-down, removed pool): DELETE (a planned change)
};
struct Write {
  WriteKind kind = WriteKind::kAdd;
  std::string key;  // canonical node string
  Reason reason = Reason::kMissing;
  bool operator==(const Write&) const = default;
};
std::string_view to_string(Reason r);
std::string describe(const Write& w);  // "POST 10.0.0.7:8000:5555:6666 (missing)"

struct MembershipInput {
  std::vector<std::string> desired;  // keys of NMs that must be listed once (duplicates ignored)
  std::vector<std::string> actual;   // GET /api/nodes as returned: duplicates kept, canonicalised here
  // Listed keys whose NM is alive but unwanted (its task is being cancelled, its pool removed): their
  // removal is a planned change (Reason::kExtra). Every other listed key that is not desired is Dead.
  std::set<std::string> alive_unwanted;
  // False when the last write's outcome is unknown (timeout, unexpected answer) and no GET came since.
  bool actual_fresh = true;
  // The membership policy's gate for planned changes (Missing adds, Extra removes): false while WhenIdle
  // holds them back. Dead and Duplicate entries are removed regardless: they break every submission.
  bool planned_changes_allowed = true;
};

struct MembershipPlan {
  bool read_first = false;      // `actual` is stale: GET /api/nodes and plan again, no writes now
  std::vector<Write> writes;    // in order: Dead, Duplicate, Extra removals, then adds; stop at a failure
  std::vector<Write> deferred;  // planned changes the policy holds back
  bool in_sync = false;         // actual == desired as sets, and no key listed twice
};
MembershipPlan plan_membership(const MembershipInput& in);

// WhenIdle: planned changes wait while a DALiuGE session is active (state 0-3 on some node), at most
// `max_deferral` from the moment a change was first held back (`pending_since`). Unknown session state
// (the DIM's /api/sessions failed) counts as active. Immediate always allows.
bool planned_changes_allowed(bool when_idle, std::optional<bool> sessions_active,
                             std::optional<TimePoint> pending_since, Millis max_deferral, TimePoint now);

}  // namespace raydog::daliuge
