#pragma once
// Kubernetes timestamps: Time is RFC 3339 UTC with seconds ("2025-05-01T12:00:00Z"), MicroTime has six
// fractional digits ("2025-05-01T12:00:00.123456Z"). Parsing accepts any fraction and numeric offsets.
// The RFC 3339 code itself lives once, in controller/util/time.hpp; these name the Kubernetes forms.
#include "controller/util/time.hpp"

namespace raydog::kube {

using SystemTime = raydog::SystemTime;

inline std::string format_time(SystemTime t) {
  return format_rfc3339(t, 0);
}
inline std::string format_micro_time(SystemTime t) {
  return format_rfc3339(t, 6);
}
inline std::optional<SystemTime> parse_time(std::string_view text) {
  return parse_rfc3339(text);
}

}  // namespace raydog::kube
