#include "controller/util/merge_patch.hpp"

namespace raydog {

using nlohmann::json;

json merge_patch_between(const json& from, const json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  json patch = json::object();
  for (auto it = from.begin(); it != from.end(); ++it)
    if (!to.contains(it.key())) patch[it.key()] = nullptr;
  for (auto it = to.begin(); it != to.end(); ++it) {
    auto old = from.find(it.key());
    if (old == from.end()) {
      patch[it.key()] = it.value();
    } else if (*old != it.value()) {
      patch[it.key()] =
          old->is_object() && it->is_object() ? merge_patch_between(*old, it.value()) : it.value();
    }
  }
  return patch;
}

}  // namespace raydog
