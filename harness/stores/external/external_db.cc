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

std::string ExpandTemplate(const std::string& arg, const NodeInfo& node, const std::vector<NodeInfo>& nodes, int port) {
  std::string out;
  size_t i = 0;
  while (i < arg.size()) {
    const size_t open = arg.find('{', i);
    if (open == std::string::npos) break;
    const size_t close = arg.find('}', open + 1);
    if (close == std::string::npos) break;
    out += arg.substr(i, open - i);
    const std::string word = arg.substr(open + 1, close - open - 1);
    if (word == "name") {
      out += node.name;
    } else if (word == "address") {
      out += node.address;
    } else if (word == "dir") {
      out += node.dir;
    } else if (word == "port") {
      out += std::to_string(port);
    } else if (word == "nodes") {
      std::vector<std::string> list;
      for (const NodeInfo& n : nodes) list.push_back(n.name + "=" + n.address);
      out += fmt::format("{}", fmt::join(list, ","));
    } else if (word.rfind("env:", 0) == 0) {
      const char* value = std::getenv(word.substr(4).c_str());
      if (value == nullptr) {
        throw HarnessError(
            fmt::format("external: the command argument \"{}\" needs the environment variable {}, "
                        "which is not set",
                        arg, word.substr(4)));
      }
      out += value;
    } else {
      out += arg.substr(open, close - open + 1);  // not ours: leave it
    }
    i = close + 1;
  }
  out += arg.substr(std::min(i, arg.size()));
  return out;
}

ExternalDb::ExternalDb(ExternalOptions options) : options_(std::move(options)) {
  log_ = [](const std::string& line) { std::cerr << line << std::endl; };
  // Every {env:VAR} value the commands use, to be shown as its template.
  for (const auto* argv : {&options_.install, &options_.start, &options_.kill, &options_.pause, &options_.resume,
                           &options_.stop, &options_.wipe, &options_.health, &options_.client, &options_.logs}) {
    for (const std::string& arg : *argv) {
      for (size_t open = arg.find("{env:"); open != std::string::npos; open = arg.find("{env:", open + 1)) {
        const size_t close = arg.find('}', open);
        if (close == std::string::npos) break;
        const std::string var = arg.substr(open + 5, close - open - 5);
        const char* value = std::getenv(var.c_str());
        if (value != nullptr && *value != '\0') secrets_.emplace_back(value, "{env:" + var + "}");
      }
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

std::vector<std::string> ExternalDb::Expand(const std::vector<std::string>& argv, const NodeInfo& node) {
  std::vector<NodeInfo> nodes;
  {
    std::lock_guard lock(mu_);
    nodes = nodes_;
  }
  std::vector<std::string> out;
  for (const std::string& a : argv) out.push_back(ExpandTemplate(a, node, nodes, options_.port));
  return out;
}

void ExternalDb::RunCommand(const char* which, const std::vector<std::string>& argv, const NodeInfo& node) {
  const std::vector<std::string> expanded = Expand(argv, node);
  Redacting([&] {
    return RunOrThrow(RemoteOf(node), expanded,
                      fmt::format("external \"{}\" command `{}`", which, fmt::join(argv, " ")), kCommandTimeout);
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
    if (!options_.install.empty()) RunCommand("install", options_.install, node);
  }
}

void ExternalDb::Start(const NodeInfo& node) {
  Redacting([&] { return daemons_.Start(node, Expand(options_.start, node), node.dir + "/store.log"); });
  std::lock_guard lock(mu_);
  paused_[node.name] = false;
}

void ExternalDb::WaitHealthy(const NodeInfo& node, milliseconds timeout) {
  Remote& remote = RemoteOf(node);
  const auto deadline = Clock::now() + timeout;
  const std::string log = node.dir + "/store.log";
  std::string last = "not checked yet";
  const std::vector<std::string> health = Expand(options_.health, node);
  while (true) {
    auto pid = daemons_.Pid(node);
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
  if (!options_.kill.empty()) RunCommand("kill", options_.kill, node);
  daemons_.Kill(node);
}

void ExternalDb::Restart(const NodeInfo& node) {
  Start(node);
  WaitHealthy(node, options_.start_timeout);
}

void ExternalDb::Pause(const NodeInfo& node) {
  if (options_.pause.empty()) {
    daemons_.Pause(node);
    return;
  }
  RunCommand("pause", options_.pause, node);
  std::lock_guard lock(mu_);
  paused_[node.name] = true;
}

void ExternalDb::Resume(const NodeInfo& node) {
  if (options_.resume.empty()) {
    daemons_.Resume(node);
  } else {
    RunCommand("resume", options_.resume, node);
  }
  std::lock_guard lock(mu_);
  paused_[node.name] = false;
}

bool ExternalDb::Paused(const NodeInfo& node) {
  {
    std::lock_guard lock(mu_);
    if (paused_[node.name]) return daemons_.Running(node);
  }
  return daemons_.Paused(node);
}

void ExternalDb::Stop(const NodeInfo& node) {
  if (!options_.stop.empty() && daemons_.Running(node)) RunCommand("stop", options_.stop, node);
  daemons_.Stop(node);
}

void ExternalDb::Wipe(const NodeInfo& node) {
  if (Running(node)) throw HarnessError(fmt::format("cannot wipe the external store on {}: it is running", node.name));
  if (!options_.wipe.empty()) RunCommand("wipe", options_.wipe, node);
}

void ExternalDb::CollectLogs(const NodeInfo& node, const fs::path& dest) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) throw HarnessError(fmt::format("cannot create {}: {}", dest.string(), ec.message()));
  Remote& remote = RemoteOf(node);
  for (const std::string& path : Expand(options_.logs, node)) {
    const std::string name = fs::path(path).filename().string();
    try {
      remote.Download(path, dest / name);
    } catch (const HarnessError& e) {
      std::ofstream(dest / (name + ".missing")) << Redact(e.what()) << "\n";
    }
  }
}

std::unique_ptr<Client> ExternalDb::NewClient(const NodeInfo& node, const ClientOptions& options) {
  ExternalClientSpec spec;
  spec.argv = Expand(options_.client, node);
  spec.shown_argv = options_.client;
  spec.node = node.name;
  spec.address = node.address;
  spec.port = options_.port;
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
