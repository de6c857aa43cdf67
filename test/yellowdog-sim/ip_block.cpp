#include "test/yellowdog-sim/ip_block.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace raydog::ydsim {
namespace {

// A listening socket on the sentinel, or -errno. No SO_REUSEADDR/SO_REUSEPORT: any other socket bound to
// the same address and port makes bind fail.
int listen_on_sentinel(int block) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(IpBlockClaim::kSentinelPort);
  addr.sin_addr.s_addr = htonl((127u << 24) | (static_cast<unsigned>(block) << 16) | (255u << 8) | 255u);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

}  // namespace

std::string IpBlockClaim::sentinel(int block) {
  return "127." + std::to_string(block) + ".255.255:" + std::to_string(kSentinelPort);
}

IpBlockClaim::IpBlockClaim(std::optional<int> wanted) {
  if (wanted) {
    if (*wanted < kMin || *wanted > kMax)
      throw IpBlockTaken("--ip-block " + std::to_string(*wanted) + ": expected 2..254");
    const int fd = listen_on_sentinel(*wanted);
    if (fd < 0)
      throw IpBlockTaken("--ip-block " + std::to_string(*wanted) + ": cannot claim 127." + std::to_string(*wanted) +
                         ".0.0/16 (" + sentinel(*wanted) + ": " + std::strerror(-fd) +
                         (fd == -EADDRINUSE ? "; another simulator holds it)" : ")"));
    block_ = *wanted;
    fd_ = fd;
    return;
  }
  // Random blocks first (two simulators started together rarely try the same one), then every block in
  // turn: a busy machine still finds a free one if there is any.
  std::random_device rd;
  std::mt19937 rng(rd());
  std::uniform_int_distribution<int> pick(kMin, kMax);
  int last_error = 0;
  for (int attempt = 0; attempt < 32 + (kMax - kMin + 1); ++attempt) {
    const int n = attempt < 32 ? pick(rng) : kMin + (attempt - 32);
    const int fd = listen_on_sentinel(n);
    if (fd >= 0) {
      block_ = n;
      fd_ = fd;
      return;
    }
    last_error = -fd;
    if (last_error != EADDRINUSE) break;  // not a matter of choosing another block
  }
  throw std::runtime_error(std::string("cannot claim a loopback block 127.N.0.0/16 (sentinel 127.N.255.255:") +
                           std::to_string(kSentinelPort) + "): " + std::strerror(last_error) +
                           (last_error == EADDRINUSE ? " for every N (is something listening on *:6379?)" : ""));
}

IpBlockClaim::~IpBlockClaim() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace raydog::ydsim
