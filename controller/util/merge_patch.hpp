#pragma once
// JSON merge patches (RFC 7386) between two documents: what the controllers send to write only the status
// fields that changed. nlohmann applies merge patches (merge_patch) and diffs into JSON Patch (diff), but
// does not build a merge patch; this does.
#include <nlohmann/json.hpp>

namespace raydog {

// A merge patch turning `from` into `to` (keys absent from `to` become null; arrays replaced whole).
nlohmann::json merge_patch_between(const nlohmann::json& from, const nlohmann::json& to);

}  // namespace raydog
