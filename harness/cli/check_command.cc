// `faultline check RUN_DIR | history.jsonl [--workload W] [--checkers a,b]`:
// the checkers again, from the stored history; same exit codes as `run`.
// Checkers whose input the history lacks are skipped (README "faultline check").
// `--format jepsen-edn|jepsen-log --workload W` checks a Jepsen history.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "harness/cli/commands.h"
#include "harness/run/check.h"
#include "harness/run/fault_plan.h"
#include "harness/run/registry.h"
#include "harness/run/runner.h"
#include "harness/run/test_config.h"
#include "harness/run/workload_config.h"

namespace faultline {
namespace {

// What a run's test.json asked the nemesis for, to say whether it got it (ExplainFaultCoverage). Only the
// schedule's keys are read: the rest of a run config (nodes, store) does not matter to a check.
TestConfig RunFaults(const nlohmann::json& given) {
  TestConfig c;
  const nlohmann::json& n = given["nemesis"];
  std::string list = n.is_string() ? n.get<std::string>() : "";
  if (n.is_array()) {
    for (const auto& e : n) list += (list.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : "");
  }
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty() && item != "none") c.nemesis.faults.push_back(item);
  }
  if (given["time-limit"].is_number()) c.time_limit = given["time-limit"].get<double>();
  if (given.contains("nemesis-interval") && given["nemesis-interval"].is_number())
    c.nemesis.interval_s = given["nemesis-interval"].get<double>();
  if (given.contains("nemesis-final") && given["nemesis-final"].is_number())
    c.nemesis.final_s = given["nemesis-final"].get<double>();
  if (given.contains("db") && given["db"].is_string()) c.db = given["db"].get<std::string>();
  return c;
}

struct CheckFlags {
  std::string path, workload, checkers, format;  // format empty: jsonl, unless the file looks like Jepsen's
  bool checkers_given = false, json = false;
  nlohmann::json lin = nlohmann::json::object();  // --lin-time-limit-s, --lin-memory-mb, --all-keys
};

// Why `path`, checked as JSONL, looks like a Jepsen history (empty when it
// does not): a .edn name, EDN at its start, or jepsen.log op lines.
std::string JepsenLook(const std::filesystem::path& path) {
  if (path.extension() == ".edn") return "jepsen-edn";
  std::ifstream in(path, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  const size_t first = head.find_first_not_of(" \t\r\n");
  if (first != std::string::npos &&
      (head[first] == '[' || head.compare(first, 2, "{:") == 0 || head.compare(first, 2, "#j") == 0)) {
    return "jepsen-edn";
  }
  if (head.find("jepsen.util - ") != std::string::npos) return "jepsen-log";
  return "";
}

// Checks the --format flag against the path; 0 when fine, else the exit code after printing why.
int CheckFormat(const CheckFlags& flags, HistoryFormat format) {
  namespace fs = std::filesystem;
  if (format == HistoryFormat::kJsonl) {
    if (!flags.format.empty() || !fs::is_regular_file(flags.path)) return 0;  // an explicit jsonl is believed
    if (const std::string look = JepsenLook(flags.path); !look.empty()) {
      std::cerr << "faultline check: " << flags.path << " looks like a Jepsen history; check it with --format " << look
                << " --workload " << WorkloadNames("|") << std::endl;
      return kExitBadInput;
    }
    return 0;
  }
  if (flags.workload.empty()) {
    std::cerr << "faultline check: --format " << flags.format << " needs --workload " << WorkloadNames("|")
              << std::endl;
    return kExitBadInput;
  }
  if (fs::is_directory(flags.path)) {
    std::cerr << "faultline check: --format " << flags.format << " reads a history file, and " << flags.path
              << " is a directory" << std::endl;
    return kExitBadInput;
  }
  return 0;
}

int CheckCommand(const CheckFlags& flags) {
  const std::string& path_arg = flags.path;
  const std::string& workload_flag = flags.workload;
  const bool json = flags.json;
  namespace fs = std::filesystem;
  const std::optional<HistoryFormat> format = ParseHistoryFormat(flags.format.empty() ? "jsonl" : flags.format);
  if (!format) {
    std::cerr << "faultline check: unknown --format \"" << flags.format << "\"; use jsonl, jepsen-edn or jepsen-log"
              << std::endl;
    return kExitBadInput;
  }
  if (const int code = CheckFormat(flags, *format); code != 0) return code;
  fs::path history = path_arg;
  TestConfig config;
  std::optional<TestConfig> run_faults;  // the run's nemesis and time limit, from its test.json
  try {
    nlohmann::json given = nlohmann::json::object();
    if (fs::is_directory(history)) {
      if (fs::exists(history / "test.json")) given = LoadConfigFile(history / "test.json");
      history /= "history.jsonl";
    }
    if (!workload_flag.empty()) given["workload"] = workload_flag;
    if (!given.contains("workload")) {
      std::cerr << "faultline check: " << path_arg << " has no test.json; say which workload wrote it with --workload "
                << WorkloadNames("|") << std::endl;
      return kExitBadInput;
    }
    // Only the workload and its options matter here; node settings of the run are irrelevant.
    given = MergeConfig(nlohmann::json::object(), given);  // "_" → "-"
    nlohmann::json workload = {{"workload", given["workload"]}, {"keys", given.value("keys", 5)}};
    for (const std::string& key : WorkloadOptionKeys()) {
      if (given.contains(key)) workload[key] = given[key];
    }
    config = ResolveConfig(MergeConfig(workload, flags.lin), 0, /*for_store=*/false);
    if (given.contains("nemesis") && given.contains("time-limit")) run_faults = RunFaults(given);
  } catch (const std::exception& e) {
    std::cerr << "faultline check: " << e.what() << std::endl;
    return kExitBadInput;
  }
  if (!fs::exists(history)) {
    std::cerr << "faultline check: no history at " << history.string() << std::endl;
    return kExitBadInput;
  }
  CheckOptions options;
  options.lenient = true;
  options.skip_absent = true;
  options.format = *format;
  if (flags.checkers_given) {  // maybe empty
    std::stringstream ss(flags.checkers);
    for (std::string name; std::getline(ss, name, ',');) {
      if (!name.empty()) options.only.push_back(name);
    }
    if (options.only.empty()) {
      std::cerr << "faultline check: --checkers needs at least one checker name" << std::endl;
      return kExitBadInput;
    }
  }
  std::vector<std::string> warnings;
  RunResults results;
  try {
    results = CheckHistoryFile(history, *MakeWorkload(config), &warnings, options);
  } catch (const std::exception& e) {
    std::cerr << "faultline check: " << e.what() << std::endl;
    return kExitBadInput;
  }
  for (const std::string& w : warnings) std::cerr << "faultline check: warning: " << w << std::endl;
  if (run_faults && results.faults) ExplainFaultCoverage(*run_faults, &*results.faults);
  const std::string fault_warning = results.faults ? results.faults->warning : "";
  if (json) {
    std::cout << results.ToJson().dump(2) << std::endl;
    return ExitCodeFor(results.valid());
  }
  for (const auto& [name, r] : results.checkers) {
    std::cout << name << ": " << ValidityName(r.valid) << ": " << r.summary << "\n";
  }
  for (const auto& [name, why] : results.skipped) std::cout << name << ": skipped: " << why << "\n";
  std::cout << "verdict: " << VerdictWords(results.valid(), fault_warning) << ": " << results.summary() << std::endl;
  return ExitCodeFor(results.valid());
}

}  // namespace

void AddCheckCommand(CLI::App& app, std::vector<Command>& commands) {
  auto flags = std::make_shared<CheckFlags>();
  CLI::App* check = app.add_subcommand("check",
                                       "check a stored history again: RUN_DIR or a history.jsonl; exit 0 "
                                       "valid, 1 anomalies, 2 unknown or bad input");
  check->add_option("path", flags->path, "run directory or history file")->required();
  check->add_option("--workload", flags->workload, "workload that wrote the history (default: from test.json)");
  CLI::Option* checkers = check->add_option("--checkers", flags->checkers,
                                            "run only these of the workload's checkers, comma-separated (default: "
                                            "all; the rest are listed as skipped)");
  check->add_flag("--json", flags->json, "print the verdict as JSON, in results.json's format");
  check->add_option("--format", flags->format,
                    "history format: jsonl (faultline's, default), jepsen-edn (history.edn) or jepsen-log (jepsen.log "
                    "op lines); a Jepsen format needs --workload");
  AddLinearizableFlags(check, &flags->lin);
  commands.push_back({check, [flags, checkers] {
                        flags->checkers_given = checkers->count() > 0;
                        return CheckCommand(*flags);
                      }});
}
}  // namespace faultline
