#pragma once
// A Snapshot as the reconciler keeps it between reconciles: its tasks, pools and trimmed work requirement
// packed into one string (util/bytes.hpp) and gzipped (util/gzip.hpp Gzipped: the ids of one cluster share
// long prefixes), unpacked when a reconcile reuses it. Kept as records, a steady cluster's snapshot was ~9 KB
// of heap (a TaskGroup is 800 bytes before its strings, a TaskRecord 304, and every id its own allocation):
// the largest part of the operator's heap at 1,000 clusters (heaptrack; test/bench/README.md "Ten thousand
// clusters", session 15). Packed it was 2.8 KB, gzipped ~0.8 KB; a steady reconcile inflates and unpacks it
// in microseconds, as it spent copying the records before.
#include <optional>
#include <string>

#include "controller/reconcile/observe.hpp"
#include "controller/util/bytes.hpp"
#include "controller/util/gzip.hpp"

namespace raydog::reconcile {

class PackedSnapshot {
 public:
  explicit PackedSnapshot(const Snapshot& snapshot);

  // The snapshot as packed, without its work requirement after drop_work_requirement(); nullopt when the
  // bytes do not read back (a bug, never expected): the caller then reads YellowDog afresh.
  std::optional<Snapshot> unpack() const;

  TimePoint read_at() const { return read_at_; }
  bool keeps_work_requirement() const { return keeps_work_requirement_; }
  // The cluster is no longer steady: no ChangeFeed may vouch for this snapshot any more (observe must read
  // the work requirement), but its tasks and pools still serve a matching fingerprint.
  void drop_work_requirement() { keeps_work_requirement_ = false; }
  std::size_t bytes() const { return packed_.bytes.size(); }  // what it keeps

 private:
  TimePoint read_at_{};
  bool keeps_work_requirement_ = false;
  Gzipped packed_;
};

// One pool record's fields, and its CR's, for the process's pool index, which packs the pools it knows of a
// cluster (observe.cpp). A reader past the end leaves `r` not ok().
void write_pool(ByteWriter& w, const PoolRecord& pool);
PoolRecord read_pool(ByteReader& r);
void write_cr(ByteWriter& w, const std::optional<PoolRecord::Cr>& cr);
std::optional<PoolRecord::Cr> read_cr(ByteReader& r);

}  // namespace raydog::reconcile
