#include "store/hinted_handoff.h"

#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/failure_detector.h"
#include "store/peers.h"
#include "store/replica_protocol.h"
#include "store/storage.h"

namespace dynastore {

namespace {
constexpr size_t kHintsInFlight = 64;
constexpr size_t kHintsPerRound = 20000;  // bounds a round's memory
}  // namespace

struct HintedHandoff::Round : std::enable_shared_from_this<HintedHandoff::Round> {
  struct Hint {
    std::string key;
    int owner;
    VersionSet set;
  };
  HintedHandoff& hh;
  std::vector<Hint> hints;
  size_t next = 0, in_flight = 0;
  std::mutex mu;

  explicit Round(HintedHandoff& h) : hh(h) {}

  void Pump() {
    std::vector<size_t> start;
    bool finished;
    {
      std::lock_guard<std::mutex> lock(mu);
      while (in_flight < kHintsInFlight && next < hints.size()) {
        start.push_back(next++);
        ++in_flight;
      }
      finished = in_flight == 0 && next == hints.size();
    }
    if (finished) return hh.Finish();
    for (size_t i : start) Deliver(i);
  }

  void Deliver(size_t i) {
    auto self = shared_from_this();
    const Hint& h = hints[i];
    rpc::MergeRequest m{h.key, h.set, ""};
    hh.peers_.Call(
        h.owner, rpc::kMerge, rpc::Encode(m), std::chrono::milliseconds(2000), [self, i](Status s, std::string) {
          boost::asio::post(self->hh.blocking_, [self, i, s = std::move(s)]() mutable { self->Delivered(i, s); });
        });
  }

  void Delivered(size_t i, Status s) {
    const Hint& h = hints[i];
    bool deleted = false;
    if (s.ok()) s = hh.storage_.DeleteHintIf(h.key, hh.peers_.id(h.owner), h.set, deleted);
    {
      std::lock_guard<std::mutex> lock(hh.mu_);
      (s.ok() ? hh.delivered_ : hh.failed_)++;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
    }
    Pump();
  }
};

HintedHandoff::HintedHandoff(boost::asio::io_context& io, boost::asio::thread_pool& blocking,
                             std::chrono::milliseconds interval, Storage& storage, Peers& peers,
                             FailureDetector& detector)
    : blocking_(blocking),
      storage_(storage),
      peers_(peers),
      detector_(detector),
      task_(io, interval, std::bind_front(&HintedHandoff::PostRound, this)) {}

HintedHandoff::~HintedHandoff() { Stop(); }

void HintedHandoff::Start() { task_.Schedule(); }

void HintedHandoff::Stop() { task_.Stop(); }

void HintedHandoff::PostRound() {
  boost::asio::post(blocking_, [this]() { RunRound(); });
}

void HintedHandoff::Kick() { PostRound(); }

void HintedHandoff::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
  }
  task_.Schedule();
}

void HintedHandoff::RunRound() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (task_.stopped() || running_) return;
    running_ = true;
    task_.Cancel();  // a kicked round: the next starts one interval after it ends
  }
  auto round = std::make_shared<Round>(*this);
  uint64_t pending = 0;
  Status s = storage_.ForEachHint([&](std::string_view key, std::string_view owner, const VersionSet& set) {
    ++pending;
    int node = peers_.IndexOf(owner);
    if (node < 0 || node == peers_.self()) return;  // not a member any more (or ourselves): keep it
    if (!detector_.IsUp(node) || round->hints.size() >= kHintsPerRound) return;
    round->hints.push_back({std::string(key), node, set});
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = pending;
    if (!s.ok()) ++failed_;
  }
  round->Pump();
}

nlohmann::json HintedHandoff::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {{"pending", pending_}, {"delivered", delivered_}, {"failed", failed_}};
}

}  // namespace dynastore
