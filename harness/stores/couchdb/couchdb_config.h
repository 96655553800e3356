// The "couchdb" object of a test config.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "harness/api/client.h"
#include "harness/base/config_fields.h"

namespace faultline {

// "couchdb" object (README "CouchDB"): PouchDB Server on every node, or,
// through "external": {"client": "couchdb"}, any CouchDB-API server.
struct CouchdbConfig {
  int port = 5984;
  // Each test's database is "<database>-<random>" (a new one per test, so a
  // long-lived cluster never mixes runs); CouchDB's naming rules apply.
  std::string database = "faultline";
  // true: the client reads every conflicting revision and merges them on
  // write (siblings); false: the careless client that sees only the winner.
  bool resolve_conflicts = true;
  // pouchdb-server's launcher on the nodes; empty: the one scripts/setup
  // installs in harness/stores/couchdb/server (CouchdbServerPath()).
  std::string binary;
};

// Reads the object (every key must have its type). When `selected` (the
// run's db, or its external client, is couchdb) the values are checked too.
// Throws ConfigError naming the field.
CouchdbConfig ParseCouchdbConfig(const ConfigFields& object, bool selected, int node_count);

// The object as test.json holds it (ParseCouchdbConfig reads it back).
nlohmann::json ToJson(const CouchdbConfig& config);

// Why the couchdb client cannot run op `f` of `kind` ("" when it can): it
// maps the set and register workloads only.
std::string CouchdbUnsupported(const CouchdbConfig& config, WorkloadKind kind, std::string_view f);

// The pouchdb-server launcher scripts/setup installs (npm ci in
// harness/stores/couchdb/server), an absolute path in the source tree.
std::string CouchdbServerPath();

}  // namespace faultline
