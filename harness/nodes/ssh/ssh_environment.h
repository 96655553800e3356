// SshEnvironment: the nodes of a run on remote hosts (--nodes),
// reached over SSH. Node i+1 is named n<i+1> and mapped to the i-th host;
// its address (what clients and peers use) is the host as given, its
// directory <ssh.remote-dir>/<node name> when the user names a remote dir,
// else a fresh `mktemp -d /tmp/faultline-<test name>-<node>-XXXXXX` made on
// the node itself: 0700, created atomically, a name no other user of the
// host can know or plant beforehand (the store binary runs from it as root).
//
// The constructor connects to every host in parallel (one attempt each,
// bounded by ssh.connect-timeout-ms) and throws one HarnessError naming
// every node that failed (authentication, host key, timeout). Teardown (or
// the destructor, unless released) removes the node directories; the
// sessions close with the object. Release (--leave-db-running) keeps the
// directories and the store running in them. Not thread-safe itself; the
// Remotes it hands out are.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/api/environment.h"
#include "harness/nodes/ssh/ssh_config.h"
#include "harness/nodes/ssh/ssh_remote.h"

namespace faultline {

// The SshOptions of one host: the "ssh" object plus that host's overrides.
SshOptions SshOptionsFor(const SshConfig& ssh, const std::string& host);

class SshEnvironment : public Environment {
 public:
  // `test_name` goes into the node directories' names.
  SshEnvironment(const std::string& test_name, const std::vector<std::string>& hosts, const SshConfig& ssh);
  ~SshEnvironment() override;  // removes the node directories (best effort) unless released or torn down

  const std::vector<NodeInfo>& nodes() const override { return nodes_; }
  // "SSH nodes (name=user@host:port:directory): n1=root@10.0.0.2:22:/tmp/faultline-... n2=...", and a
  // warning naming the nodes where a no-op command took 300 ms or more.
  std::string Describe() const override;
  // Removes each node's directory (and a given remote-dir if it is then
  // empty). Throws HarnessError "clean up SSH nodes: ..." listing the nodes
  // where removal failed.
  void Teardown() override;
  // "store left running on the SSH nodes: n1=..."
  std::string Release() override;

 private:
  // "n1=root@10.0.0.2:22:/tmp/faultline-... n2=..."
  std::string NodeList() const;
  // Throws HarnessError listing the nodes where removal failed.
  void RemoveDirs();
  // Times `true` on every node; sets slow_commands_ when one is slow.
  void ProbeCommandCost();

  std::string root_;
  std::vector<std::unique_ptr<SshRemote>> remotes_;
  std::vector<NodeInfo> nodes_;
  bool owned_ = true;          // false once released or torn down
  std::string slow_commands_;  // "; warning: ..." or empty
};

}  // namespace faultline
