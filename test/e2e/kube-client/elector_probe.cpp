// kube-elector-probe: one leader-election candidate as its own process, so tests can kill -9 a leader.
//   kube-elector-probe --kubeconfig F --identity ID --namespace NS --status-file FILE
//                      [--lease-ms N] [--renew-ms N] [--retry-ms N]
// Writes "leader" or "follower" to FILE (atomically) whenever that changes; SIGTERM/SIGINT stop the
// elector, which releases the lease, then the process exits 0.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>

#include "controller/kube/config.hpp"
#include "controller/kube/leader_election.hpp"
#include "controller/kube/rest_client.hpp"

using namespace raydog::kube;

namespace {
void write_status(const std::string& file, const std::string& s) {
  std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp);
    out << s << "\n";
  }
  std::rename(tmp.c_str(), file.c_str());
}
}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig, identity, ns = "default", status_file;
  long lease_ms = 15000, renew_ms = 10000, retry_ms = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--kubeconfig")
      kubeconfig = v;
    else if (a == "--identity")
      identity = v;
    else if (a == "--namespace")
      ns = v;
    else if (a == "--status-file")
      status_file = v;
    else if (a == "--lease-ms")
      lease_ms = std::stol(v);
    else if (a == "--renew-ms")
      renew_ms = std::stol(v);
    else if (a == "--retry-ms")
      retry_ms = std::stol(v);
    else {
      std::cerr << "unknown flag " << a << "\n";
      return 2;
    }
  }
  auto rc = load_kubeconfig({kubeconfig}, "");
  if (!rc) {
    std::cerr << rc.error().message << "\n";
    return 1;
  }
  boost::asio::io_context io;
  auto client = RestClient::create(io.get_executor(), *rc);
  if (!client) {
    std::cerr << client.error().message << "\n";
    return 1;
  }
  LeaderElectionConfig cfg;
  cfg.lease_namespace = ns;
  cfg.identity = identity;
  cfg.lease_duration = std::chrono::milliseconds(lease_ms);
  cfg.renew_deadline = std::chrono::milliseconds(renew_ms);
  cfg.retry_period = std::chrono::milliseconds(retry_ms);
  cfg.on_started_leading = [&] { write_status(status_file, "leader"); };
  cfg.on_stopped_leading = [&] { write_status(status_file, "follower"); };
  write_status(status_file, "follower");
  LeaderElector elector(io.get_executor(), **client, cfg);
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  boost::asio::steady_timer poll(io);
  std::function<void()> exit_when_done = [&] {
    // Pooled keep-alive connections may keep the io_context busy: stop it once the lease is released.
    if (!elector.running()) return io.stop();
    poll.expires_after(std::chrono::milliseconds(20));
    poll.async_wait([&](const boost::system::error_code&) { exit_when_done(); });
  };
  signals.async_wait([&](const boost::system::error_code&, int) {
    elector.stop();
    exit_when_done();
  });
  elector.start();
  io.run();  // returns once the elector released the lease and nothing else is pending
  return 0;
}
