#include "reports/store_index.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "reports/anomaly_kinds.h"
#include "reports/assets.h"
#include "reports/html_page.h"
#include "reports/run_files.h"

namespace faultline {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
namespace od = simdjson::ondemand;

struct RunDir {
  std::string name;       // the test name directory
  std::string timestamp;  // the run directory
  fs::path path;
};

// Run directories: STORE/<name>/<timestamp>/ holding test.json or results.json.
// Symlinks ("latest") are skipped at both levels, so is anything else (e.g.
// dynastore's sources when the store dir is the repo's store/).
std::vector<RunDir> FindRunDirs(const fs::path& store_dir) {
  std::vector<RunDir> runs;
  std::error_code ec;
  for (fs::directory_iterator names(store_dir, ec), end; !ec && names != end; names.increment(ec)) {
    std::error_code ec2;
    if (names->is_symlink(ec2) || !names->is_directory(ec2)) continue;
    for (fs::directory_iterator it(names->path(), ec2); !ec2 && it != end; it.increment(ec2)) {
      if (it->is_symlink(ec2) || !it->is_directory(ec2)) continue;
      const fs::path& p = it->path();
      if (fs::exists(p / "test.json", ec2) || fs::exists(p / "results.json", ec2)) {
        runs.push_back({names->path().filename().string(), p.filename().string(), p});
      }
    }
  }
  if (ec) throw std::runtime_error(fmt::format("cannot list {}: {}", store_dir.string(), ec.message()));
  // Newest first: timestamps sort lexically; the test name breaks ties.
  std::sort(runs.begin(), runs.end(), [](const RunDir& a, const RunDir& b) {
    return a.timestamp != b.timestamp ? a.timestamp > b.timestamp : a.name < b.name;
  });
  return runs;
}

// test.json is small: nlohmann. Fills name, db, workload, nemesis, nodes, time_limit, seed.
void ReadTest(const fs::path& file, json* run) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read test.json");
  std::stringstream text;
  text << in.rdbuf();
  const json t = json::parse(text.str(), nullptr, false);
  if (t.is_discarded() || !t.is_object()) throw std::runtime_error("test.json is not a JSON object");
  if (t.contains("name") && t["name"].is_string()) (*run)["name"] = t["name"];
  if (t.contains("db") && t["db"].is_string()) (*run)["db"] = t["db"];
  if (t.contains("workload") && t["workload"].is_string()) (*run)["workload"] = t["workload"];
  json nemesis = json::array();
  if (t.contains("nemesis")) {
    const json& n = t["nemesis"];
    std::vector<std::string> items;
    if (n.is_string()) {
      std::stringstream ss(n.get<std::string>());
      for (std::string item; std::getline(ss, item, ',');) items.push_back(item);
    } else if (n.is_array()) {
      for (const json& e : n) {
        if (e.is_string()) items.push_back(e.get<std::string>());
      }
    }
    for (const std::string& item : items) {
      if (!item.empty() && item != "none") nemesis.push_back(item);
    }
  }
  (*run)["nemesis"] = nemesis;
  if (t.contains("nodes") && t["nodes"].is_array() && !t["nodes"].empty()) {
    (*run)["nodes"] = t["nodes"].size();
  } else if (t.contains("local") && t["local"].is_number_integer()) {
    (*run)["nodes"] = t["local"];
  }
  if (t.contains("time-limit") && t["time-limit"].is_number()) (*run)["time_limit"] = t["time-limit"];
  if (t.contains("seed") && t["seed"].is_number()) (*run)["seed"] = t["seed"];
}

json OdValidity(od::value v) {
  const od::json_type type = v.type();
  if (type == od::json_type::boolean) return bool(v.get_bool());
  return "unknown";
}

// results.json can be megabytes (anomaly lists): simdjson on-demand reads the
// few fields the index needs and skips the rest without building it.
void ReadResults(od::parser& parser, const fs::path& file, json* run) {
  simdjson::padded_string text;
  if (simdjson::padded_string::load(file.string()).get(text) != simdjson::SUCCESS) {
    throw std::runtime_error("cannot read results.json");
  }
  json valid = "unknown", ops = nullptr, anomalies = json::object();
  std::string summary, error, fault_warning;
  bool incomplete = false;
  try {
    od::document doc = parser.iterate(text);
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      od::value v = field.value();
      if (key == "valid") {
        valid = OdValidity(v);
      } else if (key == "summary") {
        summary = std::string_view(v.get_string());
      } else if (key == "error") {
        error = std::string_view(v.get_string());
      } else if (key == "incomplete") {
        incomplete = v.get_bool();
      } else if (key == "faults" && v.type() == od::json_type::object) {
        for (auto f : v.get_object()) {
          if (f.unescaped_key() == std::string_view("warning") && f.value().type() == od::json_type::string) {
            fault_warning = std::string_view(f.value().get_string());
          }
        }
      } else if (key == "ops") {
        ops = json::object();
        for (auto f : v.get_object()) {
          const std::string k(std::string_view(f.unescaped_key()));
          ops[k] = int64_t(f.value().get_int64());
        }
      } else if (key == "checkers") {
        for (auto c : v.get_object()) {
          const std::string checker(std::string_view(c.unescaped_key()));
          for (auto d : c.value().get_object()) {
            const std::string_view detail = d.unescaped_key();
            od::value dv = d.value();
            const od::json_type type = dv.type();
            if (detail == "no_ok" && type == od::json_type::array) {
              const size_t n = dv.count_elements();
              if (n > 0) anomalies[checker + ".no_ok"] = n;
              continue;
            }
            // The linearizable checker counts its keys in one object: {"non_linearizable": N, "siblings": N, ...}.
            if (checker == "linearizable" && detail == "keys" && type == od::json_type::object) {
              for (auto k : dv.get_object()) {
                const std::string_view what = k.unescaped_key();
                if (what != "non_linearizable" && what != "siblings") continue;
                const double n = k.value().get_double();
                if (n > 0) anomalies[checker + "." + std::string(what)] = int64_t(n);
              }
              continue;
            }
            const std::string kind = AnomalyKindOfCountField(detail);
            if (kind.empty() || type != od::json_type::number) continue;
            const double n = dv.get_double();
            if (n > 0) anomalies[checker + "." + kind] = int64_t(n);
          }
        }
      }
    }
  } catch (const simdjson::simdjson_error& e) {
    throw std::runtime_error(fmt::format("results.json is not valid JSON: {}", e.what()));
  }
  (*run)["valid"] = valid;
  (*run)["summary"] = summary;
  (*run)["error"] = error;
  (*run)["incomplete"] = incomplete;
  (*run)["fault_warning"] = fault_warning.empty() ? json() : json(fault_warning);
  (*run)["ops"] = ops;
  (*run)["anomalies"] = anomalies;
}

}  // namespace

json StoreIndexData(const fs::path& store_dir, std::vector<std::string>* warnings) {
  std::error_code ec;
  fs::path abs = fs::absolute(store_dir, ec);
  if (ec) abs = store_dir;
  json runs = json::array();
  od::parser parser;
  for (const RunDir& r : FindRunDirs(store_dir)) {
    const std::string rel = r.name + "/" + r.timestamp;
    json run = {{"name", r.name},
                {"dir", rel},
                {"report", nullptr},
                {"started", IsoFromStamp(r.timestamp)},
                {"db", nullptr},
                {"workload", nullptr},
                {"nemesis", json::array()},
                {"nodes", nullptr},
                {"time_limit", nullptr},
                {"seed", nullptr},
                {"ops", nullptr},
                {"valid", "unknown"},
                {"summary", ""},
                {"incomplete", false},
                {"error", ""},
                {"fault_warning", nullptr},
                {"anomalies", json::object()}};
    if (fs::exists(r.path / "report.html", ec)) run["report"] = rel + "/report.html";
    std::vector<std::string> problems;
    if (fs::exists(r.path / "test.json", ec)) {
      try {
        ReadTest(r.path / "test.json", &run);
      } catch (const std::exception& e) {
        problems.push_back(e.what());
      }
    } else {
      problems.push_back("no test.json");
    }
    if (fs::exists(r.path / "results.json", ec)) {
      try {
        ReadResults(parser, r.path / "results.json", &run);
      } catch (const std::exception& e) {
        problems.push_back(e.what());
        run["valid"] = "unknown";
        run["summary"] = std::string(e.what());
      }
    } else {
      run["summary"] = "no results.json (run in progress or crashed)";
      run["incomplete"] = true;
    }
    if (!problems.empty()) {
      std::string text;
      for (const std::string& p : problems) text += (text.empty() ? "" : "; ") + p;
      run["valid"] = "unknown";  // a run whose files cannot be read proves nothing
      const std::string err = run["error"].get<std::string>();
      run["error"] = err.empty() ? text : err + "; " + text;
      if (warnings != nullptr) warnings->push_back(fmt::format("{}: {}", (r.path).string(), text));
    }
    runs.push_back(std::move(run));
  }
  return {{"kind", "index"},
          {"version", 1},
          {"generated", UtcIso()},
          {"store_dir", abs.lexically_normal().string()},
          {"runs", std::move(runs)}};
}

void WriteStoreIndex(const fs::path& store_dir, std::vector<std::string>* warnings) {
  HtmlPage page;
  page.title = "faultline runs";
  page.styles = {assets::kUplotCss, assets::kIndexCss};
  page.scripts = {assets::kUplotJs, assets::kCommonJs, assets::kIndexJs};
  page.data = StoreIndexData(store_dir, warnings);
  WriteTextFile(store_dir / "index.html", RenderHtmlPage(page));
}

}  // namespace faultline
