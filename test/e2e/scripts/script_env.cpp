#include "test/e2e/scripts/script_env.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string_view>
#include <thread>

#include "controller/reconcile/desired.hpp"

namespace raydog::test::scripts {

namespace fs = std::filesystem;
namespace rr = raydog::reconcile;

ScriptEnv::ScriptEnv(ScriptEnvOptions options) {
  // Copy the stand-ins so their mode does not depend on how the checkout was made.
  const fs::path bin = dir.path() / "bin";
  fs::create_directories(bin);
  for (const char* name : {"ray", "ray_node.py", "dlg", "curl", "prometheus", "grafana", "fake_nm.py"}) {
    if (options.real_prometheus && std::string_view(name) == "prometheus") continue;
    fs::copy_file(source_path(std::string("test/e2e/scripts/standin/") + name), bin / name);
    fs::permissions(bin / name, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
  }
  log_ = dir.file("standin.log");
  write_file(log_, "");
  tasks_dir_ = dir.file("tasks");
  const char* path = std::getenv("PATH");
  ProcessOptions po;
  // The simulator hands its own environment to every task it runs: the stand-ins come first on PATH.
  po.env["PATH"] = bin.string() + ":" + (path ? path : "/usr/bin:/bin");
  po.env["RAYDOG_STANDIN_LOG"] = log_;
  for (const auto& [k, v] : options.env) po.env[k] = v;
  po.stderr_file = dir.file("sim.log");
  po.stdout_file = dir.file("sim.out");
  sim_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{bin_path("yellowdog-sim"), "--listen", "127.0.0.1:0", "--write-url",
                               dir.file("sim.url"), "--boot-delay", "100ms", "--register-delay", "100ms",
                               "--task-start-delay", "100ms", "--execute-tasks", tasks_dir_, "--ray"},
      po);
  auto url = wait_for_file(dir.file("sim.url"), std::chrono::seconds(30), sim_.get());
  REQUIRE_MESSAGE(url.has_value(), "yellowdog-sim did not start: " << sim_log());
  url_ = *url;
  while (!url_.empty() && std::isspace(static_cast<unsigned char>(url_.back()))) url_.pop_back();
}

ScriptEnv::~ScriptEnv() {
  // SIGTERM: the simulator's executor SIGTERMs (then SIGKILLs) every task's process group on the way out.
  sim_.reset();
}

std::string ScriptEnv::sim_log() {
  return read_file(dir.file("sim.log"));
}

json ScriptEnv::call(const std::string& method, const std::string& path, const json& body) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "-X", method, "-w", "\n%{http_code}"};
  ProcessOptions po;
  if (!body.is_null()) {
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", "@-"});
    po.stdin_data = body.dump();
  }
  argv.push_back(url_ + path);
  auto r = run_command(argv, po, std::chrono::seconds(30));
  REQUIRE_MESSAGE(r.exit_code == 0, method << " " << path << ": " << r.err);
  auto nl = r.out.rfind('\n');
  REQUIRE(nl != std::string::npos);
  const std::string code = r.out.substr(nl + 1), text = r.out.substr(0, nl);
  REQUIRE_MESSAGE(code.size() == 3, r.out);
  REQUIRE_MESSAGE(code[0] == '2', method << " " << path << " -> " << code << " " << text);
  auto j = json::parse(text, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), text);
  return j;
}

void ScriptEnv::create_pool(const std::string& tag, int nodes) {
  json body = {{"requirementTemplateUsage",
                {{"templateId", "ray/template"},
                 {"requirementName", tag},
                 {"requirementNamespace", "ray"},
                 {"targetInstanceCount", nodes},
                 {"maintainInstanceCount", false}}},
               {"provisionedProperties",
                {{"createNodeWorkers", {{"targetType", "PER_NODE"}, {"targetCount", 1}}},
                 {"minNodes", 0},
                 {"maxNodes", nodes},
                 {"workerTag", tag}}}};
  call("POST", "/workerPools/provisioned/template", body);
}

std::map<std::string, std::string> ScriptEnv::create_work_requirement(const std::string& name,
                                                                      const std::vector<std::string>& tags) {
  json groups = json::array();
  for (const auto& tag : tags)
    groups.push_back(
        {{"name", tag},
         {"runSpecification", {{"taskTypes", {"bash"}}, {"workerTags", {tag}}, {"namespaces", {"ray"}}}},
         {"finishIfAllTasksFinished", false},
         {"finishIfAnyTaskFailed", false}});
  json wr =
      call("POST", "/work/requirements", {{"namespace", "ray"}, {"name", name}, {"taskGroups", groups}});
  std::map<std::string, std::string> ids;
  for (const auto& g : wr["taskGroups"]) ids[g["name"].get<std::string>()] = g["id"].get<std::string>();
  ids["$wr"] = wr["id"].get<std::string>();
  return ids;
}

std::string ScriptEnv::add_task(const std::string& group_id, const std::string& name,
                                const std::string& script, const std::map<std::string, std::string>& env) {
  // The operator's builder (ordinal and kind only shape the name, which we override to keep it readable).
  yellowdog::Task t = rr::task(rr::TaskKind::kWorker, 1, script, env);
  t.name = name;
  json body = json::array({json(t)});
  json added = call("POST", "/work/taskGroups/" + group_id + "/tasks", body);
  REQUIRE(added.is_array());
  REQUIRE(added.size() == 1);
  return added[0]["id"].get<std::string>();
}

json ScriptEnv::wait_status(const std::string& id, const std::string& status) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  json t = task(id);
  while (t.value("status", "") != status && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    t = task(id);
  }
  REQUIRE_MESSAGE(t.value("status", "") == status,
                  "task " << id << " is " << t.dump() << "\nstderr: " << task_stderr(id));
  return t;
}

std::string ScriptEnv::node_ip(const std::string& task_id) {
  json t = task(task_id);
  REQUIRE(t.contains("workerId"));
  json node = call("GET", "/workerPools/workers/" + t["workerId"].get<std::string>() + "/node");
  return node["details"]["privateIpAddress"].get<std::string>();
}

std::vector<Call> ScriptEnv::calls() {
  std::vector<Call> out;
  std::istringstream in(read_file(log_));
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find('|');
    if (a == std::string::npos) continue;
    auto b = line.find('|', a + 1);
    Call c;
    c.task = line.substr(0, a);
    c.what = line.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
    c.rest = b == std::string::npos ? "" : line.substr(b + 1);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Call> ScriptEnv::calls_of(const std::string& task_id) {
  std::vector<Call> out;
  const std::string prefix = task_dir_name(task_id, 0);
  const std::string stem = prefix.substr(0, prefix.size() - 2);  // without "-0": any retry
  for (auto& c : calls())
    if (c.task.rfind(stem + "-", 0) == 0) out.push_back(std::move(c));
  return out;
}

bool ScriptEnv::eventually(const std::function<bool(const std::vector<Call>&)>& cond,
                           std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond(calls())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return cond(calls());
}

int ScriptEnv::script_pid(const std::string& task_id) {
  const fs::path want = fs::path(tasks_dir_) / task_dir_name(task_id, 0);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec2;
    if (fs::read_symlink(e.path() / "cwd", ec2) != want) continue;
    if (read_file((e.path() / "cmdline").string()) == std::string("/bin/bash") + '\0' + "taskdata.txt" + '\0')
      return std::stoi(name);
  }
  return -1;
}

std::string ScriptEnv::task_stderr(const std::string& task_id) {
  std::error_code ec;
  std::string out;
  for (const auto& e : fs::directory_iterator(tasks_dir_, ec)) {
    const std::string name = e.path().filename().string();
    const std::string want = task_dir_name(task_id, 0);
    if (name.rfind(want.substr(0, want.size() - 1), 0) == 0 && fs::exists(e.path() / "stderr.txt"))
      out += read_file((e.path() / "stderr.txt").string());
  }
  return out;
}

std::string task_dir_name(const std::string& task_id, int retry) {
  std::string out = task_id;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  return out + "-" + std::to_string(retry);
}

std::string task_id_of_dir(const std::string& dir_name) {
  std::string id = dir_name.substr(0, dir_name.rfind('-'));
  for (char& c : id)
    if (c == '_') c = ':';
  return id;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace raydog::test::scripts
