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
// every node that failed (authentication, host key, timeout). Teardown
// removes the node directories (unless asked to keep them) and closes the
// sessions. Not thread-safe itself; the Remotes it hands out are.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/api/database.h"
#include "harness/nodes/ssh/ssh_config.h"
#include "harness/nodes/ssh/ssh_remote.h"

namespace faultline {

// The SshOptions of one host: the "ssh" object plus that host's overrides.
SshOptions SshOptionsFor(const SshConfig& ssh, const std::string& host);

class SshEnvironment {
 public:
  // `test_name` goes into the node directories' names.
  SshEnvironment(const std::string& test_name, const std::vector<std::string>& hosts, const SshConfig& ssh);
  ~SshEnvironment();

  const std::vector<NodeInfo>& nodes() const { return nodes_; }
  // "n1=root@10.0.0.2:22:/tmp/faultline-... n2=..." for the run log.
  std::string Describe() const;
  // Removes each node's directory when remove_dirs (and a given remote-dir
  // if it is then empty). Throws HarnessError listing
  // the nodes where removal failed. The sessions close with the object.
  void Teardown(bool remove_dirs);

 private:
  std::string root_;
  std::vector<std::unique_ptr<SshRemote>> remotes_;
  std::vector<NodeInfo> nodes_;
};

}  // namespace faultline
