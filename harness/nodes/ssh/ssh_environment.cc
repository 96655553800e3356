#include "harness/nodes/ssh/ssh_environment.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/wait.h"

namespace faultline {

using namespace std::chrono_literals;

namespace {

// What one command costs on a node before it does anything: sshd starts the
// user's shell, and bash started by sshd reads ~/.bashrc even for a command
// (a pyenv or conda init there takes about 0.5 s). Every fault, health check
// and log fetch pays it, so a run says so when a no-op takes this long.
constexpr auto kSlowCommand = 300ms;

}  // namespace

SshOptions SshOptionsFor(const SshConfig& ssh, const std::string& host) {
  SshOptions o;
  o.host = host;
  o.port = ssh.port;
  o.username = ssh.username;
  o.private_key = ssh.private_key;
  o.password = ssh.password;
  o.known_hosts = ssh.known_hosts;
  o.strict_host_key_checking = ssh.strict_host_key_checking;
  o.sudo = ssh.sudo;
  o.connect_timeout = std::chrono::milliseconds(ssh.connect_timeout_ms);
  if (auto it = ssh.nodes.find(host); it != ssh.nodes.end()) {
    if (it->second.port != 0) o.port = it->second.port;
    if (!it->second.username.empty()) o.username = it->second.username;
  }
  return o;
}

SshEnvironment::SshEnvironment(const std::string& test_name, const std::vector<std::string>& hosts,
                               const SshConfig& ssh) {
  if (hosts.empty()) throw HarnessError("ssh: no nodes given");
  root_ = ssh.remote_dir;
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  for (size_t i = 0; i < hosts.size(); ++i) {
    const std::string name = "n" + std::to_string(i + 1);
    remotes_.push_back(std::make_unique<SshRemote>(name, SshOptionsFor(ssh, hosts[i])));
    nodes_.push_back(NodeInfo{name, hosts[i], root_.empty() ? "" : root_ + "/" + name, remotes_.back().get()});
  }
  std::vector<std::string> failed = Failures(RunInParallel(remotes_.size(), [&](size_t i) { remotes_[i]->Connect(); }));
  if (!failed.empty()) {
    throw HarnessError(fmt::format("cannot reach {} of {} node{} over SSH: {}", failed.size(), remotes_.size(),
                                   remotes_.size() == 1 ? "" : "s", fmt::join(failed, "; ")));
  }
  ProbeCommandCost();
  if (!root_.empty()) return;
  const std::string prefix = fmt::format("/tmp/faultline-{}-", test_name);
  failed = Failures(RunInParallel(remotes_.size(), [&](size_t i) {
    CommandResult r = remotes_[i]->Run({"mktemp", "-d", prefix + nodes_[i].name + "-XXXXXX"}, 30s);
    std::string dir = r.out.substr(0, r.out.find('\n'));
    if (!r.ok() || dir.rfind(prefix, 0) != 0 || dir.find("..") != std::string::npos) {
      throw HarnessError(fmt::format("{}: mktemp -d {}{}-XXXXXX: {}", remotes_[i]->Describe(), prefix, nodes_[i].name,
                                     r.ok() ? "printed " + r.out : r.err));
    }
    nodes_[i].dir = dir;
  }));
  if (!failed.empty()) {
    try {
      RemoveDirs();  // the directories that were made
    } catch (const HarnessError&) {
      // The error below says what failed; a directory left behind is empty.
    }
    throw HarnessError(fmt::format("cannot make node directories: {}", fmt::join(failed, "; ")));
  }
}

SshEnvironment::~SshEnvironment() {
  if (!owned_) return;
  try {
    RemoveDirs();
  } catch (const std::exception&) {
    // Nowhere to report it from a destructor; Teardown() is the reporting path.
  }
}

std::string SshEnvironment::Describe() const {
  return "SSH nodes (name=user@host:port:directory): " + NodeList() + slow_commands_;
}

void SshEnvironment::ProbeCommandCost() {
  std::vector<std::string> slow(remotes_.size());
  RunInParallel(remotes_.size(), [&](size_t i) {
    const auto start = std::chrono::steady_clock::now();
    CommandResult r = remotes_[i]->Run({"true"}, 30s);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (r.ok() && took >= kSlowCommand) slow[i] = fmt::format("{} {} ms", nodes_[i].name, took.count());
  });
  std::erase(slow, std::string());
  if (slow.empty()) return;
  slow_commands_ = fmt::format(
      "; warning: one no-op command took {} (every fault, health check and log fetch pays this; the usual cause is a "
      "slow shell start-up file on the host: bash reads ~/.bashrc for SSH commands, and pyenv or conda init there is "
      "common)",
      fmt::join(slow, ", "));
}

std::string SshEnvironment::Release() {
  owned_ = false;
  return "store left running on the SSH nodes: " + NodeList();
}

void SshEnvironment::Teardown() {
  owned_ = false;  // one attempt, reported here
  try {
    RemoveDirs();
  } catch (const std::exception& e) {
    throw HarnessError(std::string("clean up SSH nodes: ") + e.what());
  }
}

std::string SshEnvironment::NodeList() const {
  std::vector<std::string> parts;
  for (const auto& r : remotes_) {
    const SshOptions& o = r->options();
    parts.push_back(fmt::format("{}={}@{}:{}:{}", r->node(), o.username, o.host, o.port, nodes_[parts.size()].dir));
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

void SshEnvironment::RemoveDirs() {
  const std::vector<std::string> failed = Failures(RunInParallel(remotes_.size(), [&](size_t i) {
    if (nodes_[i].dir.empty()) return;  // never made
    CommandResult r = remotes_[i]->Run({"rm", "-rf", "--", nodes_[i].dir}, 60s);
    if (!r.ok()) {
      throw HarnessError(fmt::format("{}: rm -rf {}: {}", remotes_[i]->Describe(), nodes_[i].dir, r.err));
    }
    // A given remote-dir: removed once empty (fails while another node on
    // the same host still has its directory there: fine).
    if (!root_.empty()) remotes_[i]->Run({"rmdir", "--", root_}, 10s);
  }));
  if (!failed.empty()) throw HarnessError(fmt::format("removing node directories failed: {}", fmt::join(failed, "; ")));
}

}  // namespace faultline
