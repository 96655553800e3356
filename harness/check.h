// Checks a stored history with a workload's checkers: what `faultline run`
// does after its final reads, and what `faultline check` repeats from disk.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "results.h"
#include "workload.h"

namespace faultline {

// Streams the history once through every checker (ForEachOp: memory does not
// grow with the history's length). A truncated last line is skipped; its
// warning is added to `warnings`. Any other malformed line throws
// HistoryError, unless `lenient`: then it is skipped with a warning naming
// its line number and the check goes on with what can be read.
RunResults CheckHistoryFile(const std::filesystem::path& history, const Workload& workload,
                            std::vector<std::string>* warnings, bool lenient = false);

}  // namespace faultline
