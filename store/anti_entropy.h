// AntiEntropy: Dynamo's replica synchronization (§4.7). Periodically, for
// every partition this node replicates and every other replica of it that
// is up, compare Merkle trees over the partition's key digests, descending
// only into subtrees whose hashes differ, then exchange the differing keys
// both ways. Version sets are merged, never overwritten, so anti-entropy can
// only add causal knowledge, and replicas that keep exchanging converge.
//
// Thread-safe; runs its rounds on the io_context. Everything it references
// must outlive it; call Stop() before destroying them.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "store/periodic_task.h"

namespace dynastore {

class Coordinator;
class DigestIndex;
class FailureDetector;
class Peers;
class Ring;

class AntiEntropy {
 public:
  // Storage work (merging pulled versions) runs on `blocking`, never on the
  // RPC threads whose callbacks deliver the versions.
  AntiEntropy(boost::asio::io_context& io, boost::asio::thread_pool& blocking, std::chrono::milliseconds interval,
              const Ring& ring, Peers& peers, FailureDetector& detector, DigestIndex& index, Coordinator& coordinator);
  ~AntiEntropy();
  void Start();  // first round after one interval
  void Stop();

  // /status: rounds run, keys exchanged, duration of the last round.
  nlohmann::json ToJson() const;

  struct Exchange;  // one partition with one peer; defined in the .cc
  struct Round;

 private:
  void RunRound();

  boost::asio::io_context& io_;
  boost::asio::thread_pool& blocking_;
  const Ring& ring_;
  Peers& peers_;
  FailureDetector& detector_;
  DigestIndex& index_;
  Coordinator& coordinator_;
  PeriodicTask task_;  // runs RunRound; a round's end schedules the next

  mutable std::mutex mu_;
  uint64_t rounds_ = 0;
  uint64_t exchanges_ = 0;
  std::atomic<uint64_t> keys_pulled_{0}, keys_pushed_{0};
  int64_t last_round_ms_ = 0;
};

}  // namespace dynastore
