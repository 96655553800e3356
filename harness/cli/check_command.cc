// `faultline check RUN_DIR | history.jsonl [--workload W] [--checkers a,b]`:
// the checkers again, from the stored history; same exit codes as `run`.
// Checkers whose input the history lacks are skipped (README "faultline check").
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "harness/cli/commands.h"
#include "harness/run/check.h"
#include "harness/run/registry.h"
#include "harness/run/runner.h"
#include "harness/run/test_config.h"
#include "harness/run/workload_config.h"

namespace faultline {
namespace {

struct CheckFlags {
  std::string path, workload, checkers;
  bool checkers_given = false, json = false;
  nlohmann::json lin = nlohmann::json::object();  // --lin-time-limit-s, --lin-memory-mb, --all-keys
};

int CheckCommand(const CheckFlags& flags) {
  const std::string& path_arg = flags.path;
  const std::string& workload_flag = flags.workload;
  const bool json = flags.json;
  namespace fs = std::filesystem;
  fs::path history = path_arg;
  TestConfig config;
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
  if (json) {
    std::cout << results.ToJson().dump(2) << std::endl;
    return ExitCodeFor(results.valid());
  }
  for (const auto& [name, r] : results.checkers) {
    std::cout << name << ": " << ValidityName(r.valid) << ": " << r.summary << "\n";
  }
  for (const auto& [name, why] : results.skipped) std::cout << name << ": skipped: " << why << "\n";
  std::cout << "verdict: " << ValidityName(results.valid()) << ": " << results.summary() << std::endl;
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
  AddLinearizableFlags(check, &flags->lin);
  commands.push_back({check, [flags, checkers] {
                        flags->checkers_given = checkers->count() > 0;
                        return CheckCommand(*flags);
                      }});
}
}  // namespace faultline
