#include "workloads/cas_register_workload.h"

#include <stdexcept>

#include "checkers/stats_checker.h"

namespace faultline {

CasRegisterWorkload::CasRegisterWorkload(CasRegisterWorkloadOptions options)
    : options_(options), next_key_(options.keys + 1) {
  const CasMix& m = options_.mix;
  if (options_.keys < 1 || options_.ops_per_key < 1 || options_.max_value < 0 || m.read < 0 || m.write < 0 ||
      m.cas < 0 || m.read + m.write + m.cas == 0) {
    throw std::invalid_argument("cas-register: keys and ops_per_key must be >= 1, the mix non-negative and not empty");
  }
  for (int i = 1; i <= options_.keys; ++i) slots_.push_back(Slot{"k" + std::to_string(i), 0, {}});
}

int64_t CasRegisterWorkload::NewValue(std::mt19937_64& rng, Slot& slot) {
  if (!options_.unique_values) return std::uniform_int_distribution<int64_t>(0, options_.max_value)(rng);
  const int64_t v = next_value_++;
  slot.recent.push_back(v);
  if (slot.recent.size() > kRecentValues) slot.recent.pop_front();
  return v;
}

Invocation CasRegisterWorkload::Next(std::mt19937_64& rng) {
  Slot& slot = slots_[std::uniform_int_distribution<size_t>(0, slots_.size() - 1)(rng)];
  if (slot.ops >= options_.ops_per_key) {  // this key's history is long enough: a fresh one
    slot = Slot{"k" + std::to_string(next_key_++), 0, {}};
  }
  ++slot.ops;
  const CasMix& m = options_.mix;
  const int draw = std::uniform_int_distribution<int>(0, m.read + m.write + m.cas - 1)(rng);
  if (draw < m.read) return Invocation{"read", slot.key, nullptr};
  if (draw >= m.read + m.write) {
    if (!options_.unique_values) {
      std::uniform_int_distribution<int64_t> value(0, options_.max_value);
      const int64_t expected = value(rng);
      return Invocation{"cas", slot.key, {expected, value(rng)}};
    }
    if (!slot.recent.empty()) {
      const int64_t expected = slot.recent[std::uniform_int_distribution<size_t>(0, slot.recent.size() - 1)(rng)];
      return Invocation{"cas", slot.key, {expected, NewValue(rng, slot)}};
    }
    // Nothing written to this key yet: a cas could only fail, so write instead.
  }
  return Invocation{"write", slot.key, NewValue(rng, slot)};
}

std::vector<Invocation> CasRegisterWorkload::FinalReads() const {
  std::vector<Invocation> reads;
  for (const Slot& slot : slots_) reads.push_back(Invocation{"read", slot.key, nullptr});
  return reads;
}

LinearizableOptions CasRegisterWorkload::CheckerOptions() const {
  LinearizableOptions o = options_.checker;
  o.model = options_.mix.cas > 0 ? LinModel::kCasRegister : LinModel::kRegister;
  return o;
}

std::vector<std::unique_ptr<Checker>> CasRegisterWorkload::Checkers() const {
  std::vector<std::unique_ptr<Checker>> checkers;
  checkers.push_back(MakeLinearizableChecker(CheckerOptions()));
  checkers.push_back(std::make_unique<StatsChecker>());
  return checkers;
}

}  // namespace faultline
