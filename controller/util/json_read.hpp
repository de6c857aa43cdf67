#pragma once
// Reading JSON that someone else wrote (an API server, a proxy, a Lease another process edits, a YAML file):
// nothing here throws. nlohmann's value(key, default) throws when the key holds another type, and dump()
// throws on invalid UTF-8 (YAML does not check it); both have crashed a parser under fuzzing.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace raydog {

// object[key] when object is an object and the member a string, else `fallback`.
inline std::string json_string_or(const nlohmann::json& object, std::string_view key, std::string fallback = {}) {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// object[key] when it is an integer that fits in int64, else `fallback`.
inline std::int64_t json_int_or(const nlohmann::json& object, std::string_view key, std::int64_t fallback) {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (it->is_number_unsigned())
    return it->get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX) ? it->get<std::int64_t>() : fallback;
  return it->is_number_integer() ? it->get<std::int64_t>() : fallback;
}

// object[key] when it is an object, else an empty object.
inline nlohmann::json json_object_or_empty(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return nlohmann::json::object();
  const auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : nlohmann::json::object();
}

// Compact JSON text; invalid UTF-8 becomes U+FFFD instead of an exception (for messages and logs).
inline std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace raydog
