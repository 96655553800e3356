#include "harness/nodes/ssh/ssh_session.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <fstream>
#include <vector>

namespace faultline {
namespace ssh_internal {

std::string FirstLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace ssh_internal

namespace {

using ssh_internal::ConnectError;

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

}  // namespace

SshRemote::Session::Session(const std::string& node, const SshOptions& o) : host_(o.host), port_(o.port) {
  InitLibssh();
  const std::string who = fmt::format("{} ({}@{}:{})", node, o.username, o.host, o.port);
  ssh_ = ssh_new();
  if (ssh_ == nullptr) throw ConnectError(who + ": cannot create an SSH session", false);
  // A constructor that throws runs no destructor: free the session here
  // (LeakSanitizer found every failed connection's libssh session leaked).
  try {
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
  } catch (...) {
    ssh_disconnect(ssh_);
    ssh_free(ssh_);
    ssh_ = nullptr;
    throw;
  }
}

SshRemote::Session::~Session() {
  if (ssh_ != nullptr) {
    ssh_disconnect(ssh_);
    ssh_free(ssh_);
  }
}

void SshRemote::Session::EnableTcpKeepalive() {
  const int fd = ssh_get_fd(ssh_);
  if (fd < 0) return;
  int on = 1, idle = 10, interval = 5, count = 3;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

void SshRemote::Session::CheckHostKey(const std::string& who, const std::string& known) {
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

void SshRemote::Session::Authenticate(const std::string& who, const SshOptions& o) {
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

}  // namespace faultline
