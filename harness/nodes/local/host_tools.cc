#include "harness/nodes/local/host_tools.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/nodes/local/local_remote.h"
#include "harness/nodes/local/process_spawn.h"

namespace faultline::local_internal {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kCommandTimeout = 20s;

LocalRemote& Host() {
  static LocalRemote host("host", "");
  return host;
}

// ip and iptables live in /usr/sbin, which a non-root PATH may lack.
std::string Tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string path = dir + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return name;
}

}  // namespace

std::string Joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

CommandResult RunTool(const std::string& tool, std::vector<std::string> args) {
  if (tool == "iptables") args.insert(args.begin(), "-w");  // wait for the xtables lock (legacy backend)
  args.insert(args.begin(), Tool(tool));
  return Host().Run(args, kCommandTimeout);
}

std::string MustRun(const std::string& tool, const std::vector<std::string>& args) {
  CommandResult r = RunTool(tool, args);
  if (!r.ok()) {
    throw HarnessError("`" + tool + " " + Joined(args) + "` failed" +
                       (r.timed_out ? std::string(" (timed out)") : " (exit " + std::to_string(r.exit_code) + ")") +
                       ": " + Trimmed(r.err));
  }
  return r.out;
}

std::string Ip(const std::vector<std::string>& args) { return MustRun("ip", args); }

std::string IpBatch(const std::vector<std::string>& options, const std::vector<std::vector<std::string>>& commands) {
  std::string text, listed;
  for (size_t i = 0; i < commands.size(); ++i) {
    for (const auto& arg : commands[i]) {
      if (arg.empty() || arg.find_first_of(" \t\n\"'\\#") != std::string::npos) {
        throw HarnessError("`ip " + Joined(commands[i]) + "`: the argument `" + arg + "` cannot go in an ip batch");
      }
    }
    text += Joined(commands[i]) + "\n";
    listed += fmt::format("\n  {}: ip {}", i + 1, Joined(commands[i]));
  }
  // The batch file is a memory file, read through its /proc path: nothing
  // on disk for anyone to swap.
  const int fd = ::memfd_create("faultline-ip-batch", MFD_CLOEXEC);
  if (fd < 0) throw HarnessError(std::string("memfd_create for an ip batch: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw HarnessError(std::string("writing an ip batch: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  std::vector<std::string> args = options;
  args.insert(args.end(), {"-batch", fmt::format("/proc/{}/fd/{}", ::getpid(), fd)});
  CommandResult r = RunTool("ip", args);
  if (!r.ok()) {
    throw HarnessError(fmt::format("`ip {}-batch` failed{}: {}; its commands (ip stops at the first that fails):{}",
                                   options.empty() ? "" : Joined(options) + " ",
                                   r.timed_out ? std::string(" (timed out)") : fmt::format(" (exit {})", r.exit_code),
                                   Trimmed(r.err), listed));
  }
  return r.out;
}

// From PATH, as a user's shell would find them.
bool PodmanInstalled() { return !ResolveExecutable("podman").empty() && !ResolveExecutable("runc").empty(); }

CommandResult RunPodman(const std::vector<std::string>& args, const std::string& conf,
                        std::chrono::milliseconds timeout) {
  if (!PodmanInstalled()) {
    throw HarnessError("container nodes need podman and runc, which are not installed (apt-get install podman runc)");
  }
  std::vector<std::string> argv;
  if (!conf.empty()) argv = {"env", "CONTAINERS_CONF=" + conf};
  argv.insert(argv.end(),
              {ResolveExecutable("podman"), "--runtime", ResolveExecutable("runc"), "--cgroup-manager", "cgroupfs"});
  argv.insert(argv.end(), args.begin(), args.end());
  return Host().Run(argv, timeout);
}

std::vector<std::string> PodmanContainerNames() {
  if (!PodmanInstalled()) return {};
  CommandResult r = RunPodman({"ps", "-a", "--format", "{{.Names}}"});
  std::vector<std::string> names;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

bool LinkExists(const std::string& name) { return fs::exists("/sys/class/net/" + name); }

std::string ReadSmallFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return Trimmed(ss.str());
}

void WriteSysctl(const fs::path& p, const std::string& value) {
  std::ofstream out(p);
  if (out) out << value;
}

void DisableIpv6(const std::string& dev) { WriteSysctl("/proc/sys/net/ipv6/conf/" + dev + "/disable_ipv6", "1"); }

std::vector<std::string> ListDir(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  return names;
}

bool IptablesAvailable() { return ::access(Tool("iptables").c_str(), X_OK) == 0; }

std::vector<std::string> ForwardRuleArgs(const std::string& bridge, const std::string& op) {
  return {op, "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"};
}

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng(std::random_device{}() ^ (uint64_t(::getpid()) << 32) ^
                                   std::hash<std::thread::id>{}(std::this_thread::get_id()));
  return rng;
}

std::string NodesRootPrefix(const std::string& run_id) { return "faultline-" + run_id + "-"; }

bool IsNodesRootOf(const fs::path& root, const std::string& run_id) {
  const std::string name = root.filename().string();
  return root.is_absolute() && name.size() == NodesRootPrefix(run_id).size() + 6 &&
         name.rfind(NodesRootPrefix(run_id), 0) == 0;
}

}  // namespace faultline::local_internal
