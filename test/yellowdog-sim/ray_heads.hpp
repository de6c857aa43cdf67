#pragma once
// yellowdog-sim --ray, the fake heads: for every live head of the Ray model (ray_model.hpp) whose GCS is up,
// a FakeGcs (test/ray-fake, gRPC callback API) on <private IP>:6379 and <public IP>:6379 and a dashboard
// (GET /api/version and the Ray Jobs API on the project's HTTP server) on port 8265 of the same addresses. Everything here runs
// on the simulator's io_context thread; the GCS handlers run on gRPC's shared callback threads and talk
// to the model only through RayCallLog (calls, violations, faults) and through their FakeGcs (state in,
// accepted drains out), each under its own mutex.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "test/yellowdog-sim/ray_model.hpp"
#include "test/yellowdog-sim/time_util.hpp"

namespace boost::asio {
class io_context;
}

namespace raydog::ydsim {

class HeadHost;

class RayHeads {
 public:
  // `clock`: the simulated clock (gRPC handlers age idle times with it). `per_process`: the most heads
  // whose servers one process holds, this one or a helper (ray_head_host.hpp) that serves the next ones;
  // 0: as many as the open-files limit allows, four listening sockets and a connection or so each.
  // `local`: the most this process holds itself (nullopt: `per_process`; 0: every head in a helper).
  RayHeads(boost::asio::io_context& ioc, RaySim& ray, SimClock clock, std::size_t per_process = 0,
           std::optional<std::size_t> local = std::nullopt);
  ~RayHeads();
  RayHeads(const RayHeads&) = delete;
  RayHeads& operator=(const RayHeads&) = delete;

  // Accepted drains into the model, the model ticked, servers started and stopped to follow it, changed
  // states handed to their GCS.
  void tick(TimePoint now);
  void stop();  // every server down (the simulator is stopping)
  std::size_t serving() const;  // heads with a GCS up
  void sync();                  // what helper processes reported so far is in the call log (HeadHost::sync)
  std::size_t per_process() const { return per_process_; }
  static std::size_t default_per_process();  // from RLIMIT_NOFILE

 private:
  struct Live;
  void follow();
  void start(const RaySim::Head& head, Live& live);
  HeadHost* host_with_room();  // a helper with room for one more head (started when none has); null: none

  boost::asio::io_context& ioc_;
  RaySim& ray_;
  SimClock clock_;
  std::size_t per_process_, local_limit_;
  std::size_t local_ = 0;                              // heads whose servers run in this process
  std::vector<std::unique_ptr<HeadHost>> hosts_;       // the helpers, in start order
  std::map<std::string, std::unique_ptr<Live>> live_;  // by head task id
  std::optional<std::uint64_t> followed_;              // the model revision live_ follows
  // Heads whose GCS accepted a drain since the last tick (told from gRPC threads): only they are asked
  // for their drains, not all 1,000.
  struct Told {
    std::mutex mu;
    std::vector<std::string> heads;
    std::atomic<bool> any{false};
  };
  std::shared_ptr<Told> told_ = std::make_shared<Told>();
  bool stopped_ = false;
  // Held while RayHeads lives: what a dashboard request or a helper's forwarded one posts checks it before
  // it reaches ray_ (both run on the io thread, where RayHeads is also destroyed).
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace raydog::ydsim
