#include "harness/nodes/ssh/ssh_remote.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>  // ssh_send_keepalive (client-side too)
#include <libssh/sftp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include "harness/base/harness_error.h"

namespace faultline {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPipeGrace{250};       // output read after the command exited
constexpr milliseconds kReadSlice{50};        // one blocking read at most
constexpr milliseconds kShortCommand{15000};  // mkdir, mv, kill, cat /proc/...
constexpr size_t kChunk = 64 * 1024;

// Failures of one connection attempt; permanent ones (authentication, host
// key, a bad key file) are not worth another attempt.
struct ConnectError : HarnessError {
  ConnectError(const std::string& message, bool permanent) : HarnessError(message), permanent(permanent) {}
  bool permanent;
};

void InitLibssh() {
  static const int rc = ssh_init();
  if (rc != SSH_OK) throw HarnessError("libssh initialisation failed");
}

std::string Fingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t len = 0;
  if (key == nullptr || ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != SSH_OK) {
    return "(no fingerprint)";
  }
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
  std::string out = text != nullptr ? text : "(no fingerprint)";
  ssh_string_free_char(text);
  ssh_clean_pubkey_hash(&hash);
  return out;
}

std::string KeyType(ssh_key key) {
  const char* t = key != nullptr ? ssh_key_type_to_char(ssh_key_type(key)) : nullptr;
  return t != nullptr ? t : "unknown";
}

std::string HomeKnownHosts() {
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.ssh/known_hosts";
}

// "1.500": seconds for GNU timeout, never 0 (which would mean no timeout).
std::string TimeoutSeconds(milliseconds t) {
  const long long ms = std::max<long long>(t.count(), 1);
  return fmt::format("{}.{:03}", ms / 1000, ms % 1000);
}

std::string ParentOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string TempSuffix() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  return fmt::format(".faultline-tmp-{}-{:x}-{}", ::getpid(), salt & 0xffffff, counter++);
}

std::string FirstLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The keys `known` holds for host:port, as "type SHA256:..." (libssh only
// hands out the entry that matched, and a changed key matches none).
std::string KnownFingerprints(const std::string& known, const std::string& host, int port) {
  const std::string lookup = port == 22 ? host : fmt::format("[{}]:{}", host, port);
  std::ifstream in(known);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    ssh_knownhosts_entry* entry = nullptr;
    if (ssh_known_hosts_parse_line(lookup.c_str(), line.c_str(), &entry) == SSH_OK && entry != nullptr) {
      if (entry->publickey != nullptr) {
        out += (out.empty() ? "" : ", ") + KeyType(entry->publickey) + " " + Fingerprint(entry->publickey);
      }
    }
    if (entry != nullptr) ssh_knownhosts_entry_free(entry);
  }
  return out.empty() ? "(no readable entry)" : out;
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

// One libssh session, connected, host key checked and authenticated.
class SshRemote::Session {
 public:
  Session(const std::string& node, const SshOptions& o) : host_(o.host), port_(o.port) {
    InitLibssh();
    const std::string who = fmt::format("{} ({}@{}:{})", node, o.username, o.host, o.port);
    ssh_ = ssh_new();
    if (ssh_ == nullptr) throw ConnectError(who + ": cannot create an SSH session", false);
    bool process_config = false;
    const long sec = o.connect_timeout.count() / 1000, usec = (o.connect_timeout.count() % 1000) * 1000;
    const int nodelay = 1;
    const std::string known = o.known_hosts.empty() ? HomeKnownHosts() : o.known_hosts;
    ssh_options_set(ssh_, SSH_OPTIONS_PROCESS_CONFIG, &process_config);
    ssh_options_set(ssh_, SSH_OPTIONS_HOST, o.host.c_str());
    ssh_options_set(ssh_, SSH_OPTIONS_PORT, &o.port);
    ssh_options_set(ssh_, SSH_OPTIONS_USER, o.username.c_str());
    ssh_options_set(ssh_, SSH_OPTIONS_TIMEOUT, &sec);
    ssh_options_set(ssh_, SSH_OPTIONS_TIMEOUT_USEC, &usec);
    ssh_options_set(ssh_, SSH_OPTIONS_NODELAY, &nodelay);
    ssh_options_set(ssh_, SSH_OPTIONS_KNOWNHOSTS, known.c_str());
    if (!o.known_hosts.empty()) ssh_options_set(ssh_, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");

    if (ssh_connect(ssh_) != SSH_OK) {
      const std::string error = ssh_get_error(ssh_);
      const bool timed_out = error.find("imeout") != std::string::npos || error.find("timed out") != std::string::npos;
      throw ConnectError(
          fmt::format("{}: cannot connect over SSH{}: {}", who,
                      timed_out ? fmt::format(" (timeout {} ms)", o.connect_timeout.count()) : "", error),
          false);
    }
    EnableTcpKeepalive();
    if (o.strict_host_key_checking) CheckHostKey(who, known);
    Authenticate(who, o);
  }

  ~Session() {
    if (ssh_ != nullptr) {
      ssh_disconnect(ssh_);
      ssh_free(ssh_);
    }
  }

  ssh_session get() const { return ssh_; }
  bool connected() const { return ssh_is_connected(ssh_) != 0; }

 private:
  void EnableTcpKeepalive() {
    const int fd = ssh_get_fd(ssh_);
    if (fd < 0) return;
    int on = 1, idle = 10, interval = 5, count = 3;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  }

  void CheckHostKey(const std::string& who, const std::string& known) {
    ssh_key server = nullptr;
    if (ssh_get_server_publickey(ssh_, &server) != SSH_OK) {
      throw ConnectError(fmt::format("{}: the server sent no host key: {}", who, ssh_get_error(ssh_)), true);
    }
    const std::string fp = Fingerprint(server), type = KeyType(server);
    ssh_key_free(server);
    const ssh_known_hosts_e state = ssh_session_is_known_server(ssh_);
    if (state == SSH_KNOWN_HOSTS_OK) return;
    if (state == SSH_KNOWN_HOSTS_CHANGED || state == SSH_KNOWN_HOSTS_OTHER) {
      const std::string expected = KnownFingerprints(known, host_, port_);
      throw ConnectError(
          fmt::format("{}: HOST KEY CHANGED: refusing to connect. The host now offers {} {} but {} says {}. If the "
                      "host was reinstalled, remove its old entry from {}; if not, someone may be intercepting "
                      "the connection (--strict-host-key-checking no disables this check)",
                      who, type, fp, known, expected, known),
          true);
    }
    if (state == SSH_KNOWN_HOSTS_UNKNOWN || state == SSH_KNOWN_HOSTS_NOT_FOUND) {
      throw ConnectError(fmt::format("{}: unknown host key {} {} (not in {}): refusing to connect. Add it to the "
                                     "known_hosts file (ssh-keyscan) or pass --strict-host-key-checking no",
                                     who, type, fp, known),
                         true);
    }
    throw ConnectError(fmt::format("{}: cannot check the host key against {}: {}", who, known, ssh_get_error(ssh_)),
                       true);
  }

  void Authenticate(const std::string& who, const SshOptions& o) {
    std::vector<std::string> tried;
    auto transient = [&](const char* how) {
      throw ConnectError(fmt::format("{}: connection lost during {} authentication: {}", who, how, ssh_get_error(ssh_)),
                         false);
    };
    if (!o.private_key.empty()) {
      ssh_key key = nullptr;
      if (ssh_pki_import_privkey_file(o.private_key.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
        throw ConnectError(fmt::format("{}: cannot read the private key {} (missing, unreadable, or protected by a "
                                       "passphrase: use ssh-agent for those)",
                                       who, o.private_key),
                           true);
      }
      const int rc = ssh_userauth_publickey(ssh_, nullptr, key);
      ssh_key_free(key);
      if (rc == SSH_AUTH_SUCCESS) return;
      if (rc == SSH_AUTH_ERROR) transient("public key");
      tried.push_back("private key " + o.private_key);
    } else if (o.password.empty() && std::getenv("SSH_AUTH_SOCK") != nullptr) {
      const int rc = ssh_userauth_agent(ssh_, nullptr);
      if (rc == SSH_AUTH_SUCCESS) return;
      if (rc == SSH_AUTH_ERROR) transient("agent");
      tried.push_back("ssh-agent keys");
    }
    if (!o.password.empty()) {
      const int rc = ssh_userauth_password(ssh_, nullptr, o.password.c_str());
      if (rc == SSH_AUTH_SUCCESS) return;
      if (rc == SSH_AUTH_ERROR) transient("password");
      tried.push_back("password");
    }
    if (tried.empty()) {
      throw ConnectError(fmt::format("{}: no way to authenticate: give --ssh-private-key, run an ssh-agent "
                                     "(SSH_AUTH_SOCK), or give --password",
                                     who),
                         true);
    }
    std::string methods;
    const int m = ssh_userauth_list(ssh_, nullptr);
    if (m & SSH_AUTH_METHOD_PUBLICKEY) methods += " publickey";
    if (m & SSH_AUTH_METHOD_PASSWORD) methods += " password";
    if (m & SSH_AUTH_METHOD_INTERACTIVE) methods += " keyboard-interactive";
    std::string tried_list;
    for (const auto& t : tried) tried_list += (tried_list.empty() ? "" : ", ") + t;
    throw ConnectError(fmt::format("{}: authentication failed for user {} (tried {}; the server accepts:{})", who,
                                   o.username, tried_list, methods.empty() ? " nothing more" : methods),
                       true);
  }

  ssh_session ssh_ = nullptr;
  std::string host_;
  int port_;
};

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

CommandResult SshRemote::Exec(const std::string& command, milliseconds timeout, const std::string& what) {
  std::unique_ptr<Session> session;
  ssh_channel channel = nullptr;
  // A stale session fails at channel open (nothing ran yet): retry once on a fresh one.
  for (int attempt = 0; channel == nullptr; ++attempt) {
    session = Acquire(options_.reconnect_attempts);
    channel = ssh_channel_new(session->get());
    if (channel != nullptr && ssh_channel_open_session(channel) == SSH_OK) break;
    const std::string error = ssh_get_error(session->get());
    if (channel != nullptr) ssh_channel_free(channel);
    channel = nullptr;
    Release(std::move(session), false);
    if (attempt >= 1) throw HarnessError(fmt::format("cannot run `{}` on {}: {}", what, Describe(), error));
  }

  ChannelState state;
  ssh_channel_callbacks_struct callbacks{};
  callbacks.userdata = &state;
  callbacks.channel_exit_status_function = OnExitStatus;
  callbacks.channel_exit_signal_function = OnExitSignal;
  ssh_callbacks_init(&callbacks);
  ssh_set_channel_callbacks(channel, &callbacks);

  CommandResult result;
  bool usable = true;
  const auto start = Clock::now();
  if (ssh_channel_request_exec(channel, command.c_str()) != SSH_OK) {
    const std::string error = ssh_get_error(session->get());
    ssh_channel_free(channel);
    Release(std::move(session), false);
    throw HarnessError(fmt::format("cannot run `{}` on {}: {}", what, Describe(), error));
  }
  const auto deadline = start + timeout;
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
      // All output is in; the exit status follows (or the channel closes).
      // Wait for it at most until the deadline (the session's timeout
      // bounds libssh's wait; the callback records what arrives).
      const long remaining_us =
          std::max<long>(1000, std::chrono::duration_cast<std::chrono::microseconds>(deadline - now).count());
      const long sec = remaining_us / 1000000, usec = remaining_us % 1000000;
      ssh_options_set(session->get(), SSH_OPTIONS_TIMEOUT, &sec);
      ssh_options_set(session->get(), SSH_OPTIONS_TIMEOUT_USEC, &usec);
      ssh_channel_get_exit_status(channel);
      const long csec = options_.connect_timeout.count() / 1000;
      const long cusec = (options_.connect_timeout.count() % 1000) * 1000;
      ssh_options_set(session->get(), SSH_OPTIONS_TIMEOUT, &csec);
      ssh_options_set(session->get(), SSH_OPTIONS_TIMEOUT_USEC, &cusec);
      if (!ssh_is_connected(session->get())) {
        lost = ssh_get_error(session->get());
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
      lost = ssh_get_error(session->get());
      break;
    }
    if (n > 0) result.out.append(buf, n);
    while ((n = ssh_channel_read_nonblocking(channel, buf, sizeof buf, 1)) > 0) result.err.append(buf, n);
    if (n == SSH_ERROR) {
      lost = ssh_get_error(session->get());
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

void SshRemote::Upload(const fs::path& local, const std::string& remote_path) {
  std::error_code ec;
  const auto status = fs::status(local, ec);
  if (ec || !fs::is_regular_file(status)) {
    throw HarnessError(fmt::format("upload to {}: {} is not a readable regular file", Describe(), local.string()));
  }
  std::ifstream in(local, std::ios::binary);
  if (!in) throw HarnessError(fmt::format("upload to {}: cannot read {}", Describe(), local.string()));
  const auto mode = static_cast<mode_t>(status.permissions() & fs::perms::mask);
  const std::string parent = ParentOf(remote_path);
  if (!parent.empty()) {
    CommandResult r = Run({"mkdir", "-p", "--", parent}, kShortCommand);
    if (!r.ok()) {
      throw HarnessError(fmt::format("upload to {}: cannot create {}: {}", Describe(), parent, FirstLine(r.err)));
    }
  }
  // With sudo the login user may not write the destination's directory.
  const std::string tmp = options_.sudo ? "/tmp/faultline-upload" + TempSuffix() : remote_path + TempSuffix();
  std::unique_ptr<Session> session = Acquire(options_.reconnect_attempts);
  bool usable = true;
  std::string error;
  sftp_session sftp = sftp_new(session->get());
  if (sftp == nullptr || sftp_init(sftp) != SSH_OK) {
    error = fmt::format("cannot start SFTP (does the host's sshd have the sftp subsystem?): {}",
                        ssh_get_error(session->get()));
    usable = ssh_is_connected(session->get()) != 0;
  } else {
    sftp_file file = sftp_open(sftp, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (file == nullptr) {
      error = fmt::format("cannot create {}: {}", tmp, ssh_get_error(session->get()));
    } else {
      std::vector<char> buf(kChunk);
      while (error.empty() && in) {
        in.read(buf.data(), buf.size());
        const std::streamsize n = in.gcount();
        if (n > 0 && sftp_write(file, buf.data(), n) != n) {
          error = fmt::format("writing {}: {}", tmp, ssh_get_error(session->get()));
        }
      }
      if (in.bad() && error.empty()) error = "reading " + local.string() + " failed";
      if (sftp_close(file) != SSH_NO_ERROR && error.empty()) error = fmt::format("closing {}", tmp);
      if (error.empty() && sftp_chmod(sftp, tmp.c_str(), mode) != 0) {
        error = fmt::format("chmod {:o} {}: {}", mode, tmp, ssh_get_error(session->get()));
      }
      const bool renamed = error.empty() && !options_.sudo && sftp_rename(sftp, tmp.c_str(), remote_path.c_str()) == 0;
      if (error.empty() && !renamed) {
        sftp_free(sftp);
        sftp = nullptr;
        Release(std::move(session), true);
        // Rename over an existing file (SFTP v3 without posix-rename), or with sudo.
        CommandResult r = Run({"mv", "-f", "--", tmp, remote_path}, kShortCommand);
        if (!r.ok()) {
          Run({"rm", "-f", "--", tmp}, kShortCommand);
          throw HarnessError(
              fmt::format("upload to {}: cannot move {} to {}: {}", Describe(), tmp, remote_path, FirstLine(r.err)));
        }
        return;
      }
      if (!error.empty()) sftp_unlink(sftp, tmp.c_str());
    }
    usable = ssh_is_connected(session->get()) != 0;
  }
  if (sftp != nullptr) sftp_free(sftp);
  Release(std::move(session), usable);
  if (!error.empty()) {
    throw HarnessError(fmt::format("upload of {} to {}:{} failed: {}", local.string(), Describe(), remote_path, error));
  }
}

void SshRemote::Download(const std::string& remote_path, const fs::path& local) {
  std::error_code ec;
  if (local.has_parent_path()) fs::create_directories(local.parent_path(), ec);
  if (ec) {
    throw HarnessError(fmt::format("download from {}: cannot create {}", Describe(), local.parent_path().string()));
  }
  fs::path tmp = local;
  tmp += TempSuffix();
  std::string error;
  mode_t mode = 0644;
  std::string content;
  if (options_.sudo) {
    CommandResult st = Run({"stat", "-c", "%a", "--", remote_path}, kShortCommand);
    CommandResult r = st.ok() ? Run({"cat", "--", remote_path}, milliseconds(120000)) : st;
    if (!r.ok()) error = FirstLine(r.err);
    if (st.ok()) mode = static_cast<mode_t>(std::strtol(st.out.c_str(), nullptr, 8));
    content = std::move(r.out);
    if (error.empty()) {
      std::ofstream out(tmp, std::ios::binary);
      out << content;
      if (!out) error = "cannot write " + tmp.string();
    }
  } else {
    std::unique_ptr<Session> session = Acquire(options_.reconnect_attempts);
    sftp_session sftp = sftp_new(session->get());
    if (sftp == nullptr || sftp_init(sftp) != SSH_OK) {
      error = fmt::format("cannot start SFTP: {}", ssh_get_error(session->get()));
    } else {
      sftp_attributes attrs = sftp_stat(sftp, remote_path.c_str());
      sftp_file file = attrs != nullptr ? sftp_open(sftp, remote_path.c_str(), O_RDONLY, 0) : nullptr;
      if (attrs != nullptr) mode = attrs->permissions & 07777;
      if (attrs != nullptr) sftp_attributes_free(attrs);
      if (file == nullptr) {
        error = fmt::format("cannot open {}: {}", remote_path, ssh_get_error(session->get()));
      } else {
        std::ofstream out(tmp, std::ios::binary);
        std::vector<char> buf(kChunk);
        while (true) {
          const ssize_t n = sftp_read(file, buf.data(), buf.size());
          if (n < 0) {
            error = fmt::format("reading {}: {}", remote_path, ssh_get_error(session->get()));
            break;
          }
          if (n == 0) break;
          out.write(buf.data(), n);
        }
        sftp_close(file);
        out.close();
        if (!out && error.empty()) error = "cannot write " + tmp.string();
      }
    }
    const bool usable = ssh_is_connected(session->get()) != 0;
    if (sftp != nullptr) sftp_free(sftp);
    Release(std::move(session), usable);
  }
  if (error.empty()) {
    fs::permissions(tmp, static_cast<fs::perms>(mode), fs::perm_options::replace, ec);
    if (!ec) fs::rename(tmp, local, ec);
    if (ec) error = ec.message();
  }
  if (!error.empty()) {
    fs::remove(tmp, ec);
    throw HarnessError(
        fmt::format("download of {}:{} to {} failed: {}", Describe(), remote_path, local.string(), error));
  }
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
