// `faultline run`: one test (or --test-count K), its verdict, exit 0/1/2.
// Every flag overrides the same key of the --config file (README "Command line").
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>

#include "harness/cli/commands.h"
#include "harness/nodes/local/local_cluster.h"
#include "harness/run/fault_plan.h"
#include "harness/run/registry.h"
#include "harness/run/runner.h"
#include "harness/run/test_config.h"

namespace faultline {
namespace {

// Flags of `faultline run`; each one given overrides the config file.
struct RunFlags {
  std::string config;
  nlohmann::json overrides = nlohmann::json::object();
};

template <typename T>
void Flag(CLI::App* app, RunFlags& flags, const std::string& name, const std::string& help, const char* key = nullptr) {
  const std::string json_key = key != nullptr ? key : name;
  app->add_option_function<T>(
      "--" + name,
      [&flags, json_key](const T& value) {
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

// "set, register (lost updates), counter": the registry's workloads with their notes.
std::string WorkloadHelp() {
  std::string help;
  for (const WorkloadEntry& w : Workloads()) {
    if (!help.empty()) help += ", ";
    help += WorkloadKindName(w.kind);
    if (!w.help.empty()) help += " (" + w.help + ")";
  }
  return help;
}

}  // namespace

void AddLinearizableFlags(CLI::App* app, nlohmann::json* overrides) {
  app->add_option_function<double>(
      "--lin-time-limit-s", [overrides](double v) { (*overrides)["lin-time-limit-s"] = v; },
      "linearizable checker: seconds per key before the key is unknown (default 10)");
  app->add_option_function<int>(
      "--lin-memory-mb", [overrides](int v) { (*overrides)["lin-memory-mb"] = v; },
      "linearizable checker: megabytes per key before the key is unknown (default 512)");
  app->add_flag_callback(
      "--all-keys", [overrides] { (*overrides)["all-keys"] = true; },
      "linearizable checker: check every key, not stopping at the first non-linearizable one");
}

namespace {

void AddRunFlags(CLI::App* run, RunFlags& flags) {
  run->add_option("--config", flags.config, "JSON test config; its keys are these flags' names (flags win)");
  Flag<std::string>(run, flags, "name", "test name (default <db>-<workload>): store/<name>/<timestamp>/");
  Flag<std::string>(run, flags, "db", "store under test: " + StoreNames(", ") + " (README)");
  Flag<std::string>(run, flags, "workload", "workload: " + WorkloadHelp());
  Flag<int>(run, flags, "local", "number of local network-namespace nodes n1..nN (default 5)");
  ListFlag(run, flags, "nodes", "remote hosts over SSH, named n1,n2,... in order (README \"Remote hosts over SSH\")");
  Flag<std::string>(run, flags, "nodes-file", "file with one remote host per line");
  Flag<std::string>(run, flags, "username", "SSH user on the nodes (default root)", "ssh.username");
  Flag<std::string>(run, flags, "ssh-private-key", "SSH private key file (default: ssh-agent)", "ssh.private-key");
  Flag<std::string>(run, flags, "password", "SSH password (discouraged: visible in ps; never stored)", "ssh.password");
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
                    "node directories' root on SSH hosts (default: a fresh mktemp -d per node)", "ssh.remote-dir");
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
  Flag<std::string>(run, flags, "cas-mix",
                    "cas-register: op weights, e.g. read=2,write=1,cas=0 (default read=1,write=1,cas=1; dynastore "
                    "has no cas: give it cas=0)");
  Flag<int>(run, flags, "ops-per-key", "cas-register: ops on a key before it moves to a fresh key (default 200)");
  Flag<int>(run, flags, "max-value", "cas-register: values are 0..max-value (default 4)");
  run->add_flag_callback(
      "--unique-values", [&flags] { flags.overrides["unique-values"] = true; },
      "cas-register: every written value distinct");
  AddLinearizableFlags(run, &flags.overrides);
  Flag<std::string>(run, flags, "subnet", "local nodes' subnet, a /24 in 10.0.0.0/8 (default: a free one)");
  run->add_flag_callback(
      "--containers", [&flags] { flags.overrides["containers"] = true; },
      "local nodes as Podman containers: own root, pids, hostname and cgroup limits; allows crash, freeze, starve "
      "(README \"Nodes\")");
  Flag<std::string>(run, flags, "image",
                    "container nodes from this local image (implies --containers; default: "
                    "an overlay of the host's root)");
  Flag<std::string>(run, flags, "node-memory", "memory limit of each container node, e.g. 256m (default none)");
  Flag<double>(run, flags, "node-cpus", "CPU limit of each container node in cores, e.g. 0.5 (default none)");
  Flag<double>(run, flags, "starve-cpus", "CPU quota of a node the starve fault hits, in cores (default 0.05)");
  Flag<std::string>(run, flags, "nemesis",
                    "faults: partition,kill,pause,clock,loss | all | none (default none); on container nodes also "
                    "crash,freeze,starve (not in all). No delay faults: this kernel has no netem");
  Flag<double>(run, flags, "nemesis-interval", "seconds a fault is held, and between faults (default 10)");
  Flag<double>(run, flags, "nemesis-final",
               "the last S seconds of the main phase run under one more fault, still in effect when the phase "
               "ends and healed with the rest (default 0: none)");
  ListFlag(run, flags, "nemesis-targets",
           "target specs picked from: one,minority,majority,all or node names joined by + (default all four)");
  ListFlag(
      run, flags, "nemesis-partitions",
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
         "--dynastore-arg", [&flags](const std::vector<std::string>& v) { flags.overrides["dynastore"]["args"] = v; },
         "extra dynastore flag, repeatable (e.g. --dynastore-arg=--lww to break it on purpose)")
      ->allow_extra_args(false);
  run->add_flag_callback(
      "--etcd-serializable-reads", [&flags] { flags.overrides["etcd"]["serializable-reads"] = true; },
      "etcd reads as serializable ranges: any member answers from its own state, maybe stale");
  Flag<std::string>(run, flags, "etcd-binary", "etcd binary on the nodes (default etcd, from PATH)", "etcd.binary");
  run->add_option_function<std::vector<std::string>>(
         "--etcd-arg", [&flags](const std::vector<std::string>& v) { flags.overrides["etcd"]["args"] = v; },
         "extra etcd flag, repeatable (e.g. --etcd-arg=--election-timeout=2000)")
      ->allow_extra_args(false);
}

int RunCommand(const RunFlags& flags) {
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
  // Before anything is created: a schedule that cannot inject what it asks for (issue 20).
  for (const std::string& w : FaultPlanWarnings(config)) std::cout << "warning: " << w << std::endl;
  std::atomic<bool>& interrupted = InstallInterruptHandlers();
  RunOptions options;
  options.interrupted = &interrupted;
  options.out = &std::cout;
  options.progress_in_place = ::isatty(STDOUT_FILENO) != 0;
  Validity worst = Validity::kTrue;
  for (int i = 0; i < config.test_count && !interrupted; ++i) {
    if (config.test_count > 1) std::cout << "test " << (i + 1) << " of " << config.test_count << std::endl;
    TestConfig this_run = config;
    this_run.seed = config.seed + static_cast<uint64_t>(i);  // each repetition its own, recorded, seed
    const RunOutcome outcome = RunTest(this_run, options);
    std::cout << "verdict: " << VerdictWords(outcome.valid, outcome.fault_warning) << ": " << outcome.summary << "\n"
              << "results: " << outcome.run_dir.string() << std::endl;
    worst = Worst(worst, outcome.valid);
  }
  if (interrupted) worst = Worst(worst, Validity::kUnknown);
  return ExitCodeFor(worst);
}

}  // namespace

void AddRunCommand(CLI::App& app, std::vector<Command>& commands) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run",
                                     "run a test: deploy, drive clients, record, check; exit 0 valid, "
                                     "1 anomalies found, 2 unknown or the harness failed");
  AddRunFlags(run, *flags);

  commands.push_back({run, [flags] { return RunCommand(*flags); }});
}

}  // namespace faultline
