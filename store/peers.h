// Peers: how this node reaches every node of the cluster, itself included,
// with the internal RPC methods of replica_protocol.h. Calls to itself skip
// the network but go through the same handler, so the coordinator treats
// local and remote replicas alike. One persistent RpcClient per peer.
//
// Thread-safe. Callbacks run on the io_context's threads.
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

class Peers {
 public:
  using Callback = RpcClient::Callback;
  // `local` serves calls this node makes to itself (the RPC server's handler).
  Peers(boost::asio::io_context& io, const ClusterConfig& config, int self, RpcServer::Handler local);
  ~Peers();

  void Call(int node, uint8_t method, std::string payload, std::chrono::milliseconds timeout, Callback done);
  int self() const { return self_; }
  int size() const { return static_cast<int>(ids_.size()); }
  const std::string& id(int node) const { return ids_[node]; }
  int IndexOf(std::string_view id) const;
  void Close();

 private:
  boost::asio::io_context& io_;
  int self_;
  std::vector<std::string> ids_;
  std::vector<std::unique_ptr<RpcClient>> clients_;  // null for self
  RpcServer::Handler local_;
};

}  // namespace dynastore
