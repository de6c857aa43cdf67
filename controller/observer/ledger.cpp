#include "controller/observer/ledger.hpp"

#include <algorithm>

namespace raydog::observer {

namespace yd = raydog::yellowdog;

Ledger::Ledger(LedgerOptions options) : options_(options) {}

bool Ledger::follow(const std::string& key, const reconcile::FollowedCluster& cluster, TimePoint now) {
  auto [it, inserted] = clusters_.try_emplace(key);
  Cluster& c = it->second;
  const bool same = !inserted && c.account == cluster.account && c.ns == cluster.yellowdog_namespace &&
                    c.work_requirement_id == cluster.work_requirement_id &&
                    c.task_group_ids == cluster.task_group_ids;
  if (same) {
    accounts_[c.account].client = cluster.client;  // the newest client of the account (a rotated key)
    return false;
  }
  const bool awaited = !inserted && c.awaits_start;
  if (!inserted) release(key, c);  // before the account is looked up: it may erase it
  const bool new_account = !accounts_.contains(cluster.account);
  Account& account = accounts_[cluster.account];
  account.client = cluster.client;
  c.account = cluster.account;
  c.ns = cluster.yellowdog_namespace;
  c.work_requirement_id = cluster.work_requirement_id;
  c.task_group_ids = cluster.task_group_ids;
  c.changed_at = now;
  ++account.namespaces[c.ns];
  c.awaits_start = awaited;  // released with the old account: counted again in the new one
  if (awaited) ++account.awaiting_start;
  by_object_[c.work_requirement_id] = key;
  for (const auto& g : c.task_group_ids) by_object_[g] = key;
  return new_account;
}

void Ledger::unfollow(const std::string& key) {
  auto it = clusters_.find(key);
  if (it == clusters_.end()) return;
  release(key, it->second);
  clusters_.erase(it);
}

// Drops what `c` registered (its ids, its namespace count; the account once nothing follows it).
void Ledger::release(const std::string& key, const Cluster& c) {
  const auto drop = [&](const std::string& id) {
    auto o = by_object_.find(id);
    if (o != by_object_.end() && o->second == key) by_object_.erase(o);
  };
  drop(c.work_requirement_id);
  for (const auto& g : c.task_group_ids) drop(g);
  auto a = accounts_.find(c.account);
  if (a == accounts_.end()) return;
  if (c.awaits_start) --a->second.awaiting_start;
  auto n = a->second.namespaces.find(c.ns);
  if (n != a->second.namespaces.end() && --n->second <= 0) a->second.namespaces.erase(n);
  if (a->second.namespaces.empty()) accounts_.erase(a);
}

bool Ledger::await_starts(const std::string& key, bool on, TimePoint now) {
  auto it = clusters_.find(key);
  if (it == clusters_.end()) return false;
  Cluster& c = it->second;
  if (c.awaits_start == on) return true;
  auto a = accounts_.find(c.account);
  if (a == accounts_.end()) return false;
  c.awaits_start = on;
  if (on && a->second.awaiting_start++ == 0) c.changed_at = now;
  if (!on) --a->second.awaiting_start;
  return true;
}

bool Ledger::current(const std::string& key, TimePoint now) const {
  auto c = clusters_.find(key);
  if (c == clusters_.end()) return false;
  auto a = accounts_.find(c->second.account);
  return a != accounts_.end() && a->second.last_success && now - *a->second.last_success <= options_.stale_after;
}

bool Ledger::following(const std::string& account) const {
  return accounts_.contains(account);
}

std::shared_ptr<yd::YellowDogApi> Ledger::client(const std::string& account) const {
  auto a = accounts_.find(account);
  return a == accounts_.end() ? nullptr : a->second.client;
}

ScanPlan Ledger::plan(const std::string& account, SystemTime local_now) const {
  ScanPlan p;
  auto a = accounts_.find(account);
  if (a == accounts_.end()) return p;
  for (const auto& [ns, n] : a->second.namespaces) p.namespaces.push_back(ns);
  p.window_start = a->second.window_start.value_or(local_now - options_.overlap);
  p.starts = a->second.awaiting_start > 0;
  return p;
}

std::vector<Change> Ledger::scanned(const std::string& account, const std::vector<yd::Task>& finished,
                                    const std::vector<yd::Task>& began,
                                    const std::vector<yd::WorkRequirementSummary>& changed,
                                    std::optional<SystemTime> server_time, TimePoint started, TimePoint now) {
  std::vector<Change> out;
  auto a = accounts_.find(account);
  if (a == accounts_.end()) return out;
  Account& acc = a->second;
  std::set<std::string> woken;
  // One object's change, found by `owner_id` (what the cluster registered): reported once per (dedup_id,
  // time), and each key once per scan.
  const auto saw = [&](const std::string& owner_id, const std::string& dedup_id,
                       const std::optional<std::string>& when_text, std::string what) {
    auto owner = by_object_.find(owner_id);
    if (owner == by_object_.end()) return;
    const auto when = when_text ? yd::parse_timestamp(*when_text) : std::nullopt;
    // Older than the window the search asked for: a server that ignored the filter (each scan would
    // otherwise wake the cluster again, the old id being forgotten as out of the window).
    if (when && acc.window_start && *when < *acc.window_start) return;
    const SystemTime at = when.value_or(SystemTime{});
    auto [r, fresh] = acc.reported.try_emplace(dedup_id, at);
    if (!fresh && r->second == at) return;
    r->second = at;
    auto c = clusters_.find(owner->second);
    if (c == clusters_.end() || c->second.account != account) return;
    c->second.changed_at = now;
    if (woken.insert(owner->second).second) out.push_back({owner->second, std::move(what)});
  };
  for (const auto& t : finished)
    if (t.task_group_id && t.id)
      saw(*t.task_group_id, *t.id, t.finished_time,
          "task " + t.name.value_or(*t.id) + " " + (t.status ? t.status->str() : std::string("finished")));
  // A start is its own change (a task may start and end within one window): remembered under its id and
  // a suffix no id carries. Only an EXECUTING task counts: were a platform to stamp startedTime earlier
  // (DOWNLOADING), the waiting cluster would wake to find nothing changed and sleep again; skipped, such a
  // task comes back with the next window's overlap, EXECUTING by then (one that ended is in `finished`).
  for (const auto& t : began)
    if (t.task_group_id && t.id && (!t.status || t.status->str() == "EXECUTING"))
      saw(*t.task_group_id, *t.id + " started", t.started_time, "task " + t.name.value_or(*t.id) + " started");
  for (const auto& wr : changed)
    saw(wr.id, wr.id, wr.status_changed_time, "work requirement " + wr.status.str());

  // The next window starts `overlap` before this scan's server time; what can no longer be returned
  // again is forgotten.
  const SystemTime next = server_time.value_or(started) - options_.overlap;
  acc.window_start = acc.window_start ? std::max(*acc.window_start, next) : next;
  for (auto r = acc.reported.begin(); r != acc.reported.end();)
    r = r->second < *acc.window_start ? acc.reported.erase(r) : std::next(r);
  acc.last_success = now;
  return out;
}

bool Ledger::unchanged_since(const std::string& key, TimePoint since, TimePoint now) const {
  if (!current(key, now)) return false;
  return clusters_.at(key).changed_at < since;
}

std::size_t Ledger::remembered() const {
  std::size_t n = 0;
  for (const auto& [name, a] : accounts_) n += a.reported.size();
  return n;
}

}  // namespace raydog::observer
