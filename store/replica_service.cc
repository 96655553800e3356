#include "store/replica_service.h"

#include <boost/asio/post.hpp>

#include "store/coordinator.h"
#include "store/digest_index.h"
#include "store/merkle_tree.h"
#include "store/replica_protocol.h"
#include "store/ring.h"

namespace dynastore {

ReplicaService::ReplicaService(std::string node_id, Coordinator& coordinator, DigestIndex& index, const Ring& ring,
                               boost::asio::thread_pool& blocking)
    : node_id_(std::move(node_id)), coordinator_(coordinator), index_(index), ring_(ring), blocking_(blocking) {}

void ReplicaService::Handle(uint8_t method, std::string payload, RpcServer::Responder respond) {
  if (method == rpc::kPing) {
    respond(Status::Ok(), node_id_);
    return;
  }
  if (method == rpc::kGetLocal) {
    // Most replica reads find their record in memory: answer them here, in
    // the connection's batch, rather than hop to a blocking thread and back.
    VersionSet set;
    Status s;
    if (coordinator_.ReadLocalFromMemory(payload, set, s)) {
      respond(s, s.ok() ? set.Encode() : "");
      return;
    }
  }
  if (method == rpc::kMerge || method == rpc::kCoordinate) {
    // With sync, storage queues the write and calls back once it is
    // durable: no need to tie up a blocking thread for the fsync. Without,
    // the write waits on no disk and runs here, as an HTTP write does: a
    // hop to a blocking thread and back cost more than the write.
    HandleBlocking(method, std::move(payload), std::move(respond));
    return;
  }
  boost::asio::post(blocking_, [this, method, payload = std::move(payload), respond = std::move(respond)]() mutable {
    HandleBlocking(method, std::move(payload), std::move(respond));
  });
}

void ReplicaService::HandleBlocking(uint8_t method, std::string payload, RpcServer::Responder respond) {
  auto malformed = [&]() {
    respond(Status::InvalidArgument(std::string("malformed ") + rpc::MethodName(method) + " request"), "");
  };
  switch (method) {
    case rpc::kGetLocal: {
      VersionSet set;
      Status s = coordinator_.ReadLocal(payload, set);
      respond(s, s.ok() ? set.Encode() : "");
      return;
    }
    case rpc::kMerge: {
      rpc::MergeRequest m;
      if (!rpc::Decode(payload, m)) return malformed();
      coordinator_.MergeLocalAsync(std::move(m.key), std::move(m.set), std::move(m.hint_for),
                                   [respond = std::move(respond)](Status s) { respond(s, ""); });
      return;
    }
    case rpc::kCoordinate: {
      rpc::CoordinateRequest c;
      if (!rpc::Decode(payload, c)) return malformed();
      coordinator_.CoordinateForwarded(std::move(c), [respond = std::move(respond)](PutReply reply) {
        respond(reply.status, reply.status.ok() ? rpc::EncodeContext(reply.context) : "");
      });
      return;
    }
    case rpc::kMerkleHashes: {
      rpc::MerkleHashesRequest m;
      if (!rpc::Decode(payload, m) || m.partition >= static_cast<uint32_t>(ring_.partitions()) ||
          m.level > static_cast<uint32_t>(MerkleTree::kDepth)) {
        return malformed();
      }
      const uint32_t level_size = MerkleTree::LevelSize(static_cast<int>(m.level));
      for (uint32_t i : m.indexes) {
        if (i >= level_size) return malformed();
      }
      respond(Status::Ok(), rpc::EncodeHashes(index_.Tree(static_cast<int>(m.partition)).Hashes(m.level, m.indexes)));
      return;
    }
    case rpc::kBucketKeys: {
      rpc::BucketKeysRequest m;
      if (!rpc::Decode(payload, m) || m.partition >= static_cast<uint32_t>(ring_.partitions())) return malformed();
      respond(Status::Ok(), rpc::EncodeKeyDigests(index_.KeysInBuckets(static_cast<int>(m.partition), m.buckets)));
      return;
    }
  }
  respond(Status::InvalidArgument("unknown method " + std::to_string(method)), "");
}

}  // namespace dynastore
