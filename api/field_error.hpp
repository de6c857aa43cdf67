#pragma once
// A problem with one field of a manifest, named by its JSON path (`spec.workerPools[1].nodes`), in the
// form users know from kubectl: "<path>: <message>".
#include <string>
#include <vector>

namespace raydog::api {

struct FieldError {
  std::string path;
  std::string message;
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
  bool operator==(const FieldError&) const = default;
};

using FieldErrors = std::vector<FieldError>;

// One line per error, in order.
inline std::string to_string(const FieldErrors& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.to_string();
  }
  return out;
}

}  // namespace raydog::api
