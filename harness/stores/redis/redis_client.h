// RedisClusterClient: one workload's operations against a Redis Cluster
// over hiredis (RedisConnection), with client-side slot routing:
//   - a key's slot is CRC16-XMODEM(key or its {hash tag}) mod 16384
//     (RedisKeySlot, exactly as CLUSTER KEYSLOT);
//   - the slot map comes from CLUSTER SLOTS, asked of the cluster's nodes in
//     turn (starting with this client's own node, then rotating on every
//     refresh, so a node with a stale view is not asked forever);
//   - MOVED updates the slot's master and retries; ASK sends ASKING + the
//     command to the named node, once; CLUSTERDOWN, TRYAGAIN, LOADING,
//     MASTERDOWN and refused connections refresh the map and retry, all
//     within the op's one deadline (ClientOptions::op_timeout), at most 8 tries.
//
// Workloads (history formats in workloads/*_workload.h):
//   set       add K e:  SADD K e                     ok value e
//             read K:   SMEMBERS K                   sorted integers
//   register  rmw K {"write":id}: GET K, then SET K id (not atomic: Redis
//             has no contexts; two concurrent rmws can overwrite each other,
//             and the lost-update checker will say so)
//             ok/info value {"read":[the id GET returned, or none],"write":id}
//             read K:   GET K → [id] or []
//   counter   add K d:  INCRBY K d                   ok value d
//             read K:   GET K → the integer (0 when missing)
//   cas-register (the value stored is the JSON text of the register's value)
//             read K:   GET K → the value, null when missing
//             write K v: SET K v                     ok value v
//             cas K [old,new]: EVAL of a Lua compare-and-set (GET, compare,
//                       SET: atomic on the key's master) → ok when it
//                       applied, fail when the value was not old
// Outcomes: an error reply (CLUSTERDOWN, READONLY, ...) means Redis did not
// run the command → fail; a failed connect sent nothing → fail; a timeout
// or a connection lost after sending → info for writes (fail for reads and
// for the GET of an rmw: they change nothing).
//
// ReadReplicas(K): refreshes the slot map, then reads K on the slot's master
// and each replica it lists (READONLY first on every such connection) and
// returns node name → [the key's value]: set → [sorted members], register
// and counter → [the string value] or [] when missing. Needs the node names
// by address (the constructor's `nodes`); an unknown node is named addr:port.
//
// Not thread-safe: one per worker. Owns its connections.
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
#include "harness/stores/redis/redis_config.h"
#include "harness/stores/redis/redis_connection.h"

namespace faultline {

constexpr int kRedisSlots = 16384;

// CRC16 (XMODEM) of the key's hash tag (the part between the first '{' and
// the next '}', when non-empty) or of the whole key, mod 16384.
uint16_t RedisKeySlot(std::string_view key);

struct RedisSlotRange {
  int start = 0, end = 0;  // inclusive
  std::string master;      // "addr:port"
  std::vector<std::string> replicas;
};

// Parses a CLUSTER SLOTS reply. `queried` replaces an empty or "?" address
// (a node that does not know its own IP). Throws nothing: nullopt + error.
std::optional<std::vector<RedisSlotRange>> ParseClusterSlots(const RedisValue& reply,
                                                             const std::string& queried_address, std::string* error);

// Why Redis Cluster cannot run op `f` of workload `kind`: never (""); the
// registry asks every adapter (RequireStoreSupport).
std::string RedisUnsupported(const RedisConfig& config, WorkloadKind kind, std::string_view f);

class RedisClusterClient : public Client {
 public:
  // `seed` is this client's own node (address); `nodes` maps every node's
  // address to its name; all nodes serve on `port`. Throws HarnessError for
  // a ClientOptions::workload it does not support.
  RedisClusterClient(std::string seed_address, int port, ClientOptions options,
                     std::map<std::string, std::string> nodes = {});
  Completion Invoke(const Invocation& op) override;
  std::optional<ReplicaRead> ReadReplicas(const std::string& key) override;

  // The master the current slot map names for `key` ("addr:port"; empty
  // when there is no map yet). For tests.
  std::string MasterFor(const std::string& key) const;
  // Redirects (MOVED + ASK) followed and map refreshes so far. For tests.
  int redirects() const { return redirects_; }
  int refreshes() const { return refreshes_; }

 private:
  using Deadline = RedisConnection::Clock::time_point;
  struct Outcome {
    std::optional<RedisValue> reply;  // set: the command's (non-redirect) reply
    bool maybe_applied = false;       // a timeout/lost connection after sending
    std::string error;
  };
  // Runs argv for `key` with routing and retries. A definite error reply is
  // returned as the reply (callers turn it into a fail).
  Outcome Execute(const std::string& key, const std::vector<std::string>& argv, Deadline deadline);
  bool Refresh(Deadline deadline, std::string* error);
  RedisConnection& ConnectionTo(const std::string& endpoint);
  std::string NodeName(const std::string& endpoint) const;
  Completion Finish(const Outcome& o, bool write, const nlohmann::json& value);
  Completion CasRegister(const Invocation& op, Deadline deadline);

  ClientOptions options_;
  int port_;
  std::vector<std::string> seeds_;  // "addr:port", own node first
  size_t next_seed_ = 0;
  std::map<std::string, std::string> names_;  // "addr:port" -> node name
  std::vector<RedisSlotRange> ranges_;
  std::vector<int16_t> slot_to_range_;  // kRedisSlots entries; -1 = unknown
  std::map<int, std::string> moved_;    // slot -> master, from MOVED since the last refresh
  bool stale_ = true;
  std::map<std::string, std::unique_ptr<RedisConnection>> conns_;
  std::map<std::string, std::unique_ptr<RedisConnection>> readonly_conns_;
  int redirects_ = 0, refreshes_ = 0;
};

}  // namespace faultline
