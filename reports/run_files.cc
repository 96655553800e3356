#include "reports/run_files.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

namespace faultline {
namespace {

int64_t Millis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
}

}  // namespace

std::string UtcStamp(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y%m%dT%H%M%S}.{:03}Z", std::chrono::floor<std::chrono::seconds>(t), Millis(t));
}

std::string UtcIso(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", std::chrono::floor<std::chrono::seconds>(t), Millis(t));
}

nlohmann::json IsoFromStamp(const std::string& s) {
  if (s.size() != 20 || s[8] != 'T' || s[15] != '.' || s[19] != 'Z') return nullptr;
  for (size_t i = 0; i < 19; ++i) {
    if (i != 8 && i != 15 && (s[i] < '0' || s[i] > '9')) return nullptr;
  }
  return fmt::format("{}-{}-{}T{}:{}:{}.{}Z", s.substr(0, 4), s.substr(4, 2), s.substr(6, 2), s.substr(9, 2),
                     s.substr(11, 2), s.substr(13, 2), s.substr(16, 3));
}

nlohmann::json ReadJsonFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(path.string() + " is not valid JSON: " + e.what());
  }
}

}  // namespace faultline
