#include "check.h"

namespace faultline {

RunResults CheckHistoryFile(const std::filesystem::path& path, const Workload& workload,
                            std::vector<std::string>* warnings) {
  HistoryReadResult read = ReadHistory(path);
  if (warnings != nullptr) warnings->insert(warnings->end(), read.warnings.begin(), read.warnings.end());
  RunResults results;
  for (const Op& op : read.ops) {
    if (op.process == kNemesisProcess) continue;
    if (op.type == OpType::kOk) ++results.ok;
    if (op.type == OpType::kFail) ++results.fail;
    if (op.type == OpType::kInfo) ++results.info;
  }
  for (const auto& checker : workload.Checkers()) {
    results.checkers.emplace_back(checker->name(), checker->Check(read.ops));
  }
  return results;
}

}  // namespace faultline
