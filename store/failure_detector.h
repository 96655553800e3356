// FailureDetector: this node's own view of which nodes are up, from
// periodic heartbeats (rpc::kPing) to every peer. A peer is down once no
// heartbeat has succeeded for failure_timeout_ms, or at once when its
// connection is refused (a killed process; a paused one is not refused). Views of different nodes may disagree; that is
// Dynamo (§4.8), and the sloppy quorum is built to live with it.
//
// Thread-safe. Start() schedules the heartbeats on the io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "store/cluster_config.h"
#include "store/peers.h"
#include "store/periodic_task.h"

namespace dynastore {

class FailureDetector {
 public:
  FailureDetector(boost::asio::io_context& io, const ClusterConfig& config, Peers& peers);
  void Start();
  void Stop();

  bool IsUp(int node) const;
  // Called (on an io thread) when a node is seen up again after being down.
  void OnUp(std::function<void(int node)> callback) { on_up_ = std::move(callback); }
  // /status: {"n1":{"up":true,"last_heartbeat_ms_ago":12,"changes":3},...}
  nlohmann::json ToJson() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct State {
    bool up = true;  // optimistic at start: a fresh cluster boots together
    Clock::time_point last_ok;
    int changes = 0;
  };
  void Tick();
  void Record(int node, const Status& status);

  Peers& peers_;
  std::chrono::milliseconds interval_, timeout_;
  PeriodicTask task_;  // runs Tick
  mutable std::mutex mu_;
  std::vector<State> states_;
  std::function<void(int)> on_up_;
};

}  // namespace dynastore
