// The "ssh" object of a test config: how --nodes hosts are reached.
#pragma once

#include <map>
#include <string>

namespace faultline {

// How remote hosts (--nodes) are reached: the "ssh" object (README "Remote
// hosts over SSH"). The password is never written to test.json ("***").
struct SshNodeConfig {
  int port = 0;          // 0: SshConfig::port
  std::string username;  // empty: SshConfig::username
};

struct SshConfig {
  std::string username = "root";
  std::string password;
  std::string private_key;
  int port = 22;
  std::string known_hosts;  // empty: ~/.ssh/known_hosts
  bool strict_host_key_checking = true;
  bool sudo = false;
  std::string remote_dir;  // empty: a fresh `mktemp -d` per node; else nodes use <remote-dir>/<node>
  int connect_timeout_ms = 10000;
  std::map<std::string, SshNodeConfig> nodes;  // per-host overrides, keyed by the host as given
};

}  // namespace faultline
