// HintedHandoff: delivers the hints this node holds (versions written here
// while their owner was unreachable, Storage::UpdateHint) to their owners
// once the failure detector sees them up again (Dynamo §4.6). A hint is
// deleted only after the owner acknowledged a durable merge, and only if it
// did not grow meanwhile, so no hinted write is ever dropped.
//
// Thread-safe; rounds run on the io_context every `interval` and right after
// an owner comes back. Everything referenced must outlive it; Stop() first.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>

#include "store/periodic_task.h"

namespace dynastore {

class FailureDetector;
class Peers;
class Storage;

class HintedHandoff {
 public:
  // Storage work (scans, deleting delivered hints) runs on `blocking`.
  HintedHandoff(boost::asio::io_context& io, boost::asio::thread_pool& blocking, std::chrono::milliseconds interval,
                Storage& storage, Peers& peers, FailureDetector& detector);
  ~HintedHandoff();
  void Start();
  void Stop();
  // Starts a round now unless one is running (the detector calls this).
  void Kick();

  // /status: hints pending at the last scan, delivered and failed so far.
  nlohmann::json ToJson() const;

  struct Round;  // defined in the .cc

 private:
  void PostRound();  // RunRound on `blocking_`
  void RunRound();
  void Finish();  // a round ended

  boost::asio::thread_pool& blocking_;
  Storage& storage_;
  Peers& peers_;
  FailureDetector& detector_;
  PeriodicTask task_;  // posts RunRound; a round's end schedules the next

  mutable std::mutex mu_;
  bool running_ = false;
  uint64_t pending_ = 0, delivered_ = 0, failed_ = 0;
};

}  // namespace dynastore
