// Fault: one kind of fault the nemesis can inject (partition, loss, kill,
// pause, clock). The scheduler calls Start, holds, then Stop; the final
// heal (and every clean-up path: Ctrl-C, exceptions) calls HealAll then
// Verify. Everything acts through the nodes' Remote seam and the Database
// adapter, so it works alike on local namespace nodes and SSH hosts.
//
// Start/Stop are called from one thread at a time (the scheduler's);
// HealAll/Verify may run after the scheduler stopped. Not thread-safe otherwise.
#pragma once

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "harness/api/database.h"

namespace faultline {

class Fault {
 public:
  virtual ~Fault() = default;
  // "partition", "loss", "kill", "pause", "clock".
  virtual std::string name() const = 0;
  // Injects the fault, choosing targets (and kind, grudge, skew...) from
  // `rng` only, so a seed gives the same schedule. Returns the detail
  // recorded in the history, at least {"targets":[nodes]} (partitions add
  // "kind" and "grudge"). Throws HarnessError when injection fails; what
  // was already injected must still be undone by Stop/HealAll.
  virtual nlohmann::json Start(std::mt19937_64& rng) = 0;
  // Undoes what the last Start did. Returns the detail for the history.
  // Throws HarnessError.
  virtual nlohmann::json Stop() = 0;
  // Removes every trace of this fault kind from every node, whatever state
  // it is in; idempotent. Throws HarnessError listing what failed.
  virtual nlohmann::json HealAll() = 0;
  // Problems left (a rule still in a node, a process still stopped or
  // dead, a clock still skewed); empty when healed.
  virtual std::vector<std::string> Verify() = 0;
};

}  // namespace faultline
