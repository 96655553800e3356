#include "store/anti_entropy.h"

#include <boost/asio/post.hpp>
#include <map>
#include <set>

#include "store/coordinator.h"
#include "store/digest_index.h"
#include "store/failure_detector.h"
#include "store/merkle_tree.h"
#include "store/peers.h"
#include "store/replica_protocol.h"
#include "store/ring.h"

namespace dynastore {

namespace {
// Keys synchronized at once per exchange: enough to fill the pipe, few
// enough that a large divergence does not flood the peer.
constexpr size_t kKeysInFlight = 64;
}  // namespace

// One exchange walks the tree top-down. Each step asks the peer for the
// hashes of the nodes that differed one level up; at the leaves it asks for
// the (key, digest) pairs of the differing buckets and syncs each key whose
// digest differs or is missing on either side.
struct AntiEntropy::Exchange : std::enable_shared_from_this<AntiEntropy::Exchange> {
  AntiEntropy& ae;
  int partition;
  int peer;
  MerkleTree local;
  std::function<void()> on_done;
  bool finished = false;
  std::vector<std::string> keys;  // to sync
  size_t next_key = 0;
  size_t in_flight = 0;
  std::mutex mu;

  Exchange(AntiEntropy& a, int p, int peer_node, std::function<void()> d)
      : ae(a), partition(p), peer(peer_node), local(a.index_.Tree(p)), on_done(std::move(d)) {}

  void done() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (finished) return;
      finished = true;
    }
    on_done();
  }

  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(2000); }

  void Descend(int level, std::vector<uint32_t> indexes) {
    rpc::MerkleHashesRequest req{static_cast<uint32_t>(partition), static_cast<uint32_t>(level), indexes};
    auto self = shared_from_this();
    ae.peers_.Call(peer, rpc::kMerkleHashes, rpc::Encode(req), timeout(),
                   [self, level, indexes = std::move(indexes)](Status s, std::string payload) {
                     std::vector<uint64_t> remote;
                     if (!s.ok() || !rpc::DecodeHashes(payload, remote) || remote.size() != indexes.size()) {
                       return self->done();  // peer unreachable or confused: next round
                     }
                     std::vector<uint64_t> mine = self->local.Hashes(level, indexes);
                     std::vector<uint32_t> differing;
                     for (size_t i = 0; i < indexes.size(); ++i) {
                       if (mine[i] != remote[i]) differing.push_back(indexes[i]);
                     }
                     if (differing.empty()) return self->done();
                     if (level == MerkleTree::kDepth) return self->CompareBuckets(std::move(differing));
                     std::vector<uint32_t> children;
                     for (uint32_t idx : differing) {
                       for (uint32_t c : MerkleTree::Children(idx)) children.push_back(c);
                     }
                     self->Descend(level + 1, std::move(children));
                   });
  }

  void CompareBuckets(std::vector<uint32_t> buckets) {
    rpc::BucketKeysRequest req{static_cast<uint32_t>(partition), buckets};
    auto self = shared_from_this();
    ae.peers_.Call(peer, rpc::kBucketKeys, rpc::Encode(req), timeout(),
                   [self, buckets = std::move(buckets)](Status s, std::string payload) {
                     std::vector<std::pair<std::string, uint64_t>> remote;
                     if (!s.ok() || !rpc::DecodeKeyDigests(payload, remote)) return self->done();
                     auto mine = self->ae.index_.KeysInBuckets(self->partition, buckets);
                     std::map<std::string, uint64_t> local(mine.begin(), mine.end());
                     std::set<std::string> differing;
                     for (const auto& [key, digest] : remote) {
                       auto it = local.find(key);
                       if (it == local.end() || it->second != digest) differing.insert(key);
                       if (it != local.end()) local.erase(it);
                     }
                     for (const auto& [key, digest] : local) differing.insert(key);  // only here
                     self->keys.assign(differing.begin(), differing.end());
                     self->Pump();
                   });
  }

  // Keeps up to kKeysInFlight key syncs running until every key is done.
  void Pump() {
    std::vector<std::string> start;
    bool all_synced;
    {
      std::lock_guard<std::mutex> lock(mu);
      while (in_flight < kKeysInFlight && next_key < keys.size()) {
        start.push_back(keys[next_key++]);
        ++in_flight;
      }
      all_synced = in_flight == 0 && next_key == keys.size();
    }
    if (all_synced) return done();
    for (auto& key : start) SyncKey(std::move(key));
  }

  // Pull the peer's versions of the key and merge them here; then push our
  // merged set back if the peer lacked anything.
  void SyncKey(std::string key) {
    auto self = shared_from_this();
    ae.peers_.Call(peer, rpc::kGetLocal, key, timeout(), [self, key](Status s, std::string payload) {
      boost::asio::post(self->ae.blocking_, [self, key, s = std::move(s), payload = std::move(payload)]() {
        self->Merge(key, s, payload);
      });
    });
  }

  void Merge(const std::string& key, const Status& s, const std::string& payload) {
    auto self = shared_from_this();
    {
      VersionSet remote;
      if (s.ok() && VersionSet::Decode(payload, remote).ok()) {
        if (!remote.empty()) {
          self->ae.coordinator_.MergeLocal(key, remote, "");
          self->ae.keys_pulled_++;
        }
        VersionSet mine;
        if (self->ae.coordinator_.ReadLocal(key, mine).ok() && !(mine == remote)) {
          self->ae.keys_pushed_++;
          rpc::MergeRequest m{key, std::move(mine), ""};
          self->ae.peers_.Call(self->peer, rpc::kMerge, rpc::Encode(m), self->timeout(),
                               [self](Status, std::string) { self->KeyDone(); });
          return;
        }
      }
    }
    KeyDone();
  }

  void KeyDone() {
    {
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
    }
    Pump();
  }
};

AntiEntropy::AntiEntropy(boost::asio::io_context& io, boost::asio::thread_pool& blocking,
                         std::chrono::milliseconds interval, const Ring& ring, Peers& peers, FailureDetector& detector,
                         DigestIndex& index, Coordinator& coordinator)
    : io_(io),
      blocking_(blocking),
      ring_(ring),
      peers_(peers),
      detector_(detector),
      index_(index),
      coordinator_(coordinator),
      task_(io, interval, [this] { RunRound(); }) {}

AntiEntropy::~AntiEntropy() { Stop(); }

void AntiEntropy::Start() { task_.Schedule(); }

void AntiEntropy::Stop() { task_.Stop(); }

// Runs a round's exchanges one after another, so a round costs the peers
// little; the next round is scheduled when this one ends.
struct AntiEntropy::Round : std::enable_shared_from_this<AntiEntropy::Round> {
  AntiEntropy& ae;
  std::vector<std::pair<int, int>> work;  // (partition, peer)
  size_t next = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  explicit Round(AntiEntropy& a) : ae(a) {}

  void Next() {
    if (ae.task_.stopped()) return;
    {
      std::lock_guard<std::mutex> lock(ae.mu_);
      if (next == work.size()) {
        ++ae.rounds_;
        ae.last_round_ms_ =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
      } else {
        ++ae.exchanges_;
      }
    }
    if (next == work.size()) return ae.task_.Schedule();
    auto [partition, peer] = work[next++];
    auto self = shared_from_this();
    auto ex = std::make_shared<Exchange>(ae, partition, peer, [self]() {
      boost::asio::post(self->ae.io_, [self]() { self->Next(); });  // unwind the stack between exchanges
    });
    ex->Descend(0, {0});
  }
};

void AntiEntropy::RunRound() {
  auto round = std::make_shared<Round>(*this);
  const int self = peers_.self();
  for (int p : ring_.PartitionsOf(self)) {
    const auto& walk = ring_.Walk(p);
    for (int i = 0; i < ring_.n(); ++i) {
      if (walk[i] != self && detector_.IsUp(walk[i])) round->work.emplace_back(p, walk[i]);
    }
  }
  round->Next();
}

nlohmann::json AntiEntropy::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {{"interval_ms", task_.interval().count()},
          {"rounds", rounds_},
          {"exchanges", exchanges_},
          {"keys_pulled", keys_pulled_.load()},
          {"keys_pushed", keys_pushed_.load()},
          {"last_round_ms", last_round_ms_}};
}

}  // namespace dynastore
