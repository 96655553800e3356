#include "store/failure_detector.h"

#include "store/replica_protocol.h"

namespace dynastore {

FailureDetector::FailureDetector(boost::asio::io_context& io, const ClusterConfig& config, Peers& peers)
    : peers_(peers),
      interval_(config.heartbeat_interval_ms),
      timeout_(config.failure_timeout_ms),
      task_(io, interval_, [this] { Tick(); }),
      states_(config.nodes.size()) {
  for (auto& s : states_) s.last_ok = Clock::now();
}

void FailureDetector::Start() { Tick(); }

void FailureDetector::Stop() { task_.Stop(); }

bool FailureDetector::IsUp(int node) const {
  if (node == peers_.self()) return true;
  std::lock_guard<std::mutex> lock(mu_);
  return states_[node].up;
}

void FailureDetector::Tick() {
  for (int node = 0; node < peers_.size(); ++node) {
    if (node == peers_.self()) continue;
    peers_.Call(node, rpc::kPing, peers_.id(peers_.self()), interval_,
                [this, node](Status s, std::string) { Record(node, s); });
  }
  task_.Schedule();
}

void FailureDetector::Record(int node, const Status& status) {
  bool came_up = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    State& st = states_[node];
    const auto now = Clock::now();
    bool up = st.up;
    if (status.ok()) {
      st.last_ok = now;
      up = true;
    } else if (now - st.last_ok > timeout_ || (status.code() == Status::Code::kUnavailable &&
                                               status.message().find(kConnectRefused) != std::string::npos)) {
      // Silent for too long, or refused outright. A call failed fast during
      // the RPC client's reconnect backoff proves nothing (a paused node).
      up = false;
    }
    if (up != st.up) {
      st.up = up;
      ++st.changes;
      came_up = up;
    }
  }
  if (came_up && on_up_) on_up_(node);
}

nlohmann::json FailureDetector::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json view = nlohmann::json::object();
  const auto now = Clock::now();
  for (int node = 0; node < peers_.size(); ++node) {
    const State& st = states_[node];
    bool self = node == peers_.self();
    view[peers_.id(node)] = {
        {"up", self || st.up},
        {"self", self},
        {"last_heartbeat_ms_ago",
         self ? 0 : std::chrono::duration_cast<std::chrono::milliseconds>(now - st.last_ok).count()},
        {"changes", st.changes}};
  }
  return view;
}

}  // namespace dynastore
