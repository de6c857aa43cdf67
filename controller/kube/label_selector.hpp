#pragma once
// Kubernetes label selectors as `kubectl -l` and `?labelSelector=` take them (k8s.io/apimachinery
// pkg/labels): `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>1`, `k<1`, joined by
// commas (all must hold). Used to check --shard-selector at start (the API server filters the informer;
// a bad selector would otherwise only show as a 400 on every list) and to name the shard's Lease after
// its normalized text. Pure: no I/O, no Asio.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controller/util/result.hpp"

namespace raydog::kube {

struct LabelRequirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist, kGreaterThan, kLessThan };
  std::string key;
  Op op = Op::kExists;
  std::vector<std::string> values;  // sorted, no duplicates (one for =, !=, >, <; none for exists)
};

class LabelSelector {
 public:
  // Errors say what was wrong and where, as the API server's 400 does ("found ')', expected: identifier").
  // "" (or only spaces) selects everything.
  static Result<LabelSelector, std::string> parse(std::string_view text);

  bool empty() const { return requirements_.empty(); }
  bool matches(const std::map<std::string, std::string>& labels) const;
  // apimachinery's String(): requirements sorted by key, set values sorted, no spaces but around
  // in/notin; `==` is written `=` (the same selector, so the same Lease name). Parses to the same selector.
  std::string normalized() const;
  const std::vector<LabelRequirement>& requirements() const { return requirements_; }

 private:
  std::vector<LabelRequirement> requirements_;
};

}  // namespace raydog::kube
