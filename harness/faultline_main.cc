// faultline: the command line (README "Command line").
//   faultline run [flags]          one test (or --test-count K), verdict, exit 0/1/2
//   faultline cleanup [--all]      remove what crashed runs left behind
//   faultline suite PLAN           the nightly matrix of runs, worst verdict as exit 0/1/2
//   faultline cluster up|down|status   local clusters by hand, for experiments
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <csignal>
#include <cstring>
#include <iostream>
#include <random>
#include <sstream>

#include "check.h"
#include "harness_error.h"
#include "registry.h"
#include "heal_command.h"
#include "report_command.h"
#include "local_cluster.h"
#include "runner.h"
#include "suite.h"
#include "sshd_nodes.h"
#include "test_config.h"

namespace faultline {
namespace {

constexpr int kExitBadInput = 2;

std::atomic<bool> g_interrupted{false};

void OnSignal(int) {
  if (g_interrupted.exchange(true)) {
    static const char msg[] = "\nfaultline: still cleaning up; the cluster is being torn down\n";
    (void)!::write(STDERR_FILENO, msg, sizeof(msg) - 1);
  }
}

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

// Flags of `faultline run`; each one given overrides the config file.
struct RunFlags {
  std::string config;
  nlohmann::json overrides = nlohmann::json::object();
};

template <typename T>
void Flag(CLI::App* app, RunFlags& flags, const std::string& name, const std::string& help, const char* key = nullptr) {
  const std::string json_key = key != nullptr ? key : name;
  app->add_option_function<T>(
      "--" + name, [&flags, json_key](const T& value) {
        // "dynastore.n" → {"dynastore": {"n": ...}}, "ssh.port" → {"ssh": {"port": ...}}
        if (const auto dot = json_key.find('.'); dot != std::string::npos) {
          flags.overrides[json_key.substr(0, dot)][json_key.substr(dot + 1)] = value;
        } else {
          flags.overrides[json_key] = value;
        }
      },
      help);
}

// A comma-separated flag that becomes a JSON array of strings.
void ListFlag(CLI::App* app, RunFlags& flags, const std::string& name, const std::string& help) {
  app->add_option_function<std::string>(
      "--" + name,
      [&flags, name](const std::string& v) {
        nlohmann::json list = nlohmann::json::array();
        std::stringstream ss(v);
        for (std::string item; std::getline(ss, item, ',');) {
          if (!item.empty()) list.push_back(item);
        }
        flags.overrides[name] = list;
      },
      help);
}

void AddRunFlags(CLI::App* run, RunFlags& flags) {
  run->add_option("--config", flags.config, "JSON test config; its keys are these flags' names (flags win)");
  Flag<std::string>(run, flags, "name", "test name (default <db>-<workload>): store/<name>/<timestamp>/");
  Flag<std::string>(run, flags, "db", "store under test: dynastore, redis-cluster, external (README)");
  Flag<std::string>(run, flags, "workload", "workload: set, register (lost updates), counter");
  Flag<int>(run, flags, "local", "number of local network-namespace nodes n1..nN (default 5)");
  ListFlag(run, flags, "nodes", "remote hosts over SSH, named n1,n2,... in order (README \"Remote hosts over SSH\")");
  Flag<std::string>(run, flags, "nodes-file", "file with one remote host per line");
  Flag<std::string>(run, flags, "username", "SSH user on the nodes (default root)", "ssh.username");
  Flag<std::string>(run, flags, "ssh-private-key", "SSH private key file (default: ssh-agent)", "ssh.private-key");
  Flag<std::string>(run, flags, "password", "SSH password (discouraged: visible in ps; never stored)",
                    "ssh.password");
  Flag<int>(run, flags, "ssh-port", "SSH port of the nodes (default 22)", "ssh.port");
  Flag<std::string>(run, flags, "known-hosts", "known_hosts file to check host keys (default ~/.ssh/known_hosts)",
                    "ssh.known-hosts");
  run->add_option_function<std::string>(
         "--strict-host-key-checking",
         [&flags](const std::string& v) { flags.overrides["ssh"]["strict-host-key-checking"] = v; },
         "yes (default): refuse unknown or changed host keys; no: accept any host key")
      ->check(CLI::IsMember({"yes", "no"}));
  run->add_flag_callback(
      "--sudo", [&flags] { flags.overrides["ssh"]["sudo"] = true; },
      "run node commands with `sudo -n` (a non-root --username)");
  Flag<std::string>(run, flags, "remote-dir",
                    "node directories' root on SSH hosts (default /tmp/faultline/<name>-<id>)",
                    "ssh.remote-dir");
  Flag<int>(run, flags, "ssh-connect-timeout-ms", "bound of one SSH connection attempt (default 10000)",
            "ssh.connect-timeout-ms");
  Flag<double>(run, flags, "time-limit", "seconds of the main phase (default 60)");
  Flag<std::string>(run, flags, "concurrency", "workers: a number, or <k>n = k x nodes (default 2n)");
  Flag<double>(run, flags, "rate", "ops/s over all workers, randomly staggered (default 100)");
  Flag<uint64_t>(run, flags, "seed", "seed of every random choice (default: random, written to test.json)");
  Flag<int>(run, flags, "test-count", "run the test this many times (default 1)");
  Flag<std::string>(run, flags, "store-dir", "where run directories go (default store)");
  run->add_flag_callback(
      "--leave-db-running", [&flags] { flags.overrides["leave-db-running"] = true; },
      "leave the cluster and store running after the run (remove with `faultline cluster down`)");
  Flag<int>(run, flags, "op-timeout-ms", "per-operation client timeout (default 1000)");
  Flag<double>(run, flags, "quiesce", "seconds between heal and final reads (default 5)");
  Flag<double>(run, flags, "convergence-timeout",
               "seconds of replica-read rounds after the final reads before replicas count as divergent (default 30)");
  Flag<int>(run, flags, "keys", "number of keys the workload uses (default 5)");
  Flag<std::string>(run, flags, "subnet", "local nodes' subnet, a /24 in 10.0.0.0/8 (default: a free one)");
  Flag<std::string>(run, flags, "nemesis",
                    "faults: partition,kill,pause,clock,loss | all | none (default none). No delay faults: this "
                    "kernel has no netem");
  Flag<double>(run, flags, "nemesis-interval", "seconds a fault is held, and between faults (default 10)");
  Flag<double>(run, flags, "nemesis-final",
               "the last S seconds of the main phase run under one more fault, still in effect when the phase "
               "ends and healed with the rest (default 0: none)");
  ListFlag(run, flags, "nemesis-targets",
           "target specs picked from: one,minority,majority,all or node names joined by + (default all four)");
  ListFlag(run, flags, "nemesis-partitions",
           "partition kinds picked from: halves,random-halves,one,majorities-ring,bridge,grudge (default the first five)");
  run->add_option_function<std::string>(
      "--grudge",
      [&flags](const std::string& v) {
        try {
          flags.overrides["grudge"] = nlohmann::json::parse(v);
        } catch (const nlohmann::json::parse_error&) {
          throw CLI::ValidationError("--grudge", "must be JSON like {\"n1\":[\"n2\",\"n3\"]}, got " + v);
        }
      },
      "explicit partition: JSON {\"n1\":[\"n2\"],...} = n1 drops packets from n2");
  Flag<double>(run, flags, "loss-probability", "fraction of packets the loss fault drops (default 0.3)");
  Flag<int>(run, flags, "clock-skew-ms", "clock bumps are within +-this; strobe flips by it (default 30000)");
  Flag<int>(run, flags, "clock-strobe-period-ms", "strobe period (default 1000)");
  Flag<int>(run, flags, "dynastore-n", "dynastore replicas per key N (default 3)", "dynastore.n");
  Flag<int>(run, flags, "dynastore-r", "dynastore read quorum R (default 2)", "dynastore.r");
  Flag<int>(run, flags, "dynastore-w", "dynastore write quorum W (default 2)", "dynastore.w");
  Flag<std::string>(run, flags, "dynastore-binary", "dynastore binary (default: the one built with faultline)",
                    "dynastore.binary");
  run->add_option_function<std::vector<std::string>>(
      "--dynastore-arg",
      [&flags](const std::vector<std::string>& v) { flags.overrides["dynastore"]["args"] = v; },
      "extra dynastore flag, repeatable (e.g. --dynastore-arg=--lww to break it on purpose)")
      ->allow_extra_args(false);
}

int CommandRun(const RunFlags& flags) {
  TestConfig config;
  try {
    nlohmann::json merged = nlohmann::json::object();
    if (!flags.config.empty()) merged = LoadConfigFile(flags.config);
    merged = MergeConfig(merged, flags.overrides);
    config = ResolveConfig(merged, std::random_device{}());
    RequireNetAdmin();  // before the run directory exists
  } catch (const std::exception& e) {
    std::cerr << "faultline run: " << e.what() << std::endl;
    return kExitBadInput;
  }
  InstallSignalHandlers();
  RunOptions options;
  options.interrupted = &g_interrupted;
  options.out = &std::cout;
  options.progress_in_place = ::isatty(STDOUT_FILENO) != 0;
  Validity worst = Validity::kTrue;
  for (int i = 0; i < config.test_count && !g_interrupted; ++i) {
    if (config.test_count > 1) std::cout << "test " << (i + 1) << " of " << config.test_count << std::endl;
    TestConfig this_run = config;
    this_run.seed = config.seed + static_cast<uint64_t>(i);  // each repetition its own, recorded, seed
    const RunOutcome outcome = RunTest(this_run, options);
    std::cout << "verdict: " << ValidityName(outcome.valid) << ": " << outcome.summary << "\n"
              << "results: " << outcome.run_dir.string() << std::endl;
    worst = Worst(worst, outcome.valid);
  }
  if (g_interrupted) worst = Worst(worst, Validity::kUnknown);
  return ExitCodeFor(worst);
}

void PrintCluster(const ClusterSummary& c) {
  std::cout << "cluster " << c.run_id << "  subnet " << c.subnet << (c.manual ? "  (manual)" : "")
            << (c.owner_alive ? "" : "  (creator gone: `faultline cleanup` removes it)") << "\n";
  for (const LocalNode& n : c.nodes) std::cout << "  " << n.name << "  " << n.address << "  netns " << n.netns << "\n";
}

int CommandClusterUp(int nodes, const std::string& subnet, bool sshd) {
  LocalClusterOptions o;
  o.nodes = nodes;
  o.subnet = subnet;
  o.manual = true;
  o.description = "faultline cluster up";
  auto cluster = LocalCluster::Create(o);
  for (const ClusterSummary& c : ListLocalClusters()) {
    if (c.run_id == cluster->run_id()) PrintCluster(c);
  }
  if (sshd) {
    try {
      const SshdNodes s = StartSshd(*cluster);
      std::cout << "sshd on port 22 of every node; client key " << s.client_key.string() << ", known_hosts "
                << s.known_hosts.string() << "\n"
                << "test over SSH with: faultline run " << SshdRunFlags(s) << "\n";
    } catch (const std::exception&) {
      cluster->Destroy();
      throw;
    }
  }
  std::cout << "run commands on a node with: ip netns exec " << cluster->nodes()[0].netns << " <command>\n"
            << "remove it with: faultline cluster down " << cluster->run_id() << std::endl;
  return 0;
}

int CommandClusterDown(const std::vector<std::string>& ids) {
  const auto clusters = ListLocalClusters();
  int removed = 0;
  for (const ClusterSummary& c : clusters) {
    const bool named = std::find(ids.begin(), ids.end(), c.run_id) != ids.end();
    if (!(named || (ids.empty() && c.manual))) continue;
    LocalCluster::Attach(c.run_id)->Destroy();
    std::cout << "removed cluster " << c.run_id << std::endl;
    ++removed;
  }
  for (const std::string& id : ids) {
    if (std::none_of(clusters.begin(), clusters.end(), [&](const ClusterSummary& c) { return c.run_id == id; })) {
      std::cerr << "faultline cluster down: no cluster " << id << " (see `faultline cluster status`)" << std::endl;
      return kExitBadInput;
    }
  }
  if (removed == 0) std::cout << "no manual cluster to remove" << std::endl;
  return 0;
}

int CommandClusterStatus() {
  const auto clusters = ListLocalClusters();
  if (clusters.empty()) std::cout << "no local clusters" << std::endl;
  for (const ClusterSummary& c : clusters) PrintCluster(c);
  return 0;
}

// `faultline check RUN_DIR | history.jsonl [--workload W] [--checkers a,b]`:
// the checkers again, from the stored history; same exit codes as `run`.
// Checkers whose input the history lacks are skipped (README "faultline check").
int CommandCheck(const std::string& path_arg, const std::string& workload_flag, const std::string* checkers_flag,
                 bool json) {
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
                << "set|register|counter" << std::endl;
      return kExitBadInput;
    }
    // Only the workload matters here; node settings of the run are irrelevant.
    config = ResolveConfig({{"workload", given["workload"]}, {"keys", given.value("keys", 5)}}, 0);
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
  if (checkers_flag != nullptr) {  // given, maybe empty
    std::stringstream ss(*checkers_flag);
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

int CommandHeal(const std::vector<std::string>& ids) {
  std::vector<std::string> targets = ids;
  if (targets.empty()) {
    for (const ClusterSummary& c : ListLocalClusters()) targets.push_back(c.run_id);
  }
  if (targets.empty()) std::cout << "no local clusters to heal" << std::endl;
  int code = 0;
  for (const std::string& id : targets) {
    for (const std::string& problem : HealLocalCluster(id, std::cout)) {
      std::cerr << "faultline heal: cluster " << id << ": " << problem << std::endl;
      code = kExitBadInput;
    }
  }
  return code;
}

int CommandCleanup(bool all) {
  const std::vector<std::string> lines = CleanupLocalClusters(all);
  for (const std::string& line : lines) std::cout << line << "\n";
  if (lines.empty()) std::cout << "nothing to clean up" << std::endl;
  return 0;
}

// `faultline suite PLAN`: the nightly matrix (README "faultline suite: nightly runs").
int CommandSuite(const std::string& plan_file, const std::string& store_dir, const std::string& junit, bool dry_run,
                 bool verbose) {
  SuitePlan plan;
  try {
    nlohmann::json overrides = nlohmann::json::object();
    if (!store_dir.empty()) overrides["store-dir"] = store_dir;
    plan = LoadSuitePlan(plan_file, overrides, std::random_device{}());
    if (dry_run) {
      PrintSuitePlan(plan, std::cout);
      return 0;
    }
    RequireNetAdmin();  // before any run directory exists
  } catch (const std::exception& e) {
    std::cerr << "faultline suite: " << e.what() << std::endl;
    return kExitBadInput;
  }
  InstallSignalHandlers();
  SuiteOptions options;
  options.interrupted = &g_interrupted;
  options.out = &std::cout;
  options.verbose = verbose;
  options.junit = junit;
  return ExitCodeFor(RunSuite(plan, options).worst);
}

int Main(int argc, char** argv) {
  CLI::App app{"faultline: Jepsen-style consistency tests with fault injection"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "faultline 0.1");

  RunFlags run_flags;
  CLI::App* run = app.add_subcommand("run", "run a test: deploy, drive clients, record, check; exit 0 valid, "
                                            "1 anomalies found, 2 unknown or the harness failed");
  AddRunFlags(run, run_flags);

  bool cleanup_all = false;
  CLI::App* cleanup = app.add_subcommand("cleanup", "remove namespaces, links, processes and rules left by "
                                                    "crashed or killed runs");
  cleanup->add_flag("--all", cleanup_all, "also remove clusters made by `cluster up` or --leave-db-running");

  std::string check_path, check_workload;
  std::string check_checkers;
  bool check_json = false;
  CLI::App* check = app.add_subcommand("check", "check a stored history again: RUN_DIR or a history.jsonl; exit 0 "
                                                "valid, 1 anomalies, 2 unknown or bad input");
  check->add_option("path", check_path, "run directory or history file")->required();
  check->add_option("--workload", check_workload, "workload that wrote the history (default: from test.json)");
  CLI::Option* checkers_option = check->add_option("--checkers", check_checkers,
                    "run only these of the workload's checkers, comma-separated (default: all; the rest are "
                    "listed as skipped)");
  check->add_flag("--json", check_json, "print the verdict as JSON, in results.json's format");

  std::string suite_plan, suite_store_dir, suite_junit;
  bool suite_dry_run = false, suite_verbose = false;
  CLI::App* suite = app.add_subcommand("suite", "run a matrix of tests from a plan (stores x workloads x nemeses), "
                                                "one after another; exit with the worst verdict 0/1/2");
  suite->add_option("plan", suite_plan, "plan file (JSON; README \"faultline suite\")")->required();
  suite->add_option("--store-dir", suite_store_dir, "where run directories go (overrides the plan's store-dir)");
  suite->add_option("--junit", suite_junit, "also write one JUnit XML file with a <testsuite> per run");
  suite->add_flag("--dry-run", suite_dry_run, "validate the plan and print its runs without running them");
  suite->add_flag("--verbose", suite_verbose, "print each run's progress lines too");

  std::vector<std::string> heal_ids;
  CLI::App* heal = app.add_subcommand("heal", "remove every fault from running local clusters: partition and loss "
                                              "rules, paused processes, clock skew; restart killed stores");
  heal->add_option("ids", heal_ids, "cluster ids (default: every local cluster)");

  std::vector<std::string> report_dirs;
  bool report_index = false;
  std::string report_store = "store";
  CLI::App* report = app.add_subcommand("report", "regenerate report.html and junit.xml of stored runs from their "
                                                  "files, and/or the store's index.html (--index)");
  report->add_option("run_dirs", report_dirs, "run directories (e.g. store/latest)");
  report->add_flag("--index", report_index, "rebuild STORE_DIR/index.html listing every run");
  report->add_option("--store-dir", report_store, "store directory for --index (default store)");

  CLI::App* cluster = app.add_subcommand("cluster", "create and remove local clusters by hand");
  cluster->require_subcommand(1);
  int up_nodes = 5;
  std::string up_subnet;
  CLI::App* up = cluster->add_subcommand("up", "create a local cluster and print its nodes");
  up->add_option("--local", up_nodes, "number of nodes")->check(CLI::Range(1, 200));
  up->add_option("--subnet", up_subnet, "a /24 in 10.0.0.0/8 (default: a free one)");
  bool up_sshd = false;
  up->add_flag("--sshd", up_sshd, "also start sshd in every node (own keys, never /etc/ssh) and print the "
                                  "`faultline run --nodes ...` flags that test over SSH");
  std::vector<std::string> down_ids;
  CLI::App* down = cluster->add_subcommand("down", "remove local clusters (default: every manual one)");
  down->add_option("ids", down_ids, "cluster ids from `faultline cluster status`");
  CLI::App* status = cluster->add_subcommand("status", "list local clusters, their nodes and addresses");

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
    if (run->parsed()) return CommandRun(run_flags);
    if (cleanup->parsed()) return CommandCleanup(cleanup_all);
    if (heal->parsed()) return CommandHeal(heal_ids);
    if (check->parsed()) return CommandCheck(check_path, check_workload, checkers_option->count() > 0 ? &check_checkers : nullptr,
                                              check_json);
    if (suite->parsed()) return CommandSuite(suite_plan, suite_store_dir, suite_junit, suite_dry_run, suite_verbose);
    if (report->parsed()) return CommandReport(report_dirs, report_index, report_store);
    if (up->parsed()) return CommandClusterUp(up_nodes, up_subnet, up_sshd);
    if (down->parsed()) return CommandClusterDown(down_ids);
    if (status->parsed()) return CommandClusterStatus();
  } catch (const std::exception& e) {
    std::cerr << "faultline: " << e.what() << std::endl;
    return kExitBadInput;
  }
  return kExitBadInput;
}

}  // namespace
}  // namespace faultline

int main(int argc, char** argv) { return faultline::Main(argc, argv); }
