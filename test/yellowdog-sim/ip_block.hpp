#pragma once
// Each simulator's own loopback block for node addresses, 127.N.0.0/16 (N 2..254), so that two simulators
// on one machine never hand out the same node IP (fake Ray heads and DALiuGE managers bind them). The
// claim is a TCP listener on the block's sentinel 127.N.255.255:6379, an address no node ever gets, held
// for the life of the object (the process): a second claim of the same block fails with EADDRINUSE.
#include <optional>
#include <stdexcept>
#include <string>

namespace raydog::ydsim {

// An explicitly requested block is taken (or the sentinel cannot be bound).
class IpBlockTaken : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class IpBlockClaim {
 public:
  static constexpr int kMin = 2, kMax = 254;
  static constexpr int kSentinelPort = 6379;

  // `wanted`: that block or IpBlockTaken; nullopt: a random free block (another one while taken), or
  // std::runtime_error when none could be claimed.
  explicit IpBlockClaim(std::optional<int> wanted);
  ~IpBlockClaim();
  IpBlockClaim(const IpBlockClaim&) = delete;
  IpBlockClaim& operator=(const IpBlockClaim&) = delete;

  int block() const { return block_; }
  static std::string sentinel(int block);  // "127.N.255.255:6379"

 private:
  int block_ = 0;
  int fd_ = -1;
};

}  // namespace raydog::ydsim
