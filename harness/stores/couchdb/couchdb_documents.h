// CouchdbDocuments: the few CouchDB HTTP API calls faultline makes on one
// database of one server, over one keep-alive HttpConnection:
//   GET  /{db}/{key}                      the winning revision
//   GET  /{db}/{key}?conflicts=true       the winner and its "_conflicts"
//   GET  /{db}/{key}?open_revs=all        every leaf revision (Accept: application/json)
//   PUT  /{db}/{key}                      a write on a given "_rev"
//   DELETE /{db}/{key}?rev=R              delete one leaf revision
//   PUT  /{db}                            create the database (412: it exists)
// Any CouchDB-API server answers these (CouchDB 1.x-3.x, PouchDB Server).
//
// Every reply is a value (CouchdbReply), never an exception, and says
// whether the request certainly had no effect (kFailed: nothing sent, a
// refused connection, a 4xx such as 409 Conflict) or may have had one
// (kUnknown: a timeout or dropped connection after sending, a 5xx, a 2xx
// whose body is not what the API promises). Bodies are hostile input:
// every field is checked before use.
//
// Not thread-safe: one per worker.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/stores/http_connection.h"

namespace faultline {

struct CouchdbReply {
  enum class Status { kOk, kFailed, kUnknown };
  Status status = Status::kFailed;
  int http_status = 0;
  bool not_found = false;  // 404: the document (or database) does not exist
  std::string error;       // why, when not kOk: "409 conflict: Document update conflict."
  nlohmann::json body;     // the parsed body when kOk

  bool ok() const { return status == Status::kOk; }
};

// One leaf revision of a document: "N-hash", whether it is a deletion, the document.
struct CouchdbLeaf {
  std::string rev;
  bool deleted = false;
  nlohmann::json doc;
};

// Whether leaf `a` beats `b` by CouchDB's deterministic rule: a live leaf
// beats a deleted one, then the longer revision path (N), then the greater
// revision hash (compared as bytes). Every replica picks the same winner.
bool CouchdbRevWins(const CouchdbLeaf& a, const CouchdbLeaf& b);

// The live leaves of `leaves`, winner first (an empty list for a missing
// or deleted document).
std::vector<CouchdbLeaf> CouchdbLiveLeaves(std::vector<CouchdbLeaf> leaves);

// Parses an open_revs=all reply ([{"ok":doc} | {"missing":rev}, ...]);
// false with `error` set when it is not one.
bool ParseCouchdbLeaves(const nlohmann::json& body, std::vector<CouchdbLeaf>* leaves, std::string* error);

class CouchdbDocuments {
 public:
  using Clock = HttpConnection::Clock;
  CouchdbDocuments(std::string host, int port, std::string database)
      : conn_(std::move(host), port), database_(std::move(database)) {}

  // GET the document; `query` ("conflicts=true", "open_revs=all") may be empty.
  CouchdbReply Get(const std::string& key, std::string_view query, Clock::time_point deadline);
  CouchdbReply Put(const std::string& key, const nlohmann::json& doc, Clock::time_point deadline);
  CouchdbReply Delete(const std::string& key, const std::string& rev, Clock::time_point deadline);
  // Creates the database; an existing one (412) is ok too.
  CouchdbReply CreateDatabase(Clock::time_point deadline);
  // Any request, for the adapter (/_replicate) and tests.
  CouchdbReply Call(std::string_view method, const std::string& target, const std::string& body,
                    Clock::time_point deadline);

  const std::string& database() const { return database_; }

 private:
  std::string DocPath(const std::string& key) const;
  HttpConnection conn_;
  std::string database_;
};

}  // namespace faultline
