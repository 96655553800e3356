// Checker: a pure function of a History that says whether it is valid.
// Composition: a run's verdict is the worst of its checkers' (false beats
// unknown beats true).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "history.h"

namespace faultline {

enum class Validity { kTrue, kFalse, kUnknown };

// JSON form used in results.json: true, false or "unknown".
nlohmann::json ValidityToJson(Validity v);
Validity ValidityFromJson(const nlohmann::json& j);  // throws std::invalid_argument
std::string_view ValidityName(Validity v);           // "valid", "invalid", "unknown"

// false > unknown > true.
Validity Worst(Validity a, Validity b);

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
  virtual CheckResult Check(const History& history) const = 0;
};

}  // namespace faultline
