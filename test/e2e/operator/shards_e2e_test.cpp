// Sharding (issue 23): two operators, `--shard-selector raydog.io/shard=a` and `=b`, both with
// --leader-elect (each shard names its own Lease), on one kube-emulator and one yellowdog-sim. Each
// operator records every YellowDog call with the object it concerns and every Kubernetes request
// (raydog-operator-e2e --record-calls); mapping those objects back to clusters through /_sim/objects shows
// that no cluster is touched by both, and that an unlabelled cluster is touched by neither. Then a cluster
// moves from shard a to shard b by relabelling: b adopts the same YellowDog objects (no second work
// requirement, nothing torn down), a stops touching it, b carries a spec change and finally the delete.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "controller/options.hpp"
#include "test/e2e/operator/harness.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

const std::string kNs = "shards";
const std::vector<std::string> kShardA = {"a1", "a2", "a3"};
const std::vector<std::string> kShardB = {"b1", "b2", "b3"};
const std::string kUnlabelled = "u1";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string labelled_cluster(const Env& env, const std::string& name, const std::string& shard) {
  std::string y = small_cluster(env, name, kNs, 1);
  if (shard.empty()) return y;
  const std::string md = "metadata:\n";
  y.insert(y.find(md) + md.size(), "  labels:\n    raydog.io/shard: " + shard + "\n");
  return y;
}

// Every "ydid:..." string anywhere in `j`.
void collect_ids(const json& j, std::set<std::string>& out) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.rfind("ydid:", 0) == 0) out.insert(s);
  } else if (j.is_structured()) {
    for (const auto& v : j) collect_ids(v, out);
  }
}

// YellowDog id -> cluster name, for the clusters `names`: objects named "rdc-<ns>-<cluster>-..." belong to
// it, and so does every object that refers to an id one of them holds (tasks, compute requirements,
// instances, nodes and their workers), until nothing changes.
std::map<std::string, std::string> owners_of_ids(const json& objects, const std::vector<std::string>& names) {
  std::map<std::string, std::string> owner;
  std::vector<std::pair<std::set<std::string>, std::string>> items;  // ids of one object, its owner
  for (const auto& [kind, list] : objects.items()) {
    if (!list.is_array()) continue;
    for (const auto& o : list) {
      std::set<std::string> ids;
      collect_ids(o, ids);
      std::string who;
      const std::string name = o.is_object() ? o.value("name", "") : "";
      for (const auto& c : names)
        if (name.rfind("rdc-" + kNs + "-" + c + "-", 0) == 0) who = c;
      items.emplace_back(std::move(ids), who);
    }
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& [ids, who] : items) {
      if (who.empty())
        for (const auto& id : ids)
          if (auto it = owner.find(id); it != owner.end()) who = it->second;
      if (who.empty()) continue;
      for (const auto& id : ids)
        if (owner.emplace(id, who).second) changed = true;
    }
  }
  return owner;
}

struct Record {
  std::int64_t t = 0;
  std::string api, op, subject;
  std::string cluster;  // "" when the record concerns no one cluster
};

// "" for a namespace- or account-wide YellowDog search or a Kubernetes request that names no cluster's
// object;
// "?" for a YellowDog call whose subject maps to nothing known (attribution incomplete).
std::string cluster_of(const Record& r, const std::map<std::string, std::string>& ids,
                       const std::vector<std::string>& names) {
  if (r.api == "yd") {
    if (r.subject.rfind("ns:", 0) == 0 || r.subject.rfind("account:", 0) == 0) return "";  // the observer's
    if (r.subject.rfind("ydid:", 0) == 0) {
      auto it = ids.find(r.subject);
      return it == ids.end() ? "?" : it->second;
    }
    for (const auto& c : names)
      if (r.subject.find("rdc-" + kNs + "-" + c + "-") != std::string::npos) return c;
    return "?";
  }
  // Kubernetes: the object a request names, /api(s)/.../namespaces/<ns>/<plural>/<name>[/<sub>][?...].
  std::string path = r.subject.substr(0, r.subject.find('?'));
  const std::string marker = "/namespaces/" + kNs + "/";
  const auto at = path.find(marker);
  if (at == std::string::npos) return "";
  std::vector<std::string> parts;
  std::string rest = path.substr(at + marker.size());
  for (std::size_t start = 0;;) {
    const auto slash = rest.find('/', start);
    parts.push_back(rest.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2) return "";
  const std::string& object = parts[1];
  for (const auto& c : names)  // the cluster, its Events ("<name>.<suffix>"), its Service ("<name>-head")
    if (object == c || object.rfind(c + ".", 0) == 0 || object.rfind(c + "-", 0) == 0) return c;
  return "";
}

std::vector<Record> read_records(const std::string& file, const std::map<std::string, std::string>& ids,
                                 const std::vector<std::string>& names) {
  std::vector<Record> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;  // a line being written
    Record r;
    r.t = j.value("t", std::int64_t{0});
    r.api = j.value("api", "");
    r.op = j.value("op", "");
    r.subject = j.value("subject", "");
    r.cluster = cluster_of(r, ids, names);
    out.push_back(std::move(r));
  }
  return out;
}

bool is_write(const Record& r) {
  return r.api == "kube" && r.op.rfind("GET ", 0) != 0;
}
bool is_status_write(const Record& r) {
  return is_write(r) && r.subject.find("/raydogclusters/") != std::string::npos &&
         r.subject.substr(0, r.subject.find('?')).ends_with("/status");
}
bool is_teardown(const Record& r) {
  return r.api == "yd" &&
         (r.op.rfind("DELETE ", 0) == 0 || r.op.find("CANCELLING") != std::string::npos ||
          r.op.find("TERMINATED") != std::string::npos || r.op.find("/cancel") != std::string::npos);
}

// What one operator's records say: YellowDog calls and Kubernetes writes per cluster.
struct Touches {
  std::map<std::string, int> yd, writes, status_writes;
  std::vector<std::string> unattributed;  // YellowDog subjects that map to nothing
};
Touches touches(const std::vector<Record>& records, std::int64_t after = 0) {
  Touches t;
  for (const auto& r : records) {
    if (r.t < after) continue;
    if (r.cluster == "?") {
      t.unattributed.push_back(r.op + " " + r.subject);
      continue;
    }
    if (r.cluster.empty()) continue;
    if (r.api == "yd") ++t.yd[r.cluster];
    if (is_write(r)) ++t.writes[r.cluster];
    if (is_status_write(r)) ++t.status_writes[r.cluster];
  }
  return t;
}

std::string lease_of(const std::string& selector) {
  auto o = raydog::cli::parse_controller_flags({"--shard-selector", selector});
  REQUIRE(o);
  return o->leader_election_id;
}

std::string log_tail(const Env& env, const std::string& file) {
  std::string text = read_file(env.dir.file(file));
  return text.size() > 4000 ? "..." + text.substr(text.size() - 4000) : text;
}

}  // namespace

TEST_CASE("shards: two operators split clusters by label, a relabelled cluster moves without teardown") {
  Env env;
  env.apply_prerequisites(kNs);
  const std::string rec_a = env.dir.file("calls-a.jsonl"), rec_b = env.dir.file("calls-b.jsonl");
  auto shard = [&](const std::string& value, const std::string& record, const std::string& log) {
    return env.spawn_operator({"--shard-selector", "raydog.io/shard=" + value, "--leader-elect",
                               "--leader-election-namespace", kNs, "--record-calls", record},
                              log);
  };
  auto op_a = shard("a", rec_a, "operator-a.log");
  auto op_b = shard("b", rec_b, "operator-b.log");
  const std::string logs_hint = "see operator-a.log / operator-b.log in " + env.dir.path().string();

  std::string yaml;
  for (const auto& c : kShardA) yaml += labelled_cluster(env, c, "a") + "---\n";
  for (const auto& c : kShardB) yaml += labelled_cluster(env, c, "b") + "---\n";
  yaml += labelled_cluster(env, kUnlabelled, "");
  env.apply(yaml);

  std::vector<std::string> shard_clusters = kShardA;
  shard_clusters.insert(shard_clusters.end(), kShardB.begin(), kShardB.end());
  const bool all_ready = env.eventually(
      [&] {
        for (const auto& c : shard_clusters)
          if (!env.is_ready(kNs, c)) return false;
        return true;
      },
      60s);
  const std::string both_logs = log_tail(env, "operator-a.log") + "\n---\n" + log_tail(env, "operator-b.log");
  REQUIRE_MESSAGE(all_ready, both_logs);
  CHECK(op_a->running());
  CHECK(op_b->running());

  // Each shard holds a Lease of its own, named after its selector, with itself as the holder.
  for (const auto& sel : {"raydog.io/shard=a", "raydog.io/shard=b"}) {
    auto lease = env.kubectl({"get", "lease", lease_of(sel), "-n", kNs, "-o", "json"});
    REQUIRE_MESSAGE(lease.exit_code == 0, lease.err);
    CHECK_FALSE(json::parse(lease.out)["spec"].value("holderIdentity", "").empty());
  }
  CHECK(lease_of("raydog.io/shard=a") != lease_of("raydog.io/shard=b"));
  const std::string log_a = read_file(env.dir.file("operator-a.log"));
  CHECK(log_a.find("shardSelector=raydog.io/shard=a") != std::string::npos);
  CHECK(log_a.find("lease=" + lease_of("raydog.io/shard=a")) != std::string::npos);

  std::vector<std::string> all = shard_clusters;
  all.push_back(kUnlabelled);
  auto records = [&](const std::string& file) {
    return read_records(file, owners_of_ids(env.sim_get("objects"), all), all);
  };
  auto check_split = [&](const Touches& mine, const std::vector<std::string>& own, const std::string& who) {
    INFO("operator " << who << " (" << logs_hint << ")");
    CHECK_MESSAGE(mine.unattributed.empty(), "calls attributed to no object: "
                                                 << mine.unattributed.size() << ", first: "
                                                 << (mine.unattributed.empty() ? "" : mine.unattributed[0]));
    for (const auto& [cluster, n] : mine.yd) {
      CAPTURE(cluster);
      CHECK(std::find(own.begin(), own.end(), cluster) != own.end());
    }
    for (const auto& [cluster, n] : mine.writes) {
      CAPTURE(cluster);
      CHECK(std::find(own.begin(), own.end(), cluster) != own.end());
    }
    for (const auto& c : own) {
      CAPTURE(c);
      CHECK(mine.yd.count(c) == 1);             // it built the cluster on YellowDog ...
      CHECK(mine.status_writes.count(c) == 1);  // ... and reported it
    }
  };
  auto summary = [](const Touches& t) {
    std::string out;
    for (const auto& [c, n] : t.yd)
      out += " " + c + ": " + std::to_string(n) + " YellowDog calls, " +
             std::to_string(t.status_writes.count(c) ? t.status_writes.at(c) : 0) + " status writes;";
    return out;
  };
  const Touches split_a = touches(records(rec_a)), split_b = touches(records(rec_b));
  MESSAGE("operator a:" << summary(split_a) << "\noperator b:" << summary(split_b));
  check_split(split_a, kShardA, "a");
  check_split(split_b, kShardB, "b");

  // The unlabelled cluster belongs to neither shard (it needs a `!raydog.io/shard` Deployment).
  auto u1 = env.get_cluster(kNs, kUnlabelled);
  REQUIRE(u1.has_value());
  CHECK_FALSE((*u1).contains("status"));
  CHECK_FALSE((*u1)["metadata"].contains("finalizers"));
  CHECK(view(env, kNs, kUnlabelled).work_requirements.empty());

  // Move a3 to shard b. Shard a's watch gets it as DELETED (it only forgets it); shard b's as ADDED.
  const SimView before = view(env, kNs, "a3");
  REQUIRE(before.work_requirements.size() == 1);
  std::set<std::string> pools_before;
  for (const auto& p : before.pools) pools_before.insert(p.value("id", ""));
  const std::int64_t moved_at = now_ms();
  auto relabel = env.kubectl({"label", "rdc", "a3", "-n", kNs, "raydog.io/shard=b", "--overwrite"});
  REQUIRE_MESSAGE(relabel.exit_code == 0, relabel.err);
  const bool adopted = env.eventually(
      [&] { return touches(records(rec_b), moved_at).yd.count("a3") == 1 && env.is_ready(kNs, "a3"); }, 30s);
  REQUIRE_MESSAGE(adopted, logs_hint);

  // A spec change now reaches only shard b: one more worker node.
  const std::int64_t scaled_at = now_ms();
  auto patch = env.kubectl(
      {"patch", "rdc", "a3", "-n", kNs, "--type", "merge", "-p",
       R"({"spec":{"workerPools":[{"name":"cpu","nodes":2,"computeRequirementTemplate":"ray/cpu"}]}})"});
  REQUIRE_MESSAGE(patch.exit_code == 0, patch.err);
  const bool scaled = env.eventually(
      [&] { return env.is_ready(kNs, "a3") && view(env, kNs, "a3").tasks_in("EXECUTING") >= 3; }, 30s);
  REQUIRE_MESSAGE(scaled, logs_hint);
  CHECK(touches(records(rec_b), scaled_at).yd.count("a3") == 1);
  CHECK(touches(records(rec_b), scaled_at).status_writes.count("a3") == 1);

  // The same YellowDog objects: one work requirement (the same), the same pools, none shut down.
  const SimView after = view(env, kNs, "a3");
  REQUIRE(after.work_requirements.size() == 1);
  CHECK(after.work_requirements[0].value("id", "") == before.work_requirements[0].value("id", ""));
  CHECK(after.live_work_requirements() == 1);
  std::set<std::string> pools_after;
  for (const auto& p : after.pools) pools_after.insert(p.value("id", ""));
  CHECK(pools_after == pools_before);
  CHECK(after.live_pools() == static_cast<int>(pools_before.size()));

  // Shard a let go (a reconcile in flight at the relabel may finish within a second); nothing was torn down.
  const auto a_records = records(rec_a);
  const Touches a_late = touches(a_records, moved_at + 1000);
  CHECK(a_late.yd.count("a3") == 0);
  CHECK(a_late.writes.count("a3") == 0);
  for (const auto& file : {rec_a, rec_b})
    for (const auto& r : records(file)) {
      CAPTURE(r.op);
      CAPTURE(r.subject);
      CHECK_FALSE(is_teardown(r));
    }
  // Shard b touches shard-a clusters a1 and a2 no more than before: never.
  const Touches b_all = touches(records(rec_b));
  CHECK(b_all.yd.count("a1") == 0);
  CHECK(b_all.yd.count("a2") == 0);

  // The new owner carries the delete: the finalizer's clean-up runs in shard b only.
  const std::int64_t deleted_at = now_ms();
  delete_clean(env, kNs, "a3");
  bool b_cleaned = false;
  for (const auto& r : records(rec_b))
    if (r.t >= deleted_at && r.cluster == "a3" && is_teardown(r)) b_cleaned = true;
  CHECK(b_cleaned);
  for (const auto& r : records(rec_a)) {
    CAPTURE(r.subject);
    CHECK_FALSE(is_teardown(r));
  }
  CHECK(op_a->running());
  CHECK(op_b->running());
}
