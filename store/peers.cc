#include "store/peers.h"

#include <boost/asio/post.hpp>

#include "store/event_loops.h"

namespace dynastore {

Peers::Peers(boost::asio::io_context& io, EventLoops* loops, const ClusterConfig& config, int self,
             RpcServer::Handler local)
    : io_(io), loops_(loops), self_(self), local_(std::move(local)) {
  for (int i = 0; i < static_cast<int>(config.nodes.size()); ++i) {
    ids_.push_back(config.nodes[i].id);
    std::vector<std::unique_ptr<RpcClient>>& clients = clients_.emplace_back();
    if (i == self) continue;
    clients.push_back(std::make_unique<RpcClient>(io, config.nodes[i].rpc));
    for (int l = 0; loops && l < loops->size(); ++l) {
      clients.push_back(std::make_unique<RpcClient>(loops->at(l), config.nodes[i].rpc));
    }
  }
}

Peers::~Peers() { Close(); }

void Peers::Close() {
  for (auto& clients : clients_) {
    for (auto& c : clients) c->Close();
  }
}

int Peers::IndexOf(std::string_view id) const {
  for (int i = 0; i < size(); ++i) {
    if (ids_[i] == id) return i;
  }
  return -1;
}

int Peers::CurrentLoop() const { return loops_ ? loops_->current() : -1; }

void Peers::Call(int node, uint8_t method, std::string payload, std::chrono::milliseconds timeout, Callback done) {
  const int loop = CurrentLoop();
  if (node != self_) {
    clients_[node][loop + 1]->Call(method, std::move(payload), timeout, std::move(done));
    return;
  }
  // Posted, not called inline, so a caller holding a lock never re-enters
  // itself and completion order matches the remote case.
  boost::asio::post(loop >= 0 ? loops_->at(loop) : io_,
                    [this, method, payload = std::move(payload), done = std::move(done)]() mutable {
                      local_(method, std::move(payload), [done = std::move(done)](Status s, std::string reply) mutable {
                        done(std::move(s), std::move(reply));
                      });
                    });
}

}  // namespace dynastore
