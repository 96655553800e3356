// CouchdbReplication: continuous replication of the test's database in both
// directions between every pair of nodes, kept running. PouchDB Server (as
// CouchDB's /_replicate without the _replicator database) keeps a job only in
// the process that received the POST, never persists it, ignores "retry"
// and "cancel" (express-pouchdb 4.2.0 reads only source, target, continuous,
// filter and query_params), and a job whose peer fails once (killed, paused
// past a request timeout, partitioned) ends for good. And /_active_tasks is
// always [], so a job cannot be seen. So this class plays the part of
// CouchDB's replication scheduler:
//   - jobs are pulls: POST http://<t>/_replicate {"source":"http://<s>:<port>/<db>",
//     "target":"<db>","continuous":true} makes t pull from s;
//   - every node s bumps a marker document ("faultline-marker-<s>",
//     {"round":n}) once a round (a second); t pulling from s is proven
//     running when t holds s's marker from at most kStale ago;
//   - a pull that has not delivered a marker written more than kStale ago is
//     started again, at most once every kRestartEvery per pair (a job that is
//     only slow may then run twice until one fails: replication is
//     idempotent, so a duplicate costs work, never data);
//   - Establish(node) starts every pull into and out of a node that was
//     (re)started: its own jobs died with its process, its peers' pulls from
//     it failed when it went away.
// Marker documents live in the test's database beside the workload's keys
// (k1..kN), which never collide with them.
//
// Thread-safe: rounds (the supervisor's thread, WaitReplicating, Establish)
// run one at a time under one mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness/stores/couchdb/couchdb_documents.h"

namespace faultline {

class CouchdbReplication {
 public:
  using Clock = std::chrono::steady_clock;
  // `nodes`: node name -> address; every server listens on `port` and holds `database`.
  CouchdbReplication(std::map<std::string, std::string> nodes, int port, std::string database);
  ~CouchdbReplication();  // stops the supervisor

  // Starts every pull into and out of `node` (all of them when empty).
  // Best effort: a pull that cannot be started now is started by the supervisor.
  void Establish(const std::string& node = "");
  // Starts the supervisor's thread (idempotent).
  void StartSupervisor();
  // Waits until every node holds every other node's marker written after
  // this call began (every pull delivers); throws HarnessError naming the
  // pairs that did not at the deadline.
  void WaitReplicating(std::chrono::milliseconds timeout);
  // Pulls started so far (Establish and restarts of stale ones), for tests and the log.
  int jobs_started() const;

  static constexpr std::chrono::milliseconds kRound{1000};
  static constexpr std::chrono::milliseconds kStale{4000};
  static constexpr std::chrono::milliseconds kRestartEvery{8000};

 private:
  struct Written {
    int64_t round;
    Clock::time_point at;
  };
  // One round: bump every marker, read every pair, restart stale pulls. REQUIRES: round_mu_ held.
  void Round();
  // POSTs t's pull from s. REQUIRES: round_mu_ held.
  bool StartPull(const std::string& target, const std::string& source);
  CouchdbDocuments& Docs(const std::string& node);  // REQUIRES: round_mu_ held
  void Supervise();

  const std::map<std::string, std::string> nodes_;
  const int port_;
  const std::string database_;

  mutable std::mutex round_mu_;
  std::map<std::string, std::unique_ptr<CouchdbDocuments>> docs_;  // guarded by round_mu_
  std::map<std::string, int64_t> next_round_;                      // source -> its next marker round; guarded
  std::map<std::string, std::string> marker_rev_;                  // source -> its marker's _rev; guarded
  std::map<std::string, std::vector<Written>> written_;            // source -> markers written; guarded
  std::map<std::pair<std::string, std::string>, int64_t> seen_;    // (target, source) -> round held; guarded
  std::map<std::pair<std::string, std::string>, Clock::time_point> started_;  // (target, source) -> last start; guarded
  int jobs_started_ = 0;                                                      // guarded by round_mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread supervisor_;
};

}  // namespace faultline
