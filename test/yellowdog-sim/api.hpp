#pragma once
// The REST surface of the simulator without sockets: routing (§4.1 incl. precedence), the §2 quirks
// (percent-encoded colons, True/true, trailing slash, sliced=true, repeated query keys), slices (§3), error
// bodies (§8.1), call counters and the /_sim/ control API. The HTTP front (server.cpp) adds transport
// concerns: gzip bodies, authentication, fault injection, latency and SSE streams.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "test/yellowdog-sim/simulator.hpp"

namespace raydog::ydsim {

using Query = std::multimap<std::string, std::string>;

class RaySim;  // ray_model.hpp: the /_sim/ray/ API of --ray

// Splits "/a/b%3Ac?x=1&y=2" into decoded path segments (a trailing empty segment from a trailing slash is
// dropped) and a decoded query.
struct ParsedTarget {
  std::vector<std::string> segments;
  Query query;
};
ParsedTarget parse_target(std::string_view target);
bool query_true(const Query& q, const std::string& key);  // case-insensitive "true"

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as received
  std::string body;    // already decompressed
  std::string key_id;  // the application key that authenticated it (empty: authentication is off)
};
struct ApiResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Fault settings (changeable at run time through PUT /_sim/faults).
struct FaultSettings {
  double fail_rate = 0;              // probability of answering an injected error instead of applying
  std::vector<int> fail_codes{500};  // picked uniformly; 429 carries Retry-After
  double lose_response_rate = 0;     // probability of applying, then closing without an answer
  Millis latency{0};                 // added before every answer
  int retry_after_seconds = 1;
};

// One seeded PRNG; every counted request draws the same number of values, in arrival order, so a seed
// reproduces the same decisions for the same request sequence whatever the rates.
class FaultInjector {
 public:
  explicit FaultInjector(std::uint64_t seed) : rng_(seed) {}
  struct Decision {
    std::optional<int> fail_code;  // answer this instead of applying
    bool lose_response = false;    // apply, then drop the connection
  };
  Decision decide(const FaultSettings& s);

 private:
  std::mt19937_64 rng_;
};

class Api {
 public:
  explicit Api(Simulator& sim, std::size_t default_page_size = 50)
      : sim_(sim), page_size_(default_page_size) {}

  // The endpoint pattern a request belongs to ("GET /work/requirements/{id}"), "" for /_sim/ calls, and
  // "unknown" for paths no endpoint serves.
  static std::string pattern(const std::string& method, const std::vector<std::string>& segments);
  // Counts one call for GET /_sim/stats.
  void count_call(const std::string& pattern);
  // Injected faults, for the stats.
  void count_fault(bool dropped) { ++(dropped ? dropped_ : injected_); }

  ApiResponse handle(const ApiRequest& req);

  FaultSettings& faults() { return faults_; }
  // --ray: /_sim/ray/... is answered by this model (without it: 404).
  void set_ray(RaySim* ray) { ray_ = ray; }
  Simulator& sim() { return sim_; }

  // SSE: the entity an /updates stream follows, as JSON; nullopt when it does not exist. `done` is set once
  // the entity reached a final status (the stream ends after sending it).
  static std::optional<json> entity_for_updates(Simulator& sim, const std::vector<std::string>& segments,
                                                bool& done);
  static bool is_updates_path(const std::vector<std::string>& segments);

 private:
  ApiResponse dispatch(const ApiRequest& req);
  ApiResponse handle_sim(const std::string& method, const ParsedTarget& t, const std::string& body);
  json stats() const;
  std::string objects() const;  // GET /_sim/objects, serialised

  Simulator& sim_;
  std::size_t page_size_;
  FaultSettings faults_;
  // Which application key created each object (id -> key id), from the ids a successful POST/PUT answers
  // with: what lets a test with two tenants check that no object was created with the other's key.
  std::map<std::string, std::string> created_by_;
  void record_creator(const std::string& key_id, const std::string& response_body);
  std::map<std::string, std::uint64_t> calls_;
  std::uint64_t injected_ = 0, dropped_ = 0;
  RaySim* ray_ = nullptr;
  // A work requirement's JSON, kept until the simulation changes (a tick's change or any request that is
  // not a GET): what a steady operator polls is served without building and dumping it again.
  ApiResponse work_requirement_reply(const SimResult<WorkRequirement*>& r);
  struct CachedBody {
    std::uint64_t changes = 0, mutations = 0;
    std::string body;
  };
  std::unordered_map<const WorkRequirement*, CachedBody> wr_bodies_;
  std::uint64_t mutations_ = 0;  // requests other than GET, so far
};

ApiResponse error_response(const ApiError& e);

}  // namespace raydog::ydsim
