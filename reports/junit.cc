#include "reports/junit.h"

#include <fmt/format.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "reports/anomaly_kinds.h"
#include "reports/html_page.h"
#include "reports/results.h"
#include "reports/run_files.h"

namespace faultline {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// At most this many anomalies per kind are spelled out in a <failure> body;
// results.json and report.html hold them all.
constexpr size_t kMaxExplainedPerKind = 50;

// XML 1.0 allows #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
bool XmlAllowed(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
         (cp >= 0x10000 && cp <= 0x10FFFF);
}

// Escapes for text (attribute = false) or a double-quoted attribute value.
// Characters XML 1.0 forbids are dropped; bytes that are not UTF-8 become U+FFFD.
std::string XmlEscape(std::string_view s, bool attribute) {
  std::string out;
  out.reserve(s.size() + 16);
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t len = 0;
    if (c < 0x80) {
      cp = c, len = 1;
    } else if ((c >> 5) == 0x6) {
      cp = c & 0x1F, len = 2;
    } else if ((c >> 4) == 0xE) {
      cp = c & 0x0F, len = 3;
    } else if ((c >> 3) == 0x1E) {
      cp = c & 0x07, len = 4;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms and surrogates are not UTF-8.
    if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
               (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (!ok) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (XmlAllowed(cp)) {
      switch (cp) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += attribute ? "&quot;" : "\"";
          break;
        case '\'':
          out += attribute ? "&apos;" : "'";
          break;
        // Attribute values normalize raw whitespace to spaces; keep it.
        case '\n':
          out += attribute ? "&#10;" : "\n";
          break;
        case '\r':
          out += "&#13;";
          break;
        case '\t':
          out += attribute ? "&#9;" : "\t";
          break;
        default:
          out.append(s.substr(i, len));
      }
    }
    i += len;
  }
  return out;
}

std::string Attr(std::string_view s) { return XmlEscape(s, true); }
std::string Text(std::string_view s) { return XmlEscape(s, false); }

std::string StringOr(const json& j, const char* key, std::string fallback = "") {
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return fallback;
}

std::string ValidityText(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "valid" : "invalid";
  return "unknown";
}

// A value in an anomaly line: strings bare, arrays joined, the rest as JSON.
std::string Plain(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const json& e : v) s += (s.empty() ? "" : ", ") + Plain(e);
    return s;
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// One anomaly for people: "key k1, element 21, op 43, at 0.074 s, missing on n1, n2, n3".
std::string AnomalyLine(const json& a) {
  if (!a.is_object()) return Plain(a);
  std::string line;
  const auto add = [&line](const std::string& part) { line += (line.empty() ? "" : ", ") + part; };
  for (const auto& [k, v] : a.items()) {
    if (k == "key") continue;  // leads the line, below
    if (k == "index" && v.is_number()) {
      add("op " + v.dump());
    } else if ((k == "time" || k == "invoke_time") && v.is_number()) {
      add(fmt::format("{}at {:.3f} s", k == "time" ? "" : "invoked ", v.get<double>() / 1e9));
    } else {
      std::string name = k;
      for (char& c : name) {
        if (c == '_') c = ' ';
      }
      add(name + " " + Plain(v));
    }
  }
  if (a.contains("key")) line = "key " + Plain(a["key"]) + ": " + line;
  return line;
}

// The <failure> body: every anomaly list of an invalid checker, cut to kMaxExplainedPerKind.
std::string Explain(const json& checker) {
  std::string body;
  for (const auto& [field, value] : checker.items()) {
    const std::string kind = AnomalyKindOfCountField(field);
    if (kind.empty() || !value.is_number() || value.get<double>() <= 0) continue;
    body += fmt::format("{} ({}):\n", kind, value.dump());
    if (!checker.contains(kind) || !checker[kind].is_array()) continue;
    const json& list = checker[kind];
    for (size_t i = 0; i < list.size() && i < kMaxExplainedPerKind; ++i) body += "  " + AnomalyLine(list[i]) + "\n";
    if (list.size() > kMaxExplainedPerKind) {
      body += fmt::format("  ... and {} more (results.json has them all)\n", list.size() - kMaxExplainedPerKind);
    }
  }
  // The linearizable checker's one list (each entry with its "type" and one "sentence"; its ops are too long here).
  if (checker.contains("anomalies") && checker["anomalies"].is_array()) {
    const json& list = checker["anomalies"];
    for (size_t i = 0; i < list.size() && i < kMaxExplainedPerKind; ++i) {
      if (list[i].is_object() && list[i].contains("sentence")) {
        body += fmt::format("{}: key {}: {}\n", Plain(list[i].value("type", json("anomaly"))),
                            Plain(list[i].value("key", json("?"))), Plain(list[i]["sentence"]));
      }
    }
  }
  if (checker.contains("no_ok") && checker["no_ok"].is_array() && !checker["no_ok"].empty()) {
    body += "no op completed ok for: " + Plain(checker["no_ok"]) + "\n";
  }
  return body;
}

// "20261127T101014.394Z" → "2026-11-27T10:10:14" (the JUnit schema's form, UTC); "" when not a timestamp.
std::string JunitTimestamp(const std::string& dir_name) {
  if (dir_name.size() < 15 || dir_name[8] != 'T') return "";
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (dir_name[i] < '0' || dir_name[i] > '9') return "";
  }
  return fmt::format("{}-{}-{}T{}:{}:{}", dir_name.substr(0, 4), dir_name.substr(4, 2), dir_name.substr(6, 2),
                     dir_name.substr(9, 2), dir_name.substr(11, 2), dir_name.substr(13, 2));
}

// Seconds from results.json ("duration_s") or else the time of the history's last op; 0 when neither.
double RunSeconds(const json& results, const fs::path& run_dir) {
  if (results.contains("duration_s") && results["duration_s"].is_number()) return results["duration_s"].get<double>();
  std::ifstream in(run_dir / "history.jsonl", std::ios::binary | std::ios::ate);
  if (!in) return 0;
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 8192);
  in.seekg(from);
  std::string tail(static_cast<size_t>(size - from), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  // The last complete line (a crashed writer may leave a partial one).
  size_t end = tail.rfind('\n');
  while (end != std::string::npos) {
    const size_t begin = end == 0 ? std::string::npos : tail.rfind('\n', end - 1);
    const size_t start = begin == std::string::npos ? 0 : begin + 1;
    if (begin == std::string::npos && from > 0) return 0;  // line longer than the tail read
    const json op = json::parse(tail.substr(start, end - start), nullptr, false);
    if (op.is_object() && op.contains("time") && op["time"].is_number()) return op["time"].get<double>() / 1e9;
    if (begin == std::string::npos) break;
    end = begin;
  }
  return 0;
}

struct Suite {
  std::string xml;  // the <testsuite> element
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  double seconds = 0;
};

Suite TestsuiteXml(const json& results, const json& test, const std::string& run_dir) {
  const fs::path dir(run_dir);
  std::string name = StringOr(test, "name");
  if (name.empty()) name = dir.parent_path().filename().string();
  if (name.empty()) name = "faultline";
  const std::string classname = "faultline." + name;
  const std::string repeat = fmt::format("faultline run --config {}", (dir / "test.json").string());

  Suite s;
  s.seconds = RunSeconds(results, dir);
  std::string cases;
  const json checkers =
      results.contains("checkers") && results["checkers"].is_object() ? results["checkers"] : json::object();
  for (const auto& [checker, r] : checkers.items()) {
    ++s.tests;
    cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"0\"", Attr(classname), Attr(checker));
    const json valid = r.is_object() && r.contains("valid") ? r["valid"] : json("unknown");
    const std::string summary = StringOr(r, "summary");
    if (valid == json(true)) {
      cases += "/>\n";
    } else if (valid == json(false)) {
      ++s.failures;
      cases +=
          fmt::format(">\n      <failure message=\"{}\" type=\"invalid\">{}{}\nRepeat: {}</failure>\n    </testcase>\n",
                      Attr(summary), Text(summary + "\n\n"), Text(r.is_object() ? Explain(r) : ""), Text(repeat));
    } else {
      ++s.errors;
      cases += fmt::format(">\n      <error message=\"{}\" type=\"unknown\">{}</error>\n    </testcase>\n",
                           Attr(summary), Text(summary));
    }
  }
  // Checkers that did not run (results.json "skipped", e.g. no replica reads in
  // the history): <skipped/> with why, neither a pass nor a failure.
  if (results.contains("skipped") && results["skipped"].is_object()) {
    for (const auto& [checker, why] : results["skipped"].items()) {
      ++s.tests;
      ++s.skipped;
      cases += fmt::format(
          "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">\n      <skipped message=\"{}\"/>\n"
          "    </testcase>\n",
          Attr(classname), Attr(checker), Attr(why.is_string() ? why.get<std::string>() : why.dump()));
    }
  }
  // The run itself: a harness failure or an unfinished run makes the verdict unknown
  // even when the checkers that did run passed.
  const std::string error = StringOr(results, "error");
  const bool incomplete = results.value("incomplete", false) == true;
  if (!error.empty() || incomplete || checkers.empty()) {
    ++s.tests;
    ++s.errors;
    std::string message = !error.empty() ? "the harness failed: " + error
                          : incomplete   ? "the run stopped before its final reads, so the history cannot be judged"
                                         : StringOr(results, "summary", "no checker ran");
    cases += fmt::format(
        "    <testcase classname=\"{}\" name=\"run\" time=\"{:.3f}\">\n      <error message=\"{}\" "
        "type=\"{}\">{}</error>\n    </testcase>\n",
        Attr(classname), s.seconds, Attr(message),
        !error.empty() ? "harness"
        : incomplete   ? "incomplete"
                       : "unknown",
        Text(message));
  }

  std::string nemesis = "none";
  if (test.is_object() && test.contains("nemesis")) nemesis = Plain(test["nemesis"]);
  std::string props;
  const auto prop = [&props](std::string_view key, const std::string& value) {
    props += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", key, Attr(value));
  };
  if (test.is_object() && test.contains("seed")) prop("seed", Plain(test["seed"]));
  prop("db", StringOr(test, "db"));
  prop("workload", StringOr(test, "workload"));
  prop("nemesis", nemesis);
  prop("run_dir", run_dir);
  prop("verdict", ValidityText(results.contains("valid") ? results["valid"] : json("unknown")));
  // A nemesis that did not inject what it was asked for (results.json "faults"): a valid run proved less.
  const std::string fault_warning = FaultWarningOf(results);
  if (!fault_warning.empty()) prop("fault_warning", fault_warning);
  std::string timestamp = JunitTimestamp(dir.filename().string());
  if (timestamp.empty()) {  // e.g. store/latest: the directory it points at
    std::error_code ec;
    const fs::path real = fs::canonical(dir, ec);
    if (!ec) timestamp = JunitTimestamp(real.filename().string());
  }

  s.xml = fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\"{}>\n"
      "    <properties>\n{}    </properties>\n{}"
      "    <system-out>{}</system-out>\n  </testsuite>\n",
      Attr(name), s.tests, s.failures, s.errors, s.skipped, s.seconds,
      timestamp.empty() ? "" : fmt::format(" timestamp=\"{}\"", timestamp), props, cases,
      Text(fmt::format(
          "verdict: {}{}: {}\n{}run directory: {}\nrepeat this run: {}\n",
          ValidityText(results.contains("valid") ? results["valid"] : json("unknown")),
          fault_warning.empty() ? "" : (results.value("valid", json()) == true ? " — but " : " — and ") + fault_warning,
          StringOr(results, "summary"), fault_warning.empty() ? "" : "warning: " + fault_warning + "\n", run_dir,
          repeat)));
  return s;
}

std::string Document(const std::vector<Suite>& suites, const std::string& name) {
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  double seconds = 0;
  std::string body;
  for (const Suite& s : suites) {
    tests += s.tests, failures += s.failures, errors += s.errors, skipped += s.skipped, seconds += s.seconds;
    body += s.xml;
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "skipped=\"{}\" time=\"{:.3f}\">\n{}</testsuites>\n",
      Attr(name), tests, failures, errors, skipped, seconds, body);
}

// `lenient`: a run directory whose results.json is missing or bad becomes an
// <error> test case instead of an exception (a suite file must list every run).
Suite SuiteForRunDir(const fs::path& run_dir, bool lenient) {
  if (lenient) {
    try {
      return SuiteForRunDir(run_dir, false);
    } catch (const std::exception& e) {
      json test = nullptr;
      try {
        test = ReadJsonFile(run_dir / "test.json");
      } catch (const std::exception&) {
      }
      const json results = {{"valid", "unknown"}, {"summary", e.what()}, {"error", e.what()}, {"incomplete", true}};
      return TestsuiteXml(results, test, run_dir.string());
    }
  }
  const json results = ReadJsonFile(run_dir / "results.json");
  if (!results.is_object()) throw std::runtime_error((run_dir / "results.json").string() + " must hold a JSON object");
  json test = nullptr;
  if (fs::exists(run_dir / "test.json")) test = ReadJsonFile(run_dir / "test.json");
  return TestsuiteXml(results, test, run_dir.string());
}

}  // namespace

std::string JunitXml(const json& results, const json& test, const std::string& run_dir) {
  return Document({TestsuiteXml(results, test, run_dir)}, "faultline");
}

void WriteJunitFile(const fs::path& run_dir) {
  WriteTextFile(run_dir / "junit.xml", Document({SuiteForRunDir(run_dir, false)}, "faultline"));
}

std::string JunitXmlForRuns(const std::vector<fs::path>& run_dirs, const std::string& name) {
  std::vector<Suite> suites;
  for (const fs::path& dir : run_dirs) suites.push_back(SuiteForRunDir(dir, true));
  return Document(suites, name);
}

}  // namespace faultline
