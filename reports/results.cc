#include "reports/results.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace faultline {

Validity RunResults::valid() const {
  Validity v = Validity::kTrue;
  for (const auto& [name, result] : checkers) v = Worst(v, result.valid);
  if (incomplete || !error.empty() || checkers.empty() || missing_lines() > 0) v = Worst(v, Validity::kUnknown);
  return v;
}

std::string RunResults::summary() const {
  // Lead with what matters most: anomalies, then why the rig could not tell.
  for (const auto& [name, result] : checkers) {
    if (result.valid == Validity::kFalse) return name + ": " + result.summary;
  }
  if (!error.empty()) return "the harness failed: " + error;
  if (incomplete) return "the run stopped before its final reads, so the history cannot be judged";
  if (missing_lines() > 0) {
    std::vector<std::string> parts;
    if (skipped_lines > 0) {
      parts.push_back(fmt::format("{} malformed line{} skipped", skipped_lines, skipped_lines == 1 ? "" : "s"));
    }
    if (!index.clean()) parts.push_back(index.Describe());
    return fmt::format("the history is not whole ({}), so no verdict is better than unknown", fmt::join(parts, ", "));
  }
  for (const auto& [name, result] : checkers) {
    if (result.valid == Validity::kUnknown) return name + ": " + result.summary;
  }
  if (checkers.empty()) {
    std::vector<std::string> why;
    for (const auto& [name, reason] : skipped) why.push_back(name + " skipped: " + reason);
    return why.empty() ? "no checker ran" : fmt::format("no checker ran ({})", fmt::join(why, "; "));
  }
  std::string s;
  for (const auto& [name, result] : checkers) s += (s.empty() ? "" : "; ") + name + ": " + result.summary;
  for (const auto& [name, why] : skipped) s += "; " + name + " skipped: " + why;
  return s;
}

nlohmann::json FaultCoverage::ToJson() const {
  nlohmann::json injected_json = nlohmann::json::object(), failed_json = nlohmann::json::object();
  for (const std::string& kind : requested) {
    injected_json[kind] = 0;
    failed_json[kind] = 0;
  }
  for (const auto& [kind, n] : injected) injected_json[kind] = n;
  for (const auto& [kind, n] : failed) failed_json[kind] = n;
  return {{"requested", requested},
          {"injected", std::move(injected_json)},
          {"failed", std::move(failed_json)},
          {"warning", warning.empty() ? nlohmann::json() : nlohmann::json(warning)}};
}

std::string FaultWarningOf(const nlohmann::json& results) {
  if (!results.is_object()) return "";
  const auto faults = results.find("faults");
  if (faults == results.end() || !faults->is_object()) return "";
  const auto warning = faults->find("warning");
  return warning != faults->end() && warning->is_string() ? warning->get<std::string>() : "";
}

std::string VerdictWords(Validity v, const std::string& fault_warning) {
  std::string words(ValidityName(v));
  if (!fault_warning.empty()) words += (v == Validity::kTrue ? " — but " : " — and ") + fault_warning;
  return words;
}

nlohmann::json RunResults::ToJson() const {
  nlohmann::json j;
  j["valid"] = ValidityToJson(valid());
  j["summary"] = summary();
  j["incomplete"] = incomplete;
  if (!error.empty()) j["error"] = error;
  nlohmann::json cs = nlohmann::json::object();
  for (const auto& [name, result] : checkers) {
    nlohmann::json c = result.details;
    c["valid"] = ValidityToJson(result.valid);
    c["summary"] = result.summary;
    cs[name] = std::move(c);
  }
  j["checkers"] = std::move(cs);
  nlohmann::json skipped_json = nlohmann::json::object();
  for (const auto& [name, why] : skipped) skipped_json[name] = why;
  j["skipped"] = std::move(skipped_json);
  j["history"] = {{"skipped_lines", skipped_lines},
                  {"missing_index_count", index.missing_count},
                  {"missing_index", index.missing},
                  {"duplicate_index_count", index.duplicate_count},
                  {"duplicate_index", index.duplicates}};
  j["ops"] = {{"ok", ok}, {"fail", fail}, {"info", info}};
  if (faults) j["faults"] = faults->ToJson();
  return j;
}

void WriteJsonFile(const std::filesystem::path& path, const nlohmann::json& j) {
  const std::string text = j.dump(2) + "\n";
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                        0644);  // never through a planted symlink
  if (fd < 0) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw std::runtime_error("cannot sync " + tmp.string() + ": " + std::strerror(errno));
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace faultline
