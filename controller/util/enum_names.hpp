#pragma once
// Enum <-> text as data: one table of (value, name) pairs per enum, looked up both ways, instead of a
// switch per enum. The tables are small (a few dozen entries at most), so a scan is as fast as a
// switch in practice and reads as what it is, a list of names.
#include <cstddef>
#include <optional>
#include <string_view>

namespace raydog {

template <class E>
struct EnumName {
  E value;
  const char* name;
};

// The name of `value`, or `fallback` when the table lacks it.
template <class E, std::size_t N>
constexpr const char* name_of(const EnumName<E> (&table)[N], E value, const char* fallback) {
  for (const auto& row : table)
    if (row.value == value) return row.name;
  return fallback;
}

// The value named `name` (exact match), or nullopt.
template <class E, std::size_t N>
constexpr std::optional<E> value_of(const EnumName<E> (&table)[N], std::string_view name) {
  for (const auto& row : table)
    if (name == row.name) return row.value;
  return std::nullopt;
}

}  // namespace raydog
