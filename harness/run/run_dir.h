// The run directory (ARCHITECTURE.md): <store>/<test-name>/<UTC timestamp>/,
// with <store>/latest and <store>/<test-name>/latest pointing at the newest.
#pragma once

#include <filesystem>
#include <string>

namespace faultline {

// Creates a fresh run directory (and nodes/), e.g. store/dynastore-set/20261127T071500.123Z,
// and fsyncs it and its parents. Throws HarnessError naming the path.
std::filesystem::path MakeRunDir(const std::filesystem::path& store_dir, const std::string& test_name);

// Points the two `latest` links at `run_dir` (atomically replacing old ones).
void UpdateLatestLinks(const std::filesystem::path& store_dir, const std::filesystem::path& run_dir);

}  // namespace faultline
