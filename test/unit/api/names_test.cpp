#include <doctest/doctest.h>

#include <random>
#include <set>

#include "api/names.hpp"

using namespace raydog::api;

TEST_CASE("names: the YellowDog name rule") {
  CHECK(names::is_valid("a"));
  CHECK(names::is_valid("rdc-team-a-demo-1234abcd_x"));
  CHECK(names::is_valid(std::string(60, 'a')));
  CHECK_FALSE(names::is_valid(""));
  CHECK_FALSE(names::is_valid(std::string(61, 'a')));
  CHECK_FALSE(names::is_valid("1abc"));
  CHECK_FALSE(names::is_valid("-abc"));
  CHECK_FALSE(names::is_valid("Abc"));
  CHECK_FALSE(names::is_valid("a.b"));
  CHECK_FALSE(names::is_valid("a b"));
}

TEST_CASE("names: a short cluster keeps readable names") {
  std::string base = names::base("team-a", "demo", "6f1c1f9e-3d0c-4b7e-9a53-0c2b9b1f0a11");
  std::string h = names::hash8("6f1c1f9e-3d0c-4b7e-9a53-0c2b9b1f0a11");
  CHECK(h.size() == 8);
  CHECK(base == "rdc-team-a-demo-" + h);
  CHECK(names::work_requirement(base) == base);
  CHECK(names::head_pool(base) == base + "-head");
  CHECK(names::observability_pool(base) == base + "-obs");
  CHECK(names::worker_pool(base, "cpu") == base + "-w-cpu");
  CHECK(names::worker_tag(names::worker_pool(base, "cpu")) == base + "-w-cpu");
  CHECK(names::task_group(names::TaskKind::kHead) == "head-node");
  CHECK(names::task_group(names::TaskKind::kObservability) == "observability-node");
  CHECK(names::task_group(names::TaskKind::kWorker, "cpu") == "worker-nodes-cpu");
  CHECK(names::task(names::TaskKind::kHead, 1) == "head-00001");
  CHECK(names::task(names::TaskKind::kObservability, 2) == "observability-00002");
  CHECK(names::task(names::TaskKind::kWorker, 123) == "worker-00123");
}

TEST_CASE("names: sha256 prefix is the documented hash") {
  // printf '' | sha256sum -> e3b0c442...; printf abc | sha256sum -> ba7816bf...
  CHECK(names::hash8("") == "e3b0c442");
  CHECK(names::hash8("abc") == "ba7816bf");
}

TEST_CASE("names: clean lower-cases and replaces foreign characters") {
  CHECK(names::clean("My.Cluster_1") == "my-cluster_1");
  CHECK(names::clean("a/b:c") == "a-b-c");
}

TEST_CASE("names: long inputs are shortened deterministically within 60 characters") {
  std::string ns(63, 'n');
  std::string name = std::string(200, 'x') + ".example.com";
  std::string uid = "11111111-2222-3333-4444-555555555555";
  std::string base = names::base(ns, name, uid);
  CHECK(base.size() <= 40);
  CHECK(base == names::base(ns, name, uid));            // deterministic
  CHECK(base != names::base(ns, name, "another-uid"));  // another incarnation, other names
  CHECK(base.ends_with("-" + names::hash8(uid)));
  std::string pool(63, 'p');
  std::string wp = names::worker_pool(base, pool);
  CHECK(wp.size() == 60);
  CHECK(names::is_valid(wp));
  CHECK(wp.starts_with(base + "-w-"));  // the base survives shortening
  CHECK(wp == names::worker_pool(base, pool));
  // Two long pools with the same prefix still get different names.
  CHECK(names::worker_pool(base, std::string(62, 'p') + "a") !=
        names::worker_pool(base, std::string(62, 'p') + "b"));
  std::string tg = names::worker_task_group(pool);
  CHECK(tg.size() == 60);
  CHECK(names::is_valid(tg));
  CHECK(names::fit("short") == "short");
}

TEST_CASE("names: clipping never leaves a separator before the hash") {
  // 31st character is '-': "rdc-" + 26 chars + "-..." -> clipped before the '-'.
  std::string base = names::base("ns", std::string(24, 'a') + "-bbbb", "u");
  CHECK(base.find("--") == std::string::npos);
  CHECK(names::is_valid(base));
}

TEST_CASE("names: every derived name is valid for random inputs (property)") {
  std::mt19937 rng(42);  // fixed seed: reproducible
  const std::string label_chars = "abcdefghijklmnopqrstuvwxyz0123456789-";
  const std::string name_chars = label_chars + ".";
  auto random_string = [&](const std::string& chars, size_t min_len, size_t max_len) {
    std::uniform_int_distribution<size_t> len(min_len, max_len), pick(0, chars.size() - 1);
    std::string s;
    for (size_t n = len(rng), i = 0; i < n; ++i) s.push_back(chars[pick(rng)]);
    return s;
  };
  std::set<std::string> bases;
  for (int i = 0; i < 2000; ++i) {
    std::string ns = random_string(label_chars, 1, 63), name = random_string(name_chars, 1, 253);
    std::string uid = random_string("0123456789abcdef-", 36, 36), pool = random_string(label_chars, 1, 63);
    std::string base = names::base(ns, name, uid);
    bases.insert(base);
    for (const std::string& n :
         {names::work_requirement(base), names::head_pool(base), names::observability_pool(base),
          names::worker_pool(base, pool), names::worker_task_group(pool),
          names::task(names::TaskKind::kWorker, 99999)}) {
      INFO(n);
      CHECK(names::is_valid(n));
      CHECK(n.size() <= names::kMaxNameLength);
    }
  }
  CHECK(bases.size() == 2000);  // uids differ, so bases differ
}

TEST_CASE("names: task ordinals round-trip") {
  using names::TaskKind;
  CHECK(names::task_ordinal(TaskKind::kWorker, "worker-00042") == 42);
  CHECK(names::task_ordinal(TaskKind::kWorker, names::task(TaskKind::kWorker, 123456)) == 123456);
  CHECK(names::task_ordinal(TaskKind::kHead, "head-00001") == 1);
  CHECK_FALSE(names::task_ordinal(TaskKind::kHead, "worker-00001"));
  CHECK_FALSE(names::task_ordinal(TaskKind::kWorker, "worker-42"));
  CHECK_FALSE(names::task_ordinal(TaskKind::kWorker, "worker-000042"));  // not what task() produces
  CHECK_FALSE(names::task_ordinal(TaskKind::kWorker, "worker-00000"));
  CHECK_FALSE(names::task_ordinal(TaskKind::kWorker, "worker-0004x"));
}
