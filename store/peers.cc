#include "store/peers.h"

#include <boost/asio/post.hpp>

namespace dynastore {

Peers::Peers(boost::asio::io_context& io, const ClusterConfig& config, int self, RpcServer::Handler local)
    : io_(io), self_(self), local_(std::move(local)) {
  for (int i = 0; i < static_cast<int>(config.nodes.size()); ++i) {
    ids_.push_back(config.nodes[i].id);
    clients_.push_back(i == self ? nullptr : std::make_unique<RpcClient>(io, config.nodes[i].rpc));
  }
}

Peers::~Peers() { Close(); }

void Peers::Close() {
  for (auto& c : clients_) {
    if (c) c->Close();
  }
}

int Peers::IndexOf(std::string_view id) const {
  for (int i = 0; i < size(); ++i) {
    if (ids_[i] == id) return i;
  }
  return -1;
}

void Peers::Call(int node, uint8_t method, std::string payload, std::chrono::milliseconds timeout, Callback done) {
  if (node != self_) {
    clients_[node]->Call(method, std::move(payload), timeout, std::move(done));
    return;
  }
  // Posted, not called inline, so a caller holding a lock never re-enters
  // itself and completion order matches the remote case.
  boost::asio::post(io_, [this, method, payload = std::move(payload), done = std::move(done)]() mutable {
    local_(method, std::move(payload),
           [done = std::move(done)](Status s, std::string reply) mutable { done(std::move(s), std::move(reply)); });
  });
}

}  // namespace dynastore
