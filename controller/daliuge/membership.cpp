#include "controller/daliuge/membership.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "controller/util/enum_names.hpp"

namespace raydog::daliuge {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// DALiuGE parses each port with int() and falls back to the default when that fails; a value outside the
// TCP range could never be reached, so it is treated the same way.
std::int32_t port_or(std::string_view text, std::int32_t fallback) {
  std::int32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 1 || v > 65535) return fallback;
  return v;
}

}  // namespace

std::string node_key(std::string_view ip, const NodePorts& ports) {
  return std::string(ip) + ":" + std::to_string(ports.nm) + ":" + std::to_string(ports.events) + ":" +
         std::to_string(ports.rpc);
}

std::string canonical_node(std::string_view node) {
  auto parts = split(node, ':');
  NodePorts p;
  if (parts.size() > 1) p.nm = port_or(parts[1], kDlgDefaultNmPort);
  if (parts.size() > 2) p.events = port_or(parts[2], kDlgDefaultEventsPort);
  if (parts.size() > 3) p.rpc = port_or(parts[3], kDlgDefaultRpcPort);
  return node_key(parts[0], p);
}

std::string host_of(std::string_view node) {
  return std::string(node.substr(0, node.find(':')));
}

std::string_view to_string(Reason r) {
  static constexpr EnumName<Reason> kNames[] = {{Reason::kMissing, "missing"},
                                                {Reason::kDuplicate, "duplicate"},
                                                {Reason::kDead, "dead"},
                                                {Reason::kExtra, "unwanted"}};
  return name_of(kNames, r, "?");
}

std::string describe(const Write& w) {
  return std::string(w.kind == WriteKind::kAdd ? "POST " : "DELETE ") + w.key + " (" +
         std::string(to_string(w.reason)) + ")";
}

MembershipPlan plan_membership(const MembershipInput& in) {
  MembershipPlan plan;
  if (!in.actual_fresh) {
    plan.read_first = true;
    return plan;
  }
  const std::set<std::string> desired(in.desired.begin(), in.desired.end());
  std::map<std::string, int> count;  // canonical key -> occurrences in the DIM's list
  for (const auto& a : in.actual) ++count[canonical_node(a)];

  std::vector<Write> dead, duplicate, extra, add;
  for (const auto& [key, n] : count) {
    if (desired.count(key)) {
      for (int i = 1; i < n; ++i) duplicate.push_back({WriteKind::kRemove, key, Reason::kDuplicate});
    } else if (in.alive_unwanted.count(key)) {
      for (int i = 0; i < n; ++i) extra.push_back({WriteKind::kRemove, key, Reason::kExtra});
    } else {
      for (int i = 0; i < n; ++i) dead.push_back({WriteKind::kRemove, key, Reason::kDead});
    }
  }
  for (const auto& key : desired)
    if (!count.count(key)) add.push_back({WriteKind::kAdd, key, Reason::kMissing});

  // Removals first: a stale entry fails every session at once, a missing one only narrows the island.
  for (auto* group : {&dead, &duplicate}) plan.writes.insert(plan.writes.end(), group->begin(), group->end());
  for (auto* group : {&extra, &add}) {
    auto& target = in.planned_changes_allowed ? plan.writes : plan.deferred;
    target.insert(target.end(), group->begin(), group->end());
  }
  plan.in_sync = dead.empty() && duplicate.empty() && extra.empty() && add.empty();
  return plan;
}

bool planned_changes_allowed(bool when_idle, std::optional<bool> sessions_active,
                             std::optional<TimePoint> pending_since, Millis max_deferral, TimePoint now) {
  if (!when_idle) return true;
  if (sessions_active && !*sessions_active) return true;
  // Busy (or unknown): hold, but never longer than max_deferral from the first hold.
  return pending_since && now - *pending_since >= max_deferral;
}

}  // namespace raydog::daliuge
