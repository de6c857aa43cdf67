#pragma once
// --request-log FILE: one JSON line per request the emulator answers (after authentication), so a test can
// see exactly which client asked for what, e.g. every API call the operator made during a run, to check the
// RBAC rules against it (test/e2e/rbac). Fields: method, target (path and query), userAgent, code (200 for a
// watch that started), finalizers (a write whose body names "finalizers"). Never headers or bodies: Secrets
// pass through here. Header-only and single-threaded like the rest of the emulator.
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace raydog::emulator {

class RequestLog {
 public:
  // Truncates the file; an empty path disables the log. False when the file cannot be opened.
  bool open(const std::string& path) {
    if (path.empty()) return true;
    out_.open(path, std::ios::out | std::ios::trunc);
    return out_.is_open();
  }
  void record(const std::string& method, const std::string& target, const std::string& user_agent, int code,
              const std::string& body) {
    if (!out_.is_open()) return;
    const bool write = method == "POST" || method == "PUT" || method == "PATCH";
    nlohmann::json line = {{"method", method},
                           {"target", target},
                           {"userAgent", user_agent},
                           {"code", code},
                           {"finalizers", write && body.find("\"finalizers\"") != std::string::npos}};
    out_ << line.dump() << '\n';
    out_.flush();  // readable while the emulator runs
  }

 private:
  std::ofstream out_;
};

}  // namespace raydog::emulator
