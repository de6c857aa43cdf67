#pragma once
// The searches of the REST surface (spec §5.5): filters, slices (§3) and the legacy plain arrays. Pure, like
// api.hpp: a query in, a response out.
//
// Slices: a search answers one page of `size` (default --page-size) items and a `nextSliceId` when more
// match. Searches in creation order page by offset ("o<N>"). A search with a time-range filter answered
// from a time index (finishedTime or startedTime of tasks, statusChangedTime of work requirements) answers
// in the order of that time (ties: the order the simulator stamped them) and pages by the last item's index
// key ("k<key>"): an object stamped again between two pages moves to the end instead of shifting the
// others, so a client walking the pages misses nothing.
#include <cstddef>
#include <optional>
#include <string>

#include "test/yellowdog-sim/api.hpp"

namespace raydog::ydsim {

ApiResponse search_work_requirements(Simulator& sim, const Query& q, std::size_t page_size);
ApiResponse search_tasks(Simulator& sim, const Query& q, std::size_t page_size);
ApiResponse search_worker_pools(Simulator& sim, const Query& q, std::size_t page_size);
ApiResponse search_nodes(Simulator& sim, const Query& q, std::size_t page_size);
ApiResponse search_instances(Simulator& sim, const Query& q, std::size_t page_size);

// The first value of a query key.
std::optional<std::string> query_value(const Query& q, const std::string& key);

}  // namespace raydog::ydsim
