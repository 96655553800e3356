#include "harness/nodes/container/container_node.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/host_tools.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using local_internal::ReadSmallFile;
using local_internal::RunPodman;
using local_internal::Trimmed;

void WriteFile(const fs::path& p, const std::string& value, const std::string& node) {
  std::ofstream out(p);
  out << value;
  out.flush();
  if (!out) throw HarnessError(fmt::format("node {}: cannot write {} to {}", node, value, p.string()));
}

// Where a hierarchy of /proc/<pid>/cgroup is mounted: v1 controllers under
// /sys/fs/cgroup/<controllers> ("name=systemd" → systemd); v2 at
// /sys/fs/cgroup/unified on hybrid hosts, else /sys/fs/cgroup.
fs::path HierarchyRoot(const std::string& controllers) {
  if (controllers.empty()) return fs::exists("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
  std::string dir = controllers.rfind("name=", 0) == 0 ? controllers.substr(5) : controllers;
  return fs::path("/sys/fs/cgroup") / dir;
}

}  // namespace

ContainerNode::ContainerNode(std::string node, std::string container, std::string conf, double base_cpus, int init_pid)
    : node_(std::move(node)),
      container_(std::move(container)),
      conf_(std::move(conf)),
      base_cpus_(base_cpus),
      init_pid_(std::max(init_pid, 0)) {}

int ContainerNode::InitPid() {
  std::lock_guard lock(mu_);
  if (init_pid_ > 0) {
    // Still the same process? A crash from outside (or the OOM killer) ends it.
    std::error_code ec;
    if (fs::exists("/proc/" + std::to_string(init_pid_) + "/ns/pid", ec)) return init_pid_;
    init_pid_ = 0;
  }
  CommandResult r = RunPodman({"inspect", "--format", "{{.State.Pid}}", container_});
  if (!r.ok())
    throw HarnessError(fmt::format("node {}: podman inspect {} failed: {}", node_, container_, Trimmed(r.err)));
  init_pid_ = std::atoi(r.out.c_str());
  return init_pid_ > 0 ? init_pid_ : (init_pid_ = 0);
}

void ContainerNode::Forget() {
  std::lock_guard lock(mu_);
  init_pid_ = 0;
}

std::vector<std::pair<std::string, std::string>> ContainerNode::CgroupDirs() {
  const int pid = InitPid();
  if (pid == 0) throw HarnessError(fmt::format("node {} is down (its container {} is not running)", node_, container_));
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::vector<std::pair<std::string, std::string>> dirs;
  for (std::string line; std::getline(in, line);) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    fs::path dir = HierarchyRoot(controllers) / fs::path(line.substr(b + 1)).relative_path();
    std::error_code ec;
    if (fs::is_directory(dir, ec)) dirs.emplace_back(controllers, dir.string());
  }
  if (dirs.empty())
    throw HarnessError(fmt::format("node {}: cannot find the cgroups of its init (pid {})", node_, pid));
  return dirs;
}

std::vector<std::string> ContainerNode::CgroupProcsFiles() {
  std::vector<std::string> files;
  for (const auto& [controllers, dir] : CgroupDirs()) files.push_back(dir + "/cgroup.procs");
  return files;
}

std::string ContainerNode::CgroupDir(const std::string& controller) {
  for (const auto& [controllers, dir] : CgroupDirs()) {
    if (controller.empty() ? controllers.empty()
                           : ("," + controllers + ",").find("," + controller + ",") != std::string::npos) {
      return dir;
    }
  }
  return {};
}

void ContainerNode::Podman(std::vector<std::string> args, const std::string& what) {
  args.push_back(container_);
  CommandResult r = RunPodman(args, conf_);
  if (!r.ok()) {
    throw HarnessError(fmt::format("{} node {} (podman {} {}) failed: {}", what, node_, args.front(), container_,
                                   r.timed_out ? "timed out" : Trimmed(r.err)));
  }
}

void ContainerNode::Crash() {
  if (!Up()) return;
  if (Frozen()) Thaw();  // frozen tasks would not die until thawed
  Podman({"kill", "--signal", "KILL"}, "crashing");
  Podman({"wait"}, "waiting for the crash of");
  Forget();
}

void ContainerNode::Boot() {
  if (Up()) return;
  Podman({"start"}, "booting");
  Forget();
}

void ContainerNode::Freeze() { Podman({"pause"}, "freezing"); }

void ContainerNode::Thaw() {
  if (Frozen()) Podman({"unpause"}, "thawing");
}

bool ContainerNode::Frozen() {
  if (!Up()) return false;
  if (std::string dir = CgroupDir("freezer"); !dir.empty()) return ReadSmallFile(dir + "/freezer.state") != "THAWED";
  return ReadSmallFile(CgroupDir("") + "/cgroup.freeze") == "1";
}

void ContainerNode::SetCpuLimit(double cores) {
  if (cores < 0) throw HarnessError(fmt::format("node {}: a CPU limit of {} cores", node_, cores));
  if (std::string dir = CgroupDir("cpu"); !dir.empty()) {
    const long period = std::atol(ReadSmallFile(dir + "/cpu.cfs_period_us").c_str());
    // The kernel's smallest quota is 1 ms.
    const long quota = cores > 0 ? std::max(1000L, std::lround(cores * double(period))) : -1;
    WriteFile(dir + "/cpu.cfs_quota_us", std::to_string(quota), node_);
    return;
  }
  const std::string dir = CgroupDir("");
  std::istringstream max(ReadSmallFile(dir + "/cpu.max"));
  std::string quota;
  long period = 100000;
  max >> quota >> period;
  WriteFile(dir + "/cpu.max",
            (cores > 0 ? std::to_string(std::max(1000L, std::lround(cores * double(period)))) : "max") + " " +
                std::to_string(period),
            node_);
}

double ContainerNode::CpuLimit() {
  if (std::string dir = CgroupDir("cpu"); !dir.empty()) {
    const long quota = std::atol(ReadSmallFile(dir + "/cpu.cfs_quota_us").c_str());
    const long period = std::atol(ReadSmallFile(dir + "/cpu.cfs_period_us").c_str());
    return quota <= 0 || period <= 0 ? 0 : double(quota) / double(period);
  }
  std::istringstream max(ReadSmallFile(CgroupDir("") + "/cpu.max"));
  std::string quota;
  long period = 0;
  max >> quota >> period;
  return quota == "max" || period <= 0 ? 0 : std::atof(quota.c_str()) / double(period);
}

}  // namespace faultline
