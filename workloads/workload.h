// Workload: what clients do. It makes the main phase's invocations (from the
// generator's seeded RNG), the final reads, and names the checkers that
// apply. How an invocation maps onto a store call is the store's Client.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "checkers/checker.h"

namespace faultline {

struct Invocation {
  std::string f;
  std::string key;
  nlohmann::json value;  // null when the op carries none (reads)
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string name() const = 0;
  // The next main-phase invocation. Deterministic given the RNG's state;
  // called under the generator's lock, so it need not be thread-safe.
  virtual Invocation Next(std::mt19937_64& rng) = 0;
  // Final-phase invocations, issued once against every node.
  virtual std::vector<Invocation> FinalReads() const = 0;
  // Every key the workload touches (for replica reads after the final reads).
  virtual std::vector<std::string> Keys() const = 0;
  virtual std::vector<std::unique_ptr<Checker>> Checkers() const = 0;
};

}  // namespace faultline
