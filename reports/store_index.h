// store/index.html: every run under a store directory, newest first, with
// each test name's verdict history (reports/web/DATA.md, "kind": "index").
// Rebuilt after every run and by `faultline report --index`; must stay fast
// with thousands of runs.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faultline {

// Scans STORE_DIR/<test name>/<timestamp>/ run directories (those with a
// test.json or results.json; "latest" links are skipped). A run directory
// whose files are unreadable is listed with "valid": "unknown" and an error
// naming the file, never dropped. `warnings` (optional) collects them.
nlohmann::json StoreIndexData(const std::filesystem::path& store_dir, std::vector<std::string>* warnings = nullptr);

// Writes STORE_DIR/index.html atomically. Throws std::runtime_error.
void WriteStoreIndex(const std::filesystem::path& store_dir, std::vector<std::string>* warnings = nullptr);

}  // namespace faultline
