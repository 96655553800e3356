#include "nemesis/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "harness/base/harness_error.h"
#include "nemesis/clock_fault.h"
#include "nemesis/net_faults.h"
#include "nemesis/node_faults.h"
#include "nemesis/process_faults.h"

namespace faultline {

std::vector<std::unique_ptr<Fault>> MakeFaults(const NemesisConfig& config, const std::vector<NodeInfo>& nodes,
                                               Database& db) {
  std::vector<std::unique_ptr<Fault>> faults;
  // Whole-node faults first: HealAll goes in this order, and the other
  // faults' heals need the node booted and thawed to reach it.
  std::vector<std::string> names = config.faults;
  std::stable_partition(names.begin(), names.end(), [](const std::string& name) {
    return std::count(WholeNodeFaultNames().begin(), WholeNodeFaultNames().end(), name) > 0;
  });
  for (const std::string& name : names) {
    if (name == "partition") {
      faults.push_back(std::make_unique<PartitionFault>(nodes, config));
    } else if (name == "loss") {
      faults.push_back(std::make_unique<LossFault>(nodes, config));
    } else if (name == "kill") {
      faults.push_back(std::make_unique<KillFault>(nodes, db, config));
    } else if (name == "pause") {
      faults.push_back(std::make_unique<PauseFault>(nodes, db, config));
    } else if (name == "clock") {
      faults.push_back(std::make_unique<ClockFault>(nodes, config));
    } else if (std::count(WholeNodeFaultNames().begin(), WholeNodeFaultNames().end(), name)) {
      faults.push_back(std::make_unique<NodeFault>(name, nodes, db, config));
    } else {
      throw HarnessError("unknown fault " + name);
    }
  }
  return faults;
}

int64_t ScheduledFaultStarts(double interval_s, double final_s, double time_limit_s) {
  if (!(interval_s > 0)) return 0;
  const double final_at = final_s > 0 ? time_limit_s - final_s : std::numeric_limits<double>::infinity();
  const auto next = [&](double now) { return now >= final_at - interval_s ? final_at : now + interval_s; };
  int64_t starts = 0;
  for (double t = 0;;) {  // the loop of Loop(), in seconds since the main phase began
    t = next(t);
    if (t >= time_limit_s) break;
    ++starts;
    if (t >= final_at) break;  // the final fault is held to the end
    t = next(t);               // held, then stopped
    if (t >= time_limit_s) break;
  }
  return starts;
}

NemesisScheduler::NemesisScheduler(std::vector<std::unique_ptr<Fault>> faults, HistoryWriter& history,
                                   double interval_s, uint64_t seed, Log log)
    : faults_(std::move(faults)),
      history_(history),
      interval_s_(interval_s),
      // Its own stream, so adding a fault does not change the workload's ops.
      rng_(seed ^ 0x6e656d65736973ULL),
      log_(std::move(log)) {}

NemesisScheduler::~NemesisScheduler() { Stop(); }

void NemesisScheduler::Start() {
  if (faults_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void NemesisScheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool NemesisScheduler::WaitUntil(Clock::time_point until) {
  std::unique_lock lock(mu_);
  return !cv_.wait_until(lock, until, [this] { return stopping_; });
}

void NemesisScheduler::Record(const std::string& f, nlohmann::json value, const std::string& error) {
  history_.Append(OpType::kInfo, kNemesisProcess, f, {}, value, {}, error);
  if (log_) log_(fmt::format("nemesis {} {}{}", f, value.dump(), error.empty() ? "" : " failed: " + error));
}

void NemesisScheduler::StopActive() {
  if (active_ == nullptr) return;
  Fault* fault = active_;
  active_ = nullptr;
  try {
    nlohmann::json detail = fault->Stop();
    detail["fault"] = fault->name();
    Record("stop-" + fault->name(), std::move(detail), "");
  } catch (const std::exception& e) {
    ++failed_;
    Record("stop-" + fault->name(), {{"fault", fault->name()}}, e.what());
  }
}

void NemesisScheduler::StartOne(std::uniform_int_distribution<size_t>& pick) {
  Fault* fault = faults_[pick(rng_)].get();
  try {
    nlohmann::json detail = fault->Start(rng_);
    detail["fault"] = fault->name();
    ++started_;
    active_ = fault;
    Record("start-" + fault->name(), std::move(detail), "");
  } catch (const std::exception& e) {
    ++failed_;
    // A half-done injection still gets undone by the stop below.
    active_ = fault;
    Record("start-" + fault->name(), {{"fault", fault->name()}}, e.what());
  }
}

void NemesisScheduler::Loop() {
  std::uniform_int_distribution<size_t> pick(0, faults_.size() - 1);
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_s_));
  // Both the wait and the hold end early where the final fault begins.
  auto next = [&] { return Clock::now() >= final_at_ - interval ? final_at_ : Clock::now() + interval; };
  while (WaitUntil(next())) {
    if (Clock::now() >= final_at_) {
      StartOne(pick);
      if (log_) log_("nemesis: the final fault stays in effect past the main phase, until the heal");
      WaitUntil(Clock::now() + std::chrono::hours(24 * 365));  // until Stop()
      return;                                                  // active_ stays set: HealAll undoes it
    }
    StartOne(pick);
    const bool go_on = WaitUntil(next());
    StopActive();
    if (!go_on) break;
  }
  StopActive();
}

std::vector<std::string> NemesisScheduler::HealAll() {
  Stop();
  std::vector<std::string> problems;
  for (const auto& fault : faults_) {
    try {
      nlohmann::json detail = fault->HealAll();
      detail["fault"] = fault->name();
      Record("heal-" + fault->name(), std::move(detail), "");
    } catch (const std::exception& e) {
      Record("heal-" + fault->name(), {{"fault", fault->name()}}, e.what());
      problems.push_back(fmt::format("heal {}: {}", fault->name(), e.what()));
    }
  }
  for (const auto& fault : faults_) {
    try {
      for (const std::string& p : fault->Verify()) problems.push_back(fmt::format("{}: {}", fault->name(), p));
    } catch (const std::exception& e) {
      problems.push_back(fmt::format("verify {}: {}", fault->name(), e.what()));
    }
  }
  return problems;
}

}  // namespace faultline
