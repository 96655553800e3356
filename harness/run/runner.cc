#include "harness/run/runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "harness/api/environment.h"
#include "harness/base/harness_error.h"
#include "harness/driver/generator.h"
#include "harness/driver/history_writer.h"
#include "harness/driver/workers.h"
#include "harness/run/check.h"
#include "harness/run/environment_factory.h"
#include "harness/run/fault_plan.h"
#include "harness/run/registry.h"
#include "harness/run/run_dir.h"
#include "harness/run/run_log.h"
#include "nemesis/clock_fault.h"
#include "nemesis/scheduler.h"
#include "reports/report.h"
#include "reports/results.h"
#include "reports/store_index.h"

namespace faultline {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto kStartTimeout = 20s;
constexpr int kFinalReadAttempts = 3;
// Between replica-read rounds: the precision of the measured time to converge.
constexpr auto kReplicaReadInterval = 500ms;

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted (SIGINT or SIGTERM): the run stopped early") {}
};

// Everything one run owns, torn down in Teardown() whatever happened.
class Run {
 public:
  Run(const TestConfig& config, const RunOptions& options, fs::path run_dir)
      : config_(config), options_(options), run_dir_(std::move(run_dir)), log_(run_dir_ / "faultline.log") {}

  RunOutcome Execute();

 private:
  bool interrupted() const { return options_.interrupted != nullptr && options_.interrupted->load(); }
  void ThrowIfInterrupted() const {
    if (interrupted()) throw Interrupted();
  }
  // Sleeps up to `d`, returning early on interrupt.
  void Sleep(Clock::duration d) const;
  void Say(const std::string& line);
  void Progress(const std::string& phase, Clock::time_point start, Clock::time_point end, const WorkerCounters& c);

  void SetUp();
  void MainPhase(HistoryWriter& history, Workload& workload, int64_t* next_process);
  void Heal();
  // Heals every fault; problems make the run unknown (a node that cannot be
  // healed gives final reads that mean nothing).
  void HealFaults(RunResults* results);
  // Final reads judge what the store kept, not a failover or election still
  // settling from the last fault: they wait (up to convergence-timeout) for
  // the store to say it is ready, as at the start. Not ready is a warning;
  // the reads go ahead and say what they get.
  void WaitReadyAfterHeal();
  void FinalReads(HistoryWriter& history, Workload& workload, int64_t first_process);
  // Replica-read rounds (README "Replica reads"): every key read from each of
  // its replicas directly, every round recorded in the history. They run from
  // right after the heal through the quiesce (so the first round that agrees
  // measures when the replicas converged), then after the final reads until
  // all agree or convergence-timeout passes. StartReplicaReads says whether
  // the adapter has replica reads at all.
  bool StartReplicaReads(Workload& workload, int64_t process);
  bool ReplicaReadRound(HistoryWriter& history);  // whether every key agreed
  void ReplicaReadsUntil(HistoryWriter& history, Clock::time_point end);
  void ReplicaReads(HistoryWriter& history);
  ClientOptions client_options() const { return MakeClientOptions(config_); }
  void Teardown(RunResults& results);

  const TestConfig& config_;
  const RunOptions& options_;
  const fs::path run_dir_;
  RunLog log_;
  std::unique_ptr<Environment> env_;  // the nodes; lives as long as the run (NodeInfos point into it)
  std::unique_ptr<Database> db_;
  std::vector<NodeInfo> nodes_;  // env_'s
  std::unique_ptr<HistoryWriter> history_;
  std::unique_ptr<NemesisScheduler> nemesis_;  // after history_: destroyed first
  bool faults_healed_ = true;
  bool main_phase_done_ = false;  // the nemesis had the whole main phase (else a missing fault is no surprise)
  bool progress_line_open_ = false;
  std::unique_ptr<Client> replica_client_;  // null when the adapter has no replica reads
  std::vector<std::string> replica_keys_;
  int64_t replica_process_ = 0;
  int replica_round_ = 0;        // the next round's number
  size_t replica_agreeing_ = 0;  // keys that agreed in the last round
};

void Run::Sleep(Clock::duration d) const {
  const auto until = Clock::now() + d;
  while (!interrupted() && Clock::now() < until) {
    std::this_thread::sleep_for(std::min<Clock::duration>(50ms, until - Clock::now()));
  }
}

void Run::Say(const std::string& line) {
  log_.Info(line);
  if (options_.out == nullptr) return;
  if (progress_line_open_) *options_.out << "\n";
  progress_line_open_ = false;
  *options_.out << line << std::endl;
}

void Run::Progress(const std::string& phase, Clock::time_point start, Clock::time_point end, const WorkerCounters& c) {
  const auto secs = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  const auto now = Clock::now();
  const std::string line =
      fmt::format("[{}] {:.0f}s elapsed, {:.0f}s left | ok {} fail {} info {}", phase, secs(now - start),
                  std::max(0.0, secs(end - now)), c.ok.load(), c.fail.load(), c.info.load());
  if (options_.out == nullptr) return;
  if (options_.progress_in_place) {
    *options_.out << "\r\033[K" << line << std::flush;
    progress_line_open_ = true;
  } else {
    *options_.out << line << std::endl;
  }
}

void Run::SetUp() {
  env_ = MakeEnvironment(config_, run_dir_);
  nodes_ = env_->nodes();
  Say(env_->Describe());
  ThrowIfInterrupted();

  db_ = MakeDatabase(config_);
  db_->SetLog([this](const std::string& line) { log_.Warn(line); });
  db_->Install(nodes_);
  if (UsesClockFault(config_)) {
    for (const NodeInfo& node : nodes_) SetClockOffset(node, 0);  // libfaketime reads it from the start
  }
  for (const NodeInfo& node : nodes_) db_->Start(node);
  for (const NodeInfo& node : nodes_) {
    ThrowIfInterrupted();
    db_->WaitHealthy(node, kStartTimeout);
  }
  db_->WaitClusterReady(nodes_, kStartTimeout);
  Say(fmt::format("{} is up on {} node{}", db_->name(), nodes_.size(), nodes_.size() == 1 ? "" : "s"));
}

void Run::MainPhase(HistoryWriter& history, Workload& workload, int64_t* next_process) {
  GeneratorOptions g;
  g.rate = config_.rate;
  g.time_limit =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(config_.time_limit));
  g.seed = config_.seed;
  std::vector<WorkerSpec> workers;
  for (int i = 0; i < config_.workers(); ++i) {
    const NodeInfo& node = nodes_[i % nodes_.size()];  // round-robin
    workers.push_back(WorkerSpec{db_->NewClient(node, client_options()), node.name});
  }
  // All at once: an external client program's start-up takes a while on a
  // loaded machine, and the phase's clock must not run meanwhile.
  std::vector<std::thread> openers;
  for (WorkerSpec& w : workers) openers.emplace_back([&w] { w.client->Open(); });
  for (std::thread& t : openers) t.join();
  const auto start = Clock::now();
  Generator generator(workload, g, start);
  log_.Info(fmt::format("main phase: {} workers, rate {}/s, {} s, seed {}", workers.size(), config_.rate,
                        config_.time_limit, config_.seed));
  WorkerPool pool(generator, history, std::move(workers));
  if (!config_.nemesis.faults.empty()) {
    nemesis_ = std::make_unique<NemesisScheduler>(MakeFaults(config_.nemesis, nodes_, *db_), history,
                                                  config_.nemesis.interval_s, config_.seed,
                                                  [this](const std::string& line) { log_.Info(line); });
    faults_healed_ = false;
  }
  if (nemesis_ != nullptr && config_.nemesis.final_s > 0) {
    nemesis_->HoldFinalFault(generator.deadline() - std::chrono::duration_cast<Clock::duration>(
                                                        std::chrono::duration<double>(config_.nemesis.final_s)));
  }
  pool.Start();
  if (nemesis_ != nullptr) nemesis_->Start();
  auto last_progress = Clock::now();
  // The pool's workers stop by themselves when the generator runs dry.
  std::thread joiner;
  std::atomic<bool> done{false};
  joiner = std::thread([&] {
    pool.Join();
    done = true;
  });
  while (!done) {
    if (interrupted() || history.failed()) generator.Stop();
    std::this_thread::sleep_for(50ms);
    if (Clock::now() - last_progress >= (options_.progress_in_place ? 1s : 10s)) {
      Progress("main", start, generator.deadline(), pool.counters());
      last_progress = Clock::now();
    }
  }
  joiner.join();
  if (nemesis_ != nullptr) nemesis_->Stop();
  Progress("main", start, generator.deadline(), pool.counters());
  if (pool.error() != nullptr) std::rethrow_exception(pool.error());
  history.Sync();
  *next_process = pool.next_free_process();
  Say(fmt::format("main phase done: ok {} fail {} info {}{}", pool.counters().ok.load(), pool.counters().fail.load(),
                  pool.counters().info.load(),
                  nemesis_ == nullptr
                      ? std::string()
                      : fmt::format("; {} faults injected, {} failed", nemesis_->started(), nemesis_->failed())));
  ThrowIfInterrupted();
}

void Run::HealFaults(RunResults* results) {
  if (nemesis_ == nullptr || faults_healed_) return;
  const std::vector<std::string> problems = nemesis_->HealAll();
  faults_healed_ = true;
  for (const std::string& p : problems) log_.Warn("could not heal: " + p);
  if (!problems.empty() && results != nullptr && results->error.empty()) {
    results->error = fmt::format("could not heal every fault: {}", fmt::join(problems, "; "));
  }
}

void Run::Heal() {
  RunResults healing;
  HealFaults(&healing);
  if (!healing.error.empty()) throw HarnessError(healing.error);
  // A node that died on its own (no nemesis killed it) is restarted, and the
  // log says so: a crash is worth a look.
  for (const NodeInfo& node : nodes_) {
    if (!db_->Running(node)) {
      log_.Warn(fmt::format("{} was not running at the end of the main phase; restarting it", node.name));
      db_->Restart(node);
    }
  }
  Say(fmt::format("heal: {}all {} nodes running; quiescing {} s", nemesis_ == nullptr ? "" : "every fault healed, ",
                  nodes_.size(), config_.quiesce));
}

void Run::WaitReadyAfterHeal() {
  const auto start = Clock::now();
  const auto timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(config_.convergence_timeout));
  try {
    db_->WaitClusterReady(nodes_, timeout);
  } catch (const HarnessError& e) {
    log_.Warn(fmt::format("before the final reads: {}; they go ahead", e.what()));
    return;
  }
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  if (waited >= 1) Say(fmt::format("{} ready again after {:.1f} s more", db_->name(), waited));
}

void Run::FinalReads(HistoryWriter& history, Workload& workload, int64_t first_process) {
  const std::vector<Invocation> reads = workload.FinalReads();
  std::vector<std::thread> threads;
  std::atomic<int64_t> ok{0};
  for (size_t i = 0; i < nodes_.size(); ++i) {
    threads.emplace_back([&, i] {
      const NodeInfo& node = nodes_[i];
      std::unique_ptr<Client> client = db_->NewClient(node, client_options());
      int64_t process = first_process + static_cast<int64_t>(i);
      for (const Invocation& read : reads) {
        // Retry a failed read: one slow answer should not leave a key unjudged.
        for (int attempt = 0; attempt < kFinalReadAttempts && !interrupted(); ++attempt) {
          history.Append(OpType::kInvoke, process, read.f, read.key, read.value, node.name);
          const Completion c = client->Invoke(read);
          history.Append(c.type, process, read.f, read.key, c.value, node.name, c.error);
          if (c.type == OpType::kOk) {
            ++ok;
            break;
          }
          if (c.type == OpType::kInfo) process += static_cast<int64_t>(nodes_.size());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  history.Sync();
  Say(fmt::format("final reads: {} of {} ok", ok.load(), reads.size() * nodes_.size()));
  ThrowIfInterrupted();
}

bool Run::StartReplicaReads(Workload& workload, int64_t process) {
  replica_keys_ = workload.Keys();
  if (replica_keys_.empty()) return false;
  std::unique_ptr<Client> client = db_->NewClient(nodes_[0], client_options());
  if (!client->ReadReplicas(replica_keys_[0]).has_value()) {
    Say(fmt::format("replica reads: {} has none, so convergence cannot be judged", db_->name()));
    return false;
  }
  replica_client_ = std::move(client);
  replica_process_ = process;
  return true;
}

bool Run::ReplicaReadRound(HistoryWriter& history) {
  const int round = replica_round_++;
  size_t agreeing = 0;
  for (const std::string& key : replica_keys_) {
    const nlohmann::json invoke_value = {{"round", round}};
    history.Append(OpType::kInvoke, replica_process_, "replica-read", key, invoke_value);
    const std::optional<ReplicaRead> read = replica_client_->ReadReplicas(key);
    nlohmann::json value = {{"round", round}, {"replicas", nlohmann::json::object()}};
    if (read.has_value()) {
      for (const auto& [node, values] : read->replicas) value["replicas"][node] = values;
    }
    const bool ok = read.has_value() && read->error.empty();
    history.Append(ok ? OpType::kOk : OpType::kFail, replica_process_, "replica-read", key, value, {},
                   ok ? "" : (read.has_value() ? read->error : "no replica read"));
    bool same = ok;
    for (const auto& [node, values] : value["replicas"].items())
      same = same && values == value["replicas"].begin().value();
    agreeing += same ? 1 : 0;
  }
  replica_agreeing_ = agreeing;
  return agreeing == replica_keys_.size();
}

void Run::ReplicaReadsUntil(HistoryWriter& history, Clock::time_point end) {
  while (Clock::now() < end && !interrupted()) {
    ReplicaReadRound(history);
    Sleep(std::min<Clock::duration>(kReplicaReadInterval, end - Clock::now()));
  }
  history.Sync();
}

void Run::ReplicaReads(HistoryWriter& history) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(config_.convergence_timeout));
  while (true) {
    if (ReplicaReadRound(history)) {
      Say(fmt::format("replica reads: all {} keys agree on every replica (round {})", replica_keys_.size(),
                      replica_round_ - 1));
      break;
    }
    if (Clock::now() >= deadline || interrupted()) {
      Say(fmt::format("replica reads: {} of {} keys still differ after {} s", replica_keys_.size() - replica_agreeing_,
                      replica_keys_.size(), config_.convergence_timeout));
      break;
    }
    Sleep(kReplicaReadInterval);
  }
  history.Sync();
}

void Run::Teardown(RunResults& results) {
  // `what` empty: the error names what failed itself (Environment::Teardown).
  const auto attempt = [&](const std::string& what, const auto& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      const std::string error =
          what.empty() ? fmt::format("teardown: {}", e.what()) : fmt::format("teardown: {}: {}", what, e.what());
      log_.Warn(error);
      if (results.error.empty()) results.error = error;
    }
  };
  // Faults first (also after Ctrl-C or an exception): a cluster left
  // running must be healthy, and a paused node would not stop.
  attempt("heal faults", [&] { HealFaults(&results); });
  if (db_ != nullptr && !config_.leave_db_running) {
    for (const NodeInfo& node : nodes_) attempt("stop " + node.name, [&] { db_->Stop(node); });
  }
  if (db_ != nullptr) {
    for (const NodeInfo& node : nodes_) {
      attempt("collect logs of " + node.name, [&] { db_->CollectLogs(node, run_dir_ / "nodes" / node.name); });
    }
  }
  if (env_ != nullptr && config_.leave_db_running) {
    Say(env_->Release());
  } else if (env_ != nullptr) {
    attempt("", [&] { env_->Teardown(); });
  }
}

RunOutcome Run::Execute() {
  RunResults results;
  log_.Info("faultline run " + ToJson(config_).dump());
  Say(fmt::format("run {} (seed {}): {} on {} {} nodes, workload {}, {} s", run_dir_.string(), config_.seed, config_.db,
                  config_.node_count(), config_.nodes.empty() ? "local" : "SSH", config_.workload, config_.time_limit));
  for (const std::string& w : FaultPlanWarnings(config_)) log_.Info("warning: " + w);  // the CLI said them already
  const fs::path history_path = run_dir_ / "history.jsonl";
  std::unique_ptr<Workload> workload = MakeWorkload(config_);
  bool finished = false;
  try {
    SetUp();
    ThrowIfInterrupted();
    HistoryWriter::Options history_options;  // a write error stops the run (MainPhase) and is said at once
    history_options.on_error = [this](const std::string& error) { log_.Warn("stopping the run: " + error); };
    history_ = std::make_unique<HistoryWriter>(history_path, Clock::now(), history_options);
    int64_t next_process = 0;
    MainPhase(*history_, *workload, &next_process);
    main_phase_done_ = true;
    Heal();
    const auto quiesce_end =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config_.quiesce));
    const bool replica_reads =
        StartReplicaReads(*workload, next_process + static_cast<int64_t>(nodes_.size()) * (kFinalReadAttempts + 1));
    if (replica_reads) ReplicaReadsUntil(*history_, quiesce_end);
    Sleep(quiesce_end - Clock::now());
    ThrowIfInterrupted();
    WaitReadyAfterHeal();
    FinalReads(*history_, *workload, next_process);
    if (replica_reads) ReplicaReads(*history_);
    finished = true;
  } catch (const Interrupted& e) {
    Say(e.what());
  } catch (const std::exception& e) {
    results.error = e.what();
    log_.Warn(std::string("run failed: ") + e.what());
  }
  results.incomplete = !finished;
  Teardown(results);
  nemesis_.reset();
  if (history_ != nullptr) {
    try {
      history_->Close();
    } catch (const std::exception& e) {
      if (results.error.empty()) results.error = std::string("writing the history failed: ") + e.what();
    }
  }

  // The verdict comes from the stored history, exactly as `faultline check` would.
  RunResults checked;
  if (fs::exists(history_path)) {
    std::vector<std::string> warnings;
    try {
      checked = CheckHistoryFile(history_path, *workload, &warnings);
    } catch (const std::exception& e) {
      if (results.error.empty()) results.error = std::string("checking the history failed: ") + e.what();
    }
    for (const auto& w : warnings) log_.Warn(w);
  }
  checked.incomplete = results.incomplete;
  checked.error = results.error;
  if (!checked.faults) checked.faults = FaultCoverage{};  // no history: nothing was injected
  ExplainFaultCoverage(config_, &*checked.faults, !main_phase_done_);
  if (!checked.faults->warning.empty()) log_.Info("faults: " + checked.faults->warning);  // the verdict line says it
  RunOutcome outcome{checked.valid(), run_dir_, checked.summary(), checked.faults->warning};
  try {
    WriteJsonFile(run_dir_ / "results.json", checked.ToJson());
  } catch (const std::exception& e) {
    log_.Warn(e.what());
    outcome.valid = Validity::kUnknown;
  }
  log_.Info(fmt::format("verdict: {}: {}", VerdictWords(outcome.valid, outcome.fault_warning), outcome.summary));
  try {
    WriteRunReports(run_dir_);
  } catch (const std::exception& e) {  // the verdict stands; the page can be made again with `faultline report`
    log_.Warn(std::string("writing report.html / junit.xml failed: ") + e.what());
  }
  return outcome;
}

// The run in its directory; the fallback when even the run log cannot be written.
RunOutcome RunInDir(const TestConfig& config, const RunOptions& options, const fs::path& run_dir) {
  try {
    Run run(config, options, run_dir);
    return run.Execute();
  } catch (const std::exception& e) {
    // Only the run log itself can fail here; say so where it is visible.
    RunResults r;
    r.error = e.what();
    try {
      WriteJsonFile(run_dir / "results.json", r.ToJson());
    } catch (...) {
    }
    return RunOutcome{Validity::kUnknown, run_dir, e.what(), {}};
  }
}

}  // namespace

int ExitCodeFor(Validity v) {
  switch (v) {
    case Validity::kTrue:
      return 0;
    case Validity::kFalse:
      return 1;
    case Validity::kUnknown:
      return 2;
  }
  return 2;
}

RunOutcome RunTest(const TestConfig& config, const RunOptions& options) {
  fs::path run_dir;
  try {
    run_dir = MakeRunDir(config.store_dir, config.name);
    WriteJsonFile(run_dir / "test.json", ToJson(config));
    UpdateLatestLinks(config.store_dir, run_dir);
  } catch (const std::exception& e) {
    return RunOutcome{Validity::kUnknown, run_dir, std::string("cannot create the run directory: ") + e.what(), {}};
  }
  RunOutcome outcome = RunInDir(config, options, run_dir);
  try {
    WriteStoreIndex(config.store_dir);
  } catch (const std::exception& e) {
    if (options.out != nullptr) *options.out << "warning: store index not updated: " << e.what() << std::endl;
  }
  return outcome;
}

}  // namespace faultline