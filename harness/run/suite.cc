#include "harness/run/suite.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

#include "harness/base/harness_error.h"
#include "harness/run/fault_plan.h"
#include "harness/run/runner.h"
#include "reports/html_page.h"
#include "reports/junit.h"
#include "reports/results.h"
#include "reports/run_files.h"

namespace faultline {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Keys of a run config (what `faultline run --config` accepts).
std::set<std::string> RunConfigKeys() {
  std::set<std::string> keys;
  const json defaults = DefaultConfigJson();
  for (const auto& [k, v] : defaults.items()) keys.insert(k);
  keys.insert({"seed", "name", "nodes-file"});
  return keys;
}

struct Entry {
  std::string where;  // stores[1] "dynastore-w1"
  std::string label;
  json config;  // run config keys, normalized
};

std::string PlanKeysText() {
  const std::set<std::string> keys = RunConfigKeys();
  return fmt::format("plan keys: name, base, stores, workloads, nemeses, cases; or a run config key: {}",
                     fmt::join(keys, ", "));
}

// Object of run config keys: normalized ("_" → "-"), unknown keys refused naming `where`.
json RunConfigObject(const json& object, const std::string& where, const std::string& source,
                     const std::set<std::string>& also_allowed = {}) {
  const json normalized = MergeConfig(json::object(), object);
  const std::set<std::string> known = RunConfigKeys();
  for (const auto& [key, value] : normalized.items()) {
    if (!known.count(key) && !also_allowed.count(key)) {
      throw ConfigError(fmt::format("{}: {}: unknown key \"{}\" (a run config key: {}{})", source, where, key,
                                    fmt::join(known, ", "),
                                    also_allowed.empty() ? "" : fmt::format("; or {}", fmt::join(also_allowed, ", "))));
    }
  }
  return normalized;
}

// A label or name part must make a valid directory name.
void CheckLabel(const std::string& label, const std::string& what, const std::string& source) {
  if (label.empty() || label.find('/') != std::string::npos || label == "." || label == "..") {
    throw ConfigError(fmt::format("{}: {} must be a non-empty name without '/', got \"{}\"", source, what, label));
  }
}

std::string LabelOf(const json& value) {
  std::string s;
  if (value.is_string()) {
    s = value.get<std::string>();
  } else if (value.is_array()) {
    for (const json& e : value) s += (s.empty() ? "" : "+") + (e.is_string() ? e.get<std::string>() : e.dump());
  } else {
    s = value.dump();
  }
  for (char& c : s) {
    if (c == ',') c = '+';
  }
  return s;
}

// One list of entries: a matrix dimension ("stores" with key "db", ...) or
// "cases" (key empty: each entry is a whole combination and needs a label).
std::vector<Entry> Dimension(const json& plan, const std::string& dim, const std::string& key, const json& base,
                             const std::string& source) {
  json list = plan.contains(dim) ? plan[dim] : json();
  if (list.is_null() && dim == "nemeses") list = json::array({"none"});
  if (list.is_null()) throw ConfigError(fmt::format("{}: \"{}\" is missing (a non-empty array)", source, dim));
  if (!list.is_array() || list.empty()) {
    throw ConfigError(fmt::format("{}: \"{}\" must be a non-empty array of {}, got {}", source, dim,
                                  key.empty() ? "objects of run config keys" : key + " names or objects", list.dump()));
  }
  std::vector<Entry> entries;
  std::map<std::string, std::string> labels;  // label → where
  for (size_t i = 0; i < list.size(); ++i) {
    const json& item = list[i];
    const std::string at = fmt::format("{}[{}]", dim, i);
    Entry e;
    if (item.is_string() && !key.empty()) {
      e.config = {{key, item}};
    } else if (item.is_object()) {
      e.config = RunConfigObject(item, at, source, {"label"});
      if (e.config.contains("store-dir")) {
        throw ConfigError(
            fmt::format("{}: {}: \"store-dir\" belongs at the plan's top level or in \"base\": a suite "
                        "writes to one store",
                        source, at));
      }
    } else {
      throw ConfigError(fmt::format("{}: {} must be {}an object of run config keys, got {}", source, at,
                                    key.empty() ? "" : "a " + key + " name or ", item.dump()));
    }
    if (e.config.contains("label")) {
      if (!e.config["label"].is_string()) {
        throw ConfigError(fmt::format("{}: {}.label must be a string, got {}", source, at, e.config["label"].dump()));
      }
      e.label = e.config["label"].get<std::string>();
      e.config.erase("label");
    } else if (key.empty()) {
      throw ConfigError(fmt::format("{}: {} needs a \"label\" (it names the case's tests)", source, at));
    } else if (e.config.contains(key)) {
      e.label = LabelOf(e.config[key]);
    } else if (base.contains(key)) {
      e.label = LabelOf(base[key]);
    } else {
      e.label = LabelOf(DefaultConfigJson()[key]);
    }
    CheckLabel(e.label, at + " label", source);
    e.where = fmt::format("{} \"{}\"", at, e.label);
    if (const auto it = labels.find(e.label); it != labels.end()) {
      throw ConfigError(fmt::format("{}: {} and {} have the same label \"{}\"; give one a \"label\"", source,
                                    it->second, at, e.label));
    }
    labels[e.label] = at;
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string Relative(const fs::path& path, const fs::path& base) {
  std::error_code ec;
  const fs::path rel = fs::relative(path, base, ec);
  return ec || rel.empty() ? path.string() : rel.string();
}

}  // namespace

int SuitePlan::total_runs() const {
  int n = 0;
  for (const auto& c : combinations) n += c.config.test_count;
  return n;
}

SuitePlan ParseSuitePlan(const json& plan, const std::string& source, const json& overrides, uint64_t seed) {
  if (!plan.is_object()) throw ConfigError(fmt::format("{}: a suite plan must be a JSON object", source));
  const std::set<std::string> plan_keys = {"name", "base", "stores", "workloads", "nemeses", "cases"};
  const std::set<std::string> run_keys = RunConfigKeys();
  json top = json::object();  // run config keys given at the top level
  for (const auto& [raw, value] : plan.items()) {
    const std::string key = MergeConfig(json::object(), json{{raw, nullptr}}).begin().key();
    if (plan_keys.count(key)) continue;
    if (!run_keys.count(key))
      throw ConfigError(fmt::format("{}: unknown key \"{}\" ({})", source, raw, PlanKeysText()));
    if (key == "name") continue;
    top[key] = value;
  }
  SuitePlan out;
  out.source = source;
  if (!plan.contains("name") || !plan["name"].is_string()) {
    throw ConfigError(fmt::format("{}: \"name\" must be given, a string like \"nightly\"", source));
  }
  out.name = plan["name"].get<std::string>();
  CheckLabel(out.name, "\"name\"", source);

  json base = json::object();
  if (plan.contains("base")) {
    if (!plan["base"].is_object()) {
      throw ConfigError(
          fmt::format("{}: \"base\" must be an object of run config keys, got {}", source, plan["base"].dump()));
    }
    base = RunConfigObject(plan["base"], "base", source);
  }
  const json top_normalized = MergeConfig(json::object(), top);
  for (const auto& [key, value] : top_normalized.items()) {
    if (base.contains(key)) {
      throw ConfigError(
          fmt::format("{}: \"{}\" is given both at the top level and in \"base\"; give it once", source, key));
    }
    base[key] = value;
  }
  const json cli = MergeConfig(json::object(), overrides);

  std::map<std::string, std::string> names;  // test name → where
  auto add = [&](const std::string& where, const std::vector<const json*>& parts, const std::string& default_name) {
    SuiteCombination c;
    c.where = where;
    json merged = base;
    for (const json* part : parts) merged = MergeConfig(merged, *part);
    merged = MergeConfig(merged, cli);
    if (!merged.contains("name")) merged["name"] = default_name;
    try {
      c.config = ResolveConfig(merged, seed);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: {}: {}", source, c.where, e.what()));
    }
    if (const auto it = names.find(c.config.name); it != names.end()) {
      throw ConfigError(fmt::format("{}: {} and {} are both named \"{}\"; test names must differ", source, it->second,
                                    c.where, c.config.name));
    }
    names[c.config.name] = c.where;
    out.combinations.push_back(std::move(c));
  };

  if (plan.contains("cases")) {
    // Explicit combinations, for plans where a cross product makes no sense
    // (each fault switch with the faults that expose it).
    for (const char* dim : {"stores", "workloads", "nemeses"}) {
      if (plan.contains(dim)) {
        throw ConfigError(
            fmt::format("{}: \"cases\" and \"{}\" are both given: a plan lists either cases or the "
                        "stores × workloads × nemeses matrix",
                        source, dim));
      }
    }
    for (const Entry& e : Dimension(plan, "cases", "", base, source)) {
      add(e.where, {&e.config}, fmt::format("{}-{}", out.name, e.label));
    }
  } else {
    const std::vector<Entry> stores = Dimension(plan, "stores", "db", base, source);
    const std::vector<Entry> workloads = Dimension(plan, "workloads", "workload", base, source);
    const std::vector<Entry> nemeses = Dimension(plan, "nemeses", "nemesis", base, source);
    for (const Entry& s : stores) {
      for (const Entry& w : workloads) {
        for (const Entry& n : nemeses) {
          add(fmt::format("{} × {} × {}", s.where, w.where, n.where), {&s.config, &w.config, &n.config},
              fmt::format("{}-{}-{}-{}", out.name, s.label, w.label, n.label));
        }
      }
    }
  }
  out.store_dir = out.combinations.front().config.store_dir;  // one store: store-dir is refused in entries
  return out;
}

SuitePlan LoadSuitePlan(const fs::path& file, const json& overrides, uint64_t seed) {
  return ParseSuitePlan(LoadConfigFile(file), file.string(), overrides, seed);
}

void PrintSuitePlan(const SuitePlan& plan, std::ostream& out) {
  double seconds = 0;
  int k = 0;
  const int total = plan.total_runs();
  for (const SuiteCombination& c : plan.combinations) {
    const TestConfig& t = c.config;
    for (int i = 0; i < t.test_count; ++i) {
      out << fmt::format("[{}/{}] {}  db={} workload={} nemesis={} nodes={} time-limit={}s seed={}  ({})\n", ++k, total,
                         t.name, t.db, t.workload,
                         t.nemesis.faults.empty() ? "none" : fmt::format("{}", fmt::join(t.nemesis.faults, ",")),
                         t.node_count(), t.time_limit, t.seed + static_cast<uint64_t>(i), c.where);
      seconds += t.time_limit + t.quiesce;
    }
  }
  out << fmt::format("suite {}: {} runs into {}; at least {:.0f} s of main phases and quiescing\n", plan.name, total,
                     plan.store_dir.string(), seconds);
  for (const std::string& w : SuitePlanWarnings(plan)) out << "warning: " << w << "\n";
}

std::vector<std::string> SuitePlanWarnings(const SuitePlan& plan) {
  std::vector<std::string> out;
  for (const SuiteCombination& c : plan.combinations) {
    for (const std::string& w : FaultPlanWarnings(c.config)) out.push_back(fmt::format("{}: {}", c.config.name, w));
  }
  return out;
}

SuiteOutcome RunSuite(const SuitePlan& plan, const SuiteOptions& options) {
  SuiteOutcome outcome;
  const auto say = [&](const std::string& line) {
    if (options.out != nullptr) *options.out << line << std::endl;
  };
  const auto interrupted = [&] { return options.interrupted != nullptr && options.interrupted->load(); };

  const fs::path suite_dir = plan.store_dir / "suites" / plan.name;
  std::error_code ec;
  fs::create_directories(suite_dir, ec);
  if (ec) throw HarnessError(fmt::format("cannot create {}: {}", suite_dir.string(), ec.message()));
  outcome.summary_file = suite_dir / (UtcStamp() + ".json");

  json summary = {{"suite", plan.name},
                  {"plan", fs::absolute(plan.source, ec).string()},
                  {"store_dir", fs::absolute(plan.store_dir, ec).string()},
                  {"started", UtcIso()},
                  {"finished", nullptr},
                  {"valid", "unknown"},
                  {"interrupted", false},
                  {"counts", {{"valid", 0}, {"invalid", 0}, {"unknown", 0}, {"not_run", 0}, {"faults_missing", 0}}},
                  {"runs", json::array()}};
  const auto write_summary = [&] {
    try {
      WriteJsonFile(outcome.summary_file, summary);
    } catch (const std::exception& e) {
      say(fmt::format("warning: {}", e.what()));
    }
  };
  write_summary();

  for (const std::string& w : SuitePlanWarnings(plan)) say("warning: " + w);  // before any run
  RunOptions run_options;
  run_options.interrupted = options.interrupted;
  run_options.out = options.verbose ? options.out : nullptr;
  const int total = plan.total_runs();
  int k = 0;
  Validity worst = Validity::kTrue;
  for (const SuiteCombination& c : plan.combinations) {
    for (int i = 0; i < c.config.test_count; ++i) {
      ++k;
      TestConfig config = c.config;
      config.seed = c.config.seed + static_cast<uint64_t>(i);  // each repetition its own, recorded, seed
      config.test_count = 1;
      json record = {{"name", config.name}, {"combination", c.where}, {"seed", config.seed}, {"dir", nullptr}};
      if (interrupted()) {
        record["valid"] = "unknown";
        record["summary"] = "not run: the suite was interrupted";
        summary["counts"]["not_run"] = summary["counts"]["not_run"].get<int>() + 1;
        summary["runs"].push_back(record);
        worst = Worst(worst, Validity::kUnknown);
        continue;
      }
      say(fmt::format("[{}/{}] running {} (seed {}, {} s) ...", k, total, config.name, config.seed, config.time_limit));
      const RunOutcome run = RunTest(config, run_options);
      worst = Worst(worst, run.valid);
      const std::string verdict(ValidityName(run.valid));
      summary["counts"][verdict] = summary["counts"][verdict].get<int>() + 1;
      record["valid"] = ValidityToJson(run.valid);
      record["summary"] = run.summary;
      record["fault_warning"] = run.fault_warning.empty() ? json() : json(run.fault_warning);
      if (!run.fault_warning.empty())
        summary["counts"]["faults_missing"] = summary["counts"]["faults_missing"].get<int>() + 1;
      if (!run.run_dir.empty()) {
        record["dir"] = Relative(run.run_dir, plan.store_dir);
        outcome.run_dirs.push_back(run.run_dir);  // RunTest wrote its report.html, junit.xml and the store index
      }
      summary["runs"].push_back(record);
      write_summary();
      say(fmt::format("[{}/{}] {:<8} {}: {}  {}", k, total, VerdictWords(run.valid, run.fault_warning), config.name,
                      run.summary, run.run_dir.string()));
    }
  }
  outcome.interrupted = interrupted();
  if (outcome.interrupted) worst = Worst(worst, Validity::kUnknown);
  outcome.worst = worst;
  summary["finished"] = UtcIso();
  summary["valid"] = ValidityToJson(worst);
  summary["interrupted"] = outcome.interrupted;
  write_summary();
  if (!options.junit.empty()) {
    try {
      WriteTextFile(options.junit, JunitXmlForRuns(outcome.run_dirs, plan.name));
    } catch (const std::exception& e) {
      say(fmt::format("warning: --junit: {}", e.what()));
      outcome.worst = Worst(outcome.worst, Validity::kUnknown);  // CI would miss the results
    }
  }
  const json& n = summary["counts"];
  const int missing = n["faults_missing"].get<int>();
  say(fmt::format("suite {}: {}: {} valid, {} invalid, {} unknown{}{}{}; summary {}; index {}", plan.name,
                  ValidityName(outcome.worst), n["valid"].get<int>(), n["invalid"].get<int>(), n["unknown"].get<int>(),
                  n["not_run"].get<int>() > 0 ? fmt::format(", {} not run", n["not_run"].get<int>()) : "",
                  missing > 0 ? fmt::format("; {} run{} did not inject every fault kind asked for", missing,
                                            missing == 1 ? "" : "s")
                              : "",
                  outcome.interrupted ? " (interrupted)" : "", outcome.summary_file.string(),
                  (plan.store_dir / "index.html").string()));
  return outcome;
}

}  // namespace faultline
