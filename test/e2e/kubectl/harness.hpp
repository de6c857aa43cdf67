#pragma once
// Starts a kube-emulator child process on port 0 (plain or TLS) and runs the real kubectl and python
// against it, each emulator with its own kubeconfig and kubectl cache directory (KUBECACHEDIR).
// Whichever kubectl is first on PATH is the client under test (Debian's 1.20 and current ones must both
// pass): its version is asked once, and rows that need a newer client run only where it has the feature.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "test/support/process.hpp"

namespace raydog::e2e {

class Emulator {
 public:
  explicit Emulator(std::vector<std::string> flags = {});
  ~Emulator();
  const std::string& kubeconfig() const { return kubeconfig_; }
  const std::string& url() const { return url_; }
  int pid() const { return proc_->pid(); }
  std::string dir() const { return dir_.path().string(); }
  // kubectl with this emulator's kubeconfig and a fresh cache directory.
  test::CommandResult kubectl(const std::vector<std::string>& args, const std::string& stdin_data = "",
                              std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // A long-running kubectl (watch, wait) writing to files in the emulator's directory.
  std::unique_ptr<test::ChildProcess> kubectl_background(const std::vector<std::string>& args,
                                                         const std::string& out_file) const;
  // A merge patch to the object's status subresource: `kubectl patch --subresource=status` where the client
  // has it (1.24+), otherwise the same PATCH sent to .../status with curl, so rows that only need a status
  // as setup run fully with older clients. `object` is what `kubectl get` takes ({"rdc", "x"}).
  test::CommandResult patch_status(const std::vector<std::string>& object,
                                   const std::string& merge_patch) const;
  test::ProcessOptions client_env() const;
  std::string log() const;  // the emulator's stderr so far

 private:
  test::TempDir dir_;
  std::string kubeconfig_, url_;
  std::unique_ptr<test::ChildProcess> proc_;
};

// The kubectl first on PATH (`kubectl version --client -o json`, asked once per test process).
struct KubectlVersion {
  int major = 0, minor = 0;
  std::string git_version;  // "v1.20.2"
};
const KubectlVersion& kubectl_version();
// Whether the client has a feature that kubectl 1.<minor> added; when it has not, a doctest MESSAGE says
// which row is skipped for which client version.
bool kubectl_has(int minor, const std::string& row);

// The CRD the checklist uses (test stand-in with status+scale subresources) and the project's own.
std::string test_crd_path();
std::string project_crd_path();  // "" when crds/ has none yet
// Polls `pred` until it returns true or the timeout passes.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));
// Resident set size of a process in kB (VmRSS from /proc/PID/status), -1 when unknown.
long rss_kb(int pid);

}  // namespace raydog::e2e
