// `faultline report`: regenerates report.html and junit.xml of stored runs,
// and `--index` the store's index.html, from the files in the run
// directories alone (test.json, history.jsonl, results.json).
#pragma once

#include <string>
#include <vector>

namespace faultline {

// Exit code: 0 when every page was written, 2 when some input is missing or
// bad (each problem printed on stderr, naming the directory or file).
int CommandReport(const std::vector<std::string>& run_dirs, bool index, const std::string& store_dir);

}  // namespace faultline
