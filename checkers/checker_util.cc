#include "checkers/checker_util.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace faultline {

std::string CountOf(int64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string KeysText(const std::vector<std::string>& keys) {
  if (keys.size() > 5) return fmt::format("{} keys", keys.size());
  return fmt::format("{} {}", keys.size() == 1 ? "key" : "keys", fmt::join(keys, ", "));
}

std::string NodeName(const std::string& node) { return node.empty() ? "(unnamed node)" : node; }

std::string NoFinalReadAtAllSummary(int64_t ok_count) {
  return fmt::format("no final read succeeded, so none of the {} acknowledged adds could be checked", ok_count);
}

FaultChange FaultChangeOf(std::string_view f) {
  if (f.starts_with("start-")) return {FaultChange::kOpen, f.substr(6)};
  if (f.starts_with("stop-") || f.starts_with("heal-")) return {FaultChange::kClose, f.substr(5)};
  return {};
}

}  // namespace faultline
