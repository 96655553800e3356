#include "checkers/counter_checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>

#include "checkers/checker_util.h"

namespace faultline {

void CounterChecker::RecordAdd(const std::string& key, bool delta_valid, int64_t delta, OpType outcome) {
  KeyState& state = keys_[key];
  state.has_adds = true;
  switch (outcome) {
    case OpType::kOk:
      ++ok_count_;
      break;
    case OpType::kFail:
      ++fail_count_;
      return;  // certainly did not happen: its delta does not matter
    default:
      ++info_count_;
  }
  if (!delta_valid) {
    ++malformed_;
    return;
  }
  if (outcome == OpType::kOk) {
    state.ok_sum += delta;
  } else if (delta < 0) {
    state.info_down += delta;
  } else {
    state.info_up += delta;
  }
}

void CounterChecker::Add(const Op& op) {
  if (op.process == kNemesisProcess) return;
  if (op.f != "add" && op.f != "read") return;
  const bool is_add = op.f == "add";
  if (op.type == OpType::kInvoke) {
    if (is_add) ++add_count_;
    auto [it, fresh] = pending_.try_emplace(op.process);
    Pending& p = it->second;
    // The process invoked again without completing: its earlier add is indeterminate.
    if (!fresh && p.is_add) RecordAdd(p.key, p.delta_valid, p.delta, OpType::kInfo);
    p.is_add = is_add;
    p.delta_valid = op.value.is_number_integer();
    p.delta = p.delta_valid ? op.value.get<int64_t>() : 0;
    p.key = op.key;
    return;
  }
  auto it = pending_.find(op.process);
  const bool matched = it != pending_.end() && it->second.is_add == is_add;
  const std::string& key = matched ? it->second.key : op.key;
  if (is_add) {
    if (matched) {
      RecordAdd(key, it->second.delta_valid, it->second.delta, op.type);
    } else {
      ++add_count_;
      const bool valid = op.value.is_number_integer();
      RecordAdd(key, valid, valid ? op.value.get<int64_t>() : 0, op.type);
    }
  } else if (op.type == OpType::kOk) {
    if (op.value.is_null() || op.value.is_number_integer()) {
      keys_[key].reads.push_back(Read{op.node, op.value.is_null() ? 0 : op.value.get<int64_t>(), op.index, op.time});
      ++final_reads_;
    } else {
      ++malformed_;
    }
  }
  if (it != pending_.end()) pending_.erase(it);
}

CheckResult CounterChecker::Finish() {
  for (auto& [process, p] : pending_) {
    if (p.is_add) RecordAdd(p.key, p.delta_valid, p.delta, OpType::kInfo);
  }
  pending_.clear();

  std::map<std::string, const KeyState*> sorted;  // stable output
  for (const auto& [key, state] : keys_) sorted.emplace(key, &state);

  nlohmann::json errors = nlohmann::json::array(), per_key = nlohmann::json::object();
  std::vector<std::string> without_read;
  std::vector<std::string> error_keys;
  for (const auto& [key, state] : sorted) {
    const int64_t lower = state->ok_sum + state->info_down;
    const int64_t upper = state->ok_sum + state->info_up;
    nlohmann::json reads = nlohmann::json::object();
    bool key_has_error = false;
    for (const Read& read : state->reads) {
      reads[NodeName(read.node)] = read.value;
      if (read.value < lower || read.value > upper) {
        errors.push_back({{"key", key},
                          {"node", NodeName(read.node)},
                          {"value", read.value},
                          {"lower", lower},
                          {"upper", upper},
                          {"index", read.index},
                          {"time", read.time}});
        key_has_error = true;
      }
    }
    if (key_has_error) error_keys.push_back(key);
    if (state->has_adds && state->reads.empty()) without_read.push_back(key);
    per_key[key] = {{"ok_sum", state->ok_sum}, {"lower", lower}, {"upper", upper}, {"reads", std::move(reads)}};
  }

  CheckResult result;
  result.details = {
      {"add_count", add_count_},          {"ok_count", ok_count_},         {"info_count", info_count_},
      {"fail_count", fail_count_},        {"error_count", errors.size()},  {"keys_without_final_read", without_read},
      {"final_read_count", final_reads_}, {"malformed_count", malformed_}, {"per_key", std::move(per_key)}};

  if (!errors.empty()) {
    const auto& first = errors[0];
    result.valid = Validity::kFalse;
    result.summary = fmt::format(
        "{} out of the range the adds allow on {} {} (e.g. {} read {} of {}, expected {} to {})",
        CountOf(int64_t(errors.size()), "final read", "final reads"), error_keys.size() == 1 ? "key" : "keys",
        fmt::join(error_keys, ", "), first["node"].get<std::string>(), first["value"].get<int64_t>(),
        first["key"].get<std::string>(), first["lower"].get<int64_t>(), first["upper"].get<int64_t>());
  } else if (final_reads_ == 0) {
    result.valid = Validity::kUnknown;
    result.summary = NoFinalReadAtAllSummary(ok_count_);
  } else if (!without_read.empty()) {
    result.valid = Validity::kUnknown;
    result.summary = NoFinalReadSummary(without_read, "adds");
  } else if (malformed_ > 0) {
    result.valid = Validity::kUnknown;
    result.summary =
        fmt::format("{} add deltas or read totals are not integers (integer counters expected)", malformed_);
  } else {
    result.valid = Validity::kTrue;
    result.summary =
        fmt::format("all {} of {} within the range the adds allow", CountOf(final_reads_, "final read", "final reads"),
                    CountOf(int64_t(sorted.size()), "key", "keys"));
    if (info_count_ > 0) result.summary += fmt::format(" ({} indeterminate adds)", info_count_);
  }
  result.details["errors"] = std::move(errors);
  return result;
}

}  // namespace faultline
