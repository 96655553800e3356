// The subnet of a local cluster: an IPv4 /24 in 10.0.0.0/8 that overlaps no
// route or address on this machine and no other recorded faultline cluster
// (LocalCluster's contract). Internal to harness/nodes/local.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace faultline::local_internal {

struct Subnet {
  uint32_t base = 0;  // host order, masked
  int prefix = 0;
  uint32_t Mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  uint32_t Last() const { return base | ~Mask(); }
  bool Overlaps(const Subnet& o) const { return base <= o.Last() && o.base <= Last(); }
};

// Host-order address as "a.b.c.d".
std::string AddressString(uint32_t a);
std::string SubnetString(const Subnet& s);
// "a.b.c.d[/p]"; a bare address is a /32.
std::optional<Subnet> ParseSubnet(const std::string& text);

// The requested /24 (empty: a random free one in 10.0.0.0/8). Throws
// HarnessError when it is malformed, in use, or none is free. Call it
// holding the lock at SubnetLockPath() until the bridge has its address.
Subnet PickSubnet(const std::string& requested);

// Machine-wide, whatever the state directory: held while a subnet is chosen
// and the bridge gets its address, so two runs with different state
// directories still never pick the same subnet. In a root-only directory:
// a lock file others can open is a lock others can hold forever.
std::filesystem::path SubnetLockPath();

}  // namespace faultline::local_internal
