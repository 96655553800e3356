// Clock skew with libfaketime (Debian package faketime): the DB adapter
// starts the store with libfaketime preloaded, reading its offset from
// <node dir>/faketime.rc (ClockFile()); this fault rewrites that file
// through the Remote. Only the wall clock is skewed (DONT_FAKE_MONOTONIC=1):
// timeouts keep working, timestamps (last-write-wins!) go wrong.
//   bump    each target's clock moves by a random offset in [-skew, +skew] ms
//   strobe  each target's clock flips between 0 and +skew every strobe period
//   reset   offset 0 (Stop, HealAll)
//
// The file holds libfaketime's relative offset in seconds ("+30.000",
// "-1.250"). libfaketime re-reads it at most once per real second
// (FAKETIME_CACHE_DURATION=0), so a rewrite reaches the store within 1 s;
// a strobe period well under 1 s is therefore seen as a coarser flip.
// Before the store first starts, the runner calls SetClockOffset(node, 0)
// on every node, so the file exists from the store's first clock read.
// FaketimeEnv and ClockFault's constructor throw HarnessError when
// libfaketime is missing on a node, naming the package.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "nemesis/fault.h"
#include "nemesis/nemesis_config.h"

namespace faultline {

// Where a node's offset file lives, and what the store's environment needs.
std::string ClockFile(const NodeInfo& node);
// LD_PRELOAD=<libfaketime>, FAKETIME_TIMESTAMP_FILE=ClockFile(node), ...
// (looks the library up on the node through its Remote: a DynastoreOptions
// node_env). Throws HarnessError when libfaketime is not installed.
Env FaketimeEnv(const NodeInfo& node);
// Writes an offset (ms) to the node's clock file (uploaded through the
// node's Remote, which replaces it atomically). Thread-safe.
void SetClockOffset(const NodeInfo& node, int64_t offset_ms);

class ClockFault : public Fault {
 public:
  ClockFault(std::vector<NodeInfo> nodes, const NemesisConfig& config);
  ~ClockFault() override;  // stops a strobe
  std::string name() const override { return "clock"; }
  nlohmann::json Start(std::mt19937_64& rng) override;  // {"targets","mode":"bump"|"strobe","offsets_ms"|...}
  nlohmann::json Stop() override;
  nlohmann::json HealAll() override;
  std::vector<std::string> Verify() override;

 private:
  void StopStrobe();
  // Stops a strobe and sets the offset of the nodes in `names` (every node
  // when null) to 0; throws "<what> failed: ..." naming the nodes it could not.
  nlohmann::json Reset(const std::vector<std::string>* names, const std::string& what);
  std::vector<NodeInfo> nodes_;
  NemesisConfig config_;
  std::vector<std::string> skewed_;
  std::atomic<bool> strobing_{false};
  std::thread strobe_;
};

}  // namespace faultline
