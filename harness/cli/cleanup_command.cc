// `faultline cleanup [--all]`: removes what crashed runs left behind.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "harness/cli/commands.h"
#include "harness/nodes/local/local_cluster.h"

namespace faultline {
namespace {

int CleanupCommand(bool all) {
  const std::vector<std::string> lines = CleanupLocalClusters(all);
  for (const std::string& line : lines) std::cout << line << "\n";
  if (lines.empty()) std::cout << "nothing to clean up" << std::endl;
  return 0;
}

}  // namespace

void AddCleanupCommand(CLI::App& app, std::vector<Command>& commands) {
  auto all = std::make_shared<bool>(false);
  CLI::App* cleanup = app.add_subcommand("cleanup",
                                         "remove namespaces, links, processes and rules left by "
                                         "crashed or killed runs");
  cleanup->add_flag("--all", *all, "also remove clusters made by `cluster up` or --leave-db-running");
  commands.push_back({cleanup, [all] { return CleanupCommand(*all); }});
}
}  // namespace faultline
