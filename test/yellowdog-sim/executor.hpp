#pragma once
// --execute-tasks: each bash task that reaches EXECUTING runs as a real local process, like the YellowDog
// agent would run it (§1): a fresh working directory, `taskdata.txt` written, the task's environment merged
// into ours, `/bin/bash <arguments>`. Its exit code decides COMPLETED/FAILED; abort, cancel and node loss
// send SIGTERM to its process group (SIGKILL after a grace period). Single-threaded: a reaper timer polls
// waitpid(WNOHANG) on the io_context, so no SIGCHLD handler and no threads.
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "test/yellowdog-sim/simulator.hpp"

namespace boost::asio {
class io_context;
}

namespace raydog::ydsim {

class TaskExecutor {
 public:
  TaskExecutor(boost::asio::io_context& ioc, Simulator& sim, std::string dir);
  ~TaskExecutor();  // SIGKILLs and reaps whatever still runs
  TaskExecutor(const TaskExecutor&) = delete;
  TaskExecutor& operator=(const TaskExecutor&) = delete;

  void start();  // hooks into the simulator and starts the reaper
  void stop();   // SIGTERM to everything; the reaper keeps reaping until the io_context stops
  std::size_t running() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace raydog::ydsim
