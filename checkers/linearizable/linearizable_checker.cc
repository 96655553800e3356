#include "checkers/linearizable/linearizable_checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "checkers/checker_util.h"
#include "checkers/linearizable/lin_explain.h"
#include "checkers/linearizable/lin_history.h"
#include "checkers/linearizable/lin_search.h"

namespace faultline {

namespace {

constexpr size_t kMaxAnomalies = 20;

struct KeyOutcome {
  bool searched = false;  // false: stopped by an early exit before it was decided
  bool has_cas = false;
  LinSearchResult result;
  std::vector<size_t> sibling_reads;
};

class LinearizableChecker : public Checker {
 public:
  explicit LinearizableChecker(LinearizableOptions options) : options_(options) {}
  std::string name() const override { return "linearizable"; }
  void Add(const Op& op) override { builder_.Add(op); }
  std::string AbsentInput() const override {
    return builder_.kept() == 0 ? "no read, write or cas ops in the history" : "";
  }
  CheckResult Finish() override;

 private:
  void CheckKey(const LinKey& key, KeyOutcome& outcome, std::atomic<bool>& stop) const;
  void CheckKeys(const std::vector<LinKey>& keys, std::vector<KeyOutcome>& outcomes) const;

  LinearizableOptions options_;
  LinHistoryBuilder builder_;
};

void LinearizableChecker::CheckKey(const LinKey& key, KeyOutcome& outcome, std::atomic<bool>& stop) const {
  for (size_t i = 0; i < key.ops.size(); ++i) {
    const LinOp& op = key.ops[i];
    if (op.f == LinF::kRead && op.type == OpType::kOk && op.siblings >= 0) outcome.sibling_reads.push_back(i);
    if (op.f == LinF::kCas) outcome.has_cas = true;
  }
  if (options_.model == LinModel::kRegister && outcome.has_cas) {
    outcome.searched = true;
    outcome.result.verdict = LinVerdict::kUnknown;
    outcome.result.reason = "cas needs the cas-register model";
    return;
  }
  LinBudget budget;
  budget.time_limit_s = options_.time_limit_s;
  budget.memory_bytes = options_.memory_mb << 20;
  budget.cancel = options_.all_keys ? nullptr : &stop;
  outcome.result = SearchLinearization(key, budget);
  outcome.searched = outcome.result.verdict != LinVerdict::kCancelled;
  if (outcome.result.verdict == LinVerdict::kNonLinearizable && !options_.all_keys) stop = true;
}

// Keys are taken in order by `threads` workers; an early exit leaves the rest unsearched.
void LinearizableChecker::CheckKeys(const std::vector<LinKey>& keys, std::vector<KeyOutcome>& outcomes) const {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  auto work = [&] {
    for (size_t i = next++; i < keys.size() && !stop; i = next++) CheckKey(keys[i], outcomes[i], stop);
  };
  size_t threads = options_.threads > 0 ? static_cast<size_t>(options_.threads) : std::thread::hardware_concurrency();
  threads = std::clamp<size_t>(threads, 1, keys.size());
  if (threads <= 1) {
    work();
    return;
  }
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  for (std::thread& t : pool) t.join();
}

CheckResult LinearizableChecker::Finish() {
  const std::vector<LinKey> keys = builder_.TakeKeys();
  const ValueTable& values = builder_.values();
  std::vector<KeyOutcome> outcomes(keys.size());
  if (!keys.empty()) CheckKeys(keys, outcomes);

  int64_t checked = 0, linearizable = 0, nonlin = 0, unknown = 0, siblings = 0, explored = 0, peak = 0;
  nlohmann::json nonlin_anomalies = nlohmann::json::array(), sibling_anomalies = nlohmann::json::array();
  nlohmann::json unknown_keys = nlohmann::json::array();
  std::vector<std::string> unknown_reasons;
  std::string first_sentence;
  for (size_t i = 0; i < keys.size(); ++i) {
    const KeyOutcome& o = outcomes[i];
    if (!o.sibling_reads.empty()) {
      ++siblings;
      if (sibling_anomalies.size() < kMaxAnomalies) {
        sibling_anomalies.push_back(SiblingsAnomaly(keys[i], o.sibling_reads.front(), values));
      }
    }
    if (!o.searched) continue;
    ++checked;
    explored += o.result.explored;
    peak = std::max(peak, o.result.peak_bytes);
    switch (o.result.verdict) {
      case LinVerdict::kLinearizable:
        ++linearizable;
        break;
      case LinVerdict::kNonLinearizable:
        ++nonlin;
        if (nonlin_anomalies.size() < kMaxAnomalies) {
          nonlin_anomalies.push_back(NonLinearizableAnomaly(keys[i], o.result, values));
          if (first_sentence.empty()) first_sentence = nonlin_anomalies.back()["sentence"];
        }
        break;
      default:
        ++unknown;
        unknown_keys.push_back({{"key", keys[i].name}, {"reason", o.result.reason}, {"explored", o.result.explored}});
        if (std::find(unknown_reasons.begin(), unknown_reasons.end(), o.result.reason) == unknown_reasons.end()) {
          unknown_reasons.push_back(o.result.reason);
        }
        break;
    }
  }
  nlohmann::json anomalies = nonlin_anomalies;
  for (auto& a : sibling_anomalies) {
    if (anomalies.size() < kMaxAnomalies) anomalies.push_back(std::move(a));
  }

  CheckResult result;
  result.details = {{"model", options_.model == LinModel::kRegister ? "register" : "cas-register"},
                    {"keys",
                     {{"checked", checked},
                      {"linearizable", linearizable},
                      {"non_linearizable", nonlin},
                      {"unknown", unknown},
                      {"siblings", siblings}}},
                    {"anomalies", std::move(anomalies)},
                    {"unknown_keys", std::move(unknown_keys)},
                    {"explored", explored},
                    {"peak_search_bytes", peak}};
  const int64_t total = static_cast<int64_t>(keys.size());
  if (nonlin > 0 || siblings > 0) {
    result.valid = Validity::kFalse;
    std::vector<std::string> parts;
    if (nonlin > 0) {
      parts.push_back(fmt::format("{} not linearizable: {}", CountOf(nonlin, "key is", "keys are"), first_sentence));
    }
    if (siblings > 0)
      parts.push_back(fmt::format("{} returned several siblings", CountOf(siblings, "key's read", "keys' reads")));
    result.summary = parts.size() == 2 ? parts[0] + "; " + parts[1] : parts[0];
    if (checked < total)
      result.summary += fmt::format(" (stopped early: {} of {} checked)", checked, CountOf(total, "key", "keys"));
  } else if (unknown > 0) {
    result.valid = Validity::kUnknown;
    std::string reasons;
    for (const std::string& r : unknown_reasons) reasons += (reasons.empty() ? "" : "; ") + r;
    result.summary =
        fmt::format("{} could not be decided ({}); the other {} linearizable", CountOf(unknown, "key", "keys"), reasons,
                    linearizable == 1 ? "1 is" : fmt::format("{} are", linearizable));
  } else {
    result.valid = Validity::kTrue;
    result.summary = total == 0
                         ? "no read, write or cas ops to check"
                         : fmt::format("all {} linearizable ({} ops)",
                                       total == 1 ? "1 key is" : fmt::format("{} keys are", total), builder_.kept());
  }
  return result;
}

}  // namespace

std::unique_ptr<Checker> MakeLinearizableChecker(LinearizableOptions options) {
  return std::make_unique<LinearizableChecker>(options);
}

}  // namespace faultline
