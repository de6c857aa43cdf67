#pragma once
// Small string helpers shared by config readers (kubeconfig, token files, service-account files) and
// flag values.
#include <cctype>
#include <string>

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

// ASCII lower case (host names, schemes: compared case-insensitively).
inline std::string ascii_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace raydog
