#pragma once
// What the reconciler needs from something that watches YellowDog for it (controller/observer/ is the
// implementation; `--yellowdog-observe search`). With a feed, a steady cluster's reconcile does not poll
// its work requirement: the feed wakes the cluster's key when its tasks or its work requirement change, and
// vouches in between that the last full observation is still current. Without one (`poll`), every steady
// reconcile reads the work requirement (one call per --requeue-steady).
//
// The contract that keeps this safe: unchanged_since(key, t) may answer true only if every change of the
// cluster's work requirement or tasks that happened after t (task starts too, while report_starts is on)
// would already have been reported (the key
// woken and the answer turned false). When the feed cannot promise that (not following the key, its
// searches failing, not yet caught up), it answers false and the reconciler reads YellowDog as before.
#include <memory>
#include <string>
#include <vector>

#include "controller/reconcile/observed.hpp"

namespace raydog::yellowdog {
class YellowDogApi;
}

namespace raydog::reconcile {

// One cluster's YellowDog objects as the feed needs them to recognise its changes.
struct FollowedCluster {
  std::string account;  // API URL + key id: searches are per account (and a key sees only its account)
  std::shared_ptr<yellowdog::YellowDogApi> client;  // any client of that account
  std::string yellowdog_namespace;
  std::string work_requirement_id;
  std::vector<std::string> task_group_ids;
};

class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  // `key` owns these objects (called after every observe that read the work requirement; cheap when
  // nothing changed). A new key, or new ids, count as a change at this moment.
  virtual void follow(const std::string& key, FollowedCluster cluster) = 0;
  // The cluster is gone (deleted, torn down, or its work requirement no longer exists).
  virtual void unfollow(const std::string& key) = 0;
  // True when nothing of `key` can have changed unseen since `since` (see above).
  virtual bool unchanged_since(const std::string& key, TimePoint since) const = 0;
  // The cluster waits for tasks of its own to start (`awaiting`) or no longer does. Task starts are
  // reported (and vouched for) only for clusters that wait for them. True when the feed follows the key and
  // its searches succeed: it will wake the key when a task starts, so the reconciler need not poll for it.
  virtual bool report_starts(const std::string& key, bool awaiting) = 0;
};

}  // namespace raydog::reconcile
