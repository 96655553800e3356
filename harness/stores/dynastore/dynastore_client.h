// DynastoreClient: one workload's operations against one dynastore node over
// keep-alive HTTP (doc/http_api.md). ClientOptions::workload picks how f and
// value map onto the store; the history formats are the workloads' headers.
//
// set (values are JSON arrays of ints stored as the string value):
//   add  K e:  GET /kv/K, union the siblings, add e, PUT the sorted array
//              with the context. Completion value: e.
//   read K:    GET /kv/K, union of the siblings, sorted.
// register (values are decimal write ids stored as the string value):
//   rmw K {"write":id}: GET /kv/K, PUT id as the value with the context (it
//              supersedes every sibling read). Completion value
//              {"read":[sibling ids, sorted],"write":id}; when the GET failed
//              {"write":id}. A sibling that is not an integer fails the op.
//   read K:    GET /kv/K, the sorted sibling ids ([] when missing).
// counter (the value is a PN-counter: a JSON object
//   {"<writer>":{"p":P,"n":N},...} stored as the string value; siblings merge
//   by taking, per writer, the max of p and the max of n):
//   add K d:   GET /kv/K, merge the siblings, add d to this client's own
//              writer entry (p += d when d > 0, else n += -d), PUT with the
//              context. Completion value: d.
//   read K:    GET /kv/K, sum of p minus sum of n over the merged siblings
//              (0 when missing).
//   Writer ids are "<random 64-bit hex>-<serial>", unique per client; the
//   client keeps its own entry's p and n (it is that entry's only writer, so
//   a stale read cannot roll it back) and starts a fresh writer id after any
//   info outcome: a write that may still land later must not share an entry
//   with later writes, or max-merging could hide one of them.
// cas-register (the value is the JSON text of the register's value, e.g. "3"):
//   read K:    GET /kv/K: null when missing; the value when every sibling
//              holds the same one; else the sorted array of the distinct
//              sibling values (a register read that saw several versions).
//   write K v: GET /kv/K for the context, then PUT v with it, so the write
//              supersedes every version this client has seen (a blind PUT
//              would only add a sibling). ok only when the PUT is acked.
//   cas:       not supported (DynastoreUnsupported): dynastore has no
//              compare-and-set; the config is refused before the run.
//
// Outcomes: fail when the store certainly did not apply the op (nothing sent,
// only the GET of a write failed, a definite 503, a 4xx); info when the PUT
// may have been applied (timeout, connection lost, 503 indeterminate, other
// 5xx). Reads never have an effect, so any read error is a fail. Every op has
// one total deadline of ClientOptions::op_timeout.
//
// ReadReplicas(K): GET /ring once (cached), finds K's partition exactly as
// dynastore does (xxHash3-64, floor(hash * partitions / 2^64)), and reads
// GET /kv/K?local=true from each of its replicas, each within op_timeout.
// Needs every node's HTTP address (the constructor's `nodes`).
//
// Not thread-safe: one per worker. Owns its connections (one keep-alive
// connection to its node, one more per replica node it has read from).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/api/client.h"
#include "harness/api/database.h"
#include "harness/stores/dynastore/dynastore_config.h"
#include "harness/stores/http_connection.h"

namespace faultline {

// Where a dynastore node serves HTTP.
struct DynastoreEndpoint {
  std::string address;
  int port = 0;
};

// Why dynastore cannot run op `f` of workload `kind`; "" when it can. The
// registry refuses such a run at config time (RequireStoreSupport).
std::string DynastoreUnsupported(const DynastoreConfig& config, WorkloadKind kind, std::string_view f);

class DynastoreClient : public Client {
 public:
  // `address:port` is the node this client's ops go to; `nodes` (node id ->
  // HTTP endpoint) is every node of the cluster, for ReadReplicas (without it,
  // replica reads report every replica as unreadable). Throws HarnessError
  // for a ClientOptions::workload it does not support.
  DynastoreClient(std::string address, int port, ClientOptions options,
                  std::map<std::string, DynastoreEndpoint> nodes = {});
  Completion Invoke(const Invocation& op) override;
  std::optional<ReplicaRead> ReadReplicas(const std::string& key) override;

  // TCP connections this client opened so far to its own node (1 while
  // keep-alive holds).
  uint64_t connections_opened() const { return conn_.connections_opened(); }
  // The counter workload's current writer id (changes after an info outcome).
  const std::string& writer_id() const { return writer_; }

 private:
  using Deadline = HttpConnection::Clock::time_point;
  struct Ring {
    int partitions = 0;
    std::vector<std::vector<std::string>> replicas;  // per partition, the preference list's N nodes
  };

  Completion SetAdd(const Invocation& op, Deadline deadline);
  Completion SetRead(const Invocation& op, Deadline deadline);
  Completion RegisterRmw(const Invocation& op, Deadline deadline);
  Completion RegisterRead(const Invocation& op, Deadline deadline);
  Completion CounterAdd(const Invocation& op, Deadline deadline);
  Completion CounterRead(const Invocation& op, Deadline deadline);
  Completion CasRegisterRead(const Invocation& op, Deadline deadline);
  Completion CasRegisterWrite(const Invocation& op, Deadline deadline);
  // Fetches and caches the ring; returns the error when no node answers.
  std::optional<std::string> LoadRing();
  HttpConnection& ConnectionTo(const std::string& node);
  void RenewWriter();

  ClientOptions options_;
  HttpConnection conn_;
  std::map<std::string, DynastoreEndpoint> nodes_;
  std::map<std::string, std::unique_ptr<HttpConnection>> replica_conns_;  // by node id
  std::optional<Ring> ring_;

  // Counter workload: this client's writer entry and what it has put there.
  std::string writer_prefix_;
  uint64_t writer_serial_ = 0;
  std::string writer_;
  std::map<std::string, std::pair<int64_t, int64_t>> own_;  // key -> (p, n) written under writer_
};

}  // namespace faultline
