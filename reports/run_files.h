// What the writers and readers of run directories share: the UTC stamps that
// name run directories ("20261127T101014.394Z") and date reports, and reading
// a JSON file with errors that name it. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace faultline {

// "20261127T101014.394Z": a run directory's name; sorts as time does.
std::string UtcStamp(std::chrono::system_clock::time_point t = std::chrono::system_clock::now());
// "2026-11-27T10:10:14.394Z" (ISO 8601).
std::string UtcIso(std::chrono::system_clock::time_point t = std::chrono::system_clock::now());
// A UtcStamp as UtcIso; null when `stamp` is not one (e.g. "latest").
nlohmann::json IsoFromStamp(const std::string& stamp);

// Parses a JSON file. Throws std::runtime_error "cannot read <path>" or
// "<path> is not valid JSON: ...".
nlohmann::json ReadJsonFile(const std::filesystem::path& path);

}  // namespace faultline
