#pragma once
// The node-script e2e environment: yellowdog-sim --execute-tasks with the stand-ins of standin/ (ray, dlg,
// curl, prometheus, grafana) first on its PATH, so the tasks it runs execute the real scripts/*.sh against
// commands that record what they were asked to do. Driven over the simulator's REST API with curl, the way
// the operator drives YellowDog: pools, a work requirement with one group per role, then bash tasks built by
// the operator's own task builder (reconcile::task) carrying the embedded default scripts.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test/support/process.hpp"

namespace raydog::test::scripts {

using nlohmann::json;

// One recorded stand-in call: `task` is the task's working directory name (its id with ':' -> '_' plus
// "-<retry>"), `what` the command ("ray", "dlg", "curl", "ray-env", "nm-serving", ...), `rest` the remainder.
struct Call {
  std::string task, what, rest;
};

struct ScriptEnvOptions {
  // The real `prometheus` (Debian's) instead of the recording stand-in: the observability test.
  bool real_prometheus = false;
  // Added to the simulator's environment, which every task inherits.
  std::map<std::string, std::string> env;
};

class ScriptEnv {
 public:
  explicit ScriptEnv(ScriptEnvOptions options = {});
  ~ScriptEnv();

  // REST on the simulator (curl); REQUIREs a 2xx answer with JSON.
  json call(const std::string& method, const std::string& path, const json& body = nullptr);

  // A pool of `nodes` nodes whose workers carry worker tag `tag`.
  void create_pool(const std::string& tag, int nodes);
  // A work requirement with one group per tag (group name = tag); returns tag -> group id.
  std::map<std::string, std::string> create_work_requirement(const std::string& name,
                                                             const std::vector<std::string>& tags);
  // Adds one bash task (the operator's builder: arguments [taskdata.txt], taskData, environment) to a group;
  // returns its id.
  std::string add_task(const std::string& group_id, const std::string& name, const std::string& script,
                       const std::map<std::string, std::string>& env);

  json task(const std::string& id) { return call("GET", "/work/tasks/" + id); }
  // Polls until the task has `status`; REQUIREs it within 60 s.
  json wait_status(const std::string& id, const std::string& status);
  // The private IP of the node running an executing task.
  std::string node_ip(const std::string& task_id);

  // The stand-ins' record, and the records of one task.
  std::vector<Call> calls();
  std::vector<Call> calls_of(const std::string& task_id);
  // Polls (100 ms) until `cond` holds on the record, up to `timeout`.
  bool eventually(const std::function<bool(const std::vector<Call>&)>& cond,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The pid of the task's script process (`/bin/bash taskdata.txt` in its working directory), -1 if none.
  int script_pid(const std::string& task_id);
  // The task's stderr.txt (empty when absent).
  std::string task_stderr(const std::string& task_id);
  std::string sim_log();
  // The directory the simulator runs tasks in (one working directory per task attempt).
  const std::string& tasks_dir() const { return tasks_dir_; }
  const std::string& url() const { return url_; }

  TempDir dir;

 private:
  std::unique_ptr<ChildProcess> sim_;
  std::string url_, log_, tasks_dir_;
};

// The working-directory name yellowdog-sim gives attempt `retry` of a task.
std::string task_dir_name(const std::string& task_id, int retry = 0);
// The task id whose working directory is `dir_name` (inverse of task_dir_name: YDIDs hold no '_').
std::string task_id_of_dir(const std::string& dir_name);
// A TCP port on 127.0.0.1 that nothing listened on a moment ago.
int free_port();

}  // namespace raydog::test::scripts
