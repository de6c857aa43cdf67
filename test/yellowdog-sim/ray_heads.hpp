#pragma once
// yellowdog-sim --ray, the fake heads: for every live head of the Ray model (ray_model.hpp) whose GCS is up,
// a FakeGcs (test/ray-fake, gRPC callback API) on <private IP>:6379 and <public IP>:6379 and a dashboard
// (GET /api/version on the project's HTTP server) on port 8265 of the same addresses. Everything here runs
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

namespace boost::asio {
class io_context;
}

namespace raydog::ydsim {

class RayHeads {
 public:
  // `clock`: the simulated clock, callable from any thread (gRPC handlers age idle times with it).
  RayHeads(boost::asio::io_context& ioc, RaySim& ray, std::function<TimePoint()> clock);
  ~RayHeads();
  RayHeads(const RayHeads&) = delete;
  RayHeads& operator=(const RayHeads&) = delete;

  // Accepted drains into the model, the model ticked, servers started and stopped to follow it, changed
  // states handed to their GCS.
  void tick(TimePoint now);
  void stop();  // every server down (the simulator is stopping)
  std::size_t serving() const;  // heads with a GCS up

 private:
  struct Live;
  void follow();
  void start(const RaySim::Head& head, Live& live);

  boost::asio::io_context& ioc_;
  RaySim& ray_;
  std::function<TimePoint()> clock_;
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
};

}  // namespace raydog::ydsim
