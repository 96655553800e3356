#include "checkers/stats_checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <string_view>

#include "checkers/checker_util.h"

namespace faultline {

namespace {

constexpr int kSubBits = 7;  // 128 sub-buckets per power of two
constexpr int64_t kSub = int64_t{1} << kSubBits;

const char* const kSiblingBuckets[] = {"empty", "1", "2", "3", "4", "5+"};

// ns -> ms, 3 decimals.
double Ms(int64_t ns) { return std::round(static_cast<double>(ns) / 1000.0) / 1000.0; }

double Round6(double x) { return std::round(x * 1e6) / 1e6; }

nlohmann::json Ratio(int64_t ok, int64_t total) {
  if (total == 0) return nullptr;
  return static_cast<double>(ok) / static_cast<double>(total);
}

std::string Percent(const nlohmann::json& ratio) {
  return ratio.is_null() ? "n/a" : fmt::format("{:.1f}%", ratio.get<double>() * 100);
}

}  // namespace

size_t LatencyHistogram::BucketOf(int64_t value) {
  if (value < kSub) return static_cast<size_t>(value);
  const int exponent = std::bit_width(static_cast<uint64_t>(value)) - 1;  // >= kSubBits
  const int64_t sub = (value >> (exponent - kSubBits)) & (kSub - 1);
  return static_cast<size_t>(kSub + (exponent - kSubBits) * kSub + sub);
}

int64_t LatencyHistogram::BucketMidpoint(size_t bucket) {
  const auto b = static_cast<int64_t>(bucket);
  if (b < kSub) return b;
  const int64_t shift = (b - kSub) / kSub;  // exponent - kSubBits
  const int64_t sub = (b - kSub) % kSub;
  const int64_t lower = (kSub + sub) << shift;
  const int64_t width = int64_t{1} << shift;
  return lower + (width - 1) / 2;
}

void LatencyHistogram::Record(int64_t value) {
  value = std::max<int64_t>(value, 0);
  const size_t bucket = BucketOf(value);
  if (bucket >= buckets_.size()) buckets_.resize(bucket + 1, 0);
  ++buckets_[bucket];
  if (count_ == 0 || value < min_) min_ = value;
  if (count_ == 0 || value > max_) max_ = value;
  ++count_;
}

int64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))), 1, count_);
  if (rank == 1) return min_;  // the extremes are kept exactly
  if (rank == count_) return max_;
  int64_t seen = 0;
  for (size_t bucket = 0; bucket < buckets_.size(); ++bucket) {
    seen += buckets_[bucket];
    if (seen >= rank) return std::clamp(BucketMidpoint(bucket), min_, max_);
  }
  return max_;
}

StatsChecker::FStats& StatsChecker::StatsFor(const std::string& f) {
  // Ops of one f come in runs: skip the hash most of the time.
  if (last_stats_ != nullptr && *last_f_ == f) return *last_stats_;
  auto it = by_f_.try_emplace(f).first;
  last_f_ = &it->first;
  last_stats_ = &it->second;
  return it->second;
}

void StatsChecker::Count(FStats& stats, OpType outcome, bool during_faults) {
  switch (outcome) {
    case OpType::kOk:
      ++stats.ok;
      break;
    case OpType::kFail:
      ++stats.fail;
      break;
    default:
      ++stats.info;
  }
  const int64_t ok = outcome == OpType::kOk ? 1 : 0;
  if (during_faults) {
    fault_ok_ += ok;
    ++fault_total_;
  } else {
    healthy_ok_ += ok;
    ++healthy_total_;
  }
}

void StatsChecker::CountSiblings(const nlohmann::json& values) {
  const size_t n = values.size();
  ++siblings_[n == 0 ? 0 : std::min<size_t>(n, 5)];
}

void StatsChecker::Nemesis(const Op& op) {
  const FaultChange change = FaultChangeOf(op.f);
  if (change.kind == FaultChange::kOpen) {
    open_faults_.emplace(change.fault);
  } else if (change.kind == FaultChange::kClose) {
    open_faults_.erase(std::string(change.fault));
  }
}

void StatsChecker::Add(const Op& op) {
  if (op.process == kNemesisProcess) {
    Nemesis(op);
    return;
  }
  if (!seen_rmw_ && op.f == "rmw") seen_rmw_ = true;
  if (op.type == OpType::kInvoke) {
    Pending& p = pending_[op.process];
    // The process invoked again without completing: the earlier op is indeterminate.
    if (p.active) Count(*p.f, OpType::kInfo, p.during_faults);
    p = Pending{&StatsFor(op.f), op.time, !open_faults_.empty(), true};
    return;
  }
  auto it = pending_.find(op.process);
  if (it != pending_.end() && it->second.active) {
    Pending& p = it->second;
    p.active = false;
    Count(*p.f, op.type, p.during_faults);
    p.f->latency.Record(op.time - p.time);
  } else {
    Count(StatsFor(op.f), op.type, !open_faults_.empty());
  }
  if (op.value.is_object()) {
    auto read = op.value.find("read");
    if (read != op.value.end() && read->is_array()) CountSiblings(*read);
  } else if (seen_rmw_ && op.type == OpType::kOk && op.value.is_array() && op.f == "read") {
    CountSiblings(op.value);
  }
}

CheckResult StatsChecker::Finish() {
  for (auto& [process, p] : pending_) {
    if (p.active) Count(*p.f, OpType::kInfo, p.during_faults);
    p.active = false;
  }

  const std::map<std::string, const FStats*> sorted = [&] {
    std::map<std::string, const FStats*> m;
    for (const auto& [f, stats] : by_f_) m.emplace(f, &stats);
    return m;
  }();
  nlohmann::json by_f = nlohmann::json::object();
  std::vector<std::string> no_ok;
  int64_t total = 0;
  for (const auto& [f, stats] : sorted) {
    nlohmann::json latency = nlohmann::json::object();
    const LatencyHistogram& h = stats->latency;
    const std::pair<const char*, double> quantiles[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}};
    for (const auto& [label, q] : quantiles) {
      latency[label] = h.count() == 0 ? nlohmann::json() : nlohmann::json(Ms(h.Quantile(q)));
    }
    latency["max"] = h.count() == 0 ? nlohmann::json() : nlohmann::json(Ms(h.max()));
    by_f[f] = {{"ok", stats->ok}, {"fail", stats->fail}, {"info", stats->info}, {"latency_ms", std::move(latency)}};
    if (stats->ok == 0) no_ok.push_back(f);
    total += stats->ok + stats->fail + stats->info;
  }

  const int64_t reads = [&] {
    int64_t n = 0;
    for (int64_t c : siblings_) n += c;
    return n;
  }();
  nlohmann::json histogram = nlohmann::json::object(), percent = nlohmann::json::object();
  for (size_t i = 0; i < siblings_.size(); ++i) {
    histogram[kSiblingBuckets[i]] = siblings_[i];
    percent[kSiblingBuckets[i]] =
        reads == 0 ? nlohmann::json() : nlohmann::json(Round6(100.0 * static_cast<double>(siblings_[i]) / reads));
  }
  const nlohmann::json dynamo = {{"1", 99.94}, {"2", 0.00057}, {"3", 0.00047}, {"4", 0.00009}};
  const nlohmann::json during = Ratio(fault_ok_, fault_total_), healthy = Ratio(healthy_ok_, healthy_total_);

  CheckResult result;
  result.details = {
      {"by_f", std::move(by_f)},
      {"availability",
       {{"during_faults", during},
        {"healthy", healthy},
        {"ops_during_faults", fault_total_},
        {"ops_healthy", healthy_total_}}},
      {"siblings", {{"reads", reads}, {"histogram", histogram}, {"percent", percent}, {"dynamo_paper", dynamo}}},
      {"no_ok", no_ok}};

  std::string siblings_text;
  if (reads > 0) {
    siblings_text = fmt::format(
        "; {} {}: {:.4f}% saw one version, {:.5f}% two, {:.5f}% three, {:.5f}% four, "
        "{:.5f}% five or more, {:.5f}% none (Dynamo paper: 99.94%, 0.00057%, 0.00047%, "
        "0.00009%)",
        reads, reads == 1 ? "read" : "reads", percent["1"].get<double>(), percent["2"].get<double>(),
        percent["3"].get<double>(), percent["4"].get<double>(), percent["5+"].get<double>(),
        percent["empty"].get<double>());
  }
  const std::string availability_text =
      fmt::format("availability {} during faults, {} healthy", Percent(during), Percent(healthy));
  if (!no_ok.empty()) {
    result.valid = Validity::kFalse;
    result.summary = fmt::format("no {} op completed ok, out of {} client ops; {}{}", fmt::join(no_ok, " or "), total,
                                 availability_text, siblings_text);
  } else {
    result.valid = Validity::kTrue;
    result.summary = total == 0 ? "no client ops"
                                : fmt::format("{} client ops, every f completed ok at least once; {}{}", total,
                                              availability_text, siblings_text);
  }
  return result;
}

}  // namespace faultline
