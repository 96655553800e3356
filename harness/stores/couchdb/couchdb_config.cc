#include "harness/stores/couchdb/couchdb_config.h"

#include <fmt/format.h>

namespace faultline {

namespace {

// CouchDB's rule for database names; the suffix the adapter adds keeps it.
bool ValidDatabaseName(const std::string& name) {
  if (name.empty() || name.size() > 200 || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$' || c == '(' || c == ')' ||
                    c == '+' || c == '-' || c == '/';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

CouchdbConfig ParseCouchdbConfig(const ConfigFields& e, bool selected, int /*node_count*/) {
  CouchdbConfig s;
  s.port = e.Int("port");
  s.database = e.String("database");
  s.resolve_conflicts = e.Bool("resolve-conflicts");
  s.binary = e.String("binary");
  if (!selected) return s;
  CheckPort(e.Name("port"), s.port);
  if (!ValidDatabaseName(s.database)) {
    FailConfig(fmt::format(
        "\"couchdb.database\" must start with a lowercase letter and hold only a-z 0-9 _ $ ( ) + - / (at most 200), "
        "got \"{}\"",
        s.database));
  }
  return s;
}

nlohmann::json ToJson(const CouchdbConfig& c) {
  return {{"port", c.port}, {"database", c.database}, {"resolve-conflicts", c.resolve_conflicts}, {"binary", c.binary}};
}

std::string CouchdbUnsupported(const CouchdbConfig& /*config*/, WorkloadKind kind, std::string_view /*f*/) {
  if (kind == WorkloadKind::kSet || kind == WorkloadKind::kRegister) return "";
  return fmt::format(
      "the couchdb client maps the set and register workloads only (documents with conflicts kept as siblings), not "
      "{}",
      WorkloadKindName(kind));
}

std::string CouchdbServerPath() {
  return FAULTLINE_COUCHDB_SERVER_DIR "/node_modules/pouchdb-server/bin/pouchdb-server";
}

}  // namespace faultline
