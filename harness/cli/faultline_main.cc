// faultline: the command line. The subcommands are listed in commands.h, one
// file each; this file parses and dispatches.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "harness/cli/commands.h"

namespace faultline {

namespace {
std::atomic<bool> g_interrupted{false};

void OnSignal(int) {
  if (g_interrupted.exchange(true)) {
    static const char msg[] = "\nfaultline: still cleaning up; the cluster is being torn down\n";
    (void)!::write(STDERR_FILENO, msg, sizeof(msg) - 1);
  }
}
}  // namespace

std::atomic<bool>& InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return g_interrupted;
}

namespace {

int Main(int argc, char** argv) {
  CLI::App app{"faultline: Jepsen-style consistency tests with fault injection"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "faultline 0.1");
  std::vector<Command> commands;
  AddRunCommand(app, commands);
  AddCleanupCommand(app, commands);
  AddCheckCommand(app, commands);
  AddSuiteCommand(app, commands);
  AddHealCommand(app, commands);
  AddReportCommand(app, commands);
  AddClusterCommand(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }

  try {
    for (const Command& c : commands) {
      if (c.app->parsed()) return c.run();
    }
  } catch (const std::exception& e) {
    std::cerr << "faultline: " << e.what() << std::endl;
    return kExitBadInput;
  }
  return kExitBadInput;
}

}  // namespace
}  // namespace faultline

int main(int argc, char** argv) { return faultline::Main(argc, argv); }
