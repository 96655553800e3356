// SshRemote: a node reached over SSH (libssh), the Remote seam for real
// hosts (ARCHITECTURE.md, "Remote: ssh").
//
// Connections: a small pool of libssh sessions per node (at most
// SshOptions::max_sessions), each used by one thread at a time, with a
// channel per command; libssh sessions are not thread-safe, the pool is what
// makes SshRemote thread-safe. Sessions are kept alive (TCP keepalive plus a
// keepalive@openssh.com request on idle sessions every keepalive_interval)
// and replaced when they die: a command whose channel cannot be opened is
// retried once on a fresh session, and a fresh session is tried up to
// reconnect_attempts times (each bounded by connect_timeout) before a
// HarnessError names the node. Authentication and host-key failures are
// never retried.
//
// Authentication: the private key file if given, else ssh-agent
// (SSH_AUTH_SOCK) when no password is given, else the password. The
// password never appears in a message or a log. Host keys are checked
// against known_hosts (default ~/.ssh/known_hosts; an explicit file is the
// only one read) unless strict_host_key_checking is false; an unknown key is
// refused, a changed one is refused with both SHA256 fingerprints. OpenSSH's
// client config files (~/.ssh/config) are not read: what the flags say is
// what happens.
//
// Commands: argv elements are each single-quoted for the remote shell (see
// ShellQuote), so nothing in them is interpreted. Every command runs as
// `[sudo -n --] timeout -s KILL <t> argv...`: GNU timeout puts the command
// in its own process group and SIGKILLs that whole group on the node at the
// deadline, even when the harness's connection is gone; the harness itself
// stops waiting at the same deadline and reports timed_out. A connection
// lost while a command ran yields exit_code -1 with the reason in err (the
// command may or may not have finished). Output is read for at most 250 ms
// after the command exited (a background child may hold its pipes).
//
// Files go over SFTP into a temp file next to the destination, chmod to the
// source's permission bits, then rename (with sudo: via /tmp and `sudo mv`).
// Daemons start under `setsid -f` (own session, immune to the SSH session
// ending), stdin /dev/null, stdout+stderr appended to the log; the pid is
// the daemon's own (the shell that prints it execs the daemon). Signal is
// kill(1); Alive reads /proc/<pid>/stat (a zombie is not alive).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/api/remote.h"

struct ssh_channel_struct;  // libssh's ssh_channel, kept out of this header

namespace faultline {

struct SshOptions {
  std::string host;  // host name or address as given
  int port = 22;
  std::string username = "root";
  std::string private_key;  // key file; empty: agent or password
  std::string password;     // never logged
  std::string known_hosts;  // empty: ~/.ssh/known_hosts
  bool strict_host_key_checking = true;
  bool sudo = false;  // prefix commands with `sudo -n --`
  std::chrono::milliseconds connect_timeout{10000};
  int reconnect_attempts = 3;
  int max_sessions = 4;
  std::chrono::milliseconds keepalive_interval{15000};
};

// 'text' with every ' written as '\'' : one literal word for a POSIX shell.
std::string ShellQuote(const std::string& text);
// The argv as one shell command line, every element quoted.
std::string ShellCommand(const std::vector<std::string>& argv);

class SshRemote : public Remote {
 public:
  SshRemote(std::string node, SshOptions options);
  ~SshRemote() override;  // closes the sessions; daemons keep running

  // Opens the first session (one attempt, bounded by connect_timeout), so a
  // wrong key, host key or address fails fast. Throws HarnessError naming
  // the node, user, host and port.
  void Connect();

  const std::string& node() const override { return node_; }
  const SshOptions& options() const { return options_; }
  // "n1 (root@10.0.0.2:22)", as errors name the node.
  std::string Describe() const;

  CommandResult Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) override;
  void Upload(const std::filesystem::path& local, const std::string& remote_path) override;
  void Download(const std::string& remote_path, const std::filesystem::path& local) override;
  int StartDaemon(const std::vector<std::string>& argv, const std::string& log_path, const Env& env = {}) override;
  void Signal(int pid, int signal) override;
  bool Alive(int pid) override;

 private:
  class Session;
  // A connected session for this thread's exclusive use (connecting one with
  // up to `attempts` tries when none is idle). Throws HarnessError.
  std::unique_ptr<Session> Acquire(int attempts);
  // Back to the pool if still usable, else closed.
  void Release(std::unique_ptr<Session> session, bool usable);
  std::unique_ptr<Session> ConnectWithRetries(int attempts);
  // A session (in `session`) and a channel opened on it, retried once on a
  // fresh session when the pooled one was stale. Throws HarnessError.
  ssh_channel_struct* OpenChannel(std::unique_ptr<Session>& session, const std::string& what);
  // Runs an already built shell command line (no wrapping).
  CommandResult Exec(const std::string& command, std::chrono::milliseconds timeout, const std::string& what);
  void KeepaliveLoop();

  const std::string node_;
  const SshOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;                  // a session was released
  std::condition_variable stop_cv_;             // wakes the keepalive thread to stop
  std::vector<std::unique_ptr<Session>> idle_;  // guarded by mu_
  int open_ = 0;                                // sessions idle or in use; guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  std::thread keepalive_;
};

}  // namespace faultline
