#include "harness/nodes/ssh/sshd_nodes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/secure_fs.h"
#include "harness/nodes/local/local_remote.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kSshd[] = "/usr/sbin/sshd";

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh file (a previous StartSshd's is replaced), never through a symlink.
void WriteFile(const fs::path& p, const std::string& text, mode_t mode) {
  std::error_code ec;
  fs::remove(p, ec);
  WriteNewFile(p, text, mode);
}

void KeyGen(const fs::path& key, const std::string& comment) {
  std::error_code ec;
  fs::remove(key, ec);
  fs::remove(key.string() + ".pub", ec);
  LocalRemote host("host", "");
  CommandResult r = host.Run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key.string()}, 30s);
  if (!r.ok()) throw HarnessError(fmt::format("sshd: ssh-keygen for {} failed: {}", key.string(), r.err));
}

// Whether something accepts TCP connections on address:port (a short try).
bool Accepts(const std::string& address, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  bool ok = false;
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) == 1) {
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    if (rc == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 200) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        ok = err == 0;
      }
    }
  }
  ::close(fd);
  return ok;
}

fs::path NodeDir(const SshdNodes& sshd, LocalCluster& cluster, size_t i) { return sshd.dir / cluster.nodes()[i].name; }

}  // namespace

int StartNodeSshd(LocalCluster& cluster, size_t i, const SshdNodes& sshd, std::chrono::milliseconds timeout) {
  const LocalNode& node = cluster.nodes()[i];
  const fs::path dir = NodeDir(sshd, cluster, i);
  Remote& remote = cluster.remote(i);
  const int pid =
      remote.StartDaemon({kSshd, "-D", "-e", "-f", (dir / "sshd_config").string()}, (dir / "sshd.log").string());
  const auto deadline = Clock::now() + timeout;
  while (!Accepts(node.address, 22)) {
    if (!remote.Alive(pid) || Clock::now() >= deadline) {
      remote.Signal(pid, SIGKILL);
      throw HarnessError(fmt::format("sshd on {} ({}:22) did not come up; {}:\n{}", node.name, node.address,
                                     (dir / "sshd.log").string(), ReadAll(dir / "sshd.log")));
    }
    std::this_thread::sleep_for(10ms);
  }
  return pid;
}

SshdNodes StartSshd(LocalCluster& cluster) {
  if (::access(kSshd, X_OK) != 0) {
    throw HarnessError(fmt::format("sshd: {} not found: install the openssh-server package (scripts/setup)", kSshd));
  }
  // sshd's compiled-in privilege-separation chroot; the packaged service makes it at boot.
  std::error_code ec;
  if (!fs::exists("/run/sshd", ec)) {
    fs::create_directories("/run/sshd", ec);
    fs::permissions("/run/sshd", fs::perms(0755), fs::perm_options::replace, ec);
    if (ec) throw HarnessError("sshd: cannot create its privilege separation directory /run/sshd: " + ec.message());
  }
  SshdNodes sshd;
  sshd.dir = cluster.nodes_root() / "sshd";
  EnsurePrivateDir(sshd.dir);
  sshd.client_key = sshd.dir / "client_key";
  sshd.known_hosts = sshd.dir / "known_hosts";
  KeyGen(sshd.client_key, "faultline-client-" + cluster.run_id());
  const fs::path authorized = sshd.dir / "authorized_keys";
  WriteFile(authorized, ReadAll(sshd.client_key.string() + ".pub"), 0644);

  std::string known;
  for (size_t i = 0; i < cluster.nodes().size(); ++i) {
    const LocalNode& node = cluster.nodes()[i];
    const fs::path dir = NodeDir(sshd, cluster, i);
    EnsurePrivateDir(dir);
    KeyGen(dir / "host_key", "faultline-" + cluster.run_id() + "-" + node.name);
    // SetEnv SHLVL=1: bash, run by sshd as a top-level shell (SHLVL unset),
    // sources ~/.bashrc even for `ssh host command`; these nodes share the
    // machine's /root, whose rc files are not ours (one with pyenv made every
    // command take 0.5 s). bash skips them when it is not at the top level.
    const std::string config = fmt::format(
        "# sshd for faultline cluster {} node {}: its own keys and files, never /etc/ssh\n"
        "ListenAddress {}:22\n"
        "HostKey {}\n"
        "AuthorizedKeysFile {}\n"
        "PidFile {}\n"
        "PermitRootLogin prohibit-password\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "UseDNS no\n"
        "PrintMotd no\n"
        "PrintLastLog no\n"
        "MaxSessions 50\n"
        "MaxStartups 100\n"
        "LogLevel ERROR\n"
        "SetEnv SHLVL=1\n"
        "Subsystem sftp internal-sftp\n",
        cluster.run_id(), node.name, node.address, (dir / "host_key").string(), authorized.string(),
        (dir / "sshd.pid").string());
    WriteFile(dir / "sshd_config", config, 0644);
    known += node.address + " " + ReadAll(dir / "host_key.pub");
    sshd.addresses.push_back(node.address);
  }
  WriteFile(sshd.known_hosts, known, 0644);
  for (size_t i = 0; i < cluster.nodes().size(); ++i) sshd.pids.push_back(StartNodeSshd(cluster, i, sshd));
  return sshd;
}

std::string SshdRunFlags(const SshdNodes& sshd) {
  std::string nodes;
  for (const auto& a : sshd.addresses) nodes += (nodes.empty() ? "" : ",") + a;
  return fmt::format("--nodes {} --ssh-private-key {} --known-hosts {}", nodes, sshd.client_key.string(),
                     sshd.known_hosts.string());
}

}  // namespace faultline
