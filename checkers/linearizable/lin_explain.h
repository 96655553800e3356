// Explanations of the linearizable checker's anomalies as results.json
// objects (schema in linearizable_checker.h). Internal to
// checkers/linearizable. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "checkers/linearizable/lin_history.h"
#include "checkers/linearizable/lin_search.h"

namespace faultline {

// At most this many steps of the prefix (the last ones) and ops of the window are listed.
inline constexpr size_t kMaxPrefixSteps = 200;
inline constexpr size_t kMaxWindowOps = 200;

// "read by process 4 at 12.301 s returned 3, but every linearization of the
// 5 ops before it leaves the register at 1 or 2". `model` names the register.
std::string NonLinearizableSentence(const LinKey& key, const LinSearchResult& result, const ValueTable& values);

// {"type":"nonlinearizable","key","sentence","op","prefix","prefix_length",
//  "states_before","concurrent","window","window_ops"}; `result` is non-linearizable.
nlohmann::json NonLinearizableAnomaly(const LinKey& key, const LinSearchResult& result, const ValueTable& values);

// {"type":"siblings","key","sentence","op","writes"} for the ok read key.ops[read].
nlohmann::json SiblingsAnomaly(const LinKey& key, size_t read, const ValueTable& values);

// A value for sentences: "absent" for null, else its JSON text.
std::string ValueText(const nlohmann::json& value);

}  // namespace faultline
