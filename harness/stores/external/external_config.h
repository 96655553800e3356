// The "external" object of a test config.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "harness/api/client.h"
#include "harness/base/config_fields.h"

namespace faultline {

// "external" object: any store driven by the user's commands and client
// program (README "External adapter protocol"). Every command is an argv
// array with templates ({name} {address} {dir} {port} {nodes} {env:VAR});
// empty = the default behaviour (signals to the started process).
struct ExternalConfig {
  std::vector<std::string> install, start, kill, pause, resume, stop, wipe, health, client;
  std::vector<std::string> logs = {"{dir}/store.log"};
  int port = 0;  // {port}; 0 when the store needs none
  // The store's container image (in podman's local store): the nodes are
  // containers of it (as with --image) and every command above but the
  // client runs inside them. Empty: the nodes the run was given.
  std::string image;
  // "client" given as a string instead of an argv array: the name of one
  // of faultline's built-in clients (the registry's, e.g. "couchdb"), which
  // then drives the user's store in place of a client program.
  std::string client_name;
  // The workloads the client program answers (their ops as the README's
  // workload formats say). cas-register is not assumed: a program written
  // for the first three would fail every read/write/cas.
  std::vector<std::string> workloads = {"set", "register", "counter"};
  // The client program prints {"ready":true} once it is ready (it is told
  // so by FAULTLINE_READY_LINE=1): every worker's program is started and
  // ready before the main phase's clock starts.
  bool client_ready = false;
};

// Reads the object (every key must have its type; "client" is an argv array
// or a built-in client's name, which the registry checks). When `selected`
// (the run's db is external) the commands a run needs must be there. Throws
// ConfigError naming the field.
ExternalConfig ParseExternalConfig(const ConfigFields& object, bool selected, int node_count);

// Why the external adapter cannot run op `f` of `kind`: the client program
// does not declare that workload in "external.workloads". "" when it does.
std::string ExternalUnsupported(const ExternalConfig& config, WorkloadKind kind, std::string_view f);

// The object as test.json holds it (ParseExternalConfig reads it back).
nlohmann::json ToJson(const ExternalConfig& config);

}  // namespace faultline
