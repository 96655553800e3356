// Starting processes on this machine for the Remotes whose nodes live here
// (LocalRemote: a network namespace or the host; ContainerRemote: a Podman
// container). The Remote decides how a command enters its node (the Spawn's
// exe and args, the cgroups it joins); this file starts it, captures its
// output, enforces timeouts, and copies files. Thread-safe free functions.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/api/remote.h"

namespace faultline {

// What to exec, after fork: `exe` with `args` (without argv[0]), after the
// child moved itself into each cgroup whose cgroup.procs file is listed (so
// a container's limits, freezer and kill reach it) and into the network
// namespace `join_netns` names (a file such as /run/netns/<name>; empty:
// stay in ours).
struct Spawn {
  std::string exe;
  std::vector<std::string> args;
  std::vector<std::string> join_cgroups;
  std::string join_netns;
};

// Runs a Spawn in its own process group, stdin /dev/null, stdout and stderr
// captured; on timeout SIGKILLs the whole group and sets timed_out. Once it
// exited its output is read for at most 250 ms more (a background child may
// hold the pipes). Children never inherit the harness's other descriptors.
// Throws HarnessError "cannot run <what>: ..." when it cannot be spawned.
CommandResult RunSpawn(const Spawn& spawn, std::chrono::milliseconds timeout, const std::string& what);

// Starts a Spawn in a new session (a Ctrl-C on the harness's terminal does
// not reach it), stdout and stderr appended to log_path (opened O_NOFOLLOW,
// its directory created), environment = ours plus `env`. Returns the pid of
// our child, which the caller reaps. Throws HarnessError "cannot start <what>: ...".
int StartSpawn(const Spawn& spawn, const std::string& log_path, const Env& env, const std::string& what);

// argv[0] resolved as execvp would on this machine; empty when not found.
std::string ResolveExecutable(const std::string& name);

// Copies via a temporary file + rename, so overwriting a running binary works
// (no ETXTBSY) and a reader never sees a half-written file; keeps the mode
// bits and creates the destination's parents. Throws HarnessError "<what>: ...".
void CopyKeepingMode(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& what);

// The state letter of a process from /proc/<pid>/stat ('R', 'S', 'T', 'Z',
// ...), or 0 when there is no such process.
char ProcessState(int pid);

}  // namespace faultline
