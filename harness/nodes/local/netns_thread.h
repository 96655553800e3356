// Helpers that look into network namespaces from inside this process,
// without spawning `ip`: run a function on a thread that has joined a named
// namespace (/run/netns/<name>), and list the processes living in one.
// Thread-safe: setns() only changes the calling (temporary) thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace faultline {

// Runs fn on a new thread that setns()es into /run/netns/<netns> first, waits
// for it and rethrows what it threw. Throws HarnessError when the namespace
// cannot be entered.
void RunInNetns(const std::string& netns, const std::function<void()>& fn);

// Pids of the live (non-zombie) processes whose network namespace is
// /run/netns/<netns>; empty when the namespace does not exist.
std::vector<int> NetnsPids(const std::string& netns);

// The IPv4 default route of the namespace's main table, as "default [via
// GATEWAY] dev IFACE", or "" when it has none (what `ip -4 route show
// default` shows, read from /proc/thread-self/net/route: no process).
std::string DefaultRouteIn(const std::string& netns);

// Whether /run/netns/<netns> exists.
bool NetnsExists(const std::string& netns);

}  // namespace faultline
