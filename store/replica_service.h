// ReplicaService: the server side of the internal RPC (replica_protocol.h):
// answers heartbeats, serves this node's versions of a key, merges replica
// writes durably before acknowledging them, coordinates forwarded writes,
// and answers Merkle-tree questions for anti-entropy.
//
// Thread-safe; Handle is the RpcServer handler and Peers' local handler.
// Heartbeats are answered at once on the calling (io) thread; anything that
// touches storage runs on `blocking`, so an fsync never delays a heartbeat
// or the other requests of a connection. Writes (merges, forwarded puts)
// are the exception: with sync, storage commits them on its own thread, so
// they are queued from the io thread and answered when durable; without,
// they wait on no disk and run on the io thread, as the HTTP API's do.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <string>

#include "store/rpc_server.h"

namespace dynastore {

class Coordinator;
class DigestIndex;
class Ring;

class ReplicaService {
 public:
  ReplicaService(std::string node_id, Coordinator& coordinator, DigestIndex& index, const Ring& ring,
                 boost::asio::thread_pool& blocking);
  void Handle(uint8_t method, std::string payload, RpcServer::Responder respond);

 private:
  void HandleBlocking(uint8_t method, std::string payload, RpcServer::Responder respond);

  std::string node_id_;
  Coordinator& coordinator_;
  DigestIndex& index_;
  const Ring& ring_;
  boost::asio::thread_pool& blocking_;
};

}  // namespace dynastore
