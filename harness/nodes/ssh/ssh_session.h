// Internal to harness/nodes/ssh: SshRemote's libssh session (connect, host
// key check, authentication) and what SshRemote's files share.
#pragma once

#include <libssh/libssh.h>

#include <chrono>
#include <string>

#include "harness/base/harness_error.h"
#include "harness/nodes/ssh/ssh_remote.h"

namespace faultline {
namespace ssh_internal {

constexpr std::chrono::milliseconds kShortCommand{15000};  // mkdir, mv, kill, cat /proc/...

// Failures of one connection attempt; permanent ones (authentication, host
// key, a bad key file) are not worth another attempt.
struct ConnectError : HarnessError {
  ConnectError(const std::string& message, bool permanent) : HarnessError(message), permanent(permanent) {}
  bool permanent;
};

// The first line of a command's output, without trailing newlines and spaces.
std::string FirstLine(std::string s);

}  // namespace ssh_internal

// One libssh session, connected, host key checked and authenticated (the
// constructor throws ssh_internal::ConnectError). Used by one thread at a
// time (SshRemote's pool hands it out).
class SshRemote::Session {
 public:
  Session(const std::string& node, const SshOptions& o);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  ssh_session get() const { return ssh_; }
  bool connected() const { return ssh_is_connected(ssh_) != 0; }

 private:
  void EnableTcpKeepalive();
  void CheckHostKey(const std::string& who, const std::string& known);
  void Authenticate(const std::string& who, const SshOptions& o);

  ssh_session ssh_ = nullptr;
  std::string host_;
  int port_;
};

}  // namespace faultline
