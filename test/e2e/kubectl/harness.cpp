#include "test/e2e/kubectl/harness.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <thread>

#include "controller/util/base64.hpp"

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

test::CommandResult Emulator::patch_status(const std::vector<std::string>& object,
                                           const std::string& merge_patch) const {
  if (kubectl_version().minor >= 24) {
    std::vector<std::string> args = {"patch"};
    args.insert(args.end(), object.begin(), object.end());
    for (std::string a : {"--subresource=status", "--type=merge", "-p"}) args.push_back(a);
    args.push_back(merge_patch);
    return kubectl(args);
  }
  // The object's URL as kubectl itself resolves it (its -v=6 request log: "GET <url> 200 OK in ...").
  std::vector<std::string> get = {"get"};
  get.insert(get.end(), object.begin(), object.end());
  for (std::string a : {"-o", "name", "-v=6"}) get.push_back(a);
  auto found = kubectl(get);
  if (found.exit_code != 0) return found;
  std::string url;
  std::regex request(R"(GET (https?://[^ ?]+) 200 OK)");
  for (auto it = std::sregex_iterator(found.err.begin(), found.err.end(), request);
       it != std::sregex_iterator(); ++it)
    url = (*it)[1];
  if (url.empty()) return {1, "", "patch_status: no request URL in kubectl -v=6 output:\n" + found.err};
  // The same credentials kubectl uses, from its kubeconfig.
  auto view = kubectl({"config", "view", "--raw", "--minify", "-o", "json"});
  if (view.exit_code != 0) return view;
  auto cfg = nlohmann::json::parse(view.out, nullptr, false);
  if (cfg.is_discarded()) return {1, "", "patch_status: unreadable kubeconfig:\n" + view.out};
  const auto cluster = cfg["clusters"][0]["cluster"];
  const auto user = cfg["users"][0]["user"];
  std::vector<std::string> curl = {"curl",
                                   "-sS",
                                   "--fail-with-body",
                                   "-X",
                                   "PATCH",
                                   "-H",
                                   "Content-Type: application/merge-patch+json",
                                   "--data-binary",
                                   "@-"};
  auto write_data = [&](const nlohmann::json& field, const std::string& name) {
    auto bytes = base64_decode(field.get<std::string>());
    test::write_file(dir_.file(name), bytes ? *bytes : "");
    return dir_.file(name);
  };
  if (cluster.contains("certificate-authority-data"))
    for (std::string a :
         {std::string("--cacert"), write_data(cluster["certificate-authority-data"], "ca.pem")})
      curl.push_back(a);
  if (user.contains("token")) {
    // In a header file, not argv: the token stays out of process listings.
    test::write_file(dir_.file("auth-header"), "Authorization: Bearer " + user["token"].get<std::string>());
    curl.push_back("-H");
    curl.push_back("@" + dir_.file("auth-header"));
  }
  if (user.contains("client-certificate-data"))
    for (std::string a : {std::string("--cert"), write_data(user["client-certificate-data"], "client.pem"),
                          std::string("--key"), write_data(user["client-key-data"], "client-key.pem")})
      curl.push_back(a);
  curl.push_back(url + "/status");
  test::ProcessOptions po;
  po.stdin_data = merge_patch;
  return test::run_command(curl, po);
}

std::string Emulator::log() const {
  std::error_code ec;
  if (!std::filesystem::exists(dir_.file("emulator.err"), ec)) return "";
  return test::read_file(dir_.file("emulator.err"));
}

const KubectlVersion& kubectl_version() {
  static const KubectlVersion version = [] {
    KubectlVersion v;
    auto r = test::run_command({"kubectl", "version", "--client", "-o", "json"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (r.exit_code != 0 || j.is_discarded() || !j.contains("clientVersion"))
      throw std::runtime_error("kubectl version --client -o json failed:\n" + r.out + r.err);
    const auto& c = j["clientVersion"];
    v.major = std::atoi(c.value("major", "0").c_str());
    v.minor = std::atoi(c.value("minor", "0").c_str());  // atoi: "20+" from some builds
    v.git_version = c.value("gitVersion", "");
    return v;
  }();
  return version;
}

bool kubectl_has(int minor, const std::string& row) {
  const auto& v = kubectl_version();
  if (v.major > 1 || v.minor >= minor) return true;
  MESSAGE("skipped with kubectl " << v.git_version << " (needs 1." << minor << "+): " << row);
  return false;
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
