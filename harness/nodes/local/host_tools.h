// Host-side helpers shared by LocalCluster's files (create, subnet choice,
// cleanup): `ip` and `iptables` run on the host, /sys and /proc files read
// and written. Internal to harness/nodes/local.
#pragma once

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "harness/api/remote.h"

namespace faultline::local_internal {

// "a b c": an argv for messages.
std::string Joined(const std::vector<std::string>& argv);
// Without trailing newlines and spaces.
std::string Trimmed(std::string s);

// Runs `tool` (ip, iptables; found in /usr/sbin even with a non-root PATH)
// on the host; never throws for a non-zero exit.
CommandResult RunTool(const std::string& tool, std::vector<std::string> args);
// Runs and throws HarnessError naming the command and its stderr on failure.
std::string MustRun(const std::string& tool, const std::vector<std::string>& args);
std::string Ip(const std::vector<std::string>& args);
// Several ip commands in one `ip <options> -batch` process (an exec of ip
// costs ~11 ms of CPU on a 2-core VM; a cluster's set-up and teardown ran
// 11 a node). Stops at the first failing command and throws HarnessError
// listing them. Arguments must be words: no blanks, quotes, backslashes, '#'.
std::string IpBatch(const std::vector<std::string>& options, const std::vector<std::vector<std::string>>& commands);
bool IptablesAvailable();
// The FORWARD rule that lets bridged frames between our nodes pass; op "-I", "-D", "-C".
std::vector<std::string> ForwardRuleArgs(const std::string& bridge, const std::string& op);

// Podman, for container nodes (harness/nodes/container uses these too):
// always with runc and cgroupfs (crun and systemd cgroups fail on cgroup v1
// hybrid hosts). `conf` non-empty: the containers.conf podman reads
// (CONTAINERS_CONF), faultline's own, never the machine's. Never throws for a
// non-zero exit; HarnessError when podman is not installed.
bool PodmanInstalled();
CommandResult RunPodman(const std::vector<std::string>& args, const std::string& conf = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(60));
// Names of every Podman container on the machine (none without podman).
std::vector<std::string> PodmanContainerNames();

bool LinkExists(const std::string& name);
std::string ReadSmallFile(const std::filesystem::path& p);
// Best effort: when IPv6 is off on the host there is nothing to disable.
void WriteSysctl(const std::filesystem::path& p, const std::string& value);
void DisableIpv6(const std::string& dev);
// File names in `dir`; none when it cannot be read.
std::vector<std::string> ListDir(const std::filesystem::path& dir);

// Per-thread generator for run ids and subnet probes.
std::mt19937_64& Rng();

// Node roots are <temp dir>/faultline-<run id>-XXXXXX (mkdtemp).
std::string NodesRootPrefix(const std::string& run_id);
bool IsNodesRootOf(const std::filesystem::path& root, const std::string& run_id);

}  // namespace faultline::local_internal
