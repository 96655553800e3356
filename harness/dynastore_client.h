// DynastoreClient: the set workload's operations against one dynastore node
// over keep-alive HTTP (doc/http_api.md).
//   add  K e: GET /kv/K, union the siblings (each a JSON array of ints stored
//             as the string value), add e, PUT the sorted array with the
//             context. Completion value: e.
//   read K:   GET /kv/K, union of the siblings, sorted. Completion value: the
//             array.
// Outcomes: fail when the store certainly did not apply the op (nothing sent,
// only the GET of an add failed, a definite 503, a 4xx); info when the PUT may
// have been applied (timeout, connection lost, 503 indeterminate, other 5xx).
// Reads never have an effect, so any read error is a fail. Every op has one
// total deadline of ClientOptions::op_timeout.
//
// Not thread-safe: one per worker. Owns its connection.
#pragma once

#include <cstdint>
#include <string>

#include "client.h"
#include "database.h"
#include "http_connection.h"

namespace faultline {

class DynastoreClient : public Client {
 public:
  DynastoreClient(std::string address, int port, ClientOptions options);
  Completion Invoke(const Invocation& op) override;

  // TCP connections this client opened so far (1 while keep-alive holds).
  uint64_t connections_opened() const { return conn_.connections_opened(); }

 private:
  Completion Add(const Invocation& op, HttpConnection::Clock::time_point deadline);
  Completion Read(const Invocation& op, HttpConnection::Clock::time_point deadline);

  ClientOptions options_;
  HttpConnection conn_;
};

}  // namespace faultline
