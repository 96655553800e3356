#include "harness/stores/etcd/etcd_db.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "harness/base/harness_error.h"
#include "harness/base/wait.h"
#include "harness/stores/etcd/etcd_client.h"
#include "harness/stores/http_connection.h"

namespace faultline {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPoll{100};

std::string LogPath(const NodeInfo& node) { return node.dir + "/etcd.log"; }
std::string DataPath(const NodeInfo& node) { return node.dir + "/etcd.data"; }
std::string Url(const std::string& address, int port) { return "http://" + HostPort(address, port); }

// One attempt's deadline: a second at most, never past the overall one.
Clock::time_point AttemptDeadline(Clock::time_point deadline) {
  return std::min(deadline, Clock::now() + milliseconds(1000));
}

}  // namespace

EtcdDb::EtcdDb(EtcdOptions options) : DaemonDatabase("etcd", options.start_timeout), options_(std::move(options)) {}

void EtcdDb::Install(const std::vector<NodeInfo>& nodes) {
  if (nodes.empty()) throw HarnessError("etcd: no nodes");
  for (const NodeInfo& node : nodes) {
    Remote& remote = RemoteOf(node);
    RunOrThrow(remote, {"mkdir", "-p", node.dir}, "mkdir -p " + node.dir);
    CommandResult v = remote.Run({options_.binary, "--version"}, milliseconds(10000));
    if (!v.ok()) {
      throw HarnessError(
          fmt::format("etcd: `{} --version` failed on {} (exit code {}): {} (install etcd-server or set "
                      "\"etcd\": {{\"binary\": PATH}})",
                      options_.binary, node.name, v.exit_code, v.err));
    }
  }
  std::random_device rd;
  std::lock_guard lock(mu_);
  nodes_ = nodes;
  token_ = fmt::format("faultline-{:08x}{:08x}", rd(), rd());
}

std::vector<std::string> EtcdDb::CommandLine(const NodeInfo& node, bool existing) const {
  const auto& o = options_;
  std::vector<std::string> members;
  std::string token;
  {
    std::lock_guard lock(mu_);
    for (const NodeInfo& n : nodes_) members.push_back(n.name + "=" + Url(n.address, o.peer_port));
    token = token_;
  }
  std::vector<std::string> argv = {o.binary,
                                   "--name",
                                   node.name,
                                   "--data-dir",
                                   DataPath(node),
                                   "--listen-client-urls",
                                   Url(node.address, o.client_port),
                                   "--advertise-client-urls",
                                   Url(node.address, o.client_port),
                                   "--listen-peer-urls",
                                   Url(node.address, o.peer_port),
                                   "--initial-advertise-peer-urls",
                                   Url(node.address, o.peer_port),
                                   "--initial-cluster",
                                   fmt::format("{}", fmt::join(members, ",")),
                                   "--initial-cluster-state",
                                   existing ? "existing" : "new",
                                   "--initial-cluster-token",
                                   token,
                                   "--logger",
                                   "zap",
                                   "--log-outputs",
                                   "stderr"};
  argv.insert(argv.end(), o.args.begin(), o.args.end());
  return argv;
}

void EtcdDb::Start(const NodeInfo& node) {
  Remote& remote = RemoteOf(node);
  RunOrThrow(remote, {"mkdir", "-p", node.dir}, "mkdir -p " + node.dir);
  // A data directory with a member in it: this member rejoins the cluster it belongs to.
  const bool existing = remote.Run({"test", "-d", DataPath(node) + "/member"}, milliseconds(10000)).ok();
  daemons().Start(node, CommandLine(node, existing), LogPath(node));
}

void EtcdDb::WaitHealthy(const NodeInfo& node, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  HttpConnection conn(node.address, options_.client_port);
  std::string last = "no answer yet";
  const bool healthy = WaitFor(
      [&] {
        daemons().ThrowIfExited(node, LogPath(node));
        HttpResult r = conn.Request("GET", "/health", "", AttemptDeadline(deadline));
        if (!r.ok()) {
          last = r.error;
          return false;
        }
        json j = json::parse(r.body, nullptr, false);
        if (r.status == 200 && j.is_object() && j.value("health", json()) == "true") return true;
        last = fmt::format("/health answered {} {}", r.status, r.body.substr(0, 200));
        return false;
      },
      timeout, kPoll);
  if (healthy) return;
  throw HarnessError(fmt::format("etcd on {} at {} not healthy in time ({}); last lines of {}:\n{}", node.name,
                                 HostPort(node.address, options_.client_port), last, LogPath(node),
                                 LogTail(RemoteOf(node), LogPath(node))));
}

// Every member's status names the same leader: the cluster has settled its
// first election, and no member is still finding out who won.
void EtcdDb::WaitClusterReady(const std::vector<NodeInfo>& nodes, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::map<std::string, std::unique_ptr<HttpConnection>> conns;
  for (const NodeInfo& n : nodes) conns[n.name] = std::make_unique<HttpConnection>(n.address, options_.client_port);
  std::string last = "no answer yet";
  const bool agreed = WaitFor(
      [&] {
        std::map<std::string, std::vector<std::string>> by_leader;  // leader id -> members that name it
        for (const NodeInfo& n : nodes) {
          HttpResult r = conns[n.name]->Request("POST", "/v3/maintenance/status", "{}", AttemptDeadline(deadline));
          json j = r.ok() && r.status == 200 ? json::parse(r.body, nullptr, false) : json();
          const std::string leader =
              j.is_object() && j.contains("leader") && j["leader"].is_string() ? j["leader"].get<std::string>() : "";
          by_leader[leader.empty() || leader == "0" ? "none" : leader].push_back(n.name);
        }
        if (by_leader.size() == 1 && !by_leader.count("none")) return true;
        std::vector<std::string> views;
        for (const auto& [leader, members] : by_leader) {
          views.push_back(fmt::format("{} name leader {}", fmt::join(members, ","), leader));
        }
        last = fmt::format("{}", fmt::join(views, "; "));
        return false;
      },
      timeout, kPoll);
  if (agreed) return;
  throw HarnessError(fmt::format("etcd members do not agree on one leader in time: {}", last));
}

void EtcdDb::Restart(const NodeInfo& node) {
  Start(node);
  const auto deadline = Clock::now() + options_.start_timeout;
  HttpConnection conn(node.address, options_.client_port);
  std::string last = "no answer yet";
  const bool listening = WaitFor(
      [&] {
        daemons().ThrowIfExited(node, LogPath(node));
        // Listening: it answers, or it accepted the request and holds it until it has rejoined.
        HttpResult r = conn.Request("GET", "/health", "", std::min(deadline, Clock::now() + milliseconds(300)));
        last = r.error;
        return r.ok() || (r.failure == HttpFailure::kTimeout && r.maybe_sent);
      },
      options_.start_timeout, kPoll);
  if (listening) return;
  throw HarnessError(fmt::format("etcd on {} did not listen on {} in time after a restart ({}); last lines of {}:\n{}",
                                 node.name, HostPort(node.address, options_.client_port), last, LogPath(node),
                                 LogTail(RemoteOf(node), LogPath(node))));
}

void EtcdDb::Wipe(const NodeInfo& node) {
  if (Running(node)) throw HarnessError(fmt::format("cannot wipe etcd on {}: it is running", node.name));
  RunOrThrow(RemoteOf(node), {"rm", "-rf", DataPath(node)}, "rm -rf " + DataPath(node));
}

// etcd.log.
void EtcdDb::CollectLogs(const NodeInfo& node, const fs::path& dest) {
  CollectFiles(node, {{LogPath(node), "etcd.log"}}, dest);
}

std::unique_ptr<Client> EtcdDb::NewClient(const NodeInfo& node, const ClientOptions& options) {
  std::map<std::string, std::string> members;
  {
    std::lock_guard lock(mu_);
    for (const NodeInfo& n : nodes_) members[n.name] = n.address;
  }
  return std::make_unique<EtcdClient>(node.address, options_, options, std::move(members));
}

}  // namespace faultline
