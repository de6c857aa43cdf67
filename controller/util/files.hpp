#pragma once
// Whole-file reads of the small files the operator and its test servers take by path (kubeconfig and
// what it names, a CA bundle, a TLS certificate): one place that says why a read failed.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "controller/util/result.hpp"

namespace raydog {

// The file's bytes, or errno's text ("No such file or directory"): callers say which file and what for.
inline Result<std::string, std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(std::string(std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace raydog
