// CouchdbClient: the set and register workloads on any CouchDB-API server
// (CouchdbDocuments lists the endpoints), one document per key, conflicts
// kept by the store as sibling revisions (README "CouchDB").
//
// Documents: a set is {"elements":[ints]}, a register {"value":id}.
// With "couchdb": {"resolve-conflicts": true} (the default, the correct
// client), every op sees every live leaf revision (open_revs=all), winner
// and conflicts alike:
//   set add K e    union of every leaf's elements plus e, PUT on the winning
//                  _rev (ok when it applied; a 409 Conflict: fail, nothing
//                  applied), then every losing leaf deleted (DELETE ?rev=,
//                  one request each, only once the union is written, so a
//                  failure never drops a sibling's elements)
//   set read K     union of every leaf's elements, sorted
//   register rmw K {"write":id}  read = every leaf's id (sorted), then the
//                  write replaces them all as above → ok {"read":[...],"write":id}
//   register read K  every leaf's id, sorted ([] when missing)
// Not one _bulk_docs call holding the update and the deletions, as CouchDB
// allows: PouchDB Server 4.2.0 (pouchdb-adapter-leveldb-core 7.3.1) handles
// two edits of one document in one _bulk_docs badly under concurrent
// replication: the next _changes read of the document throws a TypeError
// that kills the server, again after every restart, and replicas never
// converge (measured: README "CouchDB").
// With "resolve-conflicts": false (the careless client), ops read only the
// winning revision (GET without conflicts) and write on it (PUT with its
// _rev), leaving the conflicts in place, never seen again.
// Outcomes: reads are ok or fail. Writes: fail when certainly not applied
// (connection refused, 409 Conflict or another 4xx); info when they may
// have been (timeout or dropped connection after sending, 5xx, a malformed
// reply).
//
// ReadReplicas(K): GET K?conflicts=true on every server → node →
// ["winner <rev>", "conflict <rev>", ...] sorted ([] when missing), so
// replicas agree when they agree on the winner and the conflict set.
//
// Not thread-safe: one per worker.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "harness/api/client.h"
#include "harness/api/database.h"
#include "harness/stores/couchdb/couchdb_config.h"
#include "harness/stores/couchdb/couchdb_documents.h"

namespace faultline {

struct CouchdbClientSpec {
  std::string address;                         // this client's server
  int port = 5984;                             // every server's port
  std::string database;                        // the test's database
  std::map<std::string, std::string> members;  // node name -> address, for replica reads
  bool resolve_conflicts = true;
  bool create_database = false;  // PUT /{db} before the first op (external clusters: nobody else does)
};

class CouchdbClient : public Client {
 public:
  // Throws HarnessError for a workload other than set and register.
  CouchdbClient(CouchdbClientSpec spec, ClientOptions options);
  Completion Invoke(const Invocation& op) override;
  std::optional<ReplicaRead> ReadReplicas(const std::string& key) override;

 private:
  using Deadline = CouchdbDocuments::Clock::time_point;
  // Every live leaf (careful) or the winner alone (careless) and the union of their values.
  struct Read {
    std::vector<CouchdbLeaf> leaves;  // winner first; empty when the document is missing
    std::set<int64_t> values;
  };
  std::optional<Read> ReadKey(const std::string& key, Deadline deadline, std::string* error);
  // PUTs `content` on the winner of `read`, then (careful) deletes the losers.
  Completion Write(const std::string& key, const Read& read, const nlohmann::json& content, nlohmann::json value,
                   Deadline deadline);
  Completion Set(const Invocation& op, Deadline deadline);
  Completion Register(const Invocation& op, Deadline deadline);
  CouchdbDocuments& Member(const std::string& name);

  CouchdbClientSpec spec_;
  ClientOptions options_;
  CouchdbDocuments docs_;
  bool database_ready_ = false;
  std::map<std::string, std::unique_ptr<CouchdbDocuments>> member_docs_;
};

}  // namespace faultline
