// Peers: how this node reaches every node of the cluster, itself included,
// with the internal RPC methods of replica_protocol.h. Calls to itself skip
// the network but go through the same handler, so the coordinator treats
// local and remote replicas alike. Persistent RpcClients to every peer: one
// on the io_context for background work, and one on each of the node's
// EventLoops, so a call made on a loop's thread is sent, answered and called
// back on that thread (event_loops.h says why).
//
// Thread-safe. Callbacks run on the thread of the loop the call was made on,
// or on the io_context's threads for calls from other threads.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/cluster_config.h"
#include "store/rpc_client.h"
#include "store/rpc_server.h"

namespace dynastore {

class EventLoops;

class Peers {
 public:
  using Callback = RpcClient::Callback;
  // `local` serves calls this node makes to itself (the RPC server's handler).
  // `loops` may be null (every call then goes through the io_context).
  Peers(boost::asio::io_context& io, EventLoops* loops, const ClusterConfig& config, int self,
        RpcServer::Handler local);
  ~Peers();

  void Call(int node, uint8_t method, std::string payload, std::chrono::milliseconds timeout, Callback done);
  int self() const { return self_; }
  int size() const { return static_cast<int>(ids_.size()); }
  const std::string& id(int node) const { return ids_[node]; }
  int IndexOf(std::string_view id) const;
  void Close();

 private:
  // The calling thread's loop, or -1.
  int CurrentLoop() const;

  boost::asio::io_context& io_;
  EventLoops* const loops_;
  int self_;
  std::vector<std::string> ids_;
  // clients_[node][0] on io_, [1 + i] on loop i; empty for self.
  std::vector<std::vector<std::unique_ptr<RpcClient>>> clients_;
  RpcServer::Handler local_;
};

}  // namespace dynastore
