#include "check.h"

namespace faultline {

RunResults CheckHistoryFile(const std::filesystem::path& path, const Workload& workload,
                            std::vector<std::string>* warnings, bool lenient) {
  RunResults results;
  std::vector<std::unique_ptr<Checker>> checkers = workload.Checkers();
  // One pass over the file feeds every checker: the history is never held in memory.
  ForEachOp(
      path,
      [&](const Op& op) {
        if (op.process != kNemesisProcess) {
          if (op.type == OpType::kOk) ++results.ok;
          if (op.type == OpType::kFail) ++results.fail;
          if (op.type == OpType::kInfo) ++results.info;
        }
        for (const auto& checker : checkers) checker->Add(op);
      },
      warnings, lenient);
  for (const auto& checker : checkers) results.checkers.emplace_back(checker->name(), checker->Finish());
  return results;
}

}  // namespace faultline
