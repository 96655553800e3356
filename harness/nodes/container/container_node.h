// ContainerNode: one Podman container of a container cluster, as a machine:
// its init process (what ContainerRemote enters), its cgroups, and the
// whole-node faults of NodeMachine (crash = `podman kill -s KILL`, which
// takes every process of its pid namespace with it; boot = `podman start`;
// freeze = `podman pause` (cgroup freezer); CPU limit = the cgroup's CFS
// quota, written directly since `podman update` cannot lift a limit).
//
// Thread-safe: the init pid and cgroup paths are looked up under a mutex
// and forgotten when the node crashes or boots.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "harness/api/node_machine.h"

namespace faultline {

class ContainerNode : public NodeMachine {
 public:
  // `container`: the container's name; `conf`: faultline's containers.conf
  // for podman start; `base_cpus`: the limit it was created with (0 = none);
  // `init_pid`: its init's host pid when the caller just looked it up (one
  // `podman inspect` for a whole cluster), 0 to look it up when needed.
  ContainerNode(std::string node, std::string container, std::string conf, double base_cpus, int init_pid = 0);

  const std::string& node() const { return node_; }
  const std::string& container() const { return container_; }

  // Host pid of the container's init; 0 when the container is not running.
  int InitPid();
  // The cgroup.procs file of each cgroup hierarchy the init is in (a
  // process written there joins the container's limits and freezer).
  // Throws HarnessError when the node is down.
  std::vector<std::string> CgroupProcsFiles();
  // The container's directory in the hierarchy holding `controller`
  // ("cpu", "freezer", ...; "" = the unified v2 hierarchy); empty when none.
  std::string CgroupDir(const std::string& controller);

  void Crash() override;
  void Boot() override;
  bool Up() override { return InitPid() != 0; }
  void Freeze() override;
  void Thaw() override;
  bool Frozen() override;
  void SetCpuLimit(double cores) override;
  double CpuLimit() override;
  double BaseCpuLimit() const override { return base_cpus_; }

 private:
  // `podman <args> NAME`; throws HarnessError "<what> node n1: <stderr>".
  void Podman(std::vector<std::string> args, const std::string& what);
  void Forget();
  // "N:controllers:/path" lines of the init's /proc/<pid>/cgroup → directories.
  std::vector<std::pair<std::string, std::string>> CgroupDirs();  // {controllers, dir}

  const std::string node_, container_, conf_;
  const double base_cpus_;
  std::mutex mu_;
  int init_pid_ = 0;  // guarded by mu_; 0 = not looked up
};

}  // namespace faultline
