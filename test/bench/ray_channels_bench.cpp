// ray-channels-bench: what gRPC channels to N Ray heads cost, to choose the head client's channel strategy
// (issue 19). A fake GCS on loopback in a child process (`--serve`, so its connections are not counted);
// N channels each with its own subchannel (a local subchannel pool, as N distinct head addresses would
// have), each making one GetClusterResourceState call. Prints this process's RSS: before gRPC, with N
// persistent channels, after dropping them, and after N more channels opened for one call and dropped.
//   ray-channels-bench [N]              (default 1000)
//   ray-channels-bench N --variants     CPU per call on a new channel, by channel settings
//   ray-channels-bench N --idle         kept channels with an idle timeout: memory, and a call's CPU
#include <grpcpp/grpcpp.h>
#include <malloc.h>
#include <sys/prctl.h>

#include <csignal>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "ray_autoscaler.grpc.pb.h"
#include "controller/util/strings.hpp"
#include "test/ray-fake/fake_gcs.hpp"

namespace {

double rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

bool one_call(const std::shared_ptr<grpc::Channel>& channel, const std::string& cluster_id_hex) {
  auto stub = ray::rpc::autoscaler::AutoscalerStateService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ctx.AddMetadata("ray_cluster_id", cluster_id_hex);
  ray::rpc::autoscaler::GetClusterResourceStateRequest req;
  ray::rpc::autoscaler::GetClusterResourceStateReply reply;
  return stub->GetClusterResourceState(&ctx, req, &reply).ok();
}

// Channel settings compared by --variants (and --idle): what each costs per call on a new channel.
enum class Settings {
  kDefaults,     // as gRPC comes
  kClient,       // what HeadClient sets: an ipv4: target, no service-config lookup
  kMinimal,      // and the minimal filter stack, no channelz, no retries
  kIdleTimeout,  // the client's, with a 1 s idle timeout (the channel drops its connection when idle)
};
Settings g_settings = Settings::kDefaults;

std::shared_ptr<grpc::Channel> channel_to(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel, as for distinct heads
  if (g_settings != Settings::kDefaults) args.SetInt(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION, 1);
  if (g_settings == Settings::kMinimal) {
    args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
    args.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  }
  if (g_settings == Settings::kIdleTimeout) args.SetInt(GRPC_ARG_CLIENT_IDLE_TIMEOUT_MS, 1000);
  const std::string target = g_settings == Settings::kDefaults ? address : "ipv4:" + address;
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--serve") {  // the child: serve until the parent goes
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    raydog::test::FakeGcs gcs;
    const std::string id_hex = raydog::hex_encode(gcs.cluster_id());
    std::printf("%s %s\n", gcs.address().c_str(), id_hex.c_str());
    std::fflush(stdout);
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  const int n = argc > 1 ? std::stoi(argv[1]) : 1000;
  const double before = rss_mb();
  // The server in a child: popen gives us its stdout; PR_SET_PDEATHSIG ends it with us. `exec`, so the
  // server is our child and not the shell's (the shell would outlive us and keep it running).
  FILE* server = popen(("exec " + std::string(argv[0]) + " --serve").c_str(), "r");
  char buf[256] = {};
  if (server == nullptr || std::fgets(buf, sizeof buf, server) == nullptr) return 1;
  std::string address = buf, id_hex;
  id_hex = address.substr(address.find(' ') + 1);
  address = address.substr(0, address.find(' '));
  while (!id_hex.empty() && (id_hex.back() == '\n' || id_hex.back() == '\r')) id_hex.pop_back();
  struct Gcs {
    std::string addr;
    const std::string& address() const { return addr; }
  } gcs{address};
  // Warm gRPC up with one call, so its fixed cost is not counted per channel.
  if (!one_call(channel_to(gcs.address()), id_hex)) return 1;
  const double warm = rss_mb();
  if (argc > 2 && std::string(argv[2]) == "--variants") {
    const std::pair<Settings, const char*> variants[] = {{Settings::kDefaults, "gRPC defaults"},
                                                         {Settings::kClient, "HeadClient's settings"},
                                                         {Settings::kMinimal, "+ minimal stack, no channelz"}};
    for (const auto& [settings, name] : variants) {
      g_settings = settings;
      for (int i = 0; i < 50; ++i) one_call(channel_to(gcs.address()), id_hex);  // warm
      const auto wall = std::chrono::steady_clock::now();
      const double cpu = cpu_s();
      for (int i = 0; i < n; ++i)
        if (!one_call(channel_to(gcs.address()), id_hex)) return 1;
      std::printf("new channel per call, %-30s %.3f ms wall, %.3f ms CPU of this process\n", name,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count() * 1000.0 / n,
                  (cpu_s() - cpu) * 1000.0 / n);
    }
    return 0;
  }
  if (argc > 2 && std::string(argv[2]) == "--idle") {
    // Kept channels that drop their connection when idle: do they give the memory back?
    g_settings = Settings::kIdleTimeout;
    std::vector<std::shared_ptr<grpc::Channel>> kept;
    const double r0 = rss_mb();
    for (int i = 0; i < n; ++i) {
      kept.push_back(channel_to(gcs.address()));
      if (!one_call(kept.back(), id_hex)) return 1;
    }
    const double r1 = rss_mb();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    int idle = 0;
    for (const auto& c : kept) idle += c->GetState(false) == GRPC_CHANNEL_IDLE;
    malloc_trim(0);
    const double r2 = rss_mb();
    const auto wall = std::chrono::steady_clock::now();
    const double cpu = cpu_s();
    for (const auto& c : kept)
      if (!one_call(c, id_hex)) return 1;
    std::printf("kept channels, 1 s idle timeout: %.1f KB each connected; %d/%d idle after 3 s, %.1f KB each; "
                "a call on an idle kept channel %.3f ms wall, %.3f ms CPU\n",
                (r1 - r0) * 1024 / n, idle, n, (r2 - r0) * 1024 / n,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count() * 1000.0 / n,
                (cpu_s() - cpu) * 1000.0 / n);
    return 0;
  }
  // Channels opened for one call and dropped first (what a per-poll strategy costs), then kept ones.
  const auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i)
    if (!one_call(channel_to(gcs.address()), id_hex)) return 1;
  const double per_call_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double after_per_call = rss_mb();
  std::vector<std::shared_ptr<grpc::Channel>> kept;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    kept.push_back(channel_to(gcs.address()));
    if (!one_call(kept.back(), id_hex)) return 1;
  }
  const double persistent_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto t2 = std::chrono::steady_clock::now();
  for (const auto& c : kept)
    if (!one_call(c, id_hex)) return 1;
  const double reuse_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
  const double with_persistent = rss_mb();
  std::printf("channels                                   %d\n", n);
  std::printf("RSS before gRPC (MB)                       %.1f\n", before);
  std::printf("RSS after the first call (MB)              %.1f  (+%.1f: gRPC's fixed client cost)\n", warm,
              warm - before);
  std::printf("RSS after %d one-call channels (MB)      %.1f  (%+.1f)\n", n, after_per_call, after_per_call - warm);
  std::printf("RSS with %d channels kept (MB)           %.1f  (%.1f KB per channel)\n", n, with_persistent,
              (with_persistent - after_per_call) * 1024.0 / n);
  std::printf("ms per call: new channel each time         %.2f\n", per_call_s * 1000.0 / n);
  std::printf("ms per call: opening a kept channel        %.2f\n", persistent_s * 1000.0 / n);
  std::printf("ms per call: on a kept, connected channel  %.2f\n", reuse_s * 1000.0 / n);
  return 0;
}
