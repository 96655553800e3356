// Environment: the nodes of one run (names, addresses, working directories,
// a Remote each) and their teardown. Local network namespaces
// (harness/nodes/local), Podman containers in those namespaces
// (harness/nodes/container) and SSH hosts (harness/nodes/ssh) implement it. The runner, the nemesis and the DB adapters
// see only the NodeInfos, so they work on every kind of node.
//
// Lifetime: the Environment owns what it made for the run (a local cluster,
// directories on SSH hosts) and removes it in its destructor, unless
// Release() was called (--leave-db-running) or Teardown() already did it.
// The destructor cannot report a failure, so whoever needs to know calls
// Teardown() first. The Remotes in nodes() live as long as the Environment.
// Not thread-safe itself; the Remotes it hands out are.
#pragma once

#include <string>
#include <vector>

#include "harness/api/node_machine.h"
#include "harness/api/remote.h"

namespace faultline {

struct NodeInfo {
  std::string name;          // n1, n2, ... as users see it
  std::string address;       // IP address or host name clients connect to
  std::string dir;           // the node's working directory, on the node
  Remote* remote = nullptr;  // not owned; owned by the Environment
  // Whole-node control (crash, freeze, starve); null unless the node is a
  // machine of its own (a container). Owned by the Environment.
  NodeMachine* machine = nullptr;
  // Where the node's network is configured (iptables: partitions, loss);
  // null = `remote`. Container nodes use their namespace's, so a store's
  // image needs no iptables and a frozen node can still be partitioned.
  Remote* net_remote = nullptr;
};

class Environment {
 public:
  virtual ~Environment() = default;

  virtual const std::vector<NodeInfo>& nodes() const = 0;

  // One line for the run log and the terminal: which nodes, and where.
  virtual std::string Describe() const = 0;

  // Removes what the environment made for the run, now. Throws HarnessError
  // saying what could not be removed (its message names the environment,
  // e.g. "destroy cluster R: ..."). Afterwards the destructor removes nothing.
  virtual void Teardown() = 0;

  // Leaves the nodes as they are, the store running on them: the destructor
  // removes nothing. Returns one line for the user: what was left and how to
  // remove it.
  virtual std::string Release() = 0;
};

}  // namespace faultline
