// SshRemote: the session pool and commands. The libssh session itself is in
// ssh_session.cc, file transfer in ssh_sftp.cc.
#include "harness/nodes/ssh/ssh_remote.h"

#include <fmt/format.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>  // ssh_send_keepalive (client-side too)

#include <cctype>
#include <optional>

#include "harness/base/harness_error.h"
#include "harness/nodes/ssh/ssh_session.h"

namespace faultline {
namespace {

using Clock = std::chrono::steady_clock;
using ssh_internal::ConnectError;
using ssh_internal::FirstLine;
using ssh_internal::kShortCommand;
using std::chrono::milliseconds;

constexpr milliseconds kPipeGrace{250};  // output read after the command exited
constexpr milliseconds kReadSlice{50};   // one blocking read at most

// "1.500": seconds for GNU timeout, never 0 (which would mean no timeout).
std::string TimeoutSeconds(milliseconds t) {
  const long long ms = std::max<long long>(t.count(), 1);
  return fmt::format("{}.{:03}", ms / 1000, ms % 1000);
}

// Exit status / signal arriving on a channel (libssh callbacks).
struct ChannelState {
  bool exited = false;
  int status = -1;
  std::string signal;
};

void OnExitStatus(ssh_session, ssh_channel, int status, void* userdata) {
  auto* s = static_cast<ChannelState*>(userdata);
  s->exited = true;
  s->status = status;
}

void OnExitSignal(ssh_session, ssh_channel, const char* signal, int, const char*, const char*, void* userdata) {
  auto* s = static_cast<ChannelState*>(userdata);
  s->exited = true;
  s->status = -1;
  s->signal = signal != nullptr ? signal : "?";
}

// From /proc/<pid>/stat: running or stopped, not a zombie.
bool AliveFromStat(const std::string& line) {
  auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return false;
  const char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

// Sets how long libssh waits for the peer on this session.
void SetSessionTimeout(ssh_session session, std::chrono::microseconds t) {
  const long sec = t.count() / 1000000, usec = t.count() % 1000000;
  ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &sec);
  ssh_options_set(session, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

// All output is in; the exit status follows (or the channel closes). Waits
// for it at most until the deadline (the session's timeout bounds libssh's
// wait; the callback records what arrives), then restores the session's
// usual timeout.
void WaitForExitStatus(ssh_session session, ssh_channel channel, Clock::time_point deadline,
                       milliseconds connect_timeout) {
  const long remaining_us =
      std::max<long>(1000, std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count());
  SetSessionTimeout(session, std::chrono::microseconds(remaining_us));
  ssh_channel_get_exit_status(channel);
  SetSessionTimeout(session, connect_timeout);
}

// Reads the command's stdout and stderr into `result` until it exited and
// its output ended (or kPipeGrace after it exited: a background child may
// hold its pipes), or until the deadline (then result.timed_out). Returns
// why the connection was lost, empty when it was not.
std::string ReadOutput(ssh_session session, ssh_channel channel, const ChannelState& state, Clock::time_point deadline,
                       milliseconds connect_timeout, CommandResult& result) {
  std::optional<Clock::time_point> exited_at;
  char buf[16384];
  std::string lost;
  while (true) {
    const auto now = Clock::now();
    if (state.exited && !exited_at) exited_at = now;
    if (exited_at && (ssh_channel_is_eof(channel) || now - *exited_at >= kPipeGrace)) break;
    if (now >= deadline) {
      result.timed_out = true;
      break;
    }
    if (ssh_channel_is_eof(channel) && !state.exited) {
      WaitForExitStatus(session, channel, deadline, connect_timeout);
      if (!ssh_is_connected(session)) {
        lost = ssh_get_error(session);
        break;
      }
      if (state.exited || ssh_channel_is_closed(channel)) break;
      continue;
    }
    auto slice = std::min<Clock::duration>(kReadSlice, deadline - now);
    if (exited_at) slice = std::min<Clock::duration>(slice, *exited_at + kPipeGrace - now);
    const int wait_ms = std::max<int>(1, std::chrono::duration_cast<milliseconds>(slice).count());
    int n = ssh_channel_read_timeout(channel, buf, sizeof buf, 0, wait_ms);
    if (n == SSH_ERROR) {
      lost = ssh_get_error(session);
      break;
    }
    if (n > 0) result.out.append(buf, n);
    while ((n = ssh_channel_read_nonblocking(channel, buf, sizeof buf, 1)) > 0) result.err.append(buf, n);
    if (n == SSH_ERROR) {
      lost = ssh_get_error(session);
      break;
    }
  }
  // What is still buffered (no waiting).
  for (int is_err : {0, 1}) {
    int n;
    while (lost.empty() && (n = ssh_channel_read_nonblocking(channel, buf, sizeof buf, is_err)) > 0) {
      (is_err ? result.err : result.out).append(buf, n);
    }
  }
  return lost;
}

}  // namespace

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::string ShellCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += ShellQuote(a);
  }
  return out;
}

SshRemote::SshRemote(std::string node, SshOptions options) : node_(std::move(node)), options_(std::move(options)) {
  if (options_.max_sessions < 1) throw HarnessError(node_ + ": max_sessions must be >= 1");
  keepalive_ = std::thread([this] { KeepaliveLoop(); });
}

SshRemote::~SshRemote() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  keepalive_.join();
  std::lock_guard lock(mu_);
  idle_.clear();
}

std::string SshRemote::Describe() const {
  return fmt::format("{} ({}@{}:{})", node_, options_.username, options_.host, options_.port);
}

void SshRemote::Connect() { Release(Acquire(1), true); }

std::unique_ptr<SshRemote::Session> SshRemote::ConnectWithRetries(int attempts) {
  auto pause = milliseconds(250);
  for (int attempt = 1;; ++attempt) {
    try {
      return std::make_unique<Session>(node_, options_);
    } catch (const ConnectError& e) {
      if (e.permanent || attempt >= attempts) {
        if (attempt > 1) throw HarnessError(fmt::format("{} (after {} attempts)", e.what(), attempt));
        throw;
      }
    }
    std::this_thread::sleep_for(pause);
    pause *= 2;
  }
}

std::unique_ptr<SshRemote::Session> SshRemote::Acquire(int attempts) {
  {
    std::unique_lock lock(mu_);
    while (true) {
      while (!idle_.empty()) {
        std::unique_ptr<Session> s = std::move(idle_.back());
        idle_.pop_back();
        if (s->connected()) return s;
        --open_;  // dead while idle: drop it
      }
      if (open_ < options_.max_sessions) break;
      cv_.wait(lock);
    }
    ++open_;
  }
  try {
    return ConnectWithRetries(attempts);
  } catch (...) {
    std::lock_guard lock(mu_);
    --open_;
    cv_.notify_one();
    throw;
  }
}

void SshRemote::Release(std::unique_ptr<Session> session, bool usable) {
  std::unique_ptr<Session> closing;
  {
    std::lock_guard lock(mu_);
    if (usable && session->connected() && !stopping_) {
      idle_.push_back(std::move(session));
    } else {
      --open_;
      closing = std::move(session);
    }
  }
  cv_.notify_one();
  // `closing` disconnects here, outside the lock.
}

void SshRemote::KeepaliveLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, options_.keepalive_interval, [this] { return stopping_; });
    if (stopping_) break;
    std::vector<std::unique_ptr<Session>> sessions = std::move(idle_);
    idle_.clear();
    lock.unlock();
    std::vector<bool> alive;
    for (auto& s : sessions) {
      // keepalive@openssh.com with want-reply: a dead peer shows up as an error.
      ssh_send_keepalive(s->get());
      alive.push_back(s->connected());
    }
    for (size_t i = 0; i < sessions.size(); ++i) Release(std::move(sessions[i]), alive[i]);
    lock.lock();
  }
}

ssh_channel SshRemote::OpenChannel(std::unique_ptr<Session>& session, const std::string& what) {
  // A stale session fails at channel open (nothing ran yet): retry once on a fresh one.
  for (int attempt = 0;; ++attempt) {
    session = Acquire(options_.reconnect_attempts);
    ssh_channel channel = ssh_channel_new(session->get());
    if (channel != nullptr && ssh_channel_open_session(channel) == SSH_OK) return channel;
    const std::string error = ssh_get_error(session->get());
    if (channel != nullptr) ssh_channel_free(channel);
    Release(std::move(session), false);
    if (attempt >= 1) throw HarnessError(fmt::format("cannot run `{}` on {}: {}", what, Describe(), error));
  }
}

CommandResult SshRemote::Exec(const std::string& command, milliseconds timeout, const std::string& what) {
  std::unique_ptr<Session> session;
  ssh_channel channel = OpenChannel(session, what);

  ChannelState state;
  ssh_channel_callbacks_struct callbacks{};
  callbacks.userdata = &state;
  callbacks.channel_exit_status_function = OnExitStatus;
  callbacks.channel_exit_signal_function = OnExitSignal;
  ssh_callbacks_init(&callbacks);
  ssh_set_channel_callbacks(channel, &callbacks);

  const auto start = Clock::now();
  if (ssh_channel_request_exec(channel, command.c_str()) != SSH_OK) {
    const std::string error = ssh_get_error(session->get());
    ssh_channel_free(channel);
    Release(std::move(session), false);
    throw HarnessError(fmt::format("cannot run `{}` on {}: {}", what, Describe(), error));
  }
  CommandResult result;
  const std::string lost =
      ReadOutput(session->get(), channel, state, start + timeout, options_.connect_timeout, result);
  bool usable = true;
  if (!lost.empty()) {
    usable = false;
    result.exit_code = -1;
    result.err += fmt::format("faultline: SSH connection to {} lost while `{}` ran: {}\n", Describe(), what, lost);
  } else if (result.timed_out) {
    result.exit_code = -1;
  } else if (state.exited && state.signal.empty()) {
    result.exit_code = state.status;
  } else {
    result.exit_code = -1;  // killed by a signal (or no status at all)
  }
  if (ssh_is_connected(session->get())) {
    ssh_channel_close(channel);
  } else {
    usable = false;
  }
  ssh_channel_free(channel);
  Release(std::move(session), usable);
  return result;
}

CommandResult SshRemote::Run(const std::vector<std::string>& argv, milliseconds timeout) {
  if (argv.empty()) throw HarnessError("Run on " + node_ + ": empty command");
  std::vector<std::string> full;
  if (options_.sudo) full = {"sudo", "-n", "--"};
  full.insert(full.end(), {"timeout", "-s", "KILL", TimeoutSeconds(timeout)});
  full.insert(full.end(), argv.begin(), argv.end());
  std::string what;
  for (const auto& a : argv) what += (what.empty() ? "" : " ") + a;
  return Exec(ShellCommand(full), timeout, what);
}

int SshRemote::StartDaemon(const std::vector<std::string>& argv, const std::string& log_path, const Env& env) {
  if (argv.empty()) throw HarnessError("StartDaemon on " + node_ + ": empty command");
  std::string script;
  for (const auto& [key, value] : env) {
    const bool valid =
        !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0])) &&
        key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
    if (!valid) throw HarnessError(fmt::format("StartDaemon on {}: bad environment variable name \"{}\"", node_, key));
    script += "export " + key + "=" + ShellQuote(value) + "\n";
  }
  // $1 is the log; the rest is argv. The shell prints its pid, then becomes the daemon.
  script +=
      "log=$1; shift\n"
      "command -v \"$1\" >/dev/null 2>&1 || { echo \"$1: not found or not executable\" >&2; exit 127; }\n"
      "mkdir -p -- \"$(dirname -- \"$log\")\" || exit 1\n"
      ": >>\"$log\" || exit 1\n"
      "echo $$\n"
      "exec \"$@\" >>\"$log\" 2>&1 </dev/null\n";
  std::vector<std::string> full;
  if (options_.sudo) full = {"sudo", "-n", "--"};
  full.insert(full.end(), {"setsid", "-f", "sh", "-c", script, "faultline-daemon", log_path});
  full.insert(full.end(), argv.begin(), argv.end());
  std::string what;
  for (const auto& a : argv) what += (what.empty() ? "" : " ") + a;
  CommandResult r = Exec(ShellCommand(full), kShortCommand, what);
  const std::string out = FirstLine(r.out);
  if (r.ok() && !out.empty() && out.find_first_not_of("0123456789") == std::string::npos) {
    return std::stoi(out);
  }
  throw HarnessError(fmt::format("cannot start `{}` on {}: {}", what, Describe(),
                                 r.timed_out ? "timed out" : (r.err.empty() ? "no pid printed" : FirstLine(r.err))));
}

void SshRemote::Signal(int pid, int signal) {
  if (pid <= 0) throw HarnessError("Signal on " + node_ + ": bad pid " + std::to_string(pid));
  CommandResult r = Run({"kill", "-" + std::to_string(signal), std::to_string(pid)}, kShortCommand);
  if (r.ok() || !Alive(pid)) return;
  throw HarnessError(fmt::format("cannot send signal {} to pid {} on {}: {}", signal, pid, Describe(),
                                 r.timed_out ? "timed out" : FirstLine(r.err)));
}

bool SshRemote::Alive(int pid) {
  if (pid <= 0) return false;
  CommandResult r = Run({"cat", "/proc/" + std::to_string(pid) + "/stat"}, kShortCommand);
  if (r.ok()) return AliveFromStat(r.out);
  if (r.timed_out || r.err.find("faultline: SSH connection") != std::string::npos) {
    throw HarnessError(fmt::format("cannot tell whether pid {} runs on {}: {}", pid, Describe(),
                                   r.timed_out ? "timed out" : FirstLine(r.err)));
  }
  return false;  // no such process
}

}  // namespace faultline
