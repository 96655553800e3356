// TEMPORARY STUB (branch lin-work only): the declaration of LIN-CHECK's
// linearizable checker (lin_common.md) with a trivial definition, so the
// cas-register workload compiles before branch lin-check is merged. The merge
// replaces this file with the real header; take lin-check's version.
#pragma once

#include <cstdint>
#include <memory>

#include "checkers/checker.h"

namespace faultline {

enum class LinModel { kRegister, kCasRegister };

struct LinearizableOptions {
  LinModel model = LinModel::kCasRegister;
  double time_limit_s = 10;
  int64_t memory_mb = 512;
  bool all_keys = false;
  int threads = 0;  // 0 = hardware_concurrency
};

// Stub: says "unknown" for every history.
inline std::unique_ptr<Checker> MakeLinearizableChecker(LinearizableOptions options) {
  class Stub : public Checker {
   public:
    std::string name() const override { return "linearizable"; }
    void Add(const Op&) override {}
    CheckResult Finish() override {
      return {Validity::kUnknown, nlohmann::json::object(), "stub: the linearizable checker is not merged yet"};
    }
  };
  (void)options;
  return std::make_unique<Stub>();
}

}  // namespace faultline
