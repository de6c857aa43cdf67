#pragma once
// The simulator's HTTP front on the shared server (controller/http): a ticker that advances the core on a
// (scalable) clock, gzip request bodies, `yd-key` authentication, seeded fault injection (errors, 429 with
// Retry-After, lost responses, latency), SSE `/updates` streams, and optionally real task processes.
// Beast stays out of this header.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "test/yellowdog-sim/api.hpp"
#include "test/yellowdog-sim/ray_model.hpp"

namespace boost::asio {
class io_context;
}

namespace raydog::ydsim {

struct SimServerOptions {
  std::string listen = "127.0.0.1:0";
  // Application keys (id, secret) accepted as `Authorization: yd-key ID:SECRET`; empty: no authentication.
  std::vector<std::pair<std::string, std::string>> keys;
  double time_scale = 1.0;  // simulated seconds per real second
  std::size_t page_size = 50;
  Millis tick_interval{50};               // real time between scheduler ticks
  std::string execute_dir;                // non-empty: run EXECUTING bash tasks as real processes here
  std::string tls_cert_pem, tls_key_pem;  // both set: serve HTTPS with this certificate chain and key
  // The loopback block of node addresses (ip_block.hpp): nullopt claims a random free one; a given one
  // that is taken makes start() throw IpBlockTaken.
  std::optional<int> ip_block;
  bool ray = false;  // --ray: a fake Ray head per cluster (ray_model.hpp, ray_heads.hpp)
  RayConfig ray_config;
  // --ray: the most heads whose servers (four listening sockets each) one process holds; beyond, helper
  // processes hold them (ray_head_host.hpp). 0: from the open-files limit.
  std::size_t ray_heads_per_process = 0;
  // Of them, the simulator's own process serves at most this many (nullopt: as many; 0: every head is
  // served by a helper, what the tests use to exercise helpers).
  std::optional<std::size_t> ray_local_heads;
};

class SimServer {
 public:
  SimServer(boost::asio::io_context& ioc, SimConfig config, SimServerOptions options, FaultSettings faults);
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  // Claims the address block (throws IpBlockTaken for a taken --ip-block), binds (throws on failure) and
  // starts the ticker.
  void start();
  std::string base_url() const;
  int ip_block() const;  // after start()
  void stop();  // stops accepting, ends streams, terminates task processes

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Inflates a gzip (or zlib) body; nullopt when it is not valid or inflates beyond `limit`.
std::optional<std::string> gunzip(std::string_view data, std::size_t limit = 64 * 1024 * 1024);

}  // namespace raydog::ydsim
