#pragma once
// Small string helpers shared by config readers (kubeconfig, token files, service-account files) and
// flag values.
#include <cctype>
#include <string>
#include <string_view>

namespace raydog {

// Drops spaces, tabs, CR and LF at both ends (files usually end with a newline; a comma-separated flag
// value written as a YAML block has them after each comma).
inline std::string trim(std::string s) {
  auto blank = [](char c) { return c == '\n' || c == '\r' || c == ' ' || c == '\t'; };
  while (!s.empty() && blank(s.back())) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && blank(s[b])) ++b;
  return s.substr(b);
}

// Bytes as lower-case hex ("\x12\xab" -> "12ab"): binary ids (Ray node and cluster ids) in text.
inline std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// ASCII lower case (host names, schemes: compared case-insensitively).
inline std::string ascii_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace raydog
