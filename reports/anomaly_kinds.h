// Which results.json checker detail fields count anomalies. Shared by the
// store index ("anomalies": {"set.lost": 3}) and junit.xml (which detail
// arrays a <failure> explains). Pure functions, thread-safe.
//
// A "<kind>_count" field counts anomalies unless it counts ordinary traffic
// (ok, attempt, write, fail, info, add, key, final_read) or something that
// went right (recovered: an indeterminate add that did take effect).
// The counter checker's "error_count" counts its "errors" array.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace faultline {

// For a detail field name: the anomaly kind it counts ("lost_count" → "lost",
// "error_count" → "errors"), or "" when the field is not an anomaly count.
inline std::string AnomalyKindOfCountField(std::string_view field) {
  constexpr std::string_view kSuffix = "_count";
  if (field.size() <= kSuffix.size() || field.substr(field.size() - kSuffix.size()) != kSuffix) return "";
  const std::string_view base = field.substr(0, field.size() - kSuffix.size());
  static constexpr std::array<std::string_view, 9> kNotAnomalies = {"ok",  "attempt", "write",      "fail",     "info",
                                                                    "add", "key",     "final_read", "recovered"};
  for (std::string_view n : kNotAnomalies) {
    if (base == n) return "";
  }
  if (base == "error") return "errors";
  return std::string(base);
}

}  // namespace faultline
