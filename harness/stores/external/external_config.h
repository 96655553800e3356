// The "external" object of a test config.
#pragma once

#include <string>
#include <vector>

namespace faultline {

// "external" object: any store driven by the user's commands and client
// program (README "External adapter protocol"). Every command is an argv
// array with templates ({name} {address} {dir} {port} {nodes} {env:VAR});
// empty = the default behaviour (signals to the started process).
struct ExternalConfig {
  std::vector<std::string> install, start, kill, pause, resume, stop, wipe, health, client;
  std::vector<std::string> logs = {"{dir}/store.log"};
  int port = 0;  // {port}; 0 when the store needs none
};

}  // namespace faultline
