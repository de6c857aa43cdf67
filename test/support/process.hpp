#pragma once
// Test infrastructure: start the project's servers (kube-emulator, yellowdog-sim, fake DIM) and client
// programs (kubectl, python3) as child processes, and make sure they are gone when the test ends, even
// when it fails (RAII: the destructor sends SIGTERM, then SIGKILL after a grace period).
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace raydog::test {

// Path of a project executable in this build ("kube-emulator" -> <RAYDOG_BIN_DIR>/kube-emulator).
std::string bin_path(const std::string& name);
// Path below the source tree ("manifests/samples/minimal.yaml").
std::string source_path(const std::string& relative);

// A fresh directory under $TMPDIR, removed with its contents by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct ProcessOptions {
  std::map<std::string, std::string> env;  // added to (or overriding) the current environment
  std::string stdout_file;                 // empty: inherit
  std::string stderr_file;                 // empty: inherit
  std::string stdin_data;                  // written to the child's stdin, then closed
  std::string working_dir;
};

class ChildProcess {
 public:
  // Starts argv[0] (looked up in PATH when it has no '/'). Throws std::runtime_error when it cannot.
  ChildProcess(std::vector<std::string> argv, ProcessOptions options = {});
  ~ChildProcess();  // terminate(): SIGTERM, 5 s, SIGKILL
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  bool running();
  // Waits for the exit; returns the exit status (128+signal when killed), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  int terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));
  void kill9();  // SIGKILL now (crash simulation); reaps the child

 private:
  int pid_ = -1;
  std::optional<int> status_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs a command to completion (killed after `timeout`), capturing stdout and stderr.
CommandResult run_command(const std::vector<std::string>& argv, const ProcessOptions& options = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Polls until the file exists and is non-empty (a server writes its URL or kubeconfig when ready);
// returns its contents, or nullopt on timeout or when `process` exited first.
std::optional<std::string> wait_for_file(const std::string& path, std::chrono::milliseconds timeout,
                                         ChildProcess* process = nullptr);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& contents);

}  // namespace raydog::test
