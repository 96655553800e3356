// Checks a stored history with a workload's checkers: what `faultline run`
// does after its final reads, and what `faultline check` repeats from disk.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "results.h"
#include "workload.h"

namespace faultline {

// Reads the history (a truncated last line is skipped; its warning is added
// to `warnings`) and runs every checker. Throws HistoryError for a
// malformed history.
RunResults CheckHistoryFile(const std::filesystem::path& history, const Workload& workload,
                            std::vector<std::string>* warnings);

}  // namespace faultline
