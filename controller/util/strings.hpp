#pragma once
// Small string helpers shared by config readers (kubeconfig, token files, service-account files).
#include <string>

namespace raydog {

// Drops trailing whitespace and newlines (files usually end with one) and leading spaces/tabs.
inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

}  // namespace raydog
