#pragma once
// Request counters of the emulator by verb, resource and subresource, served at the non-Kubernetes path
// /_emulator/stats so a benchmark can count the operator's writes (status patches, finalizer updates,
// Events) without a request log. Pure: no sockets, single-threaded like the rest of the emulator.
#include <cstdint>
#include <map>
#include <string>

namespace raydog::emulator {

class RequestStats {
 public:
  // "PATCH raydogclusters.raydog.io/status", "POST events", "GET(list) raydogclusters.raydog.io",
  // "GET(watch) leases.coordination.k8s.io"; other paths (discovery, /version, OpenAPI): "GET /other".
  static std::string key_of(const std::string& method, const std::string& target);

  void record(const std::string& method, const std::string& target, int code);
  // {"requests": {key: n}, "errors": {key: n (code >= 400)}, "totalRequests": n, "writes": n}
  std::string to_json() const;
  void reset();

 private:
  std::map<std::string, std::uint64_t> requests_, errors_;
  std::uint64_t total_ = 0, writes_ = 0;
};

}  // namespace raydog::emulator
