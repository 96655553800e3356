// NodeMachine: whole-node control of a node that is a machine of its own
// (a Podman container, harness/nodes/container): every process in it, not
// just the store's. The nemesis's crash, freeze and starve faults act
// through it; nodes without one (namespaces, SSH hosts) cannot be faulted
// so, and NodeInfo::machine is null for them.
//
// Thread-safe; every call throws HarnessError naming the node on failure.
#pragma once

#include <string>

namespace faultline {

class NodeMachine {
 public:
  virtual ~NodeMachine() = default;

  // Power cut: every process of the node is SIGKILLed at once and the node
  // stays down (its Remote cannot run anything) until Boot. Files on the
  // node survive (its root and its directory).
  virtual void Crash() = 0;
  // Starts a crashed node again (no store process runs yet); a running node
  // is left alone.
  virtual void Boot() = 0;
  virtual bool Up() = 0;

  // Freezes / thaws every process of the node (cgroup freezer).
  virtual void Freeze() = 0;
  virtual void Thaw() = 0;
  virtual bool Frozen() = 0;

  // The node's CPU limit in cores; 0 = unlimited. SetCpuLimit(0) removes the limit.
  virtual void SetCpuLimit(double cores) = 0;
  virtual double CpuLimit() = 0;
  // The limit it was made with (--node-cpus), which a heal restores.
  virtual double BaseCpuLimit() const = 0;
};

}  // namespace faultline
