// SshdNodes: OpenSSH's sshd inside the nodes of a LocalCluster, so the SSH
// remote is tested (and can be tried by hand: `faultline cluster up --local N
// --sshd`) against real sshd processes without any real host.
//
// Everything lives under <LocalCluster::nodes_root()>/sshd (private, 0700), removed with the
// cluster: a client key pair (client_key, authorized on every node), a
// known_hosts file with each node's address and host key, and per node
// <name>/{host_key, sshd_config, sshd.log, sshd.pid}. sshd runs as
// `/usr/sbin/sshd -D -e -f <name>/sshd_config` inside the node's namespace
// (so LocalCluster::Destroy kills it), listening on <address>:22, with its
// own HostKey, AuthorizedKeysFile, PidFile, PermitRootLogin
// prohibit-password, UsePAM no, StrictModes no and the internal SFTP
// server. The machine's /etc/ssh and root's ~/.ssh are never read or
// written. sshd needs its privilege-separation directory /run/sshd; it is
// created (empty, 0755) when missing, as the openssh-server service would.
//
// Not thread-safe; needs root.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/nodes/local/local_cluster.h"

namespace faultline {

struct SshdNodes {
  std::filesystem::path dir;           // <nodes root>/sshd
  std::filesystem::path client_key;    // private key authorized on every node
  std::filesystem::path known_hosts;   // "<address> <host key>" per node
  std::vector<std::string> addresses;  // node i's address (sshd on port 22)
  std::vector<int> pids;               // node i's sshd (LocalRemote pid)
};

// Generates the keys and configs and starts sshd on every node; returns once
// each accepts TCP connections on port 22. Throws HarnessError naming the
// node (with the tail of its sshd.log) when one does not come up.
SshdNodes StartSshd(LocalCluster& cluster);

// (Re)starts node i's sshd with the files StartSshd made; returns its pid.
int StartNodeSshd(LocalCluster& cluster, size_t i, const SshdNodes& sshd,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The `faultline run` flags that reach these nodes over SSH.
std::string SshdRunFlags(const SshdNodes& sshd);

}  // namespace faultline
