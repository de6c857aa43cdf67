#include "test/e2e/kubectl/harness.hpp"

#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <thread>

namespace raydog::e2e {

using namespace std::chrono_literals;

Emulator::Emulator(std::vector<std::string> flags) {
  kubeconfig_ = dir_.file("kubeconfig");
  std::vector<std::string> argv = {test::bin_path("kube-emulator"), "--listen", "127.0.0.1:0",
                                   "--write-kubeconfig", kubeconfig_};
  argv.insert(argv.end(), flags.begin(), flags.end());
  test::ProcessOptions po;
  po.stdout_file = dir_.file("emulator.out");
  po.stderr_file = dir_.file("emulator.err");
  proc_ = std::make_unique<test::ChildProcess>(argv, po);
  if (!test::wait_for_file(kubeconfig_, 60s, proc_.get()))
    throw std::runtime_error("kube-emulator did not write its kubeconfig; stderr: " + log());
  auto line = test::wait_for_file(dir_.file("emulator.out"), 30s, proc_.get());
  if (!line) throw std::runtime_error("kube-emulator printed nothing");
  const std::string prefix = "kube-emulator listening on ";
  auto pos = line->find(prefix);
  if (pos == std::string::npos) throw std::runtime_error("unexpected first line: " + *line);
  url_ = line->substr(pos + prefix.size());
  while (!url_.empty() && (url_.back() == '\n' || url_.back() == '\r')) url_.pop_back();
}

Emulator::~Emulator() {
  proc_->terminate();
}

test::ProcessOptions Emulator::client_env() const {
  test::ProcessOptions po;
  po.env["KUBECONFIG"] = kubeconfig_;
  po.env["KUBECACHEDIR"] = dir_.file("kubecache");
  po.env["HOME"] = dir_.path().string();
  // Keep whatever the machine has from steering kubectl elsewhere.
  po.env["KUBECTL_EXTERNAL_DIFF"] = "diff -u -N";
  return po;
}

test::CommandResult Emulator::kubectl(const std::vector<std::string>& args, const std::string& stdin_data,
                                      std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv = {"kubectl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto po = client_env();
  po.stdin_data = stdin_data;
  return test::run_command(argv, po, timeout);
}

std::unique_ptr<test::ChildProcess> Emulator::kubectl_background(const std::vector<std::string>& args,
                                                                 const std::string& out_file) const {
  std::vector<std::string> argv = {"kubectl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto po = client_env();
  po.stdout_file = out_file;
  po.stderr_file = out_file + ".err";
  return std::make_unique<test::ChildProcess>(argv, po);
}

std::string Emulator::log() const {
  std::error_code ec;
  if (!std::filesystem::exists(dir_.file("emulator.err"), ec)) return "";
  return test::read_file(dir_.file("emulator.err"));
}

std::string test_crd_path() {
  return test::source_path("test/e2e/kubectl/testdata/raydog-crd.yaml");
}

std::string project_crd_path() {
  std::string p = test::source_path("crds/raydog.io_raydogclusters.yaml");
  std::error_code ec;
  return std::filesystem::exists(p, ec) ? p : "";
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = 20ms;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::milliseconds>(pause * 2, 500ms);
  }
  return pred();
}

long rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

}  // namespace raydog::e2e
