// ExternalDb: the Database adapter for any store, driven by the user's
// commands from the config's "external" object (README "External adapter
// protocol"). Every command is an argv array (never a shell string; write
// ["sh","-c","..."] yourself for one) run through the node's Remote, with
// templates substituted in every argument:
//   {name} node name   {address} node address   {dir} node directory
//   {port} external.port   {nodes} every node as "n1=ADDR,n2=ADDR,..."
//   {env:VAR} the harness's environment variable VAR (an error when unset)
// Lifecycle:
//   Install   mkdir -p {dir}; then "install" on each node (if given)
//   Start     "start" as a daemon (its pid is kept), output to {dir}/store.log
//   WaitHealthy  until "health" exits 0 (without one: the process is up)
//   Kill/Pause/Resume/Stop  the user's command if given, else SIGKILL /
//             SIGSTOP / SIGCONT / SIGTERM(+SIGKILL) to the started process;
//             after a user "kill" or "stop" the started process is also
//             SIGKILLed if still there
//   Wipe      "wipe" if given, else nothing
//   CollectLogs  every "logs" path (templated) into the run's nodes/<node>/
// NewClient starts the user's client program (ExternalClient) for a worker,
// or makes the built-in client the config names (ExternalOptions::builtin_client).
//
// Thread-safe. Log lines about misbehaving clients go to SetLog's sink
// (faultline.log in a run; stderr until set).
//
// {env:VAR} values are often secrets: errors and log lines show commands as
// configured (templates), and any {env:VAR} value in a message from below
// (a Remote's error, a log tail) is replaced by its template.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "harness/api/database.h"
#include "harness/stores/daemon_database.h"
#include "harness/stores/external/command_template.h"
#include "harness/stores/external/external_config.h"

namespace faultline {

// The user's "external" config plus what the harness decides.
struct ExternalOptions : ExternalConfig {
  ExternalOptions() = default;
  explicit ExternalOptions(ExternalConfig config) : ExternalConfig(std::move(config)) {}

  std::chrono::milliseconds start_timeout{30000};  // Restart's wait for health
  // When set (the config names a built-in client), NewClient makes this
  // client for the node (`nodes`: every node of the run) instead of
  // starting the client program.
  std::function<std::unique_ptr<Client>(const NodeInfo& node, const std::vector<NodeInfo>& nodes,
                                        const ClientOptions& options)>
      builtin_client;
};

class ExternalDb : public DaemonDatabase {
 public:
  explicit ExternalDb(ExternalOptions options);
  std::string name() const override { return "external"; }
  void SetLog(LogSink log) override;
  void Install(const std::vector<NodeInfo>& nodes) override;
  void Start(const NodeInfo& node) override;
  void WaitHealthy(const NodeInfo& node, std::chrono::milliseconds deadline) override;
  // The user's command where given, else DaemonDatabase's signal.
  void Kill(const NodeInfo& node) override;
  void Pause(const NodeInfo& node) override;
  void Resume(const NodeInfo& node) override;
  void Stop(const NodeInfo& node) override;
  bool Paused(const NodeInfo& node) override;
  void Wipe(const NodeInfo& node) override;
  void CollectLogs(const NodeInfo& node, const std::filesystem::path& dest) override;
  std::unique_ptr<Client> NewClient(const NodeInfo& node, const ClientOptions& options) override;

 private:
  std::vector<std::string> Expand(const CommandTemplate& command, const NodeInfo& node);
  // `text` with every {env:VAR} value the commands use replaced by "{env:VAR}".
  std::string Redact(std::string text) const;
  // fn(), rethrowing its HarnessError Redact()ed.
  template <typename Fn>
  auto Redacting(Fn&& fn) const;
  // Runs one of the user's lifecycle commands; throws naming it on failure.
  void RunCommand(const char* which, const CommandTemplate& command, const NodeInfo& node);

  ExternalOptions options_;
  // options_' commands, parsed once.
  CommandTemplate install_, start_, kill_, pause_, resume_, stop_, wipe_, health_, client_, logs_;
  std::vector<std::pair<std::string, std::string>> secrets_;  // {env:VAR} value, its template; longest first
  std::mutex mu_;
  std::vector<NodeInfo> nodes_;         // guarded by mu_
  std::map<std::string, bool> paused_;  // by user "pause" command; guarded by mu_
  LogSink log_;                         // guarded by mu_
};

}  // namespace faultline
