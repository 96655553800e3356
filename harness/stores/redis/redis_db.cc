#include "harness/stores/redis/redis_db.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <thread>

#include "harness/base/harness_error.h"
#include "harness/base/wait.h"
#include "harness/stores/redis/redis_client.h"
#include "harness/stores/redis/redis_connection.h"

namespace faultline {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPoll{100};

std::string LogPath(const NodeInfo& node) { return node.dir + "/redis.log"; }

// "cluster_state:ok\r\ncluster_slots_assigned:16384\r\n..." → field value.
std::string InfoField(const std::string& info, const std::string& field) {
  const std::string needle = field + ":";
  auto at = info.find(needle);
  if (at == std::string::npos) return "";
  at += needle.size();
  return info.substr(at, info.find_first_of("\r\n", at) - at);
}

milliseconds Left(Clock::time_point deadline) {
  return std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

}  // namespace

RedisClusterDb::RedisClusterDb(RedisClusterOptions options)
    : DaemonDatabase("redis-server", options.start_timeout), options_(std::move(options)) {}

std::string RedisClusterDb::create_output() const {
  std::lock_guard lock(mu_);
  return create_output_;
}

void RedisClusterDb::Install(const std::vector<NodeInfo>& nodes) {
  const auto& o = options_;
  const int group = o.replicas_per_master + 1;
  if (o.replicas_per_master < 0 || nodes.size() % group != 0 || nodes.size() / group < 3) {
    throw HarnessError(
        fmt::format("redis-cluster: {} nodes cannot hold masters x (1 + {} replicas) with at least 3 "
                    "masters",
                    nodes.size(), o.replicas_per_master));
  }
  if (o.port < 1 || o.port > 55535) throw HarnessError(fmt::format("redis-cluster: port {} is not usable", o.port));
  for (const NodeInfo& node : nodes) {
    Remote& remote = RemoteOf(node);
    RunOrThrow(remote, {"mkdir", "-p", node.dir}, "mkdir -p " + node.dir);
    CommandResult v = remote.Run({o.binary, "--version"}, milliseconds(10000));
    if (!v.ok()) {
      throw HarnessError(
          fmt::format("redis-cluster: `{} --version` failed on {} (exit code {}): {} (install "
                      "redis-server or set \"redis\": {{\"binary\": PATH}})",
                      o.binary, node.name, v.exit_code, v.err));
    }
  }
  std::lock_guard lock(mu_);
  nodes_ = nodes;
  created_ = false;
}

void RedisClusterDb::Start(const NodeInfo& node) {
  const auto& o = options_;
  RunOrThrow(RemoteOf(node), {"mkdir", "-p", node.dir}, "mkdir -p " + node.dir);
  daemons().Start(
      node,
      {o.binary, "--port", std::to_string(o.port), "--bind", node.address, "--cluster-enabled", "yes",
       "--cluster-config-file", node.dir + "/nodes.conf", "--cluster-node-timeout", std::to_string(o.node_timeout_ms),
       "--appendonly", "yes", "--dir", node.dir, "--protected-mode", "no", "--daemonize", "no",
       // A new cluster is ready once CLUSTER SLOTS lists every replica
       // (WaitReplicas), and Redis lists a replica only once its replication
       // offset is past 0. With the defaults that took 10-15 s of fixed waits,
       // most of the 20 s start limit (a loaded CI machine went past it): a
       // master waits 5 s for more replicas to share a diskless full sync, and
       // an idle master's stream moves only with its ping to its replicas,
       // every 10 s. Here the sync starts at once and the ping is every second.
       "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1"},
      LogPath(node));
}

void RedisClusterDb::WaitNode(const NodeInfo& node, Clock::time_point deadline, bool cluster_ok) {
  Remote& remote = RemoteOf(node);
  RedisConnection conn(node.address, options_.port);
  std::string last = "no answer yet";
  while (true) {
    daemons().ThrowIfExited(node, LogPath(node));
    const auto attempt_deadline = std::min(deadline, Clock::now() + milliseconds(1000));
    RedisResult r =
        cluster_ok ? conn.Command({"CLUSTER", "INFO"}, attempt_deadline) : conn.Command({"PING"}, attempt_deadline);
    if (!r.ok()) {
      last = r.error;
    } else if (!cluster_ok) {
      if (r.replies[0].type == RedisValue::Type::kStatus && r.replies[0].str == "PONG") return;
      last = "PING answered " + r.replies[0].Describe();
    } else {
      const std::string info = r.replies[0].str;
      const std::string state = InfoField(info, "cluster_state");
      const std::string assigned = InfoField(info, "cluster_slots_assigned");
      if (state == "ok" && assigned == std::to_string(kRedisSlots)) return;
      last = fmt::format("cluster_state:{} cluster_slots_assigned:{} cluster_slots_fail:{}", state, assigned,
                         InfoField(info, "cluster_slots_fail"));
    }
    if (Clock::now() + kPoll >= deadline) break;
    std::this_thread::sleep_for(kPoll);
  }
  throw HarnessError(fmt::format("redis-server on {} at {} not {} in time ({}); last lines of {}:\n{}", node.name,
                                 HostPort(node.address, options_.port),
                                 cluster_ok ? "cluster_state:ok" : "answering PING", last, LogPath(node),
                                 LogTail(remote, LogPath(node))));
}

void RedisClusterDb::CreateCluster(Clock::time_point deadline) {
  std::vector<NodeInfo> nodes;
  {
    std::lock_guard lock(mu_);
    nodes = nodes_;
  }
  for (const NodeInfo& n : nodes) WaitNode(n, deadline, false);
  // Already created (a restarted harness on kept nodes): nothing to do.
  RedisConnection first(nodes[0].address, options_.port);
  RedisResult info = first.Command({"CLUSTER", "INFO"}, deadline);
  if (!info.ok() || InfoField(info.replies[0].str, "cluster_slots_assigned") != std::to_string(kRedisSlots)) {
    std::vector<std::string> argv = {options_.cli, "--cluster", "create"};
    for (const NodeInfo& n : nodes) argv.push_back(HostPort(n.address, options_.port));
    argv.insert(argv.end(), {"--cluster-replicas", std::to_string(options_.replicas_per_master), "--cluster-yes"});
    CommandResult r = RemoteOf(nodes[0]).Run(argv, Left(deadline));
    {
      std::lock_guard lock(mu_);
      create_output_ = r.out + r.err;
    }
    if (!r.ok()) {
      throw HarnessError(fmt::format("`{}` on {} failed ({}):\n{}{}", fmt::join(argv, " "), nodes[0].name,
                                     r.timed_out ? "timed out" : fmt::format("exit code {}", r.exit_code), r.out,
                                     r.err));
    }
  }
  for (const NodeInfo& n : nodes) WaitNode(n, deadline, true);
  WaitReplicas(nodes[0], deadline);
  std::lock_guard lock(mu_);
  created_ = true;
}

// cluster_state:ok comes before every replica is attached: until then a
// master's writes have no copy and replica reads see fewer replicas.
void RedisClusterDb::WaitReplicas(const NodeInfo& node, Clock::time_point deadline) {
  RedisConnection conn(node.address, options_.port);
  std::string last = "no answer yet";
  while (true) {
    const auto attempt_deadline = std::min(deadline, Clock::now() + milliseconds(1000));
    RedisResult r = conn.Command({"CLUSTER", "SLOTS"}, attempt_deadline);
    if (!r.ok()) {
      last = r.error;
    } else {
      std::string error;
      const auto ranges = ParseClusterSlots(r.replies[0], node.address, &error);
      if (!ranges) {
        last = error;
      } else {
        int covered = 0;
        size_t short_ranges = 0;
        for (const RedisSlotRange& range : *ranges) {
          covered += range.end - range.start + 1;
          if (range.replicas.size() < static_cast<size_t>(options_.replicas_per_master)) ++short_ranges;
        }
        if (covered == kRedisSlots && short_ranges == 0) return;
        last = fmt::format("{} of {} slots covered, {} slot ranges with fewer than {} replicas", covered, kRedisSlots,
                           short_ranges, options_.replicas_per_master);
      }
    }
    if (Clock::now() + kPoll >= deadline) break;
    std::this_thread::sleep_for(kPoll);
  }
  throw HarnessError(fmt::format("Redis Cluster replicas not attached in time, as {} sees it: {}", node.name, last));
}

void RedisClusterDb::WaitHealthy(const NodeInfo& node, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  bool created, all_started = true;
  {
    std::lock_guard lock(mu_);
    created = created_;
    for (const NodeInfo& n : nodes_) all_started = all_started && daemons().Pid(n).has_value();
  }
  if (!created && all_started) {
    std::lock_guard create_lock(create_mu_);
    {
      std::lock_guard lock(mu_);
      created = created_;
    }
    if (!created) CreateCluster(deadline);
    created = true;
  }
  WaitNode(node, deadline, created);
}

std::string RedisClusterDb::NotReadyReason(const NodeInfo& node, Clock::time_point deadline, std::string* slots) {
  RedisConnection conn(node.address, options_.port);
  RedisResult r = conn.Pipeline({{"CLUSTER", "INFO"}, {"CLUSTER", "SLOTS"}}, deadline);
  if (!r.ok()) return r.error;
  if (r.replies.size() != 2 || r.replies[0].type != RedisValue::Type::kString) return "CLUSTER INFO unreadable";
  const std::string& info = r.replies[0].str;
  for (const auto& [field, want] : {std::pair{"cluster_state", "ok"}, std::pair{"cluster_slots_pfail", "0"},
                                    std::pair{"cluster_slots_fail", "0"}}) {
    if (InfoField(info, field) != want) return fmt::format("{}:{}", field, InfoField(info, field));
  }
  std::string error;
  const auto ranges = ParseClusterSlots(r.replies[1], node.address, &error);
  if (!ranges) return error;
  std::map<int, std::string> by_start;  // CLUSTER SLOTS comes in no set order
  int covered = 0;
  for (const RedisSlotRange& range : *ranges) {
    covered += range.end - range.start + 1;
    by_start[range.start] = fmt::format("{}-{}:{}", range.start, range.end, range.master);
  }
  if (covered != kRedisSlots) return fmt::format("{} of {} slots covered", covered, kRedisSlots);
  std::vector<std::string> parts;
  for (const auto& [start, part] : by_start) parts.push_back(part);
  *slots = fmt::format("{}", fmt::join(parts, ","));
  return "";
}

void RedisClusterDb::WaitClusterReady(const std::vector<NodeInfo>& nodes, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::vector<std::string> why = PollUntilAllReady(
      [&] {
        std::vector<std::string> round(nodes.size()), slots(nodes.size());
        for (size_t i = 0; i < nodes.size(); ++i) {
          round[i] = NotReadyReason(nodes[i], std::min(deadline, Clock::now() + milliseconds(1000)), &slots[i]);
        }
        for (size_t i = 1; i < nodes.size(); ++i) {
          if (round[i].empty() && round[0].empty() && slots[i] != slots[0]) {
            round[i] = fmt::format("its slot map ({}) differs from {}'s ({})", slots[i], nodes[0].name, slots[0]);
          }
        }
        return round;
      },
      deadline, kPoll);
  std::vector<std::string> reasons;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!why[i].empty()) reasons.push_back(nodes[i].name + ": " + why[i]);
  }
  if (reasons.empty()) return;
  throw HarnessError(
      fmt::format("Redis Cluster not settled after {} ms: {}", timeout.count(), fmt::join(reasons, "; ")));
}

void RedisClusterDb::Wipe(const NodeInfo& node) {
  if (Running(node)) throw HarnessError(fmt::format("cannot wipe redis-server on {}: it is running", node.name));
  Remote& remote = RemoteOf(node);
  for (const std::string& path : {node.dir + "/nodes.conf", node.dir + "/appendonlydir", node.dir + "/dump.rdb"}) {
    RunOrThrow(remote, {"rm", "-rf", path}, "rm -rf " + path);
  }
  std::lock_guard lock(mu_);
  created_ = false;  // the node forgot the cluster
}

// redis.log and nodes.conf (the node's view of the cluster at the end). A
// file that cannot be fetched leaves <file>.missing with the reason.
void RedisClusterDb::CollectLogs(const NodeInfo& node, const fs::path& dest) {
  CollectFiles(node, {{LogPath(node), "redis.log"}, {node.dir + "/nodes.conf", "nodes.conf"}}, dest);
}

std::unique_ptr<Client> RedisClusterDb::NewClient(const NodeInfo& node, const ClientOptions& options) {
  std::map<std::string, std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const NodeInfo& n : nodes_) names[n.address] = n.name;
  }
  return std::make_unique<RedisClusterClient>(node.address, options_.port, options, std::move(names));
}

}  // namespace faultline
