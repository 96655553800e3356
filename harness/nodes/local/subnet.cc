#include "harness/nodes/local/subnet.h"

#include <arpa/inet.h>
#include <ifaddrs.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>
#include <vector>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"
#include "harness/nodes/local/cluster_state_file.h"
#include "harness/nodes/local/host_tools.h"

namespace faultline::local_internal {
namespace {

namespace fs = std::filesystem;

struct UsedRange {
  Subnet subnet;
  std::string what;  // for error messages
};

// Every IPv4 range this machine already routes or holds an address in, plus
// the subnets of clusters recorded in the state directory. The default
// route is skipped: it overlaps everything by definition.
std::vector<UsedRange> UsedRanges() {
  static const std::set<std::string> kRouteTypes = {"unicast",     "local",    "broadcast", "multicast", "throw",
                                                    "unreachable", "prohibit", "blackhole", "nat",       "anycast"};
  std::vector<UsedRange> used;
  std::istringstream routes(Ip({"-4", "route", "show", "table", "all"}));
  std::string line;
  while (std::getline(routes, line)) {
    std::istringstream words(line);
    std::string dest;
    words >> dest;
    if (kRouteTypes.count(dest)) words >> dest;
    if (dest == "default" || dest.empty()) continue;
    if (auto s = ParseSubnet(dest)) used.push_back({*s, "route `" + Trimmed(line) + "`"});
  }
  // Addresses from getifaddrs (netlink, as `ip -4 addr show`, down links
  // included), not from one more `ip` process per cluster.
  ifaddrs* addrs = nullptr;
  if (::getifaddrs(&addrs) != 0) {
    throw HarnessError(std::string("cannot list this machine's addresses: ") + std::strerror(errno));
  }
  for (const ifaddrs* a = addrs; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_netmask == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    const in_addr address = reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr;
    const uint32_t mask = ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr);
    const std::string text = AddressString(ntohl(address.s_addr)) + "/" + std::to_string(std::popcount(mask));
    if (auto s = ParseSubnet(text)) used.push_back({*s, "address " + text + " on " + a->ifa_name});
  }
  ::freeifaddrs(addrs);
  for (const auto& id : ListClusterStateIds()) {
    try {
      if (auto st = ReadClusterState(ClusterStatePath(id))) {
        if (auto s = ParseSubnet(st->subnet)) used.push_back({*s, "faultline cluster " + id});
      }
    } catch (const HarnessError&) {
      // An unreadable record names no subnet; routes still protect us.
    }
  }
  return used;
}

const UsedRange* Conflict(const Subnet& s, const std::vector<UsedRange>& used) {
  for (const auto& u : used) {
    if (u.subnet.Overlaps(s)) return &u;
  }
  return nullptr;
}

}  // namespace

std::string AddressString(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) + "." +
         std::to_string(a & 255);
}

std::string SubnetString(const Subnet& s) { return AddressString(s.base) + "/" + std::to_string(s.prefix); }

std::optional<Subnet> ParseSubnet(const std::string& text) {
  std::string addr = text;
  int prefix = 32;
  auto slash = text.find('/');
  if (slash != std::string::npos) {
    addr = text.substr(0, slash);
    try {
      size_t used;
      prefix = std::stoi(text.substr(slash + 1), &used);
      if (used != text.size() - slash - 1) return std::nullopt;
    } catch (...) {
      return std::nullopt;
    }
    if (prefix < 0 || prefix > 32) return std::nullopt;
  }
  in_addr in;
  if (::inet_pton(AF_INET, addr.c_str(), &in) != 1) return std::nullopt;
  Subnet s;
  s.prefix = prefix;
  s.base = ntohl(in.s_addr) & s.Mask();
  return s;
}

Subnet PickSubnet(const std::string& requested) {
  auto used = UsedRanges();
  if (!requested.empty()) {
    auto s = ParseSubnet(requested);
    if (!s || s->prefix != 24 || requested.find('/') == std::string::npos) {
      throw HarnessError("bad subnet \"" + requested + "\": expected an IPv4 /24 such as 10.42.7.0/24");
    }
    if (auto c = Conflict(*s, used)) {
      throw HarnessError("subnet " + SubnetString(*s) + " is already in use on this machine (" + c->what +
                         "); pick another or leave it empty to choose a free one");
    }
    return *s;
  }
  // Random start so concurrent or leaked runs rarely probe the same /24s.
  uint32_t start = Rng()() % 65536;
  for (uint32_t i = 0; i < 65536; ++i) {
    uint32_t n = (start + i) % 65536;
    Subnet s{(10u << 24) | (n << 8), 24};
    if (!Conflict(s, used)) return s;
  }
  throw HarnessError(
      "no free /24 in 10.0.0.0/8 on this machine (every one overlaps a route or address); "
      "give a subnet explicitly");
}

fs::path SubnetLockPath() {
  const fs::path dir = "/run/faultline";
  EnsurePrivateDir(dir);
  return dir / "subnets.lock";
}

}  // namespace faultline::local_internal
