// ContainerRemote: a node that is a Podman container (ContainerNode).
// Commands enter the container's namespaces with nsenter (pid, mount, uts,
// ipc, net: they see its root, hostname and pid 1) after joining its
// cgroups (so its memory and CPU limits, freezer and crash reach them),
// about 40x cheaper than `podman exec`. Same guarantees as LocalRemote:
// argv, never a shell; a timeout kills the process group; exit 127/126
// when the program is not found / not executable in the container.
//
// Pids are the container's own (as `ps` inside shows them), like SshRemote's
// are the host's. Files: paths under the node directory's mount point are
// its host directory; other paths are resolved inside the container's root
// (openat2 RESOLVE_IN_ROOT), so no symlink in a container leads the harness
// (root on the host) out of it. A node that is down (crashed) cannot run
// anything: HarnessError.
//
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "harness/api/remote.h"
#include "harness/nodes/container/container_node.h"
#include "harness/nodes/local/process_spawn.h"

namespace faultline {

class ContainerRemote : public Remote {
 public:
  // `mount_host` is the host directory mounted at `mount_point` in the container.
  ContainerRemote(ContainerNode& node, std::string mount_host, std::string mount_point);
  ~ContainerRemote() override;  // daemons are not ours to kill: the DB adapter / cleanup does

  const std::string& node() const override { return node_.node(); }

  CommandResult Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) override;
  void Upload(const std::filesystem::path& local, const std::string& remote_path) override;
  void Download(const std::string& remote_path, const std::filesystem::path& local) override;
  int StartDaemon(const std::vector<std::string>& argv, const std::string& log_path, const Env& env = {}) override;
  void Signal(int pid, int signal) override;
  bool Alive(int pid) override;

 private:
  struct Daemon {
    int host_pid = 0;     // the daemon, as the host sees it
    int wrapper_pid = 0;  // nsenter, our child, which waits for it
    uint64_t start_time = 0;
    bool exited = false;
  };
  class HostFile;
  // The nsenter command that runs argv inside; throws HarnessError when the node is down.
  Spawn Enter(const std::vector<std::string>& argv);
  // Whether the daemon still runs (reaps its wrapper when it ended). Caller holds mu_.
  bool DaemonAlive(Daemon& d);

  ContainerNode& node_;
  const std::string mount_host_, mount_point_;
  std::mutex mu_;
  std::map<int, Daemon> daemons_;  // by container pid; guarded by mu_
};

}  // namespace faultline
