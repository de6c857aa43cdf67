#pragma once
// meta.k8s.io/v1 Tables for `kubectl get` (§11): the CRD's printer columns (JSONPath subset incl.
// `[?(@.type=="Ready")]` filters), built-in columns for the kinds we serve, and server-rendered ages.
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "test/emulator/resources.hpp"

namespace raydog::emulator {

// Evaluates a printer-column JSONPath (".a.b", ".a[0].b", ".a[*].b", ".a[?(@.k==\"v\")].b", optional
// surrounding {}). Returns every match (empty when none).
std::vector<json> eval_json_path(const json& object, const std::string& path);
// "5m", "3h2m", "<unknown>", "<invalid>" as kubectl's duration.HumanDuration does.
std::string human_age(const std::string& timestamp, std::chrono::system_clock::time_point now);
std::string human_duration(std::chrono::seconds d);

enum class IncludeObject { kMetadata, kObject, kNone };

json table_columns(const ResourceInfo& info);
json table_row(const ResourceInfo& info, const json& object, IncludeObject include,
               std::chrono::system_clock::time_point now);
// A Table of `objects`; `list_metadata` is copied into the Table's metadata.
json make_table(const ResourceInfo& info, const std::vector<const json*>& objects, const json& list_metadata,
                IncludeObject include, std::chrono::system_clock::time_point now, bool with_columns = true);

}  // namespace raydog::emulator
