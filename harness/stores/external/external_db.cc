#include "harness/stores/external/external_db.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/stores/external/external_client.h"

namespace faultline {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kCommandTimeout{60000};
constexpr milliseconds kHealthTimeout{5000};
constexpr milliseconds kPoll{100};

using Secrets = std::vector<std::pair<std::string, std::string>>;

std::string RedactSecrets(std::string text, const Secrets& secrets) {
  for (const auto& [value, shown] : secrets) {
    for (size_t at = text.find(value); at != std::string::npos; at = text.find(value, at + shown.size())) {
      text.replace(at, value.size(), shown);
    }
  }
  return text;
}

}  // namespace

ExternalDb::ExternalDb(ExternalOptions options)
    : DaemonDatabase("external store", options.start_timeout),
      options_(std::move(options)),
      install_(options_.install),
      start_(options_.start),
      kill_(options_.kill),
      pause_(options_.pause),
      resume_(options_.resume),
      stop_(options_.stop),
      wipe_(options_.wipe),
      health_(options_.health),
      client_(options_.client),
      logs_(options_.logs) {
  log_ = [](const std::string& line) { std::cerr << line << std::endl; };
  // Every {env:VAR} value the commands use, to be shown as its template.
  for (const CommandTemplate* command :
       {&install_, &start_, &kill_, &pause_, &resume_, &stop_, &wipe_, &health_, &client_, &logs_}) {
    for (const std::string& var : command->EnvVars()) {
      const char* value = std::getenv(var.c_str());
      if (value != nullptr && *value != '\0') secrets_.emplace_back(value, "{env:" + var + "}");
    }
  }
  // Longest first, so a value containing another is replaced whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

std::string ExternalDb::Redact(std::string text) const { return RedactSecrets(std::move(text), secrets_); }

template <typename Fn>
auto ExternalDb::Redacting(Fn&& fn) const {
  try {
    return fn();
  } catch (const HarnessError& e) {
    throw HarnessError(Redact(e.what()));
  }
}

void ExternalDb::SetLog(LogSink log) {
  std::lock_guard lock(mu_);
  log_ = std::move(log);
}

std::vector<std::string> ExternalDb::Expand(const CommandTemplate& command, const NodeInfo& node) {
  std::vector<NodeInfo> nodes;
  {
    std::lock_guard lock(mu_);
    nodes = nodes_;
  }
  return command.Expand(node, nodes, options_.port);
}

void ExternalDb::RunCommand(const char* which, const CommandTemplate& command, const NodeInfo& node) {
  const std::vector<std::string> expanded = Expand(command, node);
  Redacting([&] {
    return RunOrThrow(RemoteOf(node), expanded,
                      fmt::format("external \"{}\" command `{}`", which, fmt::join(command.shown(), " ")),
                      kCommandTimeout);
  });
}

void ExternalDb::Install(const std::vector<NodeInfo>& nodes) {
  if (nodes.empty()) throw HarnessError("external: no nodes to install on");
  if (options_.start.empty()) throw HarnessError("external: no \"start\" command");
  {
    std::lock_guard lock(mu_);
    nodes_ = nodes;
  }
  for (const NodeInfo& node : nodes) {
    RunOrThrow(RemoteOf(node), {"mkdir", "-p", node.dir}, "mkdir -p " + node.dir);
    if (!options_.install.empty()) RunCommand("install", install_, node);
  }
}

void ExternalDb::Start(const NodeInfo& node) {
  Redacting([&] { return daemons().Start(node, Expand(start_, node), node.dir + "/store.log"); });
  std::lock_guard lock(mu_);
  paused_[node.name] = false;
}

void ExternalDb::WaitHealthy(const NodeInfo& node, milliseconds timeout) {
  Remote& remote = RemoteOf(node);
  const auto deadline = Clock::now() + timeout;
  const std::string log = node.dir + "/store.log";
  std::string last = "not checked yet";
  const std::vector<std::string> health = Expand(health_, node);
  while (true) {
    auto pid = daemons().Pid(node);
    if (!pid || !remote.Alive(*pid)) {
      throw HarnessError(fmt::format("external store on {} is not running (\"start\" exited); last lines of {}:\n{}",
                                     node.name, log, Redact(LogTail(remote, log))));
    }
    if (health.empty()) return;
    CommandResult r = Redacting([&] {
      return remote.Run(health, std::min(kHealthTimeout,
                                         std::max(milliseconds(1),
                                                  std::chrono::duration_cast<milliseconds>(deadline - Clock::now()))));
    });
    if (r.ok()) return;
    last = r.timed_out ? "timed out" : Redact(fmt::format("exit code {}: {}{}", r.exit_code, r.err, r.out));
    if (Clock::now() + kPoll >= deadline) break;
    std::this_thread::sleep_for(kPoll);
  }
  throw HarnessError(fmt::format(
      "external store on {} not healthy after {} ms (\"health\" `{}`: {}); last lines of "
      "{}:\n{}",
      node.name, timeout.count(), fmt::join(options_.health, " "), last, log, Redact(LogTail(remote, log))));
}

void ExternalDb::Kill(const NodeInfo& node) {
  if (!options_.kill.empty()) RunCommand("kill", kill_, node);
  daemons().Kill(node);
}

void ExternalDb::Pause(const NodeInfo& node) {
  if (options_.pause.empty()) {
    daemons().Pause(node);
    return;
  }
  RunCommand("pause", pause_, node);
  std::lock_guard lock(mu_);
  paused_[node.name] = true;
}

void ExternalDb::Resume(const NodeInfo& node) {
  if (options_.resume.empty()) {
    daemons().Resume(node);
  } else {
    RunCommand("resume", resume_, node);
  }
  std::lock_guard lock(mu_);
  paused_[node.name] = false;
}

bool ExternalDb::Paused(const NodeInfo& node) {
  {
    std::lock_guard lock(mu_);
    if (paused_[node.name]) return daemons().Running(node);
  }
  return daemons().Paused(node);
}

void ExternalDb::Stop(const NodeInfo& node) {
  if (!options_.stop.empty() && daemons().Running(node)) RunCommand("stop", stop_, node);
  daemons().Stop(node);
}

void ExternalDb::Wipe(const NodeInfo& node) {
  if (Running(node)) throw HarnessError(fmt::format("cannot wipe the external store on {}: it is running", node.name));
  if (!options_.wipe.empty()) RunCommand("wipe", wipe_, node);
}

void ExternalDb::CollectLogs(const NodeInfo& node, const fs::path& dest) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) throw HarnessError(fmt::format("cannot create {}: {}", dest.string(), ec.message()));
  Remote& remote = RemoteOf(node);
  for (const std::string& path : Expand(logs_, node)) {
    const std::string name = fs::path(path).filename().string();
    try {
      remote.Download(path, dest / name);
    } catch (const HarnessError& e) {
      std::ofstream(dest / (name + ".missing")) << Redact(e.what()) << "\n";
    }
  }
}

std::unique_ptr<Client> ExternalDb::NewClient(const NodeInfo& node, const ClientOptions& options) {
  if (options_.builtin_client) {
    std::vector<NodeInfo> nodes;
    {
      std::lock_guard lock(mu_);
      nodes = nodes_;
    }
    return options_.builtin_client(node, nodes, options);
  }
  ExternalClientSpec spec;
  spec.argv = Expand(client_, node);
  spec.shown_argv = options_.client;
  spec.node = node.name;
  spec.address = node.address;
  spec.port = options_.port;
  spec.ready_line = options_.client_ready;
  {
    std::lock_guard lock(mu_);
    for (const NodeInfo& n : nodes_) spec.nodes[n.name] = n.address;
    spec.log = [log = log_, secrets = secrets_](const std::string& line) {
      if (log) log(RedactSecrets(line, secrets));
    };
  }
  return std::make_unique<ExternalClient>(std::move(spec), options);
}

}  // namespace faultline
