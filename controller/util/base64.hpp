#pragma once
// Standard base64 (RFC 4648, with padding), as Kubernetes uses for Secret data and kubeconfig *-data fields.
#include <optional>
#include <string>
#include <string_view>

namespace raydog {

std::string base64_encode(std::string_view bytes);
// nullopt on malformed input. Whitespace and newlines (wrapped PEM-style input) are ignored.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace raydog
