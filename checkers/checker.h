// Checker: a pure function of a History that says whether it is valid.
// Composition: a run's verdict is the worst of its checkers' (false beats
// unknown beats true).
//
// Checkers stream: the ops are fed one at a time in file order (Add), then
// Finish gives the verdict, so a 10M-op history is checked without holding it
// in memory. A Checker object checks one history; it is not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "checkers/history.h"

namespace faultline {

enum class Validity { kTrue, kFalse, kUnknown };

// JSON form used in results.json: true, false or "unknown".
nlohmann::json ValidityToJson(Validity v);
Validity ValidityFromJson(const nlohmann::json& j);  // throws std::invalid_argument
std::string_view ValidityName(Validity v);           // "valid", "invalid", "unknown"

// false > unknown > true.
Validity Worst(Validity a, Validity b);

// The unknown-verdict summary of a checker whose `keys` (non-empty) had ops
// but no successful final read: "no final read succeeded for keys k1, k2, so
// their adds could not be checked" (`ops` = "adds", "writes", ...).
std::string NoFinalReadSummary(const std::vector<std::string>& keys, std::string_view ops);

// The unknown-verdict summary of anomalies that `missing` absent history
// lines could explain (Checker::JudgeDespiteMissingLines): "not confirmed, as
// 3 history lines are missing and could explain it: <summary>".
std::string NotConfirmedSummary(int64_t missing, std::string_view summary);

struct CheckResult {
  Validity valid = Validity::kUnknown;
  // Checker-specific details (counts, anomalies with their ops). Always an object.
  nlohmann::json details = nlohmann::json::object();
  // One sentence for people: why the verdict is what it is.
  std::string summary;
};

class Checker {
 public:
  virtual ~Checker() = default;
  virtual std::string name() const = 0;
  // Feeds the history's ops in file order, one pass; a checker keeps only what it needs
  // (so a 10M-op history is checked without holding it in memory).
  virtual void Add(const Op& op) = 0;
  // Why the history holds none of this checker's input (e.g. "no replica-read
  // rounds in the history"), asked after the last Add; empty when it holds
  // some. `faultline check` then lists the checker as skipped instead of
  // calling Finish; `faultline run` does not ask (its adapter should have
  // recorded that input, so its absence is the checker's unknown).
  virtual std::string AbsentInput() const { return {}; }
  // Called before Finish when `missing` > 0 lines of the history are absent
  // (unparseable lines skipped, index values missing or duplicated). A checker
  // that overrides it says false only for anomalies that no content of the
  // missing lines could explain away, and returns true. The default returns
  // false: the caller then turns the checker's false into unknown.
  virtual bool JudgeDespiteMissingLines(int64_t /*missing*/) { return false; }
  // The verdict over everything added. Called once.
  virtual CheckResult Finish() = 0;
  // Convenience: Add every op, then Finish.
  CheckResult Check(const History& history) {
    for (const Op& op : history) Add(op);
    return Finish();
  }
};

}  // namespace faultline
