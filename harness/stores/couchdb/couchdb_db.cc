#include "harness/stores/couchdb/couchdb_db.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "harness/base/harness_error.h"
#include "harness/base/wait.h"
#include "harness/stores/couchdb/couchdb_client.h"
#include "harness/stores/couchdb/couchdb_documents.h"

namespace faultline {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPoll{100};

std::string LogPath(const NodeInfo& node) { return node.dir + "/couchdb.log"; }
std::string DataPath(const NodeInfo& node) { return node.dir + "/couchdb.data"; }

// One attempt's deadline: a second at most, never past the overall one.
Clock::time_point AttemptDeadline(Clock::time_point deadline) {
  return std::min(deadline, Clock::now() + milliseconds(1000));
}

}  // namespace

std::string NewCouchdbDatabaseName(const std::string& prefix) {
  std::random_device rd;
  return fmt::format("{}-{:06x}{:06x}", prefix, rd() & 0xffffff, rd() & 0xffffff);
}

CouchdbDb::CouchdbDb(CouchdbOptions options)
    : DaemonDatabase("pouchdb-server", options.start_timeout),
      options_(std::move(options)),
      database_(NewCouchdbDatabaseName(options_.database)) {}

CouchdbDb::~CouchdbDb() = default;

void CouchdbDb::Install(const std::vector<NodeInfo>& nodes) {
  if (nodes.empty()) throw HarnessError("couchdb: no nodes");
  for (const NodeInfo& node : nodes) {
    Remote& remote = RemoteOf(node);
    RunOrThrow(remote, {"mkdir", "-p", node.dir}, "mkdir -p " + node.dir);
    CommandResult v = remote.Run({"test", "-x", Binary()}, milliseconds(10000));
    if (!v.ok()) {
      throw HarnessError(
          fmt::format("couchdb: pouchdb-server is not installed on {} (no executable {}): run scripts/setup (npm ci in "
                      "harness/stores/couchdb/server) or set \"couchdb\": {{\"binary\": PATH}}",
                      node.name, Binary()));
    }
  }
  std::map<std::string, std::string> addresses;
  for (const NodeInfo& n : nodes) addresses[n.name] = n.address;
  std::lock_guard lock(mu_);
  nodes_ = nodes;
  replication_ = std::make_unique<CouchdbReplication>(std::move(addresses), options_.port, database_);
  replication_established_ = false;
}

std::vector<std::string> CouchdbDb::CommandLine(const NodeInfo& node) const {
  return {Binary(),       "--port",   std::to_string(options_.port),   "--host",    node.address, "--dir",
          DataPath(node), "--config", DataPath(node) + "/config.json", "--no-color"};
}

void CouchdbDb::Start(const NodeInfo& node) {
  Remote& remote = RemoteOf(node);
  RunOrThrow(remote, {"mkdir", "-p", DataPath(node)}, "mkdir -p " + DataPath(node));
  // Its own log file into the data directory (the default is ./log.txt in whatever directory it starts in).
  const json config = {{"log", {{"file", DataPath(node) + "/log.txt"}}}};
  RunOrThrow(
      remote,
      {"sh", "-c", "umask 077 && printf '%s\\n' \"$1\" > \"$2\"", "sh", config.dump(), DataPath(node) + "/config.json"},
      "writing " + DataPath(node) + "/config.json");
  // pouchdb-server 4.2.0 predates Node 15, which made an unhandled promise
  // rejection fatal: a pull whose source refuses the connection leaves one,
  // and would take the whole server down with it. Warn, as the Node versions
  // it was written for did.
  daemons().Start(node, CommandLine(node), LogPath(node), {{"NODE_OPTIONS", "--unhandled-rejections=warn"}});
}

void CouchdbDb::WaitHealthy(const NodeInfo& node, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  CouchdbDocuments docs(node.address, options_.port, database_);
  std::string last = "no answer yet";
  const bool healthy = WaitFor(
      [&] {
        daemons().ThrowIfExited(node, LogPath(node));
        CouchdbReply welcome = docs.Call("GET", "/", "", AttemptDeadline(deadline));
        if (!welcome.ok() || !welcome.body.is_object()) {
          last = welcome.ok() ? "GET / is not a JSON object" : welcome.error;
          return false;
        }
        CouchdbReply created = docs.CreateDatabase(AttemptDeadline(deadline));
        last = created.error;
        return created.ok();
      },
      timeout, kPoll);
  if (healthy) return;
  throw HarnessError(fmt::format("pouchdb-server on {} at {} not healthy in time ({}); last lines of {}:\n{}",
                                 node.name, HostPort(node.address, options_.port), last, LogPath(node),
                                 LogTail(RemoteOf(node), LogPath(node))));
}

void CouchdbDb::WaitClusterReady(const std::vector<NodeInfo>& /*nodes*/, milliseconds timeout) {
  CouchdbReplication* replication = nullptr;
  bool establish = false;
  {
    std::lock_guard lock(mu_);
    if (!replication_) throw HarnessError("couchdb: WaitClusterReady before Install");
    replication = replication_.get();
    establish = !replication_established_;
    replication_established_ = true;
  }
  // Once: later calls (after a heal) leave the repairs to the supervisor rather than doubling every job.
  if (establish) replication->Establish();
  replication->StartSupervisor();
  replication->WaitReplicating(timeout);
}

void CouchdbDb::Restart(const NodeInfo& node) {
  Start(node);
  WaitHealthy(node, options_.start_timeout);
  CouchdbReplication* replication = nullptr;
  {
    std::lock_guard lock(mu_);
    replication = replication_.get();
  }
  if (replication != nullptr) replication->Establish(node.name);
}

void CouchdbDb::Wipe(const NodeInfo& node) {
  if (Running(node)) throw HarnessError(fmt::format("cannot wipe couchdb on {}: it is running", node.name));
  RunOrThrow(RemoteOf(node), {"rm", "-rf", DataPath(node)}, "rm -rf " + DataPath(node));
}

// couchdb.log (its output) and pouchdb-server.log (its own log file).
void CouchdbDb::CollectLogs(const NodeInfo& node, const fs::path& dest) {
  CollectFiles(node, {{LogPath(node), "couchdb.log"}, {DataPath(node) + "/log.txt", "pouchdb-server.log"}}, dest);
}

std::unique_ptr<Client> CouchdbDb::NewClient(const NodeInfo& node, const ClientOptions& options) {
  CouchdbClientSpec spec;
  spec.address = node.address;
  spec.port = options_.port;
  spec.database = database_;
  spec.resolve_conflicts = options_.resolve_conflicts;
  {
    std::lock_guard lock(mu_);
    for (const NodeInfo& n : nodes_) spec.members[n.name] = n.address;
  }
  return std::make_unique<CouchdbClient>(std::move(spec), options);
}

int CouchdbDb::replication_jobs_started() {
  std::lock_guard lock(mu_);
  return replication_ ? replication_->jobs_started() : 0;
}

}  // namespace faultline
