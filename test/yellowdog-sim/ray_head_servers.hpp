#pragma once
// The servers of one fake Ray head, wherever they run (the simulator's process or a helper,
// ray_head_host.hpp): a FakeGcs (test/ray-fake, gRPC callback API) on port 6379 and a dashboard
// (GET /api/version and the Ray Jobs API under /api/jobs/ on the project's HTTP server) on port 8265 of
// each of the head's addresses. Four listening sockets for a head with a public IP. Internal to
// yellowdog_sim_server (includes Beast).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controller/http/server.hpp"
#include "test/ray-fake/fake_gcs.hpp"
#include "test/yellowdog-sim/ray_jobs.hpp"
#include "test/yellowdog-sim/time_util.hpp"

namespace raydog::ydsim {

// What a head serves: fixed per GCS incarnation.
struct HeadServe {
  std::string head;              // its task id
  std::vector<std::string> ips;  // private, then public when it has one
  std::string session;           // session name
  std::string cluster_id;        // binary, 28 bytes
  std::string version_body;      // the dashboard's /api/version answer
  std::uint64_t incarnation = 0;  // RaySim::Head::incarnation: whose jobs its Jobs API answers for
};

// Where the GCS reports (called from gRPC's threads; must not block for long).
struct GcsHooks {
  std::function<int(const std::string& method)> fault;  // a gRPC code to fail the call with, 0: serve it
  std::function<void(const test::FakeGcsCall&)> on_call;
  std::function<void(const std::string&)> on_violation;
  std::function<void()> on_drain;
};

// Where the dashboard sends a request under /api/jobs (method, target, body), on the io thread: the jobs
// model (RaySim::jobs_request) in the simulator's process, or a forward to it from a helper process. The
// answer may ask for a delay or a dropped connection (faults).
using JobsHook =
    std::function<boost::asio::awaitable<DashboardAnswer>(std::string method, std::string target, std::string body)>;

struct HeadServers {
  std::unique_ptr<test::FakeGcs> gcs;  // null when it could not listen (logged)
  std::vector<std::unique_ptr<http::Server>> dashboards;
};

// Starts them (on `ioc`'s thread); failures to listen are logged on stderr, naming the head.
HeadServers start_head_servers(boost::asio::io_context& ioc, const HeadServe& serve, SimClock clock,
                               GcsHooks hooks, JobsHook jobs);

}  // namespace raydog::ydsim
