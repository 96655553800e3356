// CouchdbDb: the Database adapter for PouchDB Server (npm pouchdb-server
// 4.2.0, pinned by server/package-lock.json, installed by scripts/setup),
// a CouchDB-API store: one server per node, multi-master, continuous
// replication between every pair of nodes (CouchdbReplication), conflicts
// kept as sibling revisions. Each server is started in the foreground:
//   pouchdb-server --port <port> --host <addr> --dir <dir>/couchdb.data
//                  --config <dir>/couchdb.data/config.json --no-color
// with NODE_OPTIONS=--unhandled-rejections=warn (see Start), its output in
// <dir>/couchdb.log; config.json (written before the start) only moves its
// own log file into the data directory (it would write ./log.txt wherever it
// was started).
//
// Start-up is done (WaitHealthy on every node, then WaitClusterReady) when
// every server answers GET / and holds the test's database (PUT /{db}),
// and every pull replication delivers (marker documents, CouchdbReplication).
// Restart is Start, WaitHealthy, then every pull into and out of the node
// started again (PouchDB Server does not persist replication jobs); pulls
// ended by a partition or a pause are restarted by the replication
// supervisor, which runs from the first WaitClusterReady until the adapter
// is destroyed. Kill/Pause/Resume/Stop are signals (DaemonDatabase); Wipe
// removes the data directory; CollectLogs copies couchdb.log and
// pouchdb-server's own log (as pouchdb-server.log).
//
// The test's database is "<couchdb.database>-<12 random hex digits>", new per
// adapter (so per test). NewClient gives a CouchdbClient for the node's
// server that knows every server (replica reads).
//
// Thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "harness/api/database.h"
#include "harness/stores/couchdb/couchdb_config.h"
#include "harness/stores/couchdb/couchdb_replication.h"
#include "harness/stores/daemon_database.h"

namespace faultline {

struct CouchdbOptions : CouchdbConfig {
  CouchdbOptions() = default;
  explicit CouchdbOptions(CouchdbConfig config) : CouchdbConfig(std::move(config)) {}

  std::chrono::milliseconds start_timeout{30000};  // Restart's wait for WaitHealthy
};

// "<prefix>-<12 random hex digits>": a new database name per test.
std::string NewCouchdbDatabaseName(const std::string& prefix);

class CouchdbDb : public DaemonDatabase {
 public:
  explicit CouchdbDb(CouchdbOptions options);
  ~CouchdbDb() override;
  std::string name() const override { return "couchdb"; }
  void Install(const std::vector<NodeInfo>& nodes) override;
  void Start(const NodeInfo& node) override;
  void WaitHealthy(const NodeInfo& node, std::chrono::milliseconds timeout) override;
  void WaitClusterReady(const std::vector<NodeInfo>& nodes, std::chrono::milliseconds timeout) override;
  void Restart(const NodeInfo& node) override;
  void Wipe(const NodeInfo& node) override;
  void CollectLogs(const NodeInfo& node, const std::filesystem::path& dest) override;
  std::unique_ptr<Client> NewClient(const NodeInfo& node, const ClientOptions& options) override;

  const std::string& database() const { return database_; }
  // The server's command line (for tests and the log).
  std::vector<std::string> CommandLine(const NodeInfo& node) const;
  // Pull replications started so far (CouchdbReplication::jobs_started); 0 before Install.
  int replication_jobs_started();

 private:
  std::string Binary() const { return options_.binary.empty() ? CouchdbServerPath() : options_.binary; }

  CouchdbOptions options_;
  const std::string database_;
  std::mutex mu_;
  std::vector<NodeInfo> nodes_;                      // from Install; guarded by mu_
  std::unique_ptr<CouchdbReplication> replication_;  // from Install; guarded by mu_ (the object is thread-safe)
  bool replication_established_ = false;             // guarded by mu_
};

}  // namespace faultline
