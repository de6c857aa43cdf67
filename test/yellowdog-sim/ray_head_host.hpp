#pragma once
// yellowdog-sim --ray beyond one process's open files: helper processes that hold fake heads' servers.
//
// A head's servers take four listening sockets (GCS and dashboard on its private and its public IP), so
// 10,000 heads need 40,000 descriptors, and a process cannot go beyond its hard RLIMIT_NOFILE (20,000 on a
// machine without CAP_SYS_RESOURCE, where not even root may raise it). RayHeads therefore serves up to
// `heads per process` heads itself and hands the next ones to helpers: this same binary started as
// `yellowdog-sim --ray-head-host FD ...` on one end of a socket pair, each with its own descriptor table.
//
// The model stays in the simulator: a helper only runs the servers (ray_head_servers.hpp) and forwards
// what their GCS hooks report and what their dashboards are asked under /api/jobs. Messages are
// length-prefixed JSON both ways:
//   simulator -> helper: start (answered: did the GCS listen), state, take (answered: the accepted drains),
//                        stop (answered once the addresses refuse connections), decision, jobs-reply;
//   helper -> simulator: decide (a GCS call asks RayCallLog for its fault: the one seeded PRNG, in arrival
//                        order, as in-process), call, violation, drain, reply, jobs (a Jobs API request:
//                        the jobs model lives in the simulator, RaySim::jobs_request, so jobs behave the
//                        same wherever their head is served; its answer comes back as jobs-reply).
// The simulator answers `decide` on the helper's reader thread (RayCallLog has its own mutex), never on its
// io thread; the io thread waits only for its own requests' replies. A `jobs` request is posted to the io
// thread (the model's) and answered from there; the helper's dashboard waits for it without blocking. A helper ends when its socket closes
// (the simulator stopping or dying: it also has PR_SET_PDEATHSIG).
#include <sys/types.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test/ray-fake/cluster_state.hpp"
#include "test/yellowdog-sim/ray_jobs.hpp"
#include "test/yellowdog-sim/time_util.hpp"

namespace raydog::ydsim {

class RayCallLog;
struct HeadServe;

// A Jobs API request a helper's dashboard forwards: which head incarnation it reached, and the request.
struct JobsForward {
  std::string head;
  std::uint64_t incarnation = 0;
  std::string method, target, body;
};
// Called on the reader thread; `reply` (callable from any thread, once) sends the answer to the helper.
using JobsForwarded = std::function<void(JobsForward, std::function<void(const DashboardAnswer&)> reply)>;

// The simulator's side of one helper.
class HeadHost {
 public:
  // Starts the helper (/proc/self/exe) on the same simulated clock; throws std::runtime_error when it
  // cannot. `on_drain(head)` is called from the reader thread when a hosted GCS accepted a drain, `on_jobs`
  // when a hosted dashboard forwards a Jobs API request.
  HeadHost(RayCallLog& log, SimClock clock, std::function<void(const std::string& head)> on_drain,
           JobsForwarded on_jobs);
  ~HeadHost();  // ends the helper and waits for it
  HeadHost(const HeadHost&) = delete;
  HeadHost& operator=(const HeadHost&) = delete;

  // The head's servers in the helper: true when its GCS listens (failures are logged by the helper).
  bool start(const HeadServe& serve);
  void set_state(const std::string& head, const test::FakeClusterState& state);
  std::vector<test::FakeDrain> take_drains(const std::string& head);
  void stop(const std::string& head);  // its addresses refuse connections when this returns
  // Returns once the helper handled everything sent to it before (the states: its GCS serve them) and
  // everything it sent before was read (its calls, violations and drains so far are in RayCallLog): a
  // /_sim/ray/ control or listing is then answered as with heads served in-process.
  void sync();
  std::size_t hosted() const;  // heads started and not stopped
  pid_t pid() const;
  bool alive() const;  // false once the helper ended (it said so on stderr)
  void shutdown();     // ends the helper now; later calls do nothing

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The helper's main: serves heads as the simulator on `fd` asks until the socket closes. Returns the
// exit code.
int run_head_host(int fd, SimClock clock);

// Wire forms, exposed for tests.
nlohmann::json state_to_json(const test::FakeClusterState& s);
test::FakeClusterState state_from_json(const nlohmann::json& j);

}  // namespace raydog::ydsim
