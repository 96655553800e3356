// ClusterConfig: the static description of a dynastore cluster, read from
// the --cluster JSON file (format in doc/replication.md):
//   {"n":3,"r":2,"w":2,"partitions":64,
//    "nodes":[{"id":"n1","http":"ADDR:PORT","rpc":"ADDR:PORT"},...]}
// plus optional timing knobs and "context_key". Every node of a cluster reads
// the same file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/status.h"

namespace dynastore {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};
// Parses "HOST:PORT" (IPv4, hostname, or [IPv6]:PORT).
Status ParseEndpoint(const std::string& text, Endpoint& out);

struct NodeConfig {
  std::string id;
  Endpoint http;
  Endpoint rpc;
};

struct ClusterConfig {
  int n = 3;            // replicas per key
  int r = 2;            // replies a get waits for
  int w = 2;            // acks a put waits for
  int partitions = 64;  // Q: equal-sized ring partitions
  std::vector<NodeConfig> nodes;

  // Timing (milliseconds); defaults suit a LAN or loopback cluster.
  int heartbeat_interval_ms = 500;
  int failure_timeout_ms = 2000;  // no heartbeat reply for this long: down
  int request_timeout_ms = 1000;  // a coordinated get/put waits this long
  int anti_entropy_interval_ms = 2000;
  int handoff_interval_ms = 1000;

  // Optional: 64 hex digits, the secret that signs context tokens, the same
  // on every node (context_key.h). Keep the file private when it is set.
  std::string context_key;

  // Parses and validates; errors name the offending field.
  static Status Parse(const std::string& json_text, ClusterConfig& out);
  static Status Load(const std::string& path, ClusterConfig& out);
  Status Validate() const;

  // Index of the node with this id, or -1.
  int IndexOf(const std::string& id) const;
};

// A single-node cluster (n = r = w = 1) for `dynastore --http` without --cluster.
ClusterConfig SingleNodeCluster(const std::string& id, const Endpoint& http);

}  // namespace dynastore
