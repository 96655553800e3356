// The node-to-node methods carried by the internal RPC (rpc_client.h /
// rpc_server.h) and the byte layout of their payloads (doc/rpc.md,
// "Methods"). Every decoder rejects truncated or trailing bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/causal_context.h"
#include "store/version_set.h"

namespace dynastore::rpc {

enum Method : uint8_t {
  kPing = 1,          // sender id -> responder id (failure detection)
  kGetLocal = 2,      // key -> this node's versions of it (owned and hinted)
  kMerge = 3,         // key, set, hint owner -> ack once durable
  kCoordinate = 4,    // a client write forwarded to an owner -> new context
  kMerkleHashes = 5,  // partition, level, indexes -> hashes
  kBucketKeys = 6,    // partition, buckets -> (key, digest) pairs
};
const char* MethodName(uint8_t method);

struct MergeRequest {
  std::string key;
  VersionSet set;
  std::string hint_for;  // empty: the receiver owns the key; else the owner it stands in for
};

struct CoordinateRequest {
  std::string key;
  std::optional<CausalContext> context;  // nullopt: delete without a context
  std::optional<std::string> value;      // nullopt: delete
  int w = 0;                             // 0: the cluster default
};

struct MerkleHashesRequest {
  uint32_t partition = 0;
  uint32_t level = 0;
  std::vector<uint32_t> indexes;
};

struct BucketKeysRequest {
  uint32_t partition = 0;
  std::vector<uint32_t> buckets;
};

std::string Encode(const MergeRequest& m);
bool Decode(std::string_view in, MergeRequest& m);
std::string Encode(const CoordinateRequest& m);
bool Decode(std::string_view in, CoordinateRequest& m);
std::string Encode(const MerkleHashesRequest& m);
bool Decode(std::string_view in, MerkleHashesRequest& m);
std::string Encode(const BucketKeysRequest& m);
bool Decode(std::string_view in, BucketKeysRequest& m);

std::string EncodeContext(const CausalContext& c);
bool DecodeContext(std::string_view in, CausalContext& c);
std::string EncodeHashes(const std::vector<uint64_t>& hashes);
bool DecodeHashes(std::string_view in, std::vector<uint64_t>& hashes);
std::string EncodeKeyDigests(const std::vector<std::pair<std::string, uint64_t>>& pairs);
bool DecodeKeyDigests(std::string_view in, std::vector<std::pair<std::string, uint64_t>>& pairs);

}  // namespace dynastore::rpc
